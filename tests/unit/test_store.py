"""The store's own translation to and from DynamoDB items, and its request shapes (Stubber, exact parameters)."""

import pytest

from conversation import store

FULL = {
    "pk": {"S": "conv-1"},
    "sk": {"N": "3"},
    "owner": {"S": "user-7"},
    "user": {"S": "question"},
    "assistant": {"S": "answer"},
    "status": {"S": "complete"},
    "stopReason": {"S": "end_turn"},
    "inputTokens": {"N": "14"},
    "outputTokens": {"N": "9"},
    "startedAt": {"N": "1795662600000"},
    "deadlineAt": {"N": "1795662900000"},
    "requestId": {"S": "req-1"},
    "eventId": {"S": "message-1"},
    "claim": {"S": "c0ffee"},
    "expiresAt": {"N": "1796267400"},
}


def test_an_item_becomes_a_turn_attribute_by_attribute():
    assert store._turn(FULL) == store.Turn(
        conversation_id="conv-1",
        number=3,
        owner="user-7",
        user="question",
        assistant="answer",
        status="complete",
        stop_reason="end_turn",
        input_tokens=14,
        output_tokens=9,
        started_at=1795662600000,
        deadline_at=1795662900000,
        request_id="req-1",
        event_id="message-1",
        claim="c0ffee",
        expires_at=1796267400,
    )


def test_missing_or_null_attributes_take_their_defaults():
    item = {"pk": {"S": "conv-1"}, "sk": {"N": "1"}, "stopReason": {"NULL": True}, "outputTokens": {"NULL": True}}
    assert store._turn(item) == store.Turn(
        conversation_id="conv-1",
        number=1,
        owner="-",
        user="",
        assistant="",
        status="pending",
        stop_reason=None,
        input_tokens=None,
        output_tokens=None,
        started_at=0,
        deadline_at=0,
        request_id="",
        expires_at=0,
    )


def query(start: dict | None = None, for_reply: bool = False) -> dict:
    params = {
        "TableName": store.TABLE,
        "KeyConditionExpression": "pk = :id AND sk > :zero",
        "ExpressionAttributeValues": {":id": {"S": "conv-1"}, ":zero": {"N": "0"}},
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "Limit": 2,
    }
    if for_reply:
        params["ProjectionExpression"] = (
            "pk, sk, #owner, #user, assistant, #status, outputTokens, deadlineAt, expiresAt"
        )
        params["ExpressionAttributeNames"] = {"#owner": "owner", "#user": "user", "#status": "status"}
    return params | ({"ExclusiveStartKey": start} if start else {})


@pytest.mark.parametrize("for_reply", [False, True])
def test_newest_first_reads_page_after_page_newest_first(table, for_reply):
    def item(n: int) -> dict:
        return {**FULL, "sk": {"N": str(n)}}

    last = {"pk": {"S": "conv-1"}, "sk": {"N": "2"}}
    table.add_response("query", {"Items": [item(3), item(2)], "LastEvaluatedKey": last}, query(for_reply=for_reply))
    table.add_response("query", {"Items": [item(1)]}, query(last, for_reply=for_reply))
    turns = list(store.newest_first("conv-1", page=2, for_reply=for_reply))
    assert [t.number for t in turns] == [3, 2, 1]


def test_a_caller_that_stops_early_reads_no_further_page(table):
    table.add_response("query", {"Items": [FULL], "LastEvaluatedKey": {"pk": {"S": "conv-1"}, "sk": {"N": "3"}}})
    assert next(store.newest_first("conv-1", page=2)).number == 3


def tombstone(number: int) -> dict:
    item = {"pk": {"S": "c"}, "sk": {"N": str(number)}, "status": {"S": "forgotten"}, "expiresAt": {"N": "99"}}
    return {"PutRequest": {"Item": item | {"eventId": {"S": f"message-{number}"}}}}


def buried(numbers: list[int]) -> list[store.Turn]:
    return [store.Turn("c", n, "-", "secret", "text", "complete", event_id=f"message-{n}") for n in numbers]


def test_tombstones_go_25_at_a_time_and_unprocessed_ones_are_sent_again(table, monkeypatch):
    monkeypatch.setattr(store.time, "sleep", lambda seconds: None)

    def batch(numbers: list[int]) -> dict:
        return {store.TABLE: [tombstone(n) for n in numbers]}

    table.add_response("batch_write_item", {}, {"RequestItems": batch(list(range(1, 26)))})
    table.add_response("batch_write_item", {"UnprocessedItems": batch([27])}, {"RequestItems": batch([26, 27])})
    table.add_response("batch_write_item", {}, {"RequestItems": batch([27])})
    store.bury(buried(list(range(1, 28))), 99)


def test_tombstones_left_unprocessed_five_times_fail(table, monkeypatch):
    monkeypatch.setattr(store.time, "sleep", lambda seconds: None)
    left = {store.TABLE: [tombstone(1)]}
    for _ in range(5):
        table.add_response("batch_write_item", {"UnprocessedItems": left})
    with pytest.raises(RuntimeError, match="after 5 attempts"):
        store.bury(buried([1]), 99)


def test_clearing_the_current_conversation_only_if_it_is_still_that_one(table):
    expected = {
        "TableName": store.TABLE,
        "Key": {"pk": {"S": "connection#abc"}, "sk": {"N": "0"}},
        "ConditionExpression": "conversationId = :id",
        "ExpressionAttributeValues": {":id": {"S": "conv-1"}},
    }
    table.add_response("delete_item", {}, expected)
    store.clear_current("abc", "conv-1")
    table.add_client_error("delete_item", "ConditionalCheckFailedException")  # another one is current: fine
    store.clear_current("abc", "conv-1")
    table.add_client_error("delete_item", "ProvisionedThroughputExceededException")
    with pytest.raises(store.client.exceptions.ProvisionedThroughputExceededException):
        store.clear_current("abc", "conv-1")


