"""The policy evaluation and identity-source check of REQUEST authorizers (emulator/apigateway/authorizer.py)."""

import pytest

from emulator.apigateway.authorizer import allows, missing_source
from emulator.template import Authorizer

METHOD = "arn:aws:execute-api:ap-northeast-1:123456789012:abcdef1234/dev/$connect"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(resource: object, action: object = "execute-api:Invoke") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@pytest.mark.parametrize(
    "statement",
    [
        allow(METHOD),
        allow("*"),
        allow("arn:aws:execute-api:*:*:abcdef1234/*/$connect"),
        allow([METHOD.replace("dev", "prod"), METHOD]),
        allow(METHOD, "execute-api:*"),
        allow(METHOD, ["s3:GetObject", "execute-api:Invoke"]),
    ],
)
def test_an_allow_matching_the_method_arn_allows(statement):
    assert allows(policy(statement), METHOD) is True


@pytest.mark.parametrize(
    "document",
    [
        policy(allow(METHOD.replace("dev", "prod"))),
        policy(allow(METHOD, "execute-api:ManageConnections")),
        policy(allow(METHOD), {"Effect": "Deny", "Action": "execute-api:*", "Resource": "*"}),
        policy(),
    ],
    ids=["another stage", "another action", "explicit deny wins", "no statement"],
)
def test_no_matching_allow_or_an_explicit_deny_refuses(document):
    assert allows(document, METHOD) is False


@pytest.mark.parametrize("document", [None, "Allow", {"Statement": "x"}, policy({"Effect": "Maybe"})])
def test_a_malformed_policy_is_neither(document):
    assert allows(document, METHOD) is None


def test_every_identity_source_must_be_present_and_non_empty():
    authorizer = Authorizer(
        "a1", "probe", None, ("route.request.header.Sec-WebSocket-Protocol", "route.request.querystring.room")
    )
    assert missing_source(authorizer, {"sec-websocket-protocol": "p, t"}, {"room": "1"}) is None
    assert missing_source(authorizer, {"Sec-WebSocket-Protocol": "p"}, {}) == "route.request.querystring.room"
    assert missing_source(authorizer, {"Sec-WebSocket-Protocol": " "}, {"room": "1"}).endswith("Protocol")
