"""Public key records (DKIM key TXT records) and the signature algorithms.

Key records follow draft-ietf-dkim-dkim2-dns-00 §3 (DNS00), which S06 cites as
[DKIMKEYS]; the algorithms follow S06 §3.2 (rsa-sha256) and §3.3
(ed25519-sha256, which signs the SHA-256 digest of the input; SPEC-NOTES §11
A14).  All of ``cryptography``'s exceptions are mapped here.

``mldsa44`` (pure ML-DSA-44, FIPS 204) is not in S06: it is -08 §3.4 as reported by Stalwart
mail-auth 0.15 (SPEC-09-NOTES 1.4; draft text not public), with keys published as
``k=mldsa44``, which DNS00 does not define.  What is known of it, and from where:

* Signed bytes: the signing input itself (S06 §9.6), not a digest of it: "pure" ML-DSA, which
  hashes internally (the name carries no hash, unlike ed25519-sha256).  Stalwart 0.15.1
  ``src/crypto/mod.rs`` names it "the post-quantum mldsa44 ("pure" ML-DSA-44, FIPS 204)" and
  sizes a message buffer for it (``MLDSA44_MESSAGE_CAPACITY`` = 1024, which a 32-octet
  digest would not need); croessner/dkim2 v0.1.49: "Verify and sign pure ML-DSA-44"
  (cd9e09f).  Inferred, not read in code; no source signs a digest.
* Context string: ``DKIM2`` (5 octets), Stalwart 0.15.1 ``src/crypto/mldsa.rs`` (``CONTEXT``)
  and ``aws_lc_mldsa.rs`` ("aws-lc-rs only exposes ML-DSA with an empty context, which DKIM2
  cannot use").  The only source that names one; croessner and mailauth 8.1 were not readable.
  A signature made with an empty context does not verify here.
* ``p=``: the raw 1312-octet public key (Stalwart ``MlDsa44Key::public_key``: "as published
  in the p= tag of a k=mldsa44 key record").  A 1334-octet SubjectPublicKeyInfo is accepted
  with a note, as for Ed25519 (the ``p=`` of RSA is SPKI, so publishers may wrap).
* Private keys: PKCS#8 (RFC 9881; Stalwart generates the seed-only form, as ``cryptography``
  writes it).  ``cryptography`` >= 48 signs and verifies ML-DSA-44 with its usual wheels
  (47.0 has the classes but only the AWS-LC backend implements them).
* The composite ``mldsa44-ed25519-sha512`` (croessner v0.1.42, Stalwart 0.14, the -07 era) is
  not named by any -08/-09 source and stays an unknown algorithm.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, padding, rsa

from .. import ed25519_verify, limits

# sig-name -> k= key type (S06 §8.9, §11.5: they must match).  mldsa44/k=mldsa44: -08 §3.4
# as reported by Stalwart 0.15 and croessner v0.1.49 (SPEC-09-NOTES 1.4).
KEY_TYPE_FOR_ALGORITHM = {"rsa-sha256": "rsa", "ed25519-sha256": "ed25519", "mldsa44": "mldsa44"}

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | mldsa.MLDSA44PublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | mldsa.MLDSA44PrivateKey

#: The ML-DSA context string of DKIM2 signatures (-08 §3.4 as implemented by Stalwart 0.15.1,
#: ``src/crypto/mldsa.rs``; FIPS 204 §5.2 ``ctx``).
MLDSA44_CONTEXT = b"DKIM2"
#: FIPS 204 Table 2: ML-DSA-44 public key and signature sizes.
MLDSA44_PUBLIC_KEY_OCTETS = 1312
MLDSA44_SIGNATURE_OCTETS = 2420


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
    #: The size of the public key in bits: the modulus for RSA, 256 for Ed25519, 10496 (1312
    #: octets) for ML-DSA-44.  Not a security strength: ML-DSA-44 is NIST category 2.
    bits: int
    testing: bool  # t=y
    flags: tuple[str, ...]
    notes: tuple[str, ...]  # accepted oddities, e.g. an SPKI-wrapped Ed25519 key

    def __hash__(self) -> int:
        return self._hash

    @functools.cached_property
    def _hash(self) -> int:
        # cryptography's key objects compare by value but cannot be hashed; hash their bytes
        # so that a record can key a cache (equal records have equal key bytes).  Computed
        # once per record (parse_key_record caches records).
        return hash(
            (
                self.key_type,
                _public_key_bytes(self.public_key),
                self.bits,
                self.testing,
                self.flags,
                self.notes,
            )
        )


def _public_key_bytes(key: PublicKey) -> bytes:
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# DNS00 §3.2: tag-name = ALPHA *ALNUMPUNC; tag names are case-sensitive (A2).
_KEY_TAG = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_VALCHARS = re.compile(r"[\x21-\x3a\x3c-\x7e]*\Z")
# The blanks a tag value may hold between its VALCHARs (DNS00 §3.2: WSP and FWS).  Not
# str.split(), whose white space also takes VT, FF, FS..US and Unicode spaces.
_FWS = re.compile(r"[ \t\r\n]+")


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
        compact = _FWS.sub("", value)
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
    elif key_type == "mldsa44":
        public_key = _load_mldsa44(der, notes)
        bits = 8 * MLDSA44_PUBLIC_KEY_OCTETS
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


# SubjectPublicKeyInfo header of an ML-DSA-44 key (RFC 9881 §4; OID 2.16.840.1.101.3.4.3.17).
_MLDSA44_SPKI_PREFIX = bytes.fromhex("30820532300b06096086480165030403110382052100")


def _load_mldsa44(der: bytes, notes: list[str]) -> mldsa.MLDSA44PublicKey:
    if len(der) == len(_MLDSA44_SPKI_PREFIX) + MLDSA44_PUBLIC_KEY_OCTETS and der.startswith(
        _MLDSA44_SPKI_PREFIX
    ):
        notes.append(
            "p= wraps the ML-DSA-44 key in SubjectPublicKeyInfo; DKIM2 implementations publish "
            "the raw 1312 octets"
        )
        der = der[len(_MLDSA44_SPKI_PREFIX) :]
    if len(der) != MLDSA44_PUBLIC_KEY_OCTETS:
        raise KeyRecordError(
            "syntax",
            f"an ML-DSA-44 p= must be {MLDSA44_PUBLIC_KEY_OCTETS} octets (raw public key); "
            f"it is {len(der)}",
        )
    try:
        return mldsa.MLDSA44PublicKey.from_public_bytes(der)
    except UnsupportedAlgorithm as exc:
        raise KeyRecordError(
            "unknown-type", "k=mldsa44: this installation's cryptography library has no ML-DSA-44"
        ) from exc
    except ValueError as exc:
        raise KeyRecordError("syntax", f"p= is not an ML-DSA-44 public key ({exc})") from exc


#: Stateless parameter objects, made once rather than per signature.
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def verify_signature(algorithm: str, key: PublicKey, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` over ``data`` verifies under ``algorithm``."""
    try:
        if algorithm == "rsa-sha256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, _PKCS1V15, _SHA256)
            return True
        if algorithm == "ed25519-sha256" and isinstance(key, ed25519.Ed25519PublicKey):
            return ed25519_verify.verify(key, signature, hashlib.sha256(data).digest())
        if algorithm == "mldsa44" and isinstance(key, mldsa.MLDSA44PublicKey):
            # Pure ML-DSA-44 over the signing input itself, context "DKIM2" (module docstring).
            if len(signature) != MLDSA44_SIGNATURE_OCTETS:
                return False
            key.verify(signature, data, MLDSA44_CONTEXT)
            return True
    except InvalidSignature:
        return False
    return False


