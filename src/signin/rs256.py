"""RSASSA-PKCS1-v1_5 with SHA-256 (JWT's RS256), verification only, with the standard library.

The padding is never parsed: the whole block the signer must have produced (RFC 8017 §9.2, EMSA-PKCS1-v1_5) is
built from the message and compared with `s^e mod n` in constant time. A verifier that walks the padding to find
the hash accepts forged signatures for small exponents (Bleichenbacher 2006, CVE-2006-4339); one that compares
the rebuilt block cannot, whatever the bytes hold.
"""

import hashlib
import hmac

# DER of DigestInfo { AlgorithmIdentifier { id-sha256, NULL }, OCTET STRING (32 bytes) } (RFC 8017 §9.2 note 1).
# Only this encoding is accepted: the legacy form without the NULL is refused (Wycheproof's "MissingNull").
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
MIN_PADDING = 8  # RFC 8017: at least eight 0xFF bytes, so a modulus under 62 bytes cannot carry SHA-256


def verify(n: int, e: int, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is a PKCS#1 v1.5 SHA-256 signature of `message` under the public key (n, e)."""
    k = (n.bit_length() + 7) // 8
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    padding = k - 3 - len(digest_info)
    if padding < MIN_PADDING or len(signature) != k:  # a signature is exactly k bytes (RFC 8017 §8.2.2 step 1)
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:  # RSAVP1 step 1: out of range
        return False
    block = pow(s, e, n).to_bytes(k, "big")
    expected = b"\x00\x01" + b"\xff" * padding + b"\x00" + digest_info
    return hmac.compare_digest(block, expected)
