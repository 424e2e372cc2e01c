"""$connect, $disconnect and $default."""

import json

import pytest
from bedrock_body import frame
from botocore.exceptions import ReadTimeoutError
from lambda_context import REQUEST_ID, lambda_context

import connections
from handlers import connect, default, disconnect
from signin import handshake
from tests.sample_events import load_event


def test_connect_accepts_and_logs_the_connection(capsys):
    assert connect.handler(load_event("apiGatewayWebSocketApiConnect"), lambda_context()) == {"statusCode": 200}
    line = json.loads(capsys.readouterr().out)
    assert (line["event"], line["connectionId"], line["sourceIp"]) == ("connect", "Zx1mHdJ-tjMCJgQ=", "203.0.113.10")


def test_connect_without_an_identity_block_still_accepts(capsys):
    event = load_event("apiGatewayWebSocketApiConnect")
    del event["requestContext"]["identity"]
    assert connect.handler(event, lambda_context())["statusCode"] == 200
    assert json.loads(capsys.readouterr().out)["sourceIp"] is None


def test_disconnect_logs_the_close_code_and_reason(capsys):
    assert disconnect.handler(load_event("apiGatewayWebSocketApiDisconnect"), lambda_context()) == {"statusCode": 200}
    assert json.loads(capsys.readouterr().out) == {
        "level": "INFO",
        "event": "disconnect",
        "requestId": REQUEST_ID,
        "messageId": REQUEST_ID,
        "connectionId": "Zx1mHdJ-tjMCJgQ=",
        "statusCode": 1001,
        "reason": "Client-side close frame status code '1001' (GOING_AWAY) - with reason: ",
    }


EXPECTED = '{"action": "sendtext", "text": "Hello, AI! What you can do?"}'


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ('{"action": "chat", "text": "hi"}', "UnknownAction", f'Unknown action "chat". Send {EXPECTED}'),
        ('{"text": "hi"}', "UnknownAction", f'"action" is missing. Send {EXPECTED}'),
        ("hello", "BadRequest", f"Messages must be JSON, like {EXPECTED}"),
        ("[1, 2]", "BadRequest", f"Messages must be a JSON object, like {EXPECTED}"),
    ],
)
def test_default_answers_an_unmatched_message_with_one_error_frame(message_event, posts, body, code, message):
    message_event["body"] = body
    message_event["requestContext"]["routeKey"] = "$default"
    posts.expect(frame({"type": "error", "code": code, "message": message}))
    assert default.handler(message_event, lambda_context()) == {"statusCode": 200}


def test_default_logs_the_unmatched_message_by_code_only(message_event, posts, capsys):
    message_event["body"] = '{"action": "chat", "text": "my secret"}'
    posts.accept()
    default.handler(message_event, lambda_context())
    out = capsys.readouterr().out
    assert json.loads(out) == {
        "level": "INFO",
        "event": "unmatched",
        "requestId": REQUEST_ID,
        "messageId": REQUEST_ID,
        "connectionId": "Zx1mHdJ-tjMCJgQ=",
        "code": "UnknownAction",
        "delivered": True,
    }
    assert "my secret" not in out


def test_default_survives_a_client_that_already_left(message_event, posts, capsys):
    message_event["body"] = "hello"
    posts.gone()
    assert default.handler(message_event, lambda_context()) == {"statusCode": 200}
    (unmatched,) = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (unmatched["event"], unmatched["code"], unmatched["delivered"]) == ("unmatched", "BadRequest", False)


def test_gone_names_the_connection_that_left(posts):
    posts.gone()
    with pytest.raises(connections.ClientGone) as caught:
        connections.post("the-one-that-left", '"Hello"')
    assert caught.value.args == ("the-one-that-left",)


def test_a_throttled_post_is_sent_again_and_arrives_once(message_event, posts, monkeypatch):
    monkeypatch.setattr(connections, "RETRY_DELAYS", (0, 0))
    message_event["body"] = "hello"
    posts.add_client_error("post_to_connection", "LimitExceededException", http_status_code=429)
    posts.expect(frame({"type": "error", "code": "BadRequest", "message": f"Messages must be JSON, like {EXPECTED}"}))
    default.handler(message_event, lambda_context())
    assert len(posts.sent) == 2


def test_a_post_that_may_have_arrived_is_never_sent_twice(monkeypatch):
    calls = []

    def timed_out(**params):
        calls.append(params)
        raise ReadTimeoutError(endpoint_url="https://abcdef1234.execute-api.ap-northeast-1.amazonaws.com/dev")

    monkeypatch.setattr(connections.client, "post_to_connection", timed_out)
    with pytest.raises(ReadTimeoutError):
        connections.post("Zx1mHdJ-tjMCJgQ=", '"Hello"')
    assert len(calls) == 1


def test_no_protocol_header_offers_nothing():
    assert handshake.offered(None) == [] and handshake.offered({"Host": "x"}) == []
    event = load_event("apiGatewayWebSocketApiConnect")
    event["headers"].pop("Sec-WebSocket-Protocol", None)
    assert connect.handler(event, lambda_context()) == {"statusCode": 200}


def test_connect_logs_the_authorizers_principal(capsys):
    event = load_event("apiGatewayWebSocketApiConnect")
    event["requestContext"]["authorizer"] = {"principalId": "user-42"}
    connect.handler(event, lambda_context())
    assert json.loads(capsys.readouterr().out)["principalId"] == "user-42"
