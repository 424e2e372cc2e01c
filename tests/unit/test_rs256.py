"""RS256 signature verification against Project Wycheproof's RSASSA-PKCS1-v1_5 SHA-256 vectors.

Every `valid` vector must verify and every `invalid` one must not. The `acceptable` ones (one per file, flagged
MissingNull: a DigestInfo without the NULL parameters, which some legacy signers produced) are refused: rs256
compares against the one DER encoding RFC 8017 specifies, and no JWT issuer signs the legacy form.
"""

import json
from pathlib import Path

import pytest

from signin import rs256

DATA = Path(__file__).resolve().parents[1] / "data" / "wycheproof"  # Apache-2.0: DATA / "LICENSE"
FILES = [f"rsa_signature_{bits}_sha256_test.json" for bits in (2048, 3072, 4096)]


def _vectors():
    for name in FILES:
        document = json.loads((DATA / name).read_text())
        assert document["algorithm"] == "RSASSA-PKCS1-v1_5"
        for group in document["testGroups"]:
            assert group["sha"] == "SHA-256"
            n = int(group["publicKey"]["modulus"], 16)
            e = int(group["publicKey"]["publicExponent"], 16)
            for test in group["tests"]:
                yield pytest.param(n, e, test, id=f"{name.split('_')[2]}-{test['tcId']}")


VECTORS = list(_vectors())


def test_all_three_files_are_read():
    assert len(VECTORS) == 259 + 259 + 258  # numberOfTests of the three files


@pytest.mark.parametrize(("n", "e", "test"), VECTORS)
def test_wycheproof_vector(n, e, test):
    accepted = rs256.verify(n, e, bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]))
    if test["result"] == "acceptable":
        assert test["flags"] == ["MissingNull"]  # the only kind whose refusal is a choice (see the docstring)
        assert not accepted
    else:
        assert accepted == (test["result"] == "valid"), test["comment"]


def test_a_modulus_too_small_for_the_padding_verifies_nothing():
    # 500 bits: 63 bytes < 3 + 8 + 51; no signature could carry a SHA-256 DigestInfo with 8 bytes of padding.
    assert not rs256.verify((1 << 499) + 1, 65537, b"m", b"\x00" * 63)
