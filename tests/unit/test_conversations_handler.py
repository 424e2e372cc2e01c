"""The history and forget routes (one function): frames read back, deletes at once, and their refusals."""

import json
import time

import pytest
from lambda_context import REQUEST_ID, lambda_context
from table_items import CONNECTION, CONVERSATION_ID, NOW, current, item

from handlers import conversations


def call(message_event, route: str, body: dict) -> dict:
    message_event["requestContext"]["routeKey"] = route
    message_event["body"] = json.dumps(body)
    return conversations.handler(message_event, None)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOW)


def test_history_reads_the_connections_conversation_back_oldest_first(message_event, posts, table):
    table.add_response("get_item", current())
    table.add_response("query", {"Items": [item(2, "Two?", "2"), item(1, "One?", "1")]})
    posts.accept()

    assert call(message_event, "history", {"action": "history"}) == {"statusCode": 200}

    (frame,) = [json.loads(f) for f in posts.sent]
    assert (frame["type"], frame["conversationId"], frame["part"], frame["parts"]) == (
        "history",
        CONVERSATION_ID,
        1,
        1,
    )
    assert [(t["turn"], t["user"], t["assistant"]) for t in frame["turns"]] == [(1, "One?", "1"), (2, "Two?", "2")]


def test_history_by_id_skips_expired_turns(message_event, posts, table):
    table.add_response("query", {"Items": [item(2, "Two?", "2"), item(1, "One?", "1", expires_at=int(NOW) - 1)]})
    posts.accept()

    call(message_event, "history", {"action": "history", "conversationId": CONVERSATION_ID})

    assert [name for name, _ in table.calls] == ["Query"]  # by id: the connection's record is not read
    (frame,) = [json.loads(f) for f in posts.sent]
    assert [t["turn"] for t in frame["turns"]] == [2]


def test_forget_buries_every_turn_and_deletes_the_connections_pointer_at_once(message_event, posts, table):
    items = [item(n, "q", "a") for n in range(30, 0, -1)]
    table.add_response("get_item", current())
    table.add_response("query", {"Items": items})
    table.add_response("put_item", {})  # the marker where turn 31 would go
    table.add_response("batch_write_item", {"UnprocessedItems": {}})
    table.add_response("batch_write_item", {"UnprocessedItems": {}})
    table.add_response("delete_item", {})
    table.add_response("put_item", {})  # off the list
    posts.accept()

    call(message_event, "forget", {"action": "forget"})

    buried = [p["RequestItems"]["conversations-test"] for name, p in table.calls if name == "BatchWriteItem"]
    tombstones = [r["PutRequest"]["Item"] for batch in buried for r in batch]
    assert sorted(int(t["sk"]["N"]) for t in tombstones) == list(range(1, 31)) and [len(b) for b in buried] == [25, 5]
    assert all(set(t) == {"pk", "sk", "status", "expiresAt"} for t in tombstones)  # no text, no owner left
    assert {t["status"]["S"] for t in tombstones} == {"forgotten"}
    pointer = table.calls[-2][1]
    assert pointer["Key"]["pk"] == {"S": f"connection#{CONNECTION}"}
    assert table.calls[-1][1]["Item"] == {  # off the list at once; the mark keeps a late reply from listing it
        "pk": {"S": f"conv#{CONVERSATION_ID}"},
        "sk": {"N": "0"},
        "status": {"S": "forgotten"},
        "expiresAt": {"N": str(int(NOW) + 3600)},
    }
    assert [json.loads(f) for f in posts.sent] == [{"type": "forgotten", "conversationId": CONVERSATION_ID}]
    marker = table.calls[2][1]
    assert marker["Item"] == {
        "pk": {"S": CONVERSATION_ID},
        "sk": {"N": "31"},
        "status": {"S": "forgotten"},
        "expiresAt": {"N": str(int(NOW) + 3600)},
    }  # no text, no owner: only where a reply on its way would go
    assert marker["ConditionExpression"] == "attribute_not_exists(pk)"


def test_a_reply_that_reserved_the_next_turn_meanwhile_is_buried_too(message_event, posts, table):
    table.add_response("query", {"Items": [item(1, "q", "a")]})
    table.add_client_error("put_item", "ConditionalCheckFailedException", http_status_code=400)  # turn 2 taken
    streaming = item(2, "q2", "", status="pending", deadline_at=int(NOW * 1000) + 60_000)
    table.add_response("query", {"Items": [streaming, item(1, "q", "a")]})
    table.add_response("put_item", {})  # the marker at 3
    table.add_response("batch_write_item", {"UnprocessedItems": {}})
    table.add_response("delete_item", {})
    table.add_response("put_item", {})  # off the list
    posts.accept()

    call(message_event, "forget", {"action": "forget", "conversationId": CONVERSATION_ID})

    (batch,) = [p["RequestItems"]["conversations-test"] for name, p in table.calls if name == "BatchWriteItem"]
    assert sorted(int(r["PutRequest"]["Item"]["sk"]["N"]) for r in batch) == [1, 2]
    assert table.calls[3][1]["Item"]["sk"] == {"N": "3"}
    assert json.loads(posts.sent[0])["type"] == "forgotten"


