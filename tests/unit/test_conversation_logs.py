"""The history and forget routes' one log line per message: its fields, level and outcome."""

import json
import time

import pytest
from lambda_context import REQUEST_ID, lambda_context
from table_items import CONNECTION, NOW, current, item

from handlers import conversations


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOW)


def call(message_event, route: str | None, body: str) -> dict:
    message_event["requestContext"]["routeKey"] = route
    message_event["body"] = body
    return conversations.handler(message_event, lambda_context())


def logged(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_history_logs_the_turns_and_frames_it_sent(message_event, posts, table, capsys):
    table.add_response("get_item", current())
    table.add_response("query", {"Items": [item(2, "Two?", "2"), item(1, "One?", "1")]})
    posts.accept()
    assert call(message_event, "history", '{"action": "history"}') == {"statusCode": 200}
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
    call(message_event, "forget", '{"action": "forget"}')
    line = logged(capsys)
    assert (line["event"], line["count"], line["frames"], line["error"], line["gone"]) == ("forget", 0, 1, None, False)


def test_a_bad_message_gets_its_error_frame_and_is_logged_by_code(message_event, posts, table, capsys):
    posts.accept()
    call(message_event, "history", "not json")
    assert json.loads(posts.sent[0])["code"] == "BadRequest"
    line = logged(capsys)
    assert (line["level"], line["error"], line["cause"], line["frames"]) == ("INFO", "BadRequest", None, 1)


def test_a_client_gone_before_its_frames_is_logged_not_raised(message_event, posts, table, capsys):
    table.add_response("get_item", {})
    posts.gone()
    assert call(message_event, None, '{"action": "history"}') == {"statusCode": 200}
    line = logged(capsys)
    assert (line["event"], line["gone"], line["error"]) == ("conversations", True, "ConversationNotFound")


def test_a_store_failure_is_logged_at_error_with_its_cause(message_event, posts, table, capsys):
    table.add_client_error("get_item", "ProvisionedThroughputExceededException")
    posts.accept()
    call(message_event, "history", '{"action": "history"}')
    line = logged(capsys)
    assert line["level"] == "ERROR" and "ProvisionedThroughputExceededException" in line["cause"]
    assert json.loads(posts.sent[0])["type"] == "error"
