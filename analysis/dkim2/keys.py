"""Public key records (DKIM key TXT records) and the two signature algorithms.

Key records follow draft-ietf-dkim-dkim2-dns-00 §3 (DNS00), which S06 cites as
[DKIMKEYS]; the algorithms follow S06 §3.2 (rsa-sha256) and §3.3
(ed25519-sha256, which signs the SHA-256 digest of the input; SPEC-NOTES §11
A14).  All of ``cryptography``'s exceptions are mapped here.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from .. import limits

# sig-name -> k= key type (S06 §8.9, §11.5: they must match).
KEY_TYPE_FOR_ALGORITHM = {"rsa-sha256": "rsa", "ed25519-sha256": "ed25519"}

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class KeyRecordError(ValueError):
    """A TXT record is not a usable key record.  ``kind`` is one of
    ``syntax``, ``revoked``, ``too-short``, ``too-large``, ``unknown-type``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class KeyRecord:
    key_type: str  # k= ("rsa" by default, DNS00 §3.4.1)
    public_key: PublicKey
    bits: int  # modulus size for RSA, 256 for Ed25519
    testing: bool  # t=y
    flags: tuple[str, ...]
    notes: tuple[str, ...]  # accepted oddities, e.g. an SPKI-wrapped Ed25519 key


# DNS00 §3.2: tag-name = ALPHA *ALNUMPUNC; tag names are case-sensitive (A2).
_KEY_TAG = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_VALCHARS = re.compile(r"[\x21-\x3a\x3c-\x7e]*\Z")


