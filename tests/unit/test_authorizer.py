"""The REQUEST authorizer handler and $connect's subprotocol answer."""

import json

import pytest

from handlers import connect
from signin import jwks
from tests.sample_events import load_event
from tests.tokens_for_tests import Signer, access_claims, b64url

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


def test_a_header_nested_too_deep_for_the_json_parser_is_unauthorized_not_a_crash(authorizer, capsys):
    header = b64url(b"[" * 3000 + b"]" * 3000)  # past Python's recursion limit, still under the 8 KB cap
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(request(f"bedrock-ws-chat, {header}.e30.c2ln"), None)
    assert json.loads(capsys.readouterr().out)["reason"] == "not a JWT"


def test_an_issuer_outage_is_a_500_that_says_retry_not_a_401(authorizer, monkeypatch, capsys):
    def unreachable(_url: str) -> dict:
        raise OSError("connection refused")

    monkeypatch.setattr(authorizer, "KEYS", jwks.KeySet(url="https://keys.example/", fetch=unreachable))
    with pytest.raises(Exception, match="retry") as raised:
        authorizer.handler(request(f"bedrock-ws-chat, {SIGNER.token(**access_claims())}"), None)
    assert str(raised.value) != "Unauthorized"  # API Gateway answers any other message with 500
    line = json.loads(capsys.readouterr().out)
    assert (line["level"], line["event"]) == ("ERROR", "keys unavailable") and "refused" in line["cause"]
