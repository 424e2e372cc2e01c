"""Nothing a client sends reaches an uncaught exception (issue 23, item 7): each input gets its error frame and the
handler returns normally, so none counts as a function error (the owner's alarm stays quiet)."""

import json

import pytest
from lambda_context import lambda_context
from table_items import CONVERSATION_ID, current

import connections
from handlers import conversations, default, sendtext
from protocol import FRAME_LIMIT_BYTES, MAX_QUOTED_CHARS, ErrorCode, ProtocolError, conversation_id_of, parse_sendtext

LONE_SURROGATE = '{"action": "sendtext", "text": "hello \\ud800"}'  # valid JSON; no UTF-8 can carry it


def test_a_lone_surrogate_in_text_is_a_bad_request():
    with pytest.raises(ProtocolError) as caught:
        parse_sendtext(LONE_SURROGATE)
    assert caught.value.code == ErrorCode.BAD_REQUEST and "surrogate" in caught.value.message


def test_a_surrogate_pair_is_text_like_any_other():
    assert parse_sendtext('{"text": "\\ud83d\\ude00"}').text == "\N{GRINNING FACE}"


def test_sendtext_answers_a_lone_surrogate_with_one_bad_request_frame(message_event, posts, lambdas):
    message_event["body"] = LONE_SURROGATE
    posts.accept()  # no store call, no invoke: the stubbers fail the test on either
    assert sendtext.handler(message_event, lambda_context()) == {"statusCode": 200}
    assert json.loads(posts.sent[0])["code"] == "BadRequest"


def test_default_quotes_only_the_start_of_a_huge_action(message_event, posts):
    message_event["body"] = json.dumps({"action": "x" * 120_000})
    posts.accept()
    assert default.handler(message_event, lambda_context()) == {"statusCode": 200}
    (sent,) = posts.sent
    message = json.loads(sent)["message"]
    assert message.startswith('Unknown action "' + "x" * (MAX_QUOTED_CHARS - 4) + ".... Send")
    assert len(sent.encode()) < 1000 < FRAME_LIMIT_BYTES


def test_default_quotes_a_short_action_whole(message_event, posts):
    action = "y" * (MAX_QUOTED_CHARS - 2)  # with its quotes, exactly the limit
    message_event["body"] = json.dumps({"action": action})
    posts.accept()
    default.handler(message_event, lambda_context())
    assert f'"{action}".' in json.loads(posts.sent[0])["message"]


@pytest.mark.parametrize("code", ["PayloadTooLargeException", "ForbiddenException", "LimitExceededException"])
def test_a_refused_post_of_an_error_frame_is_logged_not_raised(message_event, posts, capsys, monkeypatch, code):
    monkeypatch.setattr(connections, "RETRY_DELAYS", ())  # one attempt, even for the retried throttle
    message_event["body"] = '{"action": "chat"}'
    posts.add_client_error("post_to_connection", code, http_status_code=413 if "Payload" in code else 400)
    assert default.handler(message_event, lambda_context()) == {"statusCode": 200}
    undelivered, unmatched = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (undelivered["level"], undelivered["event"]) == ("WARNING", "undelivered") and code in undelivered["cause"]
    assert (unmatched["event"], unmatched["delivered"]) == ("unmatched", False)


def test_a_refused_history_frame_ends_the_route_normally(message_event, posts, table, capsys):
    table.add_response("get_item", current())
    table.add_response("query", {"Items": []})
    posts.add_client_error("post_to_connection", "PayloadTooLargeException", http_status_code=413)
    message_event["requestContext"]["routeKey"] = "history"
    message_event["body"] = '{"action": "history"}'
    assert conversations.handler(message_event, lambda_context()) == {"statusCode": 200}
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (last["event"], last["gone"]) == ("history", True)


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " "])
def test_an_id_with_a_trailing_newline_is_not_one_of_ours(suffix):
    with pytest.raises(ProtocolError) as caught:
        conversation_id_of({"conversationId": CONVERSATION_ID + suffix})
    assert caught.value.code == ErrorCode.CONVERSATION_NOT_FOUND
    assert conversation_id_of({"conversationId": CONVERSATION_ID}) == CONVERSATION_ID
