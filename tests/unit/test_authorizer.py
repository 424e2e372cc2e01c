"""The REQUEST authorizer handler and $connect's subprotocol answer."""

import json

import pytest

from handlers import connect
from tests.sample_events import load_event
from tests.tokens_for_tests import Signer, access_claims

SIGNER = Signer()


def request(protocols: str | None) -> dict:
    event = load_event("apiGatewayWebSocketApiAuthorizer")
    for view in ("headers", "multiValueHeaders"):
        event[view].pop("Sec-WebSocket-Protocol")
        if protocols is not None:
            event[view]["Sec-WebSocket-Protocol"] = protocols if view == "headers" else [protocols]
    return event


def test_a_valid_token_allows_the_method_arn_with_the_sub_as_principal(authorizer, capsys):
    claims = access_claims()
    token = SIGNER.token(**claims)
    event = request(f"bedrock-ws-chat, {token}")
    result = authorizer.handler(event, None)
    assert result == {
        "principalId": claims["sub"],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}],
        },
        "context": {"sub": claims["sub"], "username": "alice", "exp": str(claims["exp"])},
    }
    assert token not in capsys.readouterr().out


@pytest.mark.parametrize(
    "protocols",
    [None, "bedrock-ws-chat", "TOKEN", "bedrock-ws-chat, a.b.c, d.e.f", "other, TOKEN"],
    ids=["no header", "no token", "token without our protocol", "two tokens", "another protocol"],
)
def test_no_usable_token_is_unauthorized(authorizer, protocols):
    if protocols and "TOKEN" in protocols:
        protocols = protocols.replace("TOKEN", SIGNER.token(**access_claims()))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(request(protocols), None)


def test_a_refused_token_is_unauthorized_and_never_logged(authorizer, capsys):
    token = SIGNER.token(**access_claims(exp=1))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(request(f"bedrock-ws-chat, {token}"), None)
    out = capsys.readouterr().out
    assert json.loads(out)["reason"] == "expired"
    assert all(part not in out for part in token.split("."))


def test_connect_answers_the_subprotocol_only_when_offered():
    event = load_event("apiGatewayWebSocketApiConnect")
    assert connect.handler(event, None) == {"statusCode": 200}
    event["headers"]["sec-websocket-protocol"] = "bedrock-ws-chat, a.b.c"
    assert connect.handler(event, None) == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "bedrock-ws-chat"}}