def parse_key_tags(record: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    pieces = record.split(";")
    if pieces and not pieces[-1].strip(" \t\r\n"):
        pieces = pieces[:-1]
    for piece in pieces:
        stripped = piece.strip(" \t\r\n")
        name, eq, value = stripped.partition("=")
        name = name.strip(" \t\r\n")
        if not eq or not _KEY_TAG.match(name):
            raise KeyRecordError("syntax", f"'{stripped[:40]}' is not a tag=value pair")
        if name in tags:
            raise KeyRecordError("syntax", f"tag {name}= appears twice (DNS00 §3.2)")
        value = value.strip(" \t\r\n")
        compact = "".join(value.split())
        if not _VALCHARS.match(compact):
            raise KeyRecordError("syntax", f"tag {name}= has characters outside VALCHAR")
        tags[name] = value
    return tags


@functools.lru_cache(maxsize=512)
def parse_key_record(record: str) -> KeyRecord:
    """Parse one TXT record (strings already concatenated).  Raises KeyRecordError."""
    tags = parse_key_tags(record)
    notes: list[str] = []
    if "v" in tags:
        # DNS00 §3.4.1: if present, MUST be exactly "DKIM1" and the first tag.
        if tags["v"] != "DKIM1":
            raise KeyRecordError("syntax", f"v={tags['v'][:20]} is not DKIM1")
        if next(iter(tags)) != "v":
            raise KeyRecordError("syntax", "v=DKIM1 is not the first tag")
    if "p" not in tags:
        raise KeyRecordError("syntax", "the record has no p= tag")
    key_type = tags.get("k", "rsa").strip()
    p = "".join(tags["p"].split())
    if not p:
        raise KeyRecordError("revoked", "p= is empty: the key has been revoked")
    try:
        der = binascii.a2b_base64(p, strict_mode=True)
    except binascii.Error as exc:
        raise KeyRecordError("syntax", f"p= is not valid base64 ({exc})") from exc
    flags = tuple(f.strip() for f in tags.get("t", "").split(":") if f.strip())
    public_key: PublicKey
    if key_type == "rsa":
        public_key, bits = _load_rsa(der, notes)
    elif key_type == "ed25519":
        public_key = _load_ed25519(der, notes)
        bits = 256
    else:
        # DNS00 §3.4.1: unknown key types are ignored; the signature's algorithm then has no
        # key of its type (the caller reports "algorithm mismatch", S06 §11.5).
        raise KeyRecordError(
            "unknown-type", f"k={key_type[:20]} is not a key type this verifier knows"
        )
    return KeyRecord(key_type, public_key, bits, "y" in flags, flags, tuple(notes))


def _is_pkcs1(der: bytes) -> bool:
    """True for a DER RSAPublicKey (SEQUENCE of INTEGERs) rather than a SubjectPublicKeyInfo
    (SEQUENCE whose first element is the AlgorithmIdentifier SEQUENCE)."""
    if len(der) < 4 or der[0] != 0x30:
        return False
    length = der[1]
    offset = 2 + (length & 0x7F if length & 0x80 else 0)
    return offset < len(der) and der[offset] == 0x02


def _load_rsa(der: bytes, notes: list[str]) -> tuple[rsa.RSAPublicKey, int]:
    key: object
    try:
        key = serialization.load_der_public_key(der)  # SubjectPublicKeyInfo
    except (ValueError, UnsupportedAlgorithm):
        # DNS00 says RSAPublicKey (PKCS#1); accept both (SPEC-NOTES §11 A31).
        pem = (
            b"-----BEGIN RSA PUBLIC KEY-----\n"
            + binascii.b2a_base64(der)
            + b"-----END RSA PUBLIC KEY-----\n"
        )
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyRecordError("syntax", "p= is not an RSA public key (SPKI or PKCS#1)") from exc
        notes.append("p= is a PKCS#1 RSAPublicKey rather than SubjectPublicKeyInfo")
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyRecordError("syntax", f"k=rsa but p= holds a {type(key).__name__}")
    if _is_pkcs1(der) and not notes:
        notes.append("p= is a PKCS#1 RSAPublicKey rather than SubjectPublicKeyInfo")
    bits = key.key_size
    if bits < limits.MIN_RSA_BITS:
        raise KeyRecordError(
            "too-short",
            f"the RSA key has {bits} bits; DKIM2 requires at least {limits.MIN_RSA_BITS} "
            "(S06 §3.2)",
        )
    if bits > limits.MAX_RSA_BITS:
        raise KeyRecordError(
            "too-large",
            f"the RSA key has {bits} bits; this verifier accepts at most {limits.MAX_RSA_BITS}",
        )
    if key.public_numbers().e != 65537:
        raise KeyRecordError(
            "syntax",
            f"the RSA public exponent is {key.public_numbers().e}; S06 §3.2 requires 65537",
        )
    return key, bits


_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def _load_ed25519(der: bytes, notes: list[str]) -> ed25519.Ed25519PublicKey:
    if len(der) == 44 and der.startswith(_ED25519_SPKI_PREFIX):
        notes.append(
            "p= wraps the Ed25519 key in SubjectPublicKeyInfo; RFC 8463 publishes the raw 32 octets"
        )
        der = der[len(_ED25519_SPKI_PREFIX) :]
    if len(der) != 32:
        raise KeyRecordError("syntax", f"an Ed25519 p= must be 32 octets; it is {len(der)}")
    return ed25519.Ed25519PublicKey.from_public_bytes(der)


def verify_signature(algorithm: str, key: PublicKey, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` over ``data`` verifies under ``algorithm``."""
    try:
        if algorithm == "rsa-sha256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            return True
        if algorithm == "ed25519-sha256" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, hashlib.sha256(data).digest())
            return True
    except InvalidSignature:
        return False
    return False


def sign_bytes(algorithm: str, key: PrivateKey, data: bytes) -> bytes:
    if algorithm == "rsa-sha256" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if algorithm == "ed25519-sha256" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(hashlib.sha256(data).digest())
    raise ValueError(f"algorithm {algorithm} does not fit a {type(key).__name__}")


def algorithm_for_private_key(key: PrivateKey) -> str:
    return "rsa-sha256" if isinstance(key, rsa.RSAPrivateKey) else "ed25519-sha256"


def load_private_key(pem: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(f"unsupported private key type {type(key).__name__}")
    return key


def public_record_for(key: PrivateKey) -> str:
    """The TXT record to publish for ``key`` (SPKI for RSA, SPEC-NOTES §11 A31)."""
    if isinstance(key, rsa.RSAPrivateKey):
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return "v=DKIM1; k=rsa; p=" + binascii.b2a_base64(der, newline=False).decode()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "v=DKIM1; k=ed25519; p=" + binascii.b2a_base64(raw, newline=False).decode()
