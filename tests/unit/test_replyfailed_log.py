"""ReplyFailed's log line, field by field, and a turn nobody can fail any more."""

import json

from test_replyfailed import CONNECTION, record

from handlers import replyfailed


def test_the_log_line_has_every_field(table, posts, capsys):
    table.add_response("update_item", {})
    posts.accept()
    replyfailed.handler(record("RetriesExhausted", 1, "Sandbox.Timedout"), None)
    assert json.loads(capsys.readouterr().out) == {
        "level": "ERROR",
        "event": "reply_failed",
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
    replyfailed.handler(record("RetriesExhausted", 1, "Runtime.ExitError"), None)
    line = json.loads(capsys.readouterr().out)
    assert (line["turn_failed"], line["code"], line["function_error"], line["attempts"]) == (
        False,
        "Internal",
        "Runtime.ExitError",
        1,
    )
    assert len(table.calls) == 1
