"""Signed test tokens: RSA keys made with `cryptography` (a dev dependency; the Lambda zip never carries it)."""

import base64
import json
import time
from dataclasses import dataclass, field
from functools import cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REGION = "ap-northeast-1"
POOL = f"{REGION}_TestPool1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
CLIENT_ID = "testclientid0123456789abcd"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@cache
def _private_key(name: str, bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@dataclass(frozen=True)
class Signer:
    """One issuer signing key; `token(**claims)` signs a JWT with it."""

    kid: str = "key-1"
    bits: int = 2048
    name: str = field(default="default", compare=False)

    @property
    def key(self) -> rsa.RSAPrivateKey:
        return _private_key(self.name, self.bits)

    def jwk(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": _uint(numbers.n),
            "e": _uint(numbers.e),
        }

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def token(self, header: dict | None = None, **claims) -> str:
        head = {"alg": "RS256", "kid": self.kid, "typ": "JWT", **(header or {})}
        signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"


def access_claims(**overrides) -> dict:
    """What a Cognito access token carries (as moto and Cognito issue them)."""
    now = int(time.time())
    claims = {
        "sub": "11111111-2222-3333-4444-555555555555",
        "iss": ISSUER,
        "client_id": CLIENT_ID,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "jti": "00000000-0000-0000-0000-000000000000",
        "username": "alice",
    }
    return {**claims, **overrides}


def id_claims(**overrides) -> dict:
    claims = access_claims(token_use="id", **{"cognito:username": "alice"})
    del claims["client_id"], claims["scope"], claims["username"]
    return {**claims, "aud": CLIENT_ID, **overrides}
