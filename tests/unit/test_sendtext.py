"""SendText through both stubbed clients: the frames a client sees, and what reaches Bedrock."""

import json
from types import SimpleNamespace

import pytest
from bedrock_body import RawStream, frame, reply_messages
from conftest import CONVERSATION_ID

import sendtext
from protocol import DEFAULT_MAX_TEXT_CHARS

ARTICLE = ["Hello", "! I'm", " an AI", " assistant create", "d by Anthropic"]
END = {
    "type": "end",
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 14, "output_tokens": len(ARTICLE)},
    "conversationId": CONVERSATION_ID,
}


def send(event, body) -> dict:
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return sendtext.handler(event, None)


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
def test_bad_input_gets_one_error_frame_and_no_bedrock_call(message_event, bedrock, posts, body, message):
    posts.accept()
    assert send(message_event, body) == {"statusCode": 200}
    sent = [json.loads(f) for f in posts.sent]
    assert len(sent) == 1
    assert sent[0]["type"] == "error" and sent[0]["code"] == "BadRequest"
    assert message in sent[0]["message"]


def test_text_limit_is_configurable(message_event, bedrock, posts, monkeypatch):
    monkeypatch.setenv("MAX_TEXT_CHARS", "10")
    posts.expect(
        frame({"type": "error", "code": "BadRequest", "message": '"text" has 11 characters; the limit is 10.'})
    )
    send(message_event, {"action": "sendtext", "text": "x" * 11})


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


@pytest.mark.parametrize("bedrock_fails", [False, True])
def test_gone_before_the_error_frame_is_logged_not_raised(message_event, bedrock, posts, table, capsys, bedrock_fails):
    if bedrock_fails:
        table.fresh()
        bedrock.add_client_error("invoke_model_with_response_stream", "ThrottlingException", http_status_code=429)
    posts.gone()
    assert send(message_event, {"action": "sendtext", "text": "hi"} if bedrock_fails else "not json") == {
        "statusCode": 200
    }
    logged = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (logged["gone"], logged["frames"]) == (True, 0)
    assert logged["error"] == ("Throttled" if bedrock_fails else "BadRequest")


def test_log_line_has_the_fields_and_not_the_users_text(message_event, bedrock, posts, table, capsys, monkeypatch):
    table.fresh()
    clock = iter([100.0, 100.25])  # the handler's start and end: an injected clock, so duration_ms is exact
    monkeypatch.setattr(sendtext, "time", SimpleNamespace(monotonic=lambda: next(clock), time=lambda: 1.8e9))
    bedrock.reply(RawStream(reply_messages(["Hi"]), pace=posts.pace))
    posts.expect('"Hi"')
    posts.expect(frame({**END, "usage": {"input_tokens": 14, "output_tokens": 1}}))
    send(message_event, {"action": "sendtext", "text": "my secret question"})
    out = capsys.readouterr().out
    assert "my secret question" not in out
    assert CONVERSATION_ID not in out  # a bearer secret: never logged at INFO
    assert json.loads(out) == {
        "level": "INFO",
        "event": "reply",
        "connectionId": "Zx1mHdJ-tjMCJgQ=",
        "route": "sendtext",
        "model": "jp.anthropic.claude-haiku-4-5-20251001-v1:0",
        "turn": 1,
        "history_turns": 0,
        "deltas": 1,
        "frames": 2,
        "stop_reason": "end_turn",
        "input_tokens": 14,
        "output_tokens": 1,
        "error": None,
        "cause": None,
        "gone": False,
        "duration_ms": 250,
    }


def test_a_failed_reply_is_logged_at_error_with_its_cause(message_event, bedrock, posts, table, capsys):
    table.fresh()
    bedrock.add_client_error("invoke_model_with_response_stream", "ModelNotReadyException", "warming up")
    posts.accept()
    send(message_event, {"action": "sendtext", "text": "hi"})
    line = json.loads(capsys.readouterr().out)
    assert (line["level"], line["error"], line["frames"], line["gone"]) == ("ERROR", "ModelError", 1, False)
    assert line["cause"].startswith("ModelNotReadyException(") and "warming up" in line["cause"]


def test_bad_input_is_logged_at_info_with_its_code(message_event, bedrock, posts, capsys):
    posts.accept()
    send(message_event, "not json")
    line = json.loads(capsys.readouterr().out)
    assert (line["level"], line["error"], line["cause"], line["frames"], line["deltas"]) == (
        "INFO",
        "BadRequest",
        None,
        1,
        0,
    )


def test_log_level_debug_adds_a_line_with_the_users_text(message_event, bedrock, posts, table, capsys, log_level):
    log_level("DEBUG")
    table.fresh()
    bedrock.reply(RawStream(reply_messages(["Hi"]), pace=posts.pace))
    posts.accept()
    posts.accept()
    send(message_event, {"action": "sendtext", "text": "my secret question"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {
        "level": "DEBUG",
        "event": "request",
        "connectionId": "Zx1mHdJ-tjMCJgQ=",
        "text": "my secret question",
    } in lines
    assert [line["event"] for line in lines if line["level"] != "DEBUG"] == ["reply"]
