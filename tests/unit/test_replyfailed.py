"""ReplyFailed: StreamReply's OnFailure destination turns Lambda's failure record into the client's error frame and
marks the turn failed if the invocation that crashed had reserved it (an event dropped unrun reserved nothing)."""

import json

import pytest
from async_record import CONNECTION, INVOCATION, record
from bedrock_body import frame
from lambda_context import REQUEST_ID, lambda_context
from table_items import CONVERSATION_ID

from conversation import budget
from handlers import replyfailed


def request_ids(table) -> list[str]:
    return [params["ExpressionAttributeValues"][":request"]["S"] for _, params in table.calls]


@pytest.mark.parametrize(
    ("error_type", "message"),
    [
        ("Runtime.ExitError", "The reply failed on our side; try again."),
        ("Sandbox.Timedout", "The reply failed on our side; try again."),
    ],
)
def test_a_crash_or_timeout_gets_one_error_frame_and_the_turn_it_reserved_fails(
    table, posts, capsys, error_type, message
):
    table.add_response("update_item", {})
    posts.expect(frame({"type": "error", "code": "Internal", "message": message, "conversationId": CONVERSATION_ID}))
    assert replyfailed.handler(record("RetriesExhausted", 1, error_type), None) == {"statusCode": 200}
    assert request_ids(table) == [INVOCATION]
    assert table.calls[0][1]["ExpressionAttributeValues"][":status"] == {"S": "failed"}
    assert table.calls[0][1]["ConditionExpression"] == "requestId = :request AND #status = :pending"
    out = capsys.readouterr().out
    assert "my secret" not in out and CONVERSATION_ID not in out
    line = json.loads(out)
    assert (line["event"], line["condition"], line["function_error"], line["turn_failed"]) == (
        "reply_failed",
        "RetriesExhausted",
        error_type,
        True,
    )


def test_a_dropped_event_gets_one_error_frame_and_writes_nothing(table, posts):
    posts.expect(
        frame(
            {
                "type": "error",
                "code": "Throttled",
                "message": "The reply could not start in time; try again shortly.",
                "conversationId": CONVERSATION_ID,
            }
        )
    )
    replyfailed.handler(record("EventAgeExceeded", 0), None)
    assert table.calls == []  # it never ran, so it reserved nothing: the conversation takes the next message


def test_a_client_that_left_is_logged_not_raised(table, posts, capsys):
    table.add_response("update_item", {})
    posts.gone()
    assert replyfailed.handler(record("RetriesExhausted", 1, "Runtime.ExitError"), None) == {"statusCode": 200}
    assert json.loads(capsys.readouterr().out)["gone"] is True


@pytest.mark.parametrize(
    ("condition", "units"),
    [("EventAgeExceeded", -5000), ("RetriesExhausted", 0)],  # never ran: all back; crashed: spend unknown, kept
)
def test_a_reply_that_never_finished_settles_its_reservation_and_its_place_in_flight(
    table, posts, monkeypatch, condition, units
):
    monkeypatch.setattr(budget, "BUDGET", 100_000)
    reservation = budget.Reservation("user-1", "2026-11-27", 5000, in_flight=True)
    if condition == "RetriesExhausted":
        table.add_response("update_item", {})  # the turn marked failed
    table.add_response(
        "update_item",
        {"Attributes": {"spent": {"N": "7000"}}},
        {
            "TableName": "conversations-test",
            "Key": {"pk": {"S": "budget#user-1#2026-11-27"}, "sk": {"N": "0"}},
            "UpdateExpression": "ADD spent :units, inFlight :flight",
            "ExpressionAttributeValues": {":units": {"N": str(units)}, ":flight": {"N": "-1"}},
            "ReturnValues": "UPDATED_NEW",
        },
    )
    posts.accept()
    replyfailed.handler(record(condition, 1, reservation=reservation), None)


# Its log line, field by field.
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
