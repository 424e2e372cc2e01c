"""The issuer's signing keys (a JWKS), fetched with urllib and kept for the life of the execution environment.

A token whose `kid` is not in the cached set triggers one re-fetch (the issuer rotated its keys), at most once per
REFETCH_INTERVAL whatever arrives, so a stream of made-up kids cannot turn every connect into a call to the issuer
(aws-jwt-verify calls this its penalty box).
"""

import base64
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

REFETCH_INTERVAL = 60.0  # seconds
FETCH_TIMEOUT = 3.0  # seconds; the authorizer itself has 10
MIN_MODULUS_BITS = 2048


@dataclass(frozen=True)
class PublicKey:
    n: int
    e: int


def fetch_json(url: str) -> dict:
    """GET a JSON document over http(s) only (urlopen would also read file:// URLs)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
        return json.loads(response.read())


def _integer(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def parse(document: dict) -> dict[str, PublicKey]:
    """The RS256-capable RSA signing keys of a JWKS, by kid; others (EC, encryption keys, weak keys) are left out."""
    keys = {}
    for jwk in document.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
            continue
        try:
            key = PublicKey(_integer(jwk["n"]), _integer(jwk["e"]))
        except (KeyError, TypeError, ValueError):
            continue
        if key.n.bit_length() >= MIN_MODULUS_BITS and key.e >= 3 and key.e % 2 == 1:
            keys[jwk["kid"]] = key
    return keys


class KeySet:
    """Keys by kid from `url`, or from the `jwks_uri` an OpenID Connect discovery document names."""

    def __init__(
        self,
        url: str | None = None,
        discovery: str | None = None,
        fetch: Callable[[str], dict] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (url is None) == (discovery is None):
            raise ValueError("give either a JWKS url or a discovery url")
        self.url, self.discovery = url, discovery
        self._fetch, self._clock = fetch, clock
        self._keys: dict[str, PublicKey] = {}
        self._fetched_at: float | None = None
        self.fetches = 0

    def get(self, kid: str) -> PublicKey | None:
        if kid not in self._keys and self._may_fetch():
            if self.url is None:
                self.url = str(self._fetch(self.discovery)["jwks_uri"])
            self._keys = parse(self._fetch(self.url))
            self.fetches += 1
        return self._keys.get(kid)

    def _may_fetch(self) -> bool:
        now = self._clock()
        if self._fetched_at is not None and now - self._fetched_at < REFETCH_INTERVAL:
            return False
        self._fetched_at = now  # also on a failed fetch: an unreachable issuer is not asked again at once
        return True