TURN = store.Turn(
    "conv-1",
    3,
    "user-7",
    "question",
    started_at=1795662600000,
    deadline_at=1795663500000,
    request_id="stream-invocation",
    event_id="message-1",
    claim="c0ffee",
    expires_at=1796267400,
)
KEY = {"pk": {"S": "conv-1"}, "sk": {"N": "3"}}


def test_reserving_writes_the_pending_turn_only_where_nothing_is(table):
    item = {
        **KEY,
        "owner": {"S": "user-7"},
        "user": {"S": "question"},
        "status": {"S": "pending"},
        "startedAt": {"N": "1795662600000"},
        "deadlineAt": {"N": "1795663500000"},
        "requestId": {"S": "stream-invocation"},
        "eventId": {"S": "message-1"},
        "claim": {"S": "c0ffee"},
        "expiresAt": {"N": "1796267400"},
    }
    expected = {"TableName": store.TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
    table.add_response("put_item", {}, expected)
    store.reserve(store.Turn(**vars(TURN)))


def holder(**attributes: str) -> dict:
    """The GetItem a lost reservation makes (who holds the number?), answered with `attributes`."""
    params = {
        "TableName": store.TABLE,
        "Key": KEY,
        "ConsistentRead": True,
        "ProjectionExpression": "#claim, #eventId, #status",
        "ExpressionAttributeNames": {"#claim": "claim", "#eventId": "eventId", "#status": "status"},
    }
    return {"Item": {name: {"S": value} for name, value in attributes.items()}}, params


def test_a_reservation_whose_own_first_attempt_landed_is_ours(table):
    table.add_client_error("put_item", "ConditionalCheckFailedException")  # botocore's retry after a lost answer
    table.add_response("get_item", *holder(claim="c0ffee", eventId="message-1", status="pending"))
    store.reserve(store.Turn(**vars(TURN)))


def test_the_same_message_delivered_again_is_a_duplicate(table):
    table.add_client_error("put_item", "ConditionalCheckFailedException")
    table.add_response("get_item", *holder(claim="another-attempt", eventId="message-1", status="pending"))
    with pytest.raises(store.Duplicate):
        store.reserve(store.Turn(**vars(TURN)))


@pytest.mark.parametrize("status", ["pending", "complete", store.FORGOTTEN])
def test_a_number_another_message_or_forget_holds_is_a_conflict_with_its_status(table, status):
    table.add_client_error("put_item", "ConditionalCheckFailedException")
    table.add_response("get_item", *holder(claim="theirs", eventId="message-2", status=status))
    with pytest.raises(store.Conflict) as conflict:
        store.reserve(store.Turn(**vars(TURN)))
    assert conflict.value.status == status


def test_forgets_marker_holds_no_text_and_takes_a_free_number_only(table):
    expected = {
        "TableName": store.TABLE,
        "Item": {**KEY, "status": {"S": "forgotten"}, "expiresAt": {"N": "1795666200"}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    table.add_response("put_item", {}, expected)
    store.forgotten("conv-1", 3, 1795666200)


@pytest.mark.parametrize("call", ["reserve", "forgotten", "finish"])
def test_a_lost_condition_is_a_conflict_and_other_failures_pass_through(table, call):
    operation, run = {
        "reserve": ("put_item", lambda: store.reserve(store.Turn(**vars(TURN)))),
        "forgotten": ("put_item", lambda: store.forgotten("conv-1", 3, 1795666200)),
        "finish": ("update_item", lambda: store.finish(store.Turn(**vars(TURN)))),
    }[call]
    table.add_client_error(operation, "ConditionalCheckFailedException")
    if call == "reserve":
        table.add_response("get_item", {"Item": {"eventId": {"S": "message-2"}}})
    with pytest.raises(store.Conflict):
        run()
    table.add_client_error(operation, "InternalServerError")
    with pytest.raises(store.client.exceptions.InternalServerError):
        run()


@pytest.mark.parametrize(
    ("stop_reason", "input_tokens", "output_tokens", "stop", "inputs", "outputs"),
    [
        ("end_turn", 14, 9, {"S": "end_turn"}, {"N": "14"}, {"N": "9"}),
        (None, None, None, {"NULL": True}, {"NULL": True}, {"NULL": True}),  # a reply that failed before any usage
    ],
)
def test_finishing_stores_the_outcome_only_for_the_reserving_invocation_while_pending(
    table, stop_reason, input_tokens, output_tokens, stop, inputs, outputs
):
    turn = store.Turn(**vars(TURN))
    turn.assistant, turn.status, turn.stop_reason = "answer", "complete", stop_reason
    turn.input_tokens, turn.output_tokens = input_tokens, output_tokens
    table.add_response(
        "update_item",
        {},
        {
            "TableName": store.TABLE,
            "Key": {"pk": {"S": "conv-1"}, "sk": {"N": "3"}},
            "UpdateExpression": (
                "SET assistant = :assistant, #status = :status, stopReason = :stop, "
                "inputTokens = :input, outputTokens = :output"
            ),
            "ConditionExpression": "requestId = :request AND #status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":assistant": {"S": "answer"},
                ":status": {"S": "complete"},
                ":stop": stop,
                ":input": inputs,
                ":output": outputs,
                ":request": {"S": "stream-invocation"},
                ":pending": {"S": "pending"},
            },
        },
    )
    store.finish(turn)
