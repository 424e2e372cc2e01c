"""SendText alone: validates the message (a BadRequest error frame at once), reads the conversation, and starts the
reply with an asynchronous invocation of StreamReply, handing it the turn to reserve and the model's messages. It
never calls the model and never writes a turn. The reply itself: test_streamreply.py."""

import json

import pytest
from bedrock_body import frame
from botocore.stub import ANY
from lambda_context import REQUEST_ID, lambda_context
from table_items import CONVERSATION_ID

from handlers import sendtext
from protocol import DEFAULT_MAX_TEXT_CHARS
from reply import start

CONNECTION = "Zx1mHdJ-tjMCJgQ="


def send(event, body) -> dict:
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return sendtext.handler(event, lambda_context())


def begins(table) -> None:
    table.add_response("get_item", {})  # the connection has no conversation yet
    table.add_response("put_item", {})  # ... now it has


def test_a_valid_message_hands_its_turn_over_asynchronously_unreserved(message_event, table, posts, handed_over):
    begins(table)
    assert send(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"}) == {"statusCode": 200}
    assert posts.sent == []  # the reply's frames are StreamReply's
    (payload,) = handed_over
    assert payload["connectionId"] == CONNECTION
    assert payload["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hello, AI! What you can do?"}]}
    ]
    turn = payload["turn"]
    assert (turn["conversation_id"], turn["number"], turn["status"], turn["user"]) == (
        CONVERSATION_ID,
        1,
        "pending",
        "",
    )
    assert turn["event_id"] == REQUEST_ID  # SendText's request id: every delivery of the event carries it
    assert [name for name, _ in table.calls] == ["GetItem", "PutItem"]  # the connection's record only
    assert "sk" in table.calls[1][1]["Item"] and table.calls[1][1]["Item"]["sk"] == {"N": "0"}


def test_the_reply_is_started_as_an_event_on_exactly_the_streaming_function(message_event, table, posts, lambdas):
    begins(table)
    lambdas.add_response(
        "invoke",
        {"StatusCode": 202},
        {"FunctionName": start.REPLY_FUNCTION, "InvocationType": "Event", "Payload": ANY},
    )
    send(message_event, {"action": "sendtext", "text": "Hello"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "Messages must be JSON"),
        ('["sendtext"]', "must be a JSON object"),
        ({"action": "sendtext"}, '"text" is missing'),
        ({"action": "sendtext", "text": ""}, '"text" is empty'),
        ({"action": "sendtext", "text": " \n\t "}, '"text" is empty'),
        ({"action": "sendtext", "text": 42}, '"text" must be a string'),
        ({"action": "sendtext", "text": ["a"]}, '"text" must be a string'),
        ({"action": "sendtext", "text": "x" * (DEFAULT_MAX_TEXT_CHARS + 1)}, "the limit is 131072"),
    ],
)
def test_bad_input_gets_one_error_frame_and_starts_no_reply(message_event, lambdas, posts, body, message):
    posts.accept()
    assert send(message_event, body) == {"statusCode": 200}
    sent = [json.loads(f) for f in posts.sent]
    assert len(sent) == 1
    assert sent[0]["type"] == "error" and sent[0]["code"] == "BadRequest"
    assert message in sent[0]["message"]


def test_text_limit_is_configurable(message_event, lambdas, posts, monkeypatch):
    monkeypatch.setenv("MAX_TEXT_CHARS", "10")
    posts.expect(
        frame({"type": "error", "code": "BadRequest", "message": '"text" has 11 characters; the limit is 10.'})
    )
    send(message_event, {"action": "sendtext", "text": "x" * 11})


def test_a_reply_that_cannot_start_gets_an_error_frame_and_holds_no_turn(message_event, table, lambdas, posts, capsys):
    begins(table)
    lambdas.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    posts.expect(
        frame(
            {
                "type": "error",
                "code": "Throttled",
                "message": "The reply could not start; try again shortly.",
                "conversationId": CONVERSATION_ID,
            }
        )
    )
    send(message_event, {"action": "sendtext", "text": "hi"})
    assert [name for name, _ in table.calls] == ["GetItem", "PutItem"]  # nothing reserved: nothing to free
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["event"], line["level"], line["started"], line["error"]) == ("start", "ERROR", False, "Throttled")


def test_gone_before_the_error_frame_is_logged_not_raised(message_event, lambdas, posts, capsys):
    posts.gone()
    assert send(message_event, "not json") == {"statusCode": 200}
    logged = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (logged["gone"], logged["error"], logged["started"]) == (True, "BadRequest", False)


def test_log_line_has_the_fields_and_not_the_users_text(message_event, table, posts, handed_over, capsys):
    begins(table)
    send(message_event, {"action": "sendtext", "text": "my secret question"})
    out = capsys.readouterr().out
    assert "my secret question" not in out
    assert CONVERSATION_ID not in out  # a bearer secret: never logged at INFO
    line = json.loads(out.strip().splitlines()[-1])
    assert (line["event"], line["connectionId"], line["route"], line["started"], line["turn"]) == (
        "start",
        CONNECTION,
        "sendtext",
        True,
        1,
    )
    assert isinstance(line["duration_ms"], int)


def test_bad_input_is_logged_at_info_with_its_code(message_event, lambdas, posts, capsys):
    posts.accept()
    send(message_event, "not json")
    line = json.loads(capsys.readouterr().out)
    assert (line["level"], line["error"], line["cause"], line["started"]) == ("INFO", "BadRequest", None, False)


def test_log_level_debug_adds_a_line_with_the_users_text(message_event, table, posts, handed_over, capsys, log_level):
    log_level("DEBUG")
    begins(table)
    send(message_event, {"action": "sendtext", "text": "my secret question"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {
        "level": "DEBUG",
        "event": "request",
        "requestId": REQUEST_ID,
        "messageId": REQUEST_ID,
        "connectionId": CONNECTION,
        "text": "my secret question",
    } in lines
    assert [line["event"] for line in lines if line["level"] != "DEBUG"] == ["start"]
