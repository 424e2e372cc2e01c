"""A message through SendText and then StreamReply (on what SendText handed over, as Lambda runs it), with every
client stubbed: the frames a client sees, what reaches Bedrock, and the stop before StreamReply's own timeout.
SendText's own checks (validation, the start): test_sendtext.py."""

import json
import time
from types import SimpleNamespace

import pytest
from bedrock_body import RawStream, frame, reply_messages
from table_items import CONVERSATION_ID

import connections
from handlers import sendtext, streamreply

ARTICLE = ["Hello", "! I'm", " an AI", " assistant create", "d by Anthropic"]
END = {
    "type": "end",
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 14, "output_tokens": len(ARTICLE)},
    "conversationId": CONVERSATION_ID,
}


HANDED_OVER: list[dict] = []  # what SendText handed StreamReply in this test


@pytest.fixture(autouse=True)
def _handed_over(handed_over):
    global HANDED_OVER
    HANDED_OVER = handed_over


def context(remaining_ms: int = 900_000) -> object:
    """The Lambda context's parts StreamReply uses."""
    return SimpleNamespace(aws_request_id="stream-request", get_remaining_time_in_millis=lambda: remaining_ms)


def send(event, body, remaining_ms: int = 900_000) -> dict:
    """The message through SendText, then StreamReply as SendText started it."""
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    assert sendtext.handler(event, SimpleNamespace(aws_request_id="message-1")) == {"statusCode": 200}
    (payload,) = HANDED_OVER
    return streamreply.handler(payload, context(remaining_ms))


