"""ReplyFailed's log line, field by field, and a turn nobody can fail any more."""

import json

from async_record import CONNECTION, record
from lambda_context import REQUEST_ID, lambda_context

from handlers import replyfailed


def test_the_log_line_has_every_field(table, posts, capsys):
    table.add_response("update_item", {})
    posts.accept()
    replyfailed.handler(record("RetriesExhausted", 1, "Sandbox.Timedout"), lambda_context())
    assert json.loads(capsys.readouterr().out) == {
        "level": "ERROR",
        "event": "reply_failed",
        "requestId": REQUEST_ID,
        "messageId": "sendtext-request",
        "connectionId": CONNECTION,
        "condition": "RetriesExhausted",
        "attempts": 1,
        "function_error": "Sandbox.Timedout",
        "code": "Internal",
        "turn_failed": True,
        "gone": False,
    }


def test_a_turn_finished_or_deleted_meanwhile_is_left_alone(table, posts, capsys):
    table.add_client_error("update_item", "ConditionalCheckFailedException")  # not pending, or gone
    posts.accept()
    replyfailed.handler(record("RetriesExhausted", 1, "Runtime.ExitError"), lambda_context())
    line = json.loads(capsys.readouterr().out)
    assert (line["turn_failed"], line["code"], line["function_error"], line["attempts"]) == (
        False,
        "Internal",
        "Runtime.ExitError",
        1,
    )
    assert len(table.calls) == 1
