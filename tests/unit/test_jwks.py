"""The JWKS cache: fetched once, re-fetched on an unknown kid at most once a minute, weak keys left out; an
issuer outage with no keys cached is retried after a short backoff and is KeysUnavailable, not a refused token."""

import pytest

from signin import jwks
from tests.tokens_for_tests import Signer

KEY_1, KEY_2 = Signer(kid="key-1"), Signer(kid="key-2", name="second")


class Issuer:
    """A JWKS endpoint whose key list can change (rotation); counts every GET."""

    def __init__(self, *signers: Signer) -> None:
        self.signers = list(signers)
        self.gets: list[str] = []

    def __call__(self, url: str) -> dict:
        self.gets.append(url)
        if url.endswith("openid-configuration"):
            return {"issuer": "https://issuer.example/", "jwks_uri": "https://issuer.example/keys"}
        return {"keys": [signer.jwk() for signer in self.signers]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_keys_are_fetched_once_and_then_served_from_the_cache():
    issuer = Issuer(KEY_1)
    keys = jwks.KeySet(url="https://issuer.example/keys", fetch=issuer, clock=Clock())
    for _ in range(3):
        assert keys.get("key-1").n == KEY_1.key.public_key().public_numbers().n
    assert issuer.gets == ["https://issuer.example/keys"]


def test_an_unknown_kid_refetches_at_most_once_a_minute_and_finds_a_rotated_key():
    issuer, clock = Issuer(KEY_1), Clock()
    keys = jwks.KeySet(url="https://issuer.example/keys", fetch=issuer, clock=clock)
    assert keys.get("key-1") is not None
    issuer.signers.append(KEY_2)  # the issuer rotates within the minute: not asked again yet
    for _ in range(5):
        assert keys.get("key-2") is None
    assert len(issuer.gets) == 1
    clock.now += jwks.REFETCH_INTERVAL
    assert keys.get("key-2") is not None
    assert keys.get("made-up") is None  # just fetched: a made-up kid costs nothing
    assert len(issuer.gets) == 2


class Outage:
    """An issuer that refuses `failures` GETs, then serves `signers`; counts every GET."""

    def __init__(self, failures: int, *signers: Signer) -> None:
        self.failures, self.issuer = failures, Issuer(*signers)
        self.calls = 0

    def __call__(self, url: str) -> dict:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError("connection refused")
        return self.issuer(url)


def test_a_failed_fetch_with_no_keys_is_retried_after_a_short_backoff_not_a_minute():
    clock, issuer = Clock(), Outage(1, KEY_1)
    keys = jwks.KeySet(url="https://issuer.example/keys", fetch=issuer, clock=clock)
    with pytest.raises(jwks.KeysUnavailable):
        keys.get("key-1")
    with pytest.raises(jwks.KeysUnavailable):  # within the backoff: the issuer is not asked again
        keys.get("key-1")
    assert issuer.calls == 1
    clock.now += jwks.RETRY_BACKOFF[0]
    assert keys.get("key-1") is not None
    assert issuer.calls == 2 and jwks.RETRY_BACKOFF[0] < jwks.REFETCH_INTERVAL / 10


def test_the_backoff_grows_with_each_failure_in_a_row_and_stays_under_the_minute():
    clock, issuer = Clock(), Outage(100)
    keys = jwks.KeySet(url="https://issuer.example/keys", fetch=issuer, clock=clock)
    waits = []
    with pytest.raises(jwks.KeysUnavailable):
        keys.get("key-1")
    for _ in range(len(jwks.RETRY_BACKOFF) + 2):
        calls, started = issuer.calls, clock.now
        while issuer.calls == calls:  # one second at a time until the next GET
            clock.now += 1
            with pytest.raises(jwks.KeysUnavailable):
                keys.get("key-1")
        waits.append(clock.now - started)
    assert waits == [*jwks.RETRY_BACKOFF, jwks.RETRY_BACKOFF[-1], jwks.RETRY_BACKOFF[-1]]
    assert max(waits) < jwks.REFETCH_INTERVAL


def test_a_failed_refetch_keeps_the_cached_keys_and_waits_the_minute():
    clock, issuer = Clock(), Outage(0, KEY_1)
    keys = jwks.KeySet(url="https://issuer.example/keys", fetch=issuer, clock=clock)
    assert keys.get("key-1") is not None
    issuer.failures = 2  # the next GET fails
    clock.now += jwks.REFETCH_INTERVAL
    assert keys.get("rotated") is None  # an unknown kid: refused as the token's fault, the known key still works
    assert keys.get("key-1") is not None
    clock.now += jwks.RETRY_BACKOFF[-1]
    assert keys.get("rotated") is None and issuer.calls == 2  # not asked again before the minute is up


def test_the_discovery_document_names_the_keys():
    issuer = Issuer(KEY_1)
    keys = jwks.KeySet(discovery="https://issuer.example/.well-known/openid-configuration", fetch=issuer)
    assert keys.get("key-1") is not None
    assert issuer.gets == ["https://issuer.example/.well-known/openid-configuration", "https://issuer.example/keys"]


def test_only_rs256_signing_keys_of_2048_bits_or_more_are_kept():
    good = KEY_1.jwk()
    weak = Signer(kid="weak", bits=1024, name="weak").jwk()
    document = {
        "keys": [
            good,
            weak,
            {**good, "kid": "enc", "use": "enc"},
            {**good, "kid": "ps256", "alg": "PS256"},
            {**good, "kid": "even-e", "e": "Ag"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "broken"},
            "not a key",
        ]
    }
    assert set(jwks.parse(document)) == {"key-1"}


def test_only_http_urls_are_fetched():
    with pytest.raises(ValueError, match="not an http"):
        jwks.fetch_json("file:///etc/passwd")


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
