"""The authorizer's token checks: valid Cognito and OIDC tokens pass, and a corpus of bad tokens is refused."""

import hashlib
import hmac
import json
import time

import pytest

from signin import tokens
from signin.jwks import KeySet
from signin.tokens import LEEWAY, InvalidToken, Policy, _check_claims
from tests.tokens_for_tests import CLIENT_ID, ISSUER, Signer, access_claims, b64url, id_claims

SIGNER = Signer()
OTHER_POOL = Signer(kid="other-pool-key", name="other")
SAME_KID_OTHER_KEY = Signer(name="impostor")  # kid "key-1" too, a different key
COGNITO = tokens.Policy(ISSUER, CLIENT_ID, cognito=True)
OIDC = tokens.Policy("https://issuer.example.com/", "chat-api", cognito=False)


def keyset() -> KeySet:
    return KeySet(url="https://issuer.example/jwks.json", fetch=lambda url: {"keys": [SIGNER.jwk()]})


def test_a_cognito_access_token_gives_its_sub_username_and_expiry():
    claims = access_claims()
    identity = tokens.verify(SIGNER.token(**claims), COGNITO, keyset())
    assert identity == tokens.Identity(claims["sub"], "alice", claims["exp"])


def test_a_cognito_id_token_is_accepted_on_its_audience():
    identity = tokens.verify(SIGNER.token(**id_claims()), COGNITO, keyset())
    assert identity.username == "alice"


def test_an_oidc_token_is_accepted_when_its_audience_list_holds_ours():
    claims = {"iss": OIDC.issuer, "aud": ["other", "chat-api"], "sub": "auth0|42", "exp": time.time() + 60}
    identity = tokens.verify(SIGNER.token(**claims, preferred_username="bob"), OIDC, keyset())
    assert (identity.sub, identity.username) == ("auth0|42", "bob")


def test_expiry_has_a_small_leeway_for_clock_skew():
    now = time.time()
    token = SIGNER.token(**access_claims(exp=int(now) - 10))
    assert tokens.verify(token, COGNITO, keyset(), now=now).sub
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.verify(token, COGNITO, keyset(), now=now + tokens.LEEWAY)


