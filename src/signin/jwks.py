"""The issuer's signing keys (a JWKS), fetched with urllib and kept for the life of the execution environment.

A token whose `kid` is not in the cached set triggers one re-fetch (the issuer rotated its keys), at most once per
REFETCH_INTERVAL whatever arrives, so a stream of made-up kids cannot turn every connect into a call to the issuer
(aws-jwt-verify calls this its penalty box). A fetch that fails while no keys are cached (an issuer outage at cold
start) is retried after RETRY_BACKOFF instead, and raises KeysUnavailable meanwhile: that is our failure, not the
token's, so the authorizer answers 500 (retry) rather than 401 (sign in again).
"""

import base64
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

REFETCH_INTERVAL = 60.0  # seconds
RETRY_BACKOFF = (1.0, 2.0, 5.0, 10.0)  # seconds before the next try after the 1st, 2nd, ... failure with no keys
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


class KeysUnavailable(Exception):
    """No keys to check a token with: the issuer's JWKS could not be fetched and none are cached."""


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
        self._next_fetch_at: float | None = None
        self.fetches = 0
        self.failures = 0  # failed fetches in a row

    def get(self, kid: str) -> PublicKey | None:
        """The key for `kid`, or None when the issuer has no such key; KeysUnavailable when no keys can be had."""
        if kid not in self._keys and self._may_fetch():
            self._refresh()
        if not self._keys:
            raise KeysUnavailable(f"no keys from {self.url or self.discovery}")
        return self._keys.get(kid)

    def _refresh(self) -> None:
        now = self._clock()
        try:
            if self.url is None:
                self.url = str(self._fetch(self.discovery)["jwks_uri"])
            keys = parse(self._fetch(self.url))
        except Exception as exc:  # anything the issuer's answer can raise (network, JSON, shape) is its outage
            self.failures += 1
            wait = REFETCH_INTERVAL if self._keys else RETRY_BACKOFF[min(self.failures, len(RETRY_BACKOFF)) - 1]
            self._next_fetch_at = now + wait  # the cached keys, if any, stay in use meanwhile
            if not self._keys:
                raise KeysUnavailable(f"fetching {self.url or self.discovery} failed") from exc
            return
        self._keys, self.failures, self.fetches = keys, 0, self.fetches + 1
        self._next_fetch_at = now + REFETCH_INTERVAL

    def _may_fetch(self) -> bool:
        return self._next_fetch_at is None or self._clock() >= self._next_fetch_at
