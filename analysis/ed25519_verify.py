"""Ed25519 verification (RFC 8032) at libsodium's speed, with OpenSSL's verdicts.

The engine verifies Ed25519 with OpenSSL (the ``cryptography`` package) and always has: its
verdicts, and the conformance vectors' expected results, are OpenSSL's. On this project's
machines OpenSSL takes about 125 µs a verification, libsodium (PyNaCl) about 60 (issue #13:
a fifth of a 3-hop Ed25519 chain's analysis was OpenSSL's verification). So libsodium is
asked first, and OpenSSL only when libsodium refuses.

The two implementations do not accept the same signatures. Both check the cofactorless
equation [S]B = R + [k]A by encoding R' and comparing it with R octet for octet, with k the
SHA-512 of the encoded R, A and message, and both refuse S >= L; libsodium also refuses a
non-canonical encoding of A or R, and an A or R of small order, which OpenSSL accepts when
the equation holds (Chalkias, Garillot and Nikolaenko, "Taming the many EdDSAs", 2020). So
libsodium accepts a subset of what OpenSSL accepts: its "valid" is OpenSSL's too, and its
"invalid" is checked by OpenSSL, whose answer stands. The verdict is OpenSSL's on every
input, which ``tests/analysis/test_ed25519_verify.py`` holds on valid, corrupted and
small-order signatures; only a signature libsodium refuses costs both (a forged or broken
one, or one only the laxer rule accepts).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

SIGNATURE_OCTETS = 64


def verify(key: ed25519.Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is ``key``'s Ed25519 signature of ``message``, as OpenSSL
    judges it (see the module docs)."""
    if len(signature) == SIGNATURE_OCTETS:
        try:
            crypto_sign_open(signature + message, key.public_bytes_raw())
        except CryptoError:
            pass  # refused by libsodium: OpenSSL's verdict below
        else:
            return True
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
