"""DKIM1 signatures, ARC seals and a receiver's fields for the samples, made with dkimpy.

The gallery's real-mail sample carries what mail carries today beside DKIM2: a DKIM1
signature of the author's domain (Ed25519, with the same demo key record DKIM2 uses:
S06 §3.6), an ARC set of the mailing list (rsa-sha256, the only ARC algorithm,
RFC 8617 §4.1.3), and the Received and Authentication-Results fields a receiver writes.

dkimpy signs Ed25519 through PyNaCl, which the project does not install; the header hash
is dkimpy's own (``DKIM.gen_header``) and the signature is made by ``cryptography``, handed
to dkimpy as the object it expects. ``t=`` is always the sample's own time, never the clock.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import dkim  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from dkim.canonicalization import CanonicalizationPolicy  # type: ignore[import-untyped]
from dkim.crypto import HASH_ALGORITHMS  # type: ignore[import-untyped]

CRLF = b"\r\n"

#: The fields the author's DKIM1 signature covers (From twice: no second From can be added).
SIGNED_FIELDS = ("from", "to", "subject", "date", "message-id", "from")


class _Ed25519Signer:
    """What dkimpy's signer calls on an Ed25519 key: ``sign(data).signature``."""

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key

    def sign(self, data: bytes) -> Any:
        signature = self._key.sign(bytes(data))

        class Signed:
            pass

        signed = Signed()
        signed.signature = signature  # type: ignore[attr-defined]
        return signed


def dkim1_sign(
    raw: bytes,
    key: ed25519.Ed25519PrivateKey,
    *,
    domain: str,
    selector: str,
    timestamp: int,
    signed: Sequence[str] = SIGNED_FIELDS,
) -> bytes:
    """``raw`` with an ed25519-sha256 DKIM-Signature (RFC 8463) on top."""
    algorithm = b"ed25519-sha256"
    signer = dkim.DKIM(raw, signature_algorithm=algorithm)
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    signer.hasher = HASH_ALGORITHMS[algorithm]
    body = policy.canonicalize_body(signer.body)
    include = [name.encode("ascii") for name in signed]
    tags = [
        (b"v", b"1"),
        (b"a", algorithm),
        (b"c", b"relaxed/relaxed"),
        (b"d", domain.encode("ascii")),
        (b"s", selector.encode("ascii")),
        (b"t", str(timestamp).encode("ascii")),
        (b"h", b":".join(include)),
        (b"bh", base64.b64encode(signer.hasher(body).digest())),
        (b"b", b""),
    ]
    value = signer.gen_header(tags, include, policy, b"DKIM-Signature", _Ed25519Signer(key))
    return b"DKIM-Signature: " + bytes(value) + raw


def arc_seal(
    raw: bytes,
    key: rsa.RSAPrivateKey,
    *,
    domain: str,
    selector: str,
    authserv_id: str,
    results: str,
    timestamp: int,
) -> bytes:
    """``raw`` with the sealer's Authentication-Results and one ARC set (RFC 8617 §4.1) on
    top: what ``authserv_id`` found when the message reached it (``results``, with
    ``arc=`` for the chain it received) becomes the set's ARC-Authentication-Results."""
    with_results = f"Authentication-Results: {authserv_id}; {results}".encode() + CRLF + raw
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    fields = dkim.arc_sign(
        with_results,
        selector.encode("ascii"),
        domain.encode("ascii"),
        pem,
        authserv_id.encode("ascii"),
        timestamp=timestamp,
    )
    if not fields:
        raise ValueError(f"dkimpy would not seal the message for {domain}")
    return b"".join(bytes(f) for f in fields) + with_results


def received(*, helo: str, ip: str, by: str, when: str, for_: str | None = None) -> bytes:
    """A Received field as an MTA writes it (RFC 5321 §4.4)."""
    target = f"\r\n\tfor <{for_}>" if for_ else ""
    return (
        f"Received: from {helo} ({helo} [{ip}])\r\n\tby {by} with ESMTPS{target}; {when}\r\n"
    ).encode()