def test_streams_each_delta_as_the_articles_json_string_then_the_end_frame(message_event, bedrock, posts, table):
    table.fresh()
    raw = RawStream(reply_messages(ARTICLE), pace=posts.pace)  # each delta after the last one's post: no joining
    bedrock.reply(raw)
    for piece in ARTICLE:
        posts.expect(json.dumps(piece))
    posts.expect(frame(END))

    assert send(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"}) == {"statusCode": 200}
    assert raw.read == len(raw.messages)


def test_the_request_is_the_anthropic_messages_body_with_1024_max_tokens(message_event, bedrock, posts, table):
    table.fresh()
    """Pinned literally (not rebuilt with model.request_body, the code under test): the model, the token cap
    and the shape Bedrock's Anthropic models accept."""
    bedrock.reply(RawStream(reply_messages(["Hi"])))
    posts.accept()
    posts.accept()
    send(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"})
    assert bedrock.requests == [
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello, AI! What you can do?"}]}],
        }
    ]


def test_frame_bytes_match_the_article_for_non_ascii_deltas(message_event, bedrock, posts, table):
    table.fresh()
    pieces = ["\n\n\u2022", " Math"]
    bedrock.reply(RawStream(reply_messages(pieces), pace=posts.pace))
    posts.expect('"\\n\\n\\u2022"')  # exactly what the article's wscat transcript shows
    posts.expect('" Math"')
    posts.expect(frame({**END, "usage": {"input_tokens": 14, "output_tokens": 2}}))
    send(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"})


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ThrottlingException", "Throttled"),
        ("ServiceQuotaExceededException", "Throttled"),
        ("AccessDeniedException", "ModelError"),
        ("ValidationException", "ModelError"),
        ("ResourceNotFoundException", "ModelError"),
        ("ModelTimeoutException", "ModelError"),
        ("ServiceUnavailableException", "ModelError"),
        ("InternalServerException", "ModelError"),
    ],
)
def test_bedrock_error_before_the_stream_ends_the_reply_with_an_error_frame(
    message_event, bedrock, posts, table, code, expected
):
    table.fresh()
    bedrock.add_client_error(
        "invoke_model_with_response_stream",
        code,
        "User: arn:aws:sts::123456789012:assumed-role/x is not authorized",
        http_status_code=400,
    )
    posts.accept()
    send(message_event, {"action": "sendtext", "text": "hi"})
    sent = [json.loads(f) for f in posts.sent]
    assert [f["code"] for f in sent] == [expected]
    assert "123456789012" not in sent[0]["message"]  # Bedrock's message (with an account id) stays in the log


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        ("throttlingException", "Throttled"),
        ("modelStreamErrorException", "ModelError"),
        ("internalServerException", "ModelError"),
    ],
)
def test_error_event_mid_stream_sends_the_deltas_so_far_then_an_error_frame(
    message_event, bedrock, posts, table, exception, expected
):
    table.fresh()
    bedrock.reply(RawStream(reply_messages(ARTICLE, fail_after=2, exception=exception), pace=posts.pace))
    posts.expect(json.dumps(ARTICLE[0]))
    posts.expect(json.dumps(ARTICLE[1]))
    messages = {
        "Throttled": "The model is busy; try again shortly.",
        "ModelError": "The model failed while streaming its reply."
        if exception == "modelStreamErrorException"
        else "The model service failed; try again shortly.",
    }
    error = {"type": "error", "code": expected, "message": messages[expected], "conversationId": CONVERSATION_ID}
    posts.expect(frame(error))
    send(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"})


def test_client_gone_mid_stream_stops_posting_and_closes_the_bedrock_stream(
    message_event, bedrock, posts, table, capsys
):
    table.fresh()
    pieces = [f"piece {i} " for i in range(40)]
    raw = RawStream(reply_messages(pieces), pace=posts.pace)
    bedrock.reply(raw)
    posts.expect(json.dumps(pieces[0]))
    posts.gone()  # and no more posts: Stubber fails the test on an unexpected call

    assert send(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"}) == {"statusCode": 200}
    assert raw.closed.is_set()
    # 2 opening messages, the 2 posted deltas, and at most the next two: the one read while the Gone was being
    # handled and the one after which the reader sees it (the relay's own test pins "the next event" exactly).
    assert raw.read <= 6, "the reader must stop within a chunk of the Gone, not drain the model"
    logged = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert logged["gone"] is True and logged["frames"] == 1


def test_gone_before_the_error_frame_is_logged_not_raised(message_event, bedrock, posts, table, capsys):
    table.fresh()
    bedrock.add_client_error("invoke_model_with_response_stream", "ThrottlingException", http_status_code=429)
    posts.gone()
    assert send(message_event, {"action": "sendtext", "text": "hi"}) == {"statusCode": 200}
    logged = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (logged["gone"], logged["frames"], logged["error"]) == (True, 0, "Throttled")


def test_log_line_has_the_fields_and_not_the_users_text(message_event, bedrock, posts, table, capsys, monkeypatch):
    table.fresh()
    clock = iter([100.0, 100.25])  # StreamReply's start and end: an injected clock, so duration_ms is exact
    monkeypatch.setattr(streamreply, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    bedrock.reply(RawStream(reply_messages(["Hi"]), pace=posts.pace))
    posts.expect('"Hi"')
    posts.expect(frame({**END, "usage": {"input_tokens": 14, "output_tokens": 1}}))
    send(message_event, {"action": "sendtext", "text": "my secret question"})
    out = capsys.readouterr().out
    assert "my secret question" not in out
    assert CONVERSATION_ID not in out  # a bearer secret: never logged at INFO
    assert json.loads(out.strip().splitlines()[-1]) == {
        "level": "INFO",
        "event": "reply",
        "requestId": "stream-request",
        "messageId": "message-1",  # SendText's request id: one message's lines share it
        "connectionId": "Zx1mHdJ-tjMCJgQ=",
        "model": "jp.anthropic.claude-haiku-4-5-20251001-v1:0",
        "turn": 1,
        "history_turns": 0,
        "deltas": 1,
        "frames": 2,
        "stop_reason": "end_turn",
        "input_tokens": 14,
        "output_tokens": 1,
        "cache_read_tokens": None,  # caching did not apply (PromptCaching off)
        "cache_write_tokens": None,
        "error": None,
        "cause": None,
        "gone": False,
        "halted": None,
        "duration_ms": 250,
    }


def test_a_failed_reply_is_logged_at_error_with_its_cause(message_event, bedrock, posts, table, capsys):
    table.fresh()
    bedrock.add_client_error("invoke_model_with_response_stream", "ModelNotReadyException", "warming up")
    posts.accept()
    send(message_event, {"action": "sendtext", "text": "hi"})
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["level"], line["error"], line["frames"], line["gone"]) == ("ERROR", "ModelError", 1, False)
    assert line["cause"].startswith("ModelNotReadyException(") and "warming up" in line["cause"]


def test_a_duplicate_delivery_finds_the_turn_reserved_by_its_message_and_sends_nothing(
    message_event, bedrock, posts, table, capsys
):
    table.fresh()
    bedrock.reply(RawStream(reply_messages(["Hi"]), pace=posts.pace))
    posts.expect('"Hi"')
    posts.expect(frame({**END, "usage": {"input_tokens": 14, "output_tokens": 1}}))
    send(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"})
    (payload,) = HANDED_OVER
    reserved = table.calls[2][1]["Item"]
    assert reserved["eventId"]["S"] == payload["turn"]["event_id"]
    table.add_client_error("put_item", "ConditionalCheckFailedException", http_status_code=400)
    table.add_response("get_item", {"Item": {k: reserved[k] for k in ("claim", "eventId", "status")}})

    assert streamreply.handler(payload, context()) == {"statusCode": 200}  # Lambda delivers the event again

    reservations = [params for name, params in table.calls if name == "PutItem" and params["Item"]["sk"] != {"N": "0"}]
    assert len(reservations) == 2 and reservations[0]["Item"]["claim"] != reservations[1]["Item"]["claim"]
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["event"] == "duplicate"
    # and no second Bedrock call or post: the stubs would fail the test on one


@pytest.mark.parametrize(
    ("status", "code"),
    [("pending", "ConversationBusy"), ("complete", "ConversationBusy"), ("forgotten", "ConversationNotFound")],
)
def test_a_turn_number_taken_by_another_message_or_by_forget_ends_in_one_error_frame(
    message_event, posts, table, status, code
):
    table.add_response("get_item", {})
    table.add_response("put_item", {})
    table.add_client_error("put_item", "ConditionalCheckFailedException", http_status_code=400)
    table.add_response("get_item", {"Item": {"eventId": {"S": "another-message"}, "status": {"S": status}}})
    posts.accept()
    send(message_event, {"action": "sendtext", "text": "Hello"})  # and no Bedrock call: the stub would fail on one
    (sent,) = [json.loads(f) for f in posts.sent]
    assert (sent["type"], sent["code"]) == ("error", code)
    assert sent.get("conversationId") == (CONVERSATION_ID if code == "ConversationBusy" else None)


def test_a_reply_still_streaming_near_the_functions_timeout_stops_with_an_error_frame(
    message_event, bedrock, table, monkeypatch
):
    table.fresh()
    sent: list[str] = []
    monkeypatch.setattr(connections, "post", lambda connection_id, frame: sent.append(frame))
    # 200 deltas 50 ms apart: 10 s of reply, in a function with 2 s left.
    raw = RawStream(reply_messages([f"piece {i} " for i in range(200)]), pace=lambda n: time.sleep(0.05))
    bedrock.reply(raw)
    started = time.monotonic()
    send(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"}, remaining_ms=2000)
    elapsed = time.monotonic() - started
    assert 1.6 < elapsed < 1.95  # a tenth of the time is kept for the closing frame and storing the turn
    frames = [json.loads(f) for f in sent]
    assert len(frames) > 10 and all(isinstance(f, str) for f in frames[:-1])
    assert frames[-1] == {
        "type": "error",
        "code": "ReplyTooLong",
        "message": "The reply reached its time limit and was cut short.",
        "conversationId": CONVERSATION_ID,
    }
    assert raw.closed.is_set() and raw.read < len(raw.messages)
    stored = table.calls[-2][1]["ExpressionAttributeValues"]
    assert stored[":status"] == {"S": "partial"}  # what the client got is kept
