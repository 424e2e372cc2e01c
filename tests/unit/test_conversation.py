"""A reply inside its conversation: what SendText and StreamReply read and write in DynamoDB (stubbed), what the
model is sent, and the error frames for unknown, busy and failing conversations. Each message runs through both
functions: SendText reads the conversation and hands the turn over, StreamReply reserves it (once), streams, and
stores the reply."""

import json

import pytest
from bedrock_body import RawStream, reply_messages
from botocore.stub import ANY
from table_items import CONNECTION, CONVERSATION_ID, DAY, NOW, OTHER_ID, current, item
from two_functions import through_both

from conversation import turns
from reply import anthropic, start
from reply.outcome import Outcome


def user(text: str) -> dict:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


HANDED_OVER: list[dict] = []  # what SendText handed StreamReply in this test


@pytest.fixture(autouse=True)
def _handed_over(handed_over):
    global HANDED_OVER
    HANDED_OVER = handed_over


def answer(body: dict, owner: str = "-", now: float = NOW) -> None:
    request_context = {} if owner == "-" else {"authorizer": {"principalId": owner}}
    through_both(HANDED_OVER, start.start(CONNECTION, request_context, json.dumps(body), now, "this-request"))


def sent(posts) -> list:
    return [json.loads(frame) for frame in posts.sent]


def operations(table) -> list[str]:
    return [name for name, _ in table.calls]


