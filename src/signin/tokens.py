"""JWT checks for the authorizer: RS256 only, the issuer's keys, and the claims Cognito or an OIDC issuer sets.

Sources: RFC 7519 (JWT), RFC 7515 (JWS), Cognito's "Verifying a JSON web token" (iss, token_use, client_id for
access tokens, aud for ID tokens, exp). Every refusal raises InvalidToken with a fixed reason that never holds
any part of the token, so it can be logged.
"""

import base64
import binascii
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from signin import rs256
from signin.jwks import KeySet

LEEWAY = 30  # seconds of clock skew tolerated on exp, nbf and iat
MAX_TOKEN_CHARS = 8192
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


class InvalidToken(Exception):
    """The token is refused; str() is a fixed reason such as "expired"."""


@dataclass(frozen=True)
class Policy:
    issuer: str  # exactly the `iss` tokens carry
    audience: str  # Cognito: the app client id; OIDC: the `aud` expected
    cognito: bool  # Cognito's token_use/client_id rules, else OIDC's aud


@dataclass(frozen=True)
class Identity:
    sub: str
    username: str
    expires: int  # epoch seconds, the token's exp


def from_environment(env: Mapping[str, str]) -> tuple[Policy, KeySet]:
    """AUTH_MODE (cognito|oidc), TOKEN_ISSUER, TOKEN_AUDIENCE, optional JWKS_URL. A Cognito pool's keys are at
    <issuer>/.well-known/jwks.json, or under AWS_ENDPOINT_URL_COGNITO_IDP when that points at a local Cognito;
    an OIDC issuer's come from its discovery document."""
    mode, issuer = env["AUTH_MODE"], env["TOKEN_ISSUER"]
    if mode not in ("cognito", "oidc"):
        raise ValueError(f"AUTH_MODE must be cognito or oidc, not {mode!r}")
    policy = Policy(issuer, env["TOKEN_AUDIENCE"], cognito=mode == "cognito")
    base = issuer.rstrip("/")
    if env.get("JWKS_URL"):
        return policy, KeySet(url=env["JWKS_URL"])
    if mode == "oidc":
        return policy, KeySet(discovery=f"{base}/.well-known/openid-configuration")
    local = env.get("AWS_ENDPOINT_URL_COGNITO_IDP")
    if local:
        base = f"{local.rstrip('/')}/{base.rsplit('/', 1)[-1]}"
    return policy, KeySet(url=f"{base}/.well-known/jwks.json")


def _decode(segment: str) -> bytes:
    if not _SEGMENT.fullmatch(segment):
        raise InvalidToken("not a JWT")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not a JWT") from None


def _object(segment: str) -> dict:
    try:
        value = json.loads(_decode(segment))
    except (ValueError, RecursionError):  # RecursionError: a header nested ~1,000 arrays deep fits in 8 KB
        raise InvalidToken("not a JWT") from None
    if not isinstance(value, dict):
        raise InvalidToken("not a JWT")
    return value


def _time(claims: dict, name: str, required: bool = False) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"{name} missing or not a number")
    return value


def verify(token: str, policy: Policy, keys: KeySet, now: float | None = None) -> Identity:
    """The identity a valid token proves; InvalidToken otherwise."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise InvalidToken("not a JWT")
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = _object(header_b64)
    if header.get("alg") != "RS256":  # never "none", never HS256 keyed with the public key
        raise InvalidToken("alg is not RS256")
    if "crit" in header:  # RFC 7515 §4.1.11: extensions we do not understand must be refused
        raise InvalidToken("unsupported crit header")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("unknown kid")
    signed = f"{header_b64}.{payload_b64}".encode("ascii")
    if not rs256.verify(key.n, key.e, signed, _decode(signature_b64)):
        raise InvalidToken("bad signature")
    claims = _object(payload_b64)
    return _check_claims(claims, policy, time.time() if now is None else now)


def _check_claims(claims: dict, policy: Policy, now: float) -> Identity:
    if claims.get("iss") != policy.issuer:
        raise InvalidToken("wrong issuer")
    expires = _time(claims, "exp", required=True)
    if now >= expires + LEEWAY:
        raise InvalidToken("expired")
    not_before = _time(claims, "nbf")
    if not_before is not None and now + LEEWAY < not_before:
        raise InvalidToken("not yet valid")
    issued = _time(claims, "iat")
    if issued is not None and now + LEEWAY < issued:
        raise InvalidToken("issued in the future")
    if policy.cognito:
        use = claims.get("token_use")
        if use == "access":
            if claims.get("client_id") != policy.audience:
                raise InvalidToken("wrong client")
        elif use == "id":
            if claims.get("aud") != policy.audience:
                raise InvalidToken("wrong audience")
        else:
            raise InvalidToken("wrong token_use")
    else:
        audience = claims.get("aud")
        if not (audience == policy.audience or (isinstance(audience, list) and policy.audience in audience)):
            raise InvalidToken("wrong audience")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("no sub")
    username = claims.get("username") or claims.get("cognito:username") or claims.get("preferred_username") or sub
    return Identity(sub=sub, username=str(username), expires=int(expires))