def _hs256_with_the_public_key() -> str:
    header = b64url(json.dumps({"alg": "HS256", "kid": SIGNER.kid, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(access_claims()).encode())
    mac = hmac.new(SIGNER.public_pem(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(mac)}"


def _alg_none() -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(access_claims()).encode())}."


def _tampered_payload() -> str:
    header, _, signature = SIGNER.token(**access_claims()).split(".")
    forged = b64url(json.dumps(access_claims(sub="someone-else")).encode())
    return f"{header}.{forged}.{signature}"


def _tampered_signature() -> str:
    head, payload, signature = SIGNER.token(**access_claims()).split(".")
    raw = bytearray(tokens._decode(signature))
    raw[-1] ^= 0x01
    return f"{head}.{payload}.{b64url(bytes(raw))}"


def now() -> int:
    """At the test's run, not at collection: a long suite runs these minutes after import."""
    return int(time.time())


CORPUS = {
    "expired": (lambda: SIGNER.token(**access_claims(exp=now() - 120)), "expired"),
    "not yet valid": (lambda: SIGNER.token(**access_claims(nbf=now() + 300)), "not yet valid"),
    "issued in the future": (lambda: SIGNER.token(**access_claims(iat=now() + 300)), "issued in the future"),
    "no exp": (lambda: SIGNER.token(**{k: v for k, v in access_claims().items() if k != "exp"}), "exp missing"),
    "exp not a number": (lambda: SIGNER.token(**access_claims(exp=str(now() + 60))), "exp missing"),
    "wrong issuer": (lambda: SIGNER.token(**access_claims(iss=ISSUER + "x")), "wrong issuer"),
    "wrong client": (lambda: SIGNER.token(**access_claims(client_id="another-client")), "wrong client"),
    "wrong audience": (lambda: SIGNER.token(**id_claims(aud="another-client")), "wrong audience"),
    "access token naming the client only in aud": (
        lambda: SIGNER.token(**{**access_claims(aud=CLIENT_ID), "client_id": None}),
        "wrong client",
    ),
    "wrong token_use": (lambda: SIGNER.token(**access_claims(token_use="refresh")), "wrong token_use"),
    "no token_use": (lambda: SIGNER.token(**access_claims(token_use=None)), "wrong token_use"),
    "no sub": (lambda: SIGNER.token(**access_claims(sub="")), "no sub"),
    "alg none": (_alg_none, "alg is not RS256"),
    "alg RS256 spelled rs256": (lambda: SIGNER.token({"alg": "rs256"}, **access_claims()), "alg is not RS256"),
    "HS256 with the public key as secret": (_hs256_with_the_public_key, "alg is not RS256"),
    "crit header": (lambda: SIGNER.token({"crit": ["exp"]}, **access_claims()), "crit"),
    "unknown kid": (lambda: SIGNER.token({"kid": "key-2"}, **access_claims()), "unknown kid"),
    "no kid": (lambda: SIGNER.token({"kid": None}, **access_claims()), "unknown kid"),
    "tampered payload": (_tampered_payload, "bad signature"),
    "tampered signature": (_tampered_signature, "bad signature"),
    "signature cut short": (lambda: SIGNER.token(**access_claims())[:-4], "bad signature"),
    "truncated to two parts": (lambda: SIGNER.token(**access_claims()).rsplit(".", 1)[0], "not a JWT"),
    "truncated header": (lambda: SIGNER.token(**access_claims())[5:], "not a JWT"),
    "not a JWT": (lambda: "hello", "not a JWT"),
    "empty": (lambda: "", "not a JWT"),
    "four parts": (lambda: SIGNER.token(**access_claims()) + ".e30", "not a JWT"),
    "padding in a segment": (lambda: "eyJ9.e30=.e30", "not a JWT"),
    "header not an object": (lambda: f"{b64url(b'[1]')}.e30.e30", "not a JWT"),
    "too long": (lambda: "a" * 9000, "not a JWT"),
    "another pool's token": (lambda: OTHER_POOL.token(**access_claims(iss=ISSUER[:-1] + "2")), "unknown kid"),
    "another key under our kid": (lambda: SAME_KID_OTHER_KEY.token(**access_claims()), "bad signature"),
}


@pytest.mark.parametrize(("make", "reason"), CORPUS.values(), ids=CORPUS.keys())
def test_a_bad_token_is_refused_with_a_reason_that_holds_nothing_of_it(make, reason):
    token = make()
    with pytest.raises(tokens.InvalidToken, match=reason) as refused:
        tokens.verify(token, COGNITO, keyset())
    assert all(part not in str(refused.value) for part in token.split(".") if len(part) > 3)


def test_an_oidc_token_for_another_audience_is_refused():
    claims = {"iss": OIDC.issuer, "aud": "other-api", "sub": "x", "exp": time.time() + 60}
    with pytest.raises(tokens.InvalidToken, match="wrong audience"):
        tokens.verify(SIGNER.token(**claims), OIDC, keyset())


@pytest.mark.parametrize(
    ("env", "jwks_url"),
    [
        ({"AUTH_MODE": "cognito"}, f"{ISSUER}/.well-known/jwks.json"),
        (
            {"AUTH_MODE": "cognito", "AWS_ENDPOINT_URL_COGNITO_IDP": "http://127.0.0.1:5000/"},
            "http://127.0.0.1:5000/ap-northeast-1_TestPool1/.well-known/jwks.json",
        ),
        ({"AUTH_MODE": "oidc", "JWKS_URL": "https://keys.example/k"}, "https://keys.example/k"),
    ],
)
def test_where_the_keys_come_from(env, jwks_url):
    policy, keys = tokens.from_environment({"TOKEN_ISSUER": ISSUER, "TOKEN_AUDIENCE": CLIENT_ID, **env})
    assert keys.url == jwks_url
    assert policy.cognito == (env["AUTH_MODE"] == "cognito")


def test_an_oidc_issuer_s_keys_come_from_its_discovery_document():
    env = {"AUTH_MODE": "oidc", "TOKEN_ISSUER": "https://tenant.example.com/", "TOKEN_AUDIENCE": "api"}
    _, keys = tokens.from_environment(env)
    assert keys.discovery == "https://tenant.example.com/.well-known/openid-configuration"


# Exact refusal reasons and the leeway's boundaries, claim by claim.
EXACT_COGNITO = Policy(ISSUER, CLIENT_ID, cognito=True)
EXACT_OIDC = Policy("https://issuer.example/", "chat-api", cognito=False)
CLAIMS_NOW = 1_800_000_000


def oidc_claims(**overrides) -> dict:
    return {"iss": EXACT_OIDC.issuer, "aud": "chat-api", "sub": "u-1", "exp": CLAIMS_NOW + 600, **overrides}


@pytest.mark.parametrize(
    ("policy", "claims", "reason"),
    [
        (EXACT_COGNITO, access_claims(iss="https://elsewhere/"), "wrong issuer"),
        (EXACT_COGNITO, access_claims(client_id="another-client"), "wrong client"),
        (EXACT_COGNITO, id_claims(aud="another-client"), "wrong audience"),
        (EXACT_COGNITO, access_claims(token_use="refresh"), "wrong token_use"),
        (EXACT_COGNITO, access_claims(sub=""), "no sub"),
        (EXACT_OIDC, oidc_claims(aud="another-api"), "wrong audience"),
        (EXACT_OIDC, oidc_claims(aud="xchat-apix"), "wrong audience"),  # contains ours, but is not ours
        (EXACT_OIDC, oidc_claims(aud=["other", "xchat-apix"]), "wrong audience"),
    ],
)
def test_each_refusal_has_its_exact_reason(policy, claims, reason):
    claims = {**claims, "exp": CLAIMS_NOW + 600}
    claims.pop("nbf", None)
    claims.pop("iat", None)
    with pytest.raises(InvalidToken) as refused:
        _check_claims(claims, policy, CLAIMS_NOW)
    assert str(refused.value) == reason


@pytest.mark.parametrize(
    ("claim", "value", "reason"),
    [
        ("exp", CLAIMS_NOW - LEEWAY, "expired"),  # expired exactly LEEWAY ago: out
        ("nbf", CLAIMS_NOW + LEEWAY + 1, "not yet valid"),
        ("iat", CLAIMS_NOW + LEEWAY + 1, "issued in the future"),
    ],
)
def test_the_leeway_ends_where_it_says(claim, value, reason):
    with pytest.raises(InvalidToken) as refused:
        _check_claims(oidc_claims(**{claim: value}), EXACT_OIDC, CLAIMS_NOW)
    assert str(refused.value) == reason


@pytest.mark.parametrize(
    ("claim", "value"), [("exp", CLAIMS_NOW - LEEWAY + 1), ("nbf", CLAIMS_NOW + LEEWAY), ("iat", CLAIMS_NOW + LEEWAY)]
)
def test_within_the_leeway_a_token_is_accepted(claim, value):
    assert _check_claims(oidc_claims(**{claim: value}), EXACT_OIDC, CLAIMS_NOW).sub == "u-1"
