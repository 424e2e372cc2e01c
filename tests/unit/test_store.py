"""The store's own translation to and from DynamoDB items, and its request shapes (Stubber, exact parameters)."""

import pytest

import store

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


def test_deletes_go_25_at_a_time_and_unprocessed_ones_are_sent_again(table, monkeypatch):
    monkeypatch.setattr(store.time, "sleep", lambda seconds: None)

    def batch(numbers: list[int]) -> dict:
        requests = [{"DeleteRequest": {"Key": {"pk": {"S": "c"}, "sk": {"N": str(n)}}}} for n in numbers]
        return {store.TABLE: requests}

    table.add_response("batch_write_item", {}, {"RequestItems": batch(list(range(1, 26)))})
    table.add_response("batch_write_item", {"UnprocessedItems": batch([27])}, {"RequestItems": batch([26, 27])})
    table.add_response("batch_write_item", {}, {"RequestItems": batch([27])})
    store.delete("c", list(range(1, 28)))


def test_deletes_left_unprocessed_five_times_fail(table, monkeypatch):
    monkeypatch.setattr(store.time, "sleep", lambda seconds: None)
    left = {store.TABLE: [{"DeleteRequest": {"Key": {"pk": {"S": "c"}, "sk": {"N": "1"}}}}]}
    for _ in range(5):
        table.add_response("batch_write_item", {"UnprocessedItems": left})
    with pytest.raises(RuntimeError, match="after 5 attempts"):
        store.delete("c", [1])


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


TURN = store.Turn("conv-1", 3, "user-7", "question", request_id="reserved-by-sendtext")


def test_claiming_a_turn_replaces_its_request_id_once(table):
    table.add_response(
        "update_item",
        {},
        {
            "TableName": store.TABLE,
            "Key": {"pk": {"S": "conv-1"}, "sk": {"N": "3"}},
            "UpdateExpression": "SET requestId = :mine",
            "ConditionExpression": "requestId = :reserved AND #status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":mine": {"S": "stream-invocation"},
                ":reserved": {"S": "reserved-by-sendtext"},
                ":pending": {"S": "pending"},
            },
        },
    )
    turn = store.Turn(**vars(TURN))
    store.claim(turn, "stream-invocation")
    assert turn.request_id == "stream-invocation"


@pytest.mark.parametrize("call", ["claim", "finish"])
def test_a_lost_condition_is_a_conflict_and_other_failures_pass_through(table, call):
    operation = "update_item"
    run = {
        "claim": lambda: store.claim(store.Turn(**vars(TURN)), "other"),
        "finish": lambda: store.finish(store.Turn(**vars(TURN))),
    }[call]
    table.add_client_error(operation, "ConditionalCheckFailedException")
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
def test_finishing_stores_the_outcome_only_for_the_claiming_invocation(
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
            "ConditionExpression": "requestId = :request",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":assistant": {"S": "answer"},
                ":status": {"S": "complete"},
                ":stop": stop,
                ":input": inputs,
                ":output": outputs,
                ":request": {"S": "reserved-by-sendtext"},
            },
        },
    )
    store.finish(turn)
