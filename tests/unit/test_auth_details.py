"""What mutation testing found the sign-in tests left open: exact refusal reasons, the leeway's boundaries, the
authorizer's log lines, the JWKS request, and no-header handshakes."""

import json
from pathlib import Path

import cfnlint.decode
import pytest
from lambda_context import REQUEST_ID, lambda_context

from handlers import connect
from signin import handshake, jwks
from signin.tokens import LEEWAY, InvalidToken, Policy, _check_claims
from tests.sample_events import load_event
from tests.tokens_for_tests import CLIENT_ID, ISSUER, Signer, access_claims, id_claims

COGNITO = Policy(ISSUER, CLIENT_ID, cognito=True)
OIDC = Policy("https://issuer.example/", "chat-api", cognito=False)
NOW = 1_800_000_000


def oidc_claims(**overrides) -> dict:
    return {"iss": OIDC.issuer, "aud": "chat-api", "sub": "u-1", "exp": NOW + 600, **overrides}


@pytest.mark.parametrize(
    ("policy", "claims", "reason"),
    [
        (COGNITO, access_claims(iss="https://elsewhere/"), "wrong issuer"),
        (COGNITO, access_claims(client_id="another-client"), "wrong client"),
        (COGNITO, id_claims(aud="another-client"), "wrong audience"),
        (COGNITO, access_claims(token_use="refresh"), "wrong token_use"),
        (COGNITO, access_claims(sub=""), "no sub"),
        (OIDC, oidc_claims(aud="another-api"), "wrong audience"),
        (OIDC, oidc_claims(aud="xchat-apix"), "wrong audience"),  # contains ours, but is not ours
        (OIDC, oidc_claims(aud=["other", "xchat-apix"]), "wrong audience"),
    ],
)
def test_each_refusal_has_its_exact_reason(policy, claims, reason):
    claims = {**claims, "exp": NOW + 600}
    claims.pop("nbf", None)
    claims.pop("iat", None)
    with pytest.raises(InvalidToken) as refused:
        _check_claims(claims, policy, NOW)
    assert str(refused.value) == reason


@pytest.mark.parametrize(
    ("claim", "value", "reason"),
    [
        ("exp", NOW - LEEWAY, "expired"),  # expired exactly LEEWAY ago: out
        ("nbf", NOW + LEEWAY + 1, "not yet valid"),
        ("iat", NOW + LEEWAY + 1, "issued in the future"),
    ],
)
def test_the_leeway_ends_where_it_says(claim, value, reason):
    with pytest.raises(InvalidToken) as refused:
        _check_claims(oidc_claims(**{claim: value}), OIDC, NOW)
    assert str(refused.value) == reason


@pytest.mark.parametrize(("claim", "value"), [("exp", NOW - LEEWAY + 1), ("nbf", NOW + LEEWAY), ("iat", NOW + LEEWAY)])
def test_within_the_leeway_a_token_is_accepted(claim, value):
    assert _check_claims(oidc_claims(**{claim: value}), OIDC, NOW).sub == "u-1"


SIGNER = Signer()


def request(protocols: str) -> dict:
    event = load_event("apiGatewayWebSocketApiAuthorizer")
    event["headers"]["Sec-WebSocket-Protocol"] = protocols
    return event


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


class FakeResponse:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def read(self) -> bytes:
        return self.body

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


@pytest.mark.parametrize("url", ["https://issuer.example/jwks.json", "http://127.0.0.1:5000/pool/jwks.json"])
def test_the_keys_are_asked_for_as_json_with_a_timeout(monkeypatch, url):
    seen = []

    def urlopen(request, timeout):
        seen.append((request.full_url, request.get_header("Accept"), timeout))
        return FakeResponse(b'{"keys": []}')

    monkeypatch.setattr(jwks.urllib.request, "urlopen", urlopen)
    assert jwks.fetch_json(url) == {"keys": []}
    assert seen == [(url, "application/json", jwks.FETCH_TIMEOUT)]


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