def test_the_connections_conversation_before_its_first_reply_is_stored_is_forgotten_too(message_event, posts, table):
    table.add_response("get_item", current())
    table.add_response("query", {"Items": []})  # turn 1's reply is on its way, not yet reserved
    table.add_response("put_item", {})  # the marker at 1: that reply will not be stored
    table.add_response("delete_item", {})
    table.add_response("put_item", {})  # off the list
    posts.accept()

    call(message_event, "forget", {"action": "forget"})

    assert table.calls[2][1]["Item"]["sk"] == {"N": "1"}
    assert "BatchWriteItem" not in [name for name, _ in table.calls]
    assert json.loads(posts.sent[0]) == {"type": "forgotten", "conversationId": CONVERSATION_ID}


@pytest.mark.parametrize("route", ["history", "forget"])
def test_a_forgotten_conversation_is_not_found_while_its_marker_lasts(message_event, posts, table, route):
    marker = {"pk": {"S": CONVERSATION_ID}, "sk": {"N": "4"}, "status": {"S": "forgotten"}}
    table.add_response("query", {"Items": [{**marker, "expiresAt": {"N": str(int(NOW) + 60)}}]})
    posts.accept()

    call(message_event, route, {"action": route, "conversationId": CONVERSATION_ID})

    assert json.loads(posts.sent[0])["code"] == "ConversationNotFound"


@pytest.mark.parametrize("route", ["history", "forget"])
def test_someone_elses_conversation_is_not_found(message_event, posts, table, route):
    table.add_response("query", {"Items": [item(1, "q", "a", owner="alice")]})
    posts.accept()
    message_event["requestContext"]["authorizer"] = {"principalId": "bob"}

    call(message_event, route, {"action": route, "conversationId": CONVERSATION_ID})

    assert json.loads(posts.sent[0])["code"] == "ConversationNotFound"
    assert [name for name, _ in table.calls] == ["Query"]  # nothing deleted


def test_a_connection_without_a_conversation_has_no_history(message_event, posts, table):
    table.add_response("get_item", {})
    posts.accept()
    call(message_event, "history", {"action": "history"})
    assert json.loads(posts.sent[0])["code"] == "ConversationNotFound"


# The routes' one log line per message: its fields, level and outcome.
def call_raw(message_event, route: str | None, body: str) -> dict:
    """The handler on a body as sent, not necessarily JSON."""
    message_event["requestContext"]["routeKey"] = route
    message_event["body"] = body
    return conversations.handler(message_event, lambda_context())


def logged(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_history_logs_the_turns_and_frames_it_sent(message_event, posts, table, capsys):
    table.add_response("get_item", current())
    table.add_response("query", {"Items": [item(2, "Two?", "2"), item(1, "One?", "1")]})
    posts.accept()
    assert call_raw(message_event, "history", '{"action": "history"}') == {"statusCode": 200}
    assert logged(capsys) == {
        "level": "INFO",
        "event": "history",
        "requestId": REQUEST_ID,
        "messageId": REQUEST_ID,
        "connectionId": CONNECTION,
        "count": 2,
        "frames": 1,
        "error": None,
        "cause": None,
        "gone": False,
    }


def test_forget_logs_one_frame_and_no_turns(message_event, posts, table, capsys):
    table.add_response("get_item", current())
    table.add_response("query", {"Items": [item(1, "q", "a")]})
    table.add_response("put_item", {})  # the marker
    table.add_response("batch_write_item", {})
    table.add_response("delete_item", {})
    table.add_response("put_item", {})  # off the list
    posts.accept()
    call_raw(message_event, "forget", '{"action": "forget"}')
    line = logged(capsys)
    assert (line["event"], line["count"], line["frames"], line["error"], line["gone"]) == ("forget", 0, 1, None, False)


def test_a_bad_message_gets_its_error_frame_and_is_logged_by_code(message_event, posts, table, capsys):
    posts.accept()
    call_raw(message_event, "history", "not json")
    assert json.loads(posts.sent[0])["code"] == "BadRequest"
    line = logged(capsys)
    assert (line["level"], line["error"], line["cause"], line["frames"]) == ("INFO", "BadRequest", None, 1)


def test_a_client_gone_before_its_frames_is_logged_not_raised(message_event, posts, table, capsys):
    table.add_response("get_item", {})
    posts.gone()
    assert call_raw(message_event, None, '{"action": "history"}') == {"statusCode": 200}
    line = logged(capsys)
    assert (line["event"], line["gone"], line["error"]) == ("conversations", True, "ConversationNotFound")


def test_a_store_failure_is_logged_at_error_with_its_cause(message_event, posts, table, capsys):
    table.add_client_error("get_item", "ProvisionedThroughputExceededException")
    posts.accept()
    call_raw(message_event, "history", '{"action": "history"}')
    line = logged(capsys)
    assert line["level"] == "ERROR" and "ProvisionedThroughputExceededException" in line["cause"]
    assert json.loads(posts.sent[0])["type"] == "error"