def test_the_next_message_on_a_connection_carries_its_history_in_two_reads_and_three_writes(bedrock, posts, table):
    table.add_response("get_item", current())
    table.add_response("query", {"Items": [item(2, "Second?", "Two."), item(1, "First?", "One.")]})
    table.add_response(
        "put_item",
        {},
        {
            "TableName": "conversations-test",
            "Item": {
                "pk": {"S": CONVERSATION_ID},
                "sk": {"N": "3"},
                "owner": {"S": "-"},
                "user": {"S": "Third?"},
                "status": {"S": "pending"},
                "startedAt": {"N": str(int(NOW * 1000))},
                "deadlineAt": ANY,  # StreamReply's own end: its clock, not the injected one
                "requestId": {"S": "stream-request"},  # StreamReply's invocation: only it may finish the turn
                "eventId": {"S": "this-request"},  # SendText's: every delivery of the event carries it
                "claim": ANY,
                "expiresAt": {"N": str(int(NOW) + 30 * DAY)},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    )  # StreamReply reserves the turn
    table.add_response("update_item", {})
    table.add_response("update_item", {})  # ... and the list item
    history = [user("First?"), assistant("One."), user("Second?"), assistant("Two."), user("Third?")]
    bedrock.reply(RawStream(reply_messages(["Three", "."]), pace=posts.pace))
    expected_messages = history
    posts.accept(), posts.accept(), posts.accept()

    answer({"action": "sendtext", "text": "Third?"})

    assert bedrock.requests[-1]["messages"] == expected_messages

    assert operations(table) == ["GetItem", "Query", "PutItem", "UpdateItem", "UpdateItem"]
    query = table.calls[1][1]
    assert query["ConsistentRead"] is True and query["ScanIndexForward"] is False
    assert len(table.calls[2][1]["Item"]["claim"]["S"]) == 32  # 128 random bits, per reserving attempt
    update = table.calls[3][1]
    assert update["ExpressionAttributeValues"][":assistant"] == {"S": "Three."}  # as the client received it
    assert update["ExpressionAttributeValues"][":status"] == {"S": "complete"}
    assert update["ConditionExpression"] == "requestId = :request AND #status = :pending"
    assert update["ExpressionAttributeValues"][":request"] == {"S": "stream-request"}
    listed = table.calls[4][1]  # after the store: the list shows only stored turns
    assert listed["Key"] == {"pk": {"S": f"conv#{CONVERSATION_ID}"}, "sk": {"N": "0"}}
    assert listed["ExpressionAttributeValues"][":turns"] == {"N": "3"}
    assert listed["ExpressionAttributeValues"][":title"] == {"S": "Third?"}
    assert "listOwner" not in listed["UpdateExpression"]  # anonymous: out of the index
    assert sent(posts)[-1]["conversationId"] == CONVERSATION_ID


def test_a_conversation_id_resumes_it_on_a_new_connection_and_the_connection_keeps_it(bedrock, posts, table):
    table.add_response("get_item", {})  # this connection has no conversation yet
    table.add_response("query", {"Items": [item(1, "First?", "One.", pk=OTHER_ID)]})
    table.add_response(
        "put_item",
        {},
        {
            "TableName": "conversations-test",
            "Item": {
                "pk": {"S": f"connection#{CONNECTION}"},
                "sk": {"N": "0"},
                "conversationId": {"S": OTHER_ID},
                "expiresAt": {"N": str(int(NOW) + 3 * 3600)},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        },
    )
    table.add_response("put_item", {})  # StreamReply reserves the turn
    table.add_response("update_item", {})
    table.add_response("update_item", {})  # ... and the list item
    bedrock.reply(RawStream(reply_messages(["Yes"])))
    expected_messages = [user("First?"), assistant("One."), user("Again?")]
    posts.accept(), posts.accept()

    answer({"action": "sendtext", "text": "Again?", "conversationId": OTHER_ID})

    assert bedrock.requests[-1]["messages"] == expected_messages

    assert table.calls[2][1]["Item"]["conversationId"] == {"S": OTHER_ID}
    assert table.calls[3][1]["Item"]["sk"] == {"N": "2"}
    assert sent(posts)[-1] == {
        "type": "end",
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 14, "output_tokens": 1},
        "conversationId": OTHER_ID,
    }


def test_new_true_starts_a_fresh_conversation_only_if_the_connection_still_holds_the_old_one(bedrock, posts, table):
    table.add_response("get_item", current(OTHER_ID))
    table.add_response("put_item", {})
    table.add_response("put_item", {})  # StreamReply reserves the turn
    table.add_response("update_item", {})
    table.add_response("update_item", {})  # ... and the list item
    bedrock.reply(RawStream(reply_messages(["Hi"])))
    posts.accept(), posts.accept()

    answer({"action": "sendtext", "text": "Start over", "new": True})

    assert operations(table) == ["GetItem", "PutItem", "PutItem", "UpdateItem", "UpdateItem"]  # no history read
    pointer = table.calls[1][1]
    assert pointer["Item"]["conversationId"] == {"S": CONVERSATION_ID}
    assert pointer["ExpressionAttributeValues"] == {":previous": {"S": OTHER_ID}}
    assert table.calls[2][1]["Item"]["sk"] == {"N": "1"}
    assert sent(posts)[-1]["conversationId"] == CONVERSATION_ID


def test_the_connections_conversation_without_a_stored_turn_goes_on_under_its_id(bedrock, posts, table):
    """Its first reply never started (the event was dropped, the client told so with the id) or is still on its
    way: the next message continues that id from turn 1 (a race for turn 1 is ConversationBusy, at StreamReply)."""
    table.add_response("get_item", current(OTHER_ID))
    table.add_response("query", {"Items": []})
    table.add_response("put_item", {})  # StreamReply reserves turn 1; the connection's record is unchanged
    table.add_response("update_item", {})
    table.add_response("update_item", {})  # ... and the list item
    bedrock.reply(RawStream(reply_messages(["Hi"])))
    posts.accept(), posts.accept()

    answer({"action": "sendtext", "text": "Again"})

    assert operations(table) == ["GetItem", "Query", "PutItem", "UpdateItem", "UpdateItem"]
    assert (table.calls[2][1]["Item"]["pk"], table.calls[2][1]["Item"]["sk"]) == ({"S": OTHER_ID}, {"N": "1"})
    assert sent(posts)[-1]["conversationId"] == OTHER_ID


@pytest.mark.parametrize(
    ("items", "owner"),
    [
        ([], "-"),  # unknown or forgotten
        ([item(1, "a", "b", expires_at=int(NOW) - 1)], "-"),  # expired, not yet deleted by TTL
        ([item(1, "a", "b", owner="alice")], "bob"),  # someone else's
        (
            [
                {
                    "pk": {"S": OTHER_ID},
                    "sk": {"N": "2"},
                    "status": {"S": "forgotten"},
                    "expiresAt": {"N": str(int(NOW) + 60)},
                }
            ],
            "-",
        ),  # forgotten, its marker left
    ],
)
def test_an_unknown_expired_or_foreign_id_is_not_found_and_nothing_is_written_or_asked(
    bedrock, posts, table, items, owner
):
    table.add_response("get_item", {})
    table.add_response("query", {"Items": items})
    posts.accept()

    answer({"action": "sendtext", "text": "Hello?", "conversationId": OTHER_ID}, owner=owner)

    assert operations(table) == ["GetItem", "Query"]
    assert sent(posts) == [
        {"type": "error", "code": "ConversationNotFound", "message": "No such conversation: it expired or was deleted."}
    ]


def test_an_id_that_cannot_be_ours_is_not_found_without_touching_the_store(bedrock, posts, table):
    posts.accept()
    answer({"action": "sendtext", "text": "Hello?", "conversationId": "../../etc"})
    assert sent(posts)[0]["code"] == "ConversationNotFound" and table.calls == []


@pytest.mark.parametrize(
    "body",
    [
        {"action": "sendtext", "text": "x", "conversationId": 42},
        {"action": "sendtext", "text": "x", "new": "yes"},
        {"action": "sendtext", "text": "x", "new": True, "conversationId": CONVERSATION_ID},
    ],
)
def test_malformed_conversation_fields_are_bad_requests(bedrock, posts, table, body):
    posts.accept()
    answer(body)
    assert sent(posts)[0]["code"] == "BadRequest" and table.calls == []


def test_a_message_while_a_reply_is_streaming_is_busy_and_names_the_conversation(bedrock, posts, table):
    streaming = item(2, "Second?", "", status="pending", deadline_at=int(NOW * 1000) + 60_000)
    table.add_response("get_item", current())
    table.add_response("query", {"Items": [streaming, item(1, "First?", "One.")]})
    posts.accept()

    answer({"action": "sendtext", "text": "Third?"})

    assert operations(table) == ["GetItem", "Query"]
    (error,) = sent(posts)
    assert (error["code"], error["conversationId"]) == ("ConversationBusy", CONVERSATION_ID)


def test_losing_the_race_for_the_turn_number_is_busy(bedrock, posts, table):
    table.add_response("get_item", current())
    table.add_response("query", {"Items": [item(1, "First?", "One.")]})
    table.add_client_error("put_item", "ConditionalCheckFailedException", http_status_code=400)  # StreamReply's
    table.add_response("get_item", {"Item": {"eventId": {"S": "the-winner"}, "status": {"S": "pending"}}})
    posts.accept()

    answer({"action": "sendtext", "text": "Second?"})

    (error,) = sent(posts)
    assert (error["code"], error["conversationId"]) == ("ConversationBusy", CONVERSATION_ID)
    assert table.calls[-1][1]["Key"] == {"pk": {"S": CONVERSATION_ID}, "sk": {"N": "2"}}


@pytest.mark.parametrize("write", ["connection", "turn"])
def test_a_retried_write_that_finds_its_own_first_attempt_is_not_a_conflict(bedrock, posts, table, write, monkeypatch):
    """A loaded store answers late: botocore retries a write that had landed, and the retry fails its condition.
    The write is ours (the same conversation id; the same claim, random per attempt), so the turn goes on."""
    monkeypatch.setattr(turns.secrets, "token_hex", lambda n: "c0ffee")
    table.add_response("get_item", {})  # a new connection
    if write == "connection":
        table.add_client_error("put_item", "ConditionalCheckFailedException", http_status_code=400)
        table.add_response("get_item", {"Item": {"conversationId": {"S": CONVERSATION_ID}}})
        table.add_response("put_item", {})  # StreamReply's reservation
    else:
        table.add_response("put_item", {})
        table.add_client_error("put_item", "ConditionalCheckFailedException", http_status_code=400)
        mine = {"claim": {"S": "c0ffee"}, "eventId": {"S": "this-request"}, "status": {"S": "pending"}}
        table.add_response("get_item", {"Item": mine})
    table.add_response("update_item", {})  # StreamReply's store
    table.add_response("update_item", {})  # ... and the list item
    bedrock.reply(RawStream(reply_messages(["Hi"]), pace=posts.pace))
    posts.accept(), posts.accept()

    answer({"action": "sendtext", "text": "Hello, AI! What you can do?"})

    assert sent(posts)[-1]["type"] == "end"


def test_a_pending_turn_past_its_deadline_was_abandoned_and_is_left_out(bedrock, posts, table):
    abandoned = item(2, "Lost?", "", status="pending", deadline_at=int(NOW * 1000) - 1)
    table.add_response("get_item", current())
    table.add_response("query", {"Items": [abandoned, item(1, "First?", "One.")]})
    table.add_response("put_item", {})  # StreamReply reserves the turn
    table.add_response("update_item", {})
    table.add_response("update_item", {})  # ... and the list item
    bedrock.reply(RawStream(reply_messages(["Ok"])))
    expected_messages = [user("First?"), assistant("One."), user("Next?")]
    posts.accept(), posts.accept()

    answer({"action": "sendtext", "text": "Next?"})

    assert bedrock.requests[-1]["messages"] == expected_messages

    assert table.calls[2][1]["Item"]["sk"] == {"N": "3"}


def test_expired_turns_are_ignored_by_the_injected_clock(bedrock, posts, table):
    table.add_response("get_item", current())
    old = item(1, "Old?", "Old.", expires_at=int(NOW) - 10)
    table.add_response("query", {"Items": [item(2, "New?", "New."), old]})
    table.add_response("put_item", {})  # StreamReply reserves the turn
    table.add_response("update_item", {})
    table.add_response("update_item", {})  # ... and the list item
    bedrock.reply(RawStream(reply_messages(["Ok"])))
    expected_messages = [user("New?"), assistant("New."), user("Now?")]
    posts.accept(), posts.accept()

    answer({"action": "sendtext", "text": "Now?"})

    assert bedrock.requests[-1]["messages"] == expected_messages


@pytest.mark.parametrize("failing", ["get_item", "query", "put_item"])
def test_a_store_failure_before_the_reply_is_an_error_frame_and_the_model_is_not_called(bedrock, posts, table, failing):
    responses = [("get_item", current()), ("query", {"Items": [item(1, "First?", "One.")]}), ("put_item", {})]
    for operation, response in responses:
        if operation == failing:
            table.add_client_error(operation, "InternalServerError", http_status_code=500)
            break
        table.add_response(operation, response)
    posts.accept()

    answer({"action": "sendtext", "text": "Second?"})

    (error,) = sent(posts)
    assert error["code"] == "Internal" and "store" in error["message"]


def test_a_reply_failing_mid_stream_is_stored_as_partial_with_the_text_the_client_got(bedrock, posts, table):
    table.fresh()
    bedrock.reply(RawStream(reply_messages(["Half", " a reply", " never"], fail_after=2), pace=posts.pace))
    posts.accept(), posts.accept(), posts.accept()

    answer({"action": "sendtext", "text": "Hello, AI! What you can do?"})

    values = table.calls[-2][1]["ExpressionAttributeValues"]
    assert values[":assistant"] == {"S": "Half a reply"} and values[":status"] == {"S": "partial"}
    assert sent(posts)[-1]["type"] == "error" and sent(posts)[-1]["conversationId"] == CONVERSATION_ID


def test_a_reply_failing_before_any_text_is_stored_as_failed(bedrock, posts, table):
    table.fresh()
    bedrock.add_client_error("invoke_model_with_response_stream", "ThrottlingException", http_status_code=429)
    posts.accept()

    answer({"action": "sendtext", "text": "Hello, AI! What you can do?"})

    values = table.calls[-2][1]["ExpressionAttributeValues"]
    assert values[":assistant"] == {"S": ""} and values[":status"] == {"S": "failed"}
    assert sent(posts) == [
        {
            "type": "error",
            "code": "Throttled",
            "message": "The model is busy; try again shortly.",
            "conversationId": CONVERSATION_ID,
        }
    ]


def test_a_client_that_left_mid_reply_leaves_a_partial_turn_of_what_the_model_produced(bedrock, posts, table):
    pieces = [f"piece {i} " for i in range(20)]
    table.fresh()
    bedrock.reply(RawStream(reply_messages(pieces), pace=posts.pace))
    posts.accept()
    posts.gone()

    answer({"action": "sendtext", "text": "Hello, AI! What you can do?"})

    values = table.calls[-2][1]["ExpressionAttributeValues"]
    # Without a grace period the model stops at the next delta after the Gone: piece 1 failed to post, and piece 2
    # may have been read while that post was failing. Stored: every piece read, delivered or not.
    assert values[":assistant"]["S"] in ("".join(pieces[:2]), "".join(pieces[:3]))
    assert values[":status"] == {"S": "partial"}


def test_a_turn_forgotten_while_it_streamed_stays_forgotten_and_the_end_frame_still_goes(bedrock, posts, table):
    table.add_response("get_item", {})
    table.add_response("put_item", {})
    table.add_response("put_item", {})  # StreamReply reserves the turn
    table.add_client_error("update_item", "ConditionalCheckFailedException", http_status_code=400)
    table.add_client_error("update_item", "ConditionalCheckFailedException")  # the list item: forget's mark
    bedrock.reply(RawStream(reply_messages(["Hi"])))
    posts.accept(), posts.accept()

    answer({"action": "sendtext", "text": "Hello, AI! What you can do?"})

    assert sent(posts)[-1]["type"] == "end"
    assert table.calls[-1][1]["ConditionExpression"] == "attribute_not_exists(#status)"


def test_a_reply_that_could_not_be_stored_ends_in_an_error_frame_saying_so(bedrock, posts, table):
    table.add_response("get_item", {})
    table.add_response("put_item", {})
    table.add_response("put_item", {})  # StreamReply reserves the turn
    table.add_client_error("update_item", "InternalServerError", http_status_code=500)
    bedrock.reply(RawStream(reply_messages(["Hi"])))
    posts.accept(), posts.accept()

    answer({"action": "sendtext", "text": "Hello, AI! What you can do?"})

    assert sent(posts)[-1]["code"] == "Internal" and "not saved" in sent(posts)[-1]["message"]


def test_the_owner_is_the_authorizers_principal(bedrock, posts, table, message_event):
    from handlers import sendtext

    table.fresh()
    bedrock.reply(RawStream(reply_messages(["Hi"])))
    posts.accept(), posts.accept()
    message_event["requestContext"]["authorizer"] = {"principalId": "user-42"}

    sendtext.handler(message_event, None)
    assert HANDED_OVER[-1]["turn"]["owner"] == "user-42"
    through_both(HANDED_OVER, Outcome())

    assert table.calls[2][1]["Item"]["owner"] == {"S": "user-42"}  # StreamReply's reservation


def test_the_request_has_max_tokens_and_a_system_prompt_only_when_one_is_set():
    body = json.loads(anthropic.request_body(anthropic.user_message("Hi"), "", 1024))
    assert body == {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 1024, "messages": [user("Hi")]}
    body = json.loads(anthropic.request_body(anthropic.user_message("Hi"), "Be brief.", 256))
    assert (body["system"], body["max_tokens"]) == ("Be brief.", 256)
