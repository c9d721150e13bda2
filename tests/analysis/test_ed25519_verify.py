"""analysis.ed25519_verify: libsodium's speed, OpenSSL's verdict on every input."""

from __future__ import annotations

import random

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from analysis.ed25519_verify import verify

P = 2**255 - 19
IDENTITY = bytes([1]) + bytes(31)  # the neutral point (0, 1): small order
NON_CANONICAL_IDENTITY = (P + 1).to_bytes(32, "little")  # y = p + 1, which is 1 again
ORDER_TWO = (P - 1).to_bytes(32, "little")  # (0, -1)


def openssl(key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def libsodium(key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        crypto_sign_open(signature + message, key)
    except CryptoError:
        return False
    return True


def ours(key: bytes, signature: bytes, message: bytes) -> bool:
    return verify(ed25519.Ed25519PublicKey.from_public_bytes(key), signature, message)


def _signed(rng: random.Random) -> tuple[bytes, bytes, bytes]:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    message = rng.randbytes(rng.choice([0, 1, 32, 200]))
    return private.public_key().public_bytes_raw(), private.sign(message), message


def test_valid_signatures_verify() -> None:
    rng = random.Random(8032)
    for _ in range(50):
        key, signature, message = _signed(rng)
        assert ours(key, signature, message) is True
        assert libsodium(key, signature, message)  # the fast path answered these


def test_every_corruption_gets_openssls_verdict() -> None:
    rng = random.Random(6376)
    for _ in range(40):
        key, signature, message = _signed(rng)
        other_key, _, _ = _signed(rng)
        cases = [
            (other_key, signature, message),
            (key, signature, message + b"x"),
            (key, signature[:63], message),
            (key, signature + b"\x00", message),
            (key, b"", message),
        ]
        for _ in range(4):
            flipped = bytearray(signature)
            flipped[rng.randrange(64)] ^= 1 << rng.randrange(8)
            cases.append((key, bytes(flipped), message))
        # S + L: the same equation with S not reduced, which RFC 8032 §5.1.7 refuses.
        order = 2**252 + 27742317777372353535851937790883648493
        s = int.from_bytes(signature[32:], "little") + order
        if s < 2**256:
            cases.append((key, signature[:32] + s.to_bytes(32, "little"), message))
        for case in cases:
            assert ours(*case) is openssl(*case) is False, case


@pytest.mark.parametrize(
    ("key", "signature"),
    [
        (IDENTITY, IDENTITY + bytes(32)),  # R the identity, S 0: true of any message
        (NON_CANONICAL_IDENTITY, IDENTITY + bytes(32)),
        (ORDER_TWO, IDENTITY + bytes(32)),
        (IDENTITY, NON_CANONICAL_IDENTITY + bytes(32)),
    ],
    ids=["small-order key", "non-canonical key", "order-two key", "non-canonical R"],
)
@pytest.mark.parametrize("message", [b"", b"any message at all", bytes(32)])
def test_what_only_openssl_accepts_keeps_openssls_verdict(
    key: bytes, signature: bytes, message: bytes
) -> None:
    # libsodium refuses a small-order or non-canonically encoded A or R; OpenSSL accepts
    # some of them when the equation holds. The engine's verdicts have always been
    # OpenSSL's, and stay so: libsodium's refusal is only a reason to ask OpenSSL.
    assert not libsodium(key, signature, message)
    assert ours(key, signature, message) is openssl(key, signature, message)


def test_the_identity_key_is_a_case_where_they_differ() -> None:
    # So that the test above exercises the fallback's "valid", not only its "invalid".
    signature = IDENTITY + bytes(32)
    assert openssl(IDENTITY, signature, b"x") and not libsodium(IDENTITY, signature, b"x")
    assert ours(IDENTITY, signature, b"x") is True
