"""The REQUEST authorizer handler and $connect's subprotocol answer."""

import json
from pathlib import Path

import cfnlint.decode
import pytest
from lambda_context import REQUEST_ID, lambda_context

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


def test_the_authorizer_logs_who_connected_and_not_the_token(authorizer, capsys):
    claims = access_claims()
    token = SIGNER.token(**claims)
    event = request(f"bedrock-ws-chat, {token}")
    authorizer.handler(event, lambda_context())
    assert json.loads(capsys.readouterr().out) == {
        "level": "INFO",
        "event": "authorized",
        "requestId": REQUEST_ID,
        "messageId": REQUEST_ID,
        "connectionId": event["requestContext"]["connectionId"],
        "principalId": claims["sub"],
    }


def test_the_authorizer_logs_a_refusal_with_its_reason(authorizer, capsys):
    event = request("bedrock-ws-chat")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(event, lambda_context())
    assert json.loads(capsys.readouterr().out) == {
        "level": "INFO",
        "event": "unauthorized",
        "requestId": REQUEST_ID,
        "messageId": REQUEST_ID,
        "connectionId": event["requestContext"]["connectionId"],
        "reason": "no token offered beside bedrock-ws-chat",
    }


def dashboard_connects() -> set[tuple[str, ...]]:
    """The sign-in metrics main.yml's dashboard reads: (Outcome, dimension names...), "." shorthand filled in."""
    template, _ = cfnlint.decode.decode(str(Path(__file__).parents[2] / "main.yml"))
    (board,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    read, previous = set(), []
    for widget in json.loads(board["Properties"]["DashboardBody"]["Fn::Sub"])["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            if isinstance(metric[0], str):
                previous = [previous[i] if v == "." else v for i, v in enumerate(metric)]
                if previous[:2] == ["BedrockWsChat", "Connects"]:
                    dims = dict(zip(previous[2::2], previous[3::2], strict=False))
                    read.add((dims.pop("Outcome"), *sorted(dims)))
    return read


def test_the_authorizer_writes_the_connects_metrics_the_dashboard_reads(authorizer, capsys):
    authorizer.handler(request(f"bedrock-ws-chat, {SIGNER.token(**access_claims())}"), None)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(request("bedrock-ws-chat"), lambda_context())
    written = set()
    for line in map(json.loads, capsys.readouterr().err.splitlines()):
        (directive,) = [
            d
            for d in line["_aws"]["CloudWatchMetrics"]
            if [m["Name"] for m in d["Metrics"]] == ["Connects"] and "Outcome" in d["Dimensions"][0]
        ]
        written.add((line["Outcome"], *sorted(set(directive["Dimensions"][0]) - {"Outcome"})))
    assert written == dashboard_connects() == {("allowed", "Stack", "Stage"), ("refused", "Stack", "Stage")}