def other_reading(algorithm: str, key: PublicKey, data: bytes, signature: bytes) -> str | None:
    """For a signature that does not verify: the other way of signing under which it does,
    in words, or None.  Signers and verifiers of the drafts have disagreed on exactly these
    (SPEC-NOTES §11 A14 for Ed25519; the ML-DSA-44 context and input are one
    implementation's, SPEC-09-NOTES 1.4), so a match names the cause precisely."""
    try:
        if algorithm == "ed25519-sha256" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
            return "Ed25519 over the signing input itself rather than its SHA-256 digest"
    except InvalidSignature:
        return None
    if algorithm == "mldsa44" and isinstance(key, mldsa.MLDSA44PublicKey):
        if len(signature) != MLDSA44_SIGNATURE_OCTETS:
            return None
        digest = hashlib.sha256(data).digest()
        for message, context, words in (
            (data, b"", "ML-DSA-44 over the signing input with an empty context"),
            (digest, MLDSA44_CONTEXT, 'ML-DSA-44 over its SHA-256 digest with context "DKIM2"'),
            (digest, b"", "ML-DSA-44 over its SHA-256 digest with an empty context"),
        ):
            try:
                key.verify(signature, message, context)
                return f'{words} (this verifier expects the input itself with context "DKIM2")'
            except InvalidSignature:
                continue
    return None


def sign_bytes(algorithm: str, key: PrivateKey, data: bytes) -> bytes:
    if algorithm == "rsa-sha256" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if algorithm == "ed25519-sha256" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(hashlib.sha256(data).digest())
    if algorithm == "mldsa44" and isinstance(key, mldsa.MLDSA44PrivateKey):
        # Hedged (randomised) signing, as cryptography always does it.
        return key.sign(data, MLDSA44_CONTEXT)
    raise ValueError(f"algorithm {algorithm} does not fit a {type(key).__name__}")


def algorithm_for_private_key(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa-sha256"
    if isinstance(key, mldsa.MLDSA44PrivateKey):
        return "mldsa44"
    return "ed25519-sha256"


def load_private_key(pem: bytes) -> PrivateKey:
    """A PEM private key: PKCS#8 (any key), or traditional PEM for RSA.  An ML-DSA-44 key is
    PKCS#8 as RFC 9881 lays it out (the seed-only form is what Stalwart 0.15 generates and
    what ``cryptography`` writes)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | mldsa.MLDSA44PrivateKey):
        raise ValueError(f"unsupported private key type {type(key).__name__}")
    return key


def public_record_for(key: PrivateKey) -> str:
    """The TXT record to publish for ``key`` (SPKI for RSA, SPEC-NOTES §11 A31; the raw key
    for Ed25519, RFC 8463, and for ML-DSA-44, as Stalwart 0.15 publishes it)."""
    if isinstance(key, mldsa.MLDSA44PrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return "v=DKIM1; k=mldsa44; p=" + binascii.b2a_base64(raw, newline=False).decode()
    if isinstance(key, rsa.RSAPrivateKey):
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return "v=DKIM1; k=rsa; p=" + binascii.b2a_base64(der, newline=False).decode()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "v=DKIM1; k=ed25519; p=" + binascii.b2a_base64(raw, newline=False).decode()
