"""Keys, key zones, DKIM1 signatures and ARC seals for tests of :mod:`analysis.dkim1`,
:mod:`analysis.arc` and whatever composes them.

A test builds a message, signs or seals it, publishes the keys in a static zone and
verifies::

    key = rsa_key()
    raw = dkim1_sign(message(), key, domain="example.com", selector="sel")
    zone = publish({}, "example.com", "sel", key)
    report = analysis.dkim1.analyze(parse_message(raw), lookup=resolver(zone), now=NOW)

* Keys come from ``cryptography`` and are cached per name for the session:
  :func:`rsa_key` (2048 bits unless asked), :func:`short_rsa_key` (below the 1024 bits
  ``cryptography`` will generate, built from primes found here), :func:`ed25519_key`.
  :func:`key_record` writes the TXT record (``v=DKIM1; k=...; p=...``, extra tags on
  demand); :func:`publish` puts a record in a zone dict of the interop ``dns.json`` layout
  (``{"example.com": {"sel._domainkey": [["txt", "v=DKIM1; ..."]]}}``) that
  :class:`~analysis.resolvers.StaticResolver` reads (:func:`resolver`).
* :func:`dkim1_sign` signs with dkimpy's own signer (``dkim.DKIM.gen_header``, the code
  ``dkim.sign`` runs) but with every tag under the test's control: a fixed ``t=``
  (:data:`SIGN_TIME`), ``x=``, ``l=``, ``i=``, ``a=rsa-sha1``, extra tags.  Ed25519 signs
  through a small adapter on ``cryptography``, since PyNaCl (which ``dkim.sign`` needs for
  Ed25519) is not installed.  :func:`dkim_sign` is ``dkim.sign`` itself (RSA; its ``t=`` is
  the current time).
* :func:`arc_seal` adds one ARC set with ``dkim.arc_sign``: it writes the
  Authentication-Results field dkimpy reads the chain status from (``arc=pass`` or
  ``arc=fail`` for instances after the first), seals, and puts the three new fields on
  top.
* :func:`set_tag`, :func:`replace_field`, :func:`drop_arc_fields` and :func:`field_value`
  edit and read fields of a raw message for tests that break one thing.
"""

from __future__ import annotations

import base64
import functools
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import dkim  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from dkim.canonicalization import CanonicalizationPolicy  # type: ignore[import-untyped]
from dkim.crypto import HASH_ALGORITHMS, parse_pem_private_key  # type: ignore[import-untyped]

from analysis.message import ParsedMessage, parse_message
from analysis.resolvers import StaticResolver

CRLF = b"\r\n"

#: The t= of every signature and seal these helpers make (2023-11-14 22:13:20 UTC).
SIGN_TIME = 1_700_000_000

#: A verification time an hour after SIGN_TIME.
NOW = SIGN_TIME + 3600

#: The header fields dkim1_sign signs unless told otherwise (From twice: oversigned).
DEFAULT_SIGNED = ("from", "to", "subject", "date", "message-id", "from")

Zone = dict[str, dict[str, list[list[str]]]]


# -- keys -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestKey:
    """A signing key in the forms dkimpy and the key record need."""

    __test__ = False  # not a pytest test class

    kind: str  # "rsa" or "ed25519"
    private: Any  # cryptography private key
    public: str  # the p= value: base64 of SubjectPublicKeyInfo (RSA) or the raw key (Ed25519)
    bits: int

    @property
    def pem(self) -> bytes:
        """RSA private key in PKCS#1 PEM, as ``dkim.sign`` and ``dkim.arc_sign`` read it."""
        return bytes(
            self.private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )


@functools.cache
def rsa_key(name: str = "rsa", bits: int = 2048) -> TestKey:
    """An RSA key (cached per ``name`` and size for the session)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _rsa_test_key(private)


def _rsa_test_key(private: rsa.RSAPrivateKey) -> TestKey:
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return TestKey("rsa", private, base64.b64encode(der).decode("ascii"), private.key_size)


@functools.cache
def short_rsa_key(bits: int = 768) -> TestKey:
    """An RSA key shorter than 1024 bits (RFC 8301 §3.2 forbids accepting it), built from
    primes found here with a seeded Miller-Rabin search, as ``cryptography`` refuses to
    generate keys under 1024 bits."""
    rng = random.Random(bits)
    e = 65537
    while True:
        p, q = _prime(bits // 2, rng), _prime(bits - bits // 2, rng)
        n, phi = p * q, (p - 1) * (q - 1)
        if p != q and n.bit_length() == bits and phi % e:
            break
    d = pow(e, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, n)
    )
    return _rsa_test_key(numbers.private_key())


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if _probably_prime(candidate, rng):
            return candidate


def _probably_prime(n: int, rng: random.Random) -> bool:
    if any(n % p == 0 for p in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)):
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(32):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


@functools.cache
def ed25519_key(name: str = "ed25519") -> TestKey:
    """An Ed25519 key (cached per ``name``); p= is the raw 32-octet key (RFC 8463 §4)."""
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return TestKey("ed25519", private, base64.b64encode(raw).decode("ascii"), 256)


def ed25519_key_from_seed(seed_b64: str) -> TestKey:
    """An Ed25519 key from its base64 32-octet seed (the form of dkimpy's
    ``ed25519test.key`` and RFC 8032 §7.1's secret keys)."""
    private = ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed_b64))
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return TestKey("ed25519", private, base64.b64encode(raw).decode("ascii"), 256)


def key_record(key: TestKey, **tags: str) -> str:
    """The key's TXT record: ``v=DKIM1; k=<type>; [tags; ]p=<key>``; ``p=""`` revokes it,
    ``v=None``-like removal is done by passing ``v=""`` (the tag is then left out)."""
    fields = {"v": "DKIM1", "k": key.kind, **tags}
    fields.setdefault("p", key.public)
    p = fields.pop("p")
    parts = [f"{k}={v}" for k, v in fields.items() if v != ""]
    return "; ".join([*parts, f"p={p}"])


def publish(zone: Zone, domain: str, selector: str, record: TestKey | str | None) -> Zone:
    """Put ``record`` (a key, a TXT text, or None for NODATA) at
    ``<selector>._domainkey.<domain>`` in ``zone``; returns ``zone``."""
    names = zone.setdefault(domain, {})
    if record is None:
        names[f"{selector}._domainkey"] = []
    else:
        text = key_record(record) if isinstance(record, TestKey) else record
        names.setdefault(f"{selector}._domainkey", []).append(["txt", text])
    return zone


def fail_name(zone: Zone, domain: str, selector: str, how: str = "servfail") -> Zone:
    """Make the key name answer SERVFAIL (``how="servfail"``) or time out (``"timeout"``)."""
    zone.setdefault(domain, {})[f"{selector}._domainkey"] = [[how, ""]]
    return zone


def resolver(zone: Zone) -> StaticResolver:
    return StaticResolver(zone)


# -- messages -------------------------------------------------------------------------------------


def message(
    *,
    sender: str = "Alice <alice@example.com>",
    to: str = "Bob <bob@example.net>",
    subject: str = "Lunch on Friday",
    body: str = "Shall we meet at noon?\r\n\r\nAlice\r\n",
    extra: Sequence[str] = (),
) -> bytes:
    """A small RFC 5322 message with CRLF line ends."""
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Tue, 14 Nov 2023 22:13:20 +0000",
        "Message-ID: <20231114221320.1@example.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


def parsed(raw: bytes) -> ParsedMessage:
    return parse_message(raw)


# -- DKIM1 signing ---------------------------------------------------------------------------------


class _Ed25519Signer:
    """What dkimpy's signer calls on an Ed25519 key (``sign(digest).signature``)."""

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key

    def sign(self, data: bytes) -> Any:
        class Signed:
            signature = self._key.sign(bytes(data))

        return Signed


def dkim1_sign(
    raw: bytes,
    key: TestKey,
    *,
    domain: str,
    selector: str,
    algorithm: str | None = None,
    canonicalization: str = "relaxed/simple",
    signed: Iterable[str] = DEFAULT_SIGNED,
    timestamp: int | None = SIGN_TIME,
    expires: int | None = None,
    identity: str | None = None,
    length: bool = False,
    extra: Sequence[tuple[str, str]] = (),
) -> bytes:
    """``raw`` with a DKIM-Signature field on top, made by dkimpy's signer
    (``DKIM.gen_header``) with exactly these tags: ``v a c d [i] [l] q s [t] [x] h bh b``
    and ``extra`` before ``bh``.  ``algorithm`` defaults to the key's (rsa-sha256 or
    ed25519-sha256); ``a=rsa-sha1`` works with an RSA key."""
    alg = (algorithm or ("rsa-sha256" if key.kind == "rsa" else "ed25519-sha256")).encode()
    signer = dkim.DKIM(raw, signature_algorithm=alg)
    policy = CanonicalizationPolicy.from_c_value(canonicalization.encode("ascii"))
    signer.hasher = HASH_ALGORITHMS[alg]
    body = policy.canonicalize_body(signer.body)
    include = [h.lower().encode("ascii") for h in signed]
    tags: list[tuple[bytes, bytes]] = [
        (b"v", b"1"),
        (b"a", alg),
        (b"c", canonicalization.encode("ascii")),
        (b"d", domain.encode("ascii")),
    ]
    if identity is not None:
        tags.append((b"i", identity.encode("utf-8")))
    if length:
        tags.append((b"l", str(len(body)).encode("ascii")))
    tags += [(b"q", b"dns/txt"), (b"s", selector.encode("ascii"))]
    if timestamp is not None:
        tags.append((b"t", str(timestamp).encode("ascii")))
    if expires is not None:
        tags.append((b"x", str(expires).encode("ascii")))
    tags.append((b"h", b" : ".join(include)))
    tags += [(k.encode("ascii"), v.encode("ascii")) for k, v in extra]
    tags += [(b"bh", base64.b64encode(signer.hasher(body).digest())), (b"b", b"0" * 60)]
    pk = parse_pem_private_key(key.pem) if key.kind == "rsa" else _Ed25519Signer(key.private)
    value = signer.gen_header(tags, include, policy, b"DKIM-Signature", pk)
    return b"DKIM-Signature: " + bytes(value) + raw


def dkim_sign(raw: bytes, key: TestKey, *, domain: str, selector: str, **kwargs: Any) -> bytes:
    """``raw`` signed by ``dkim.sign`` itself (RSA keys; ``t=`` is the current time)."""
    field = dkim.sign(raw, selector.encode(), domain.encode(), key.pem, **kwargs)
    return bytes(field) + raw


# -- ARC sealing -----------------------------------------------------------------------------------


def arc_seal(
    raw: bytes,
    key: TestKey,
    *,
    domain: str,
    selector: str,
    srv_id: str | None = None,
    chain: str | None = None,
    timestamp: int = SIGN_TIME,
    signed: Iterable[str] | None = None,
    results: str = "spf=pass smtp.mailfrom=example.com",
) -> bytes:
    """``raw`` with one more ARC set on top, made by ``dkim.arc_sign`` (RSA keys).

    ``chain`` is the status the sealer found (``none`` for the first set, else ``pass``
    or ``fail``); it goes into an ``Authentication-Results: <srv_id>; arc=<chain>`` field,
    which dkimpy reads to write ``cv=`` and copies into the ARC-Authentication-Results.
    """
    srv = srv_id or f"mx.{domain}"
    instance = _next_instance(raw)
    chain = chain or ("none" if instance == 1 else "pass")
    arc_part = "" if chain == "none" else f"; arc={chain}"
    with_ar = f"Authentication-Results: {srv}; {results}{arc_part}\r\n".encode() + raw
    include = [h.encode("ascii") for h in signed] if signed is not None else None
    fields = dkim.arc_sign(
        with_ar,
        selector.encode(),
        domain.encode(),
        key.pem,
        srv.encode(),
        include_headers=include,
        timestamp=timestamp,
    )
    if not fields:
        raise AssertionError(f"dkim.arc_sign refused to seal instance {instance}")
    return b"".join(bytes(f) for f in fields) + with_ar


def _next_instance(raw: bytes) -> int:
    header = raw.split(b"\r\n\r\n", 1)[0]
    found = re.findall(rb"(?im)^ARC-Seal:[^\r\n]*?\bi=(\d+)", header)
    return max((int(i) for i in found), default=0) + 1


# -- editing raw messages --------------------------------------------------------------------------


def field_value(raw: bytes, name: str, nth: int = 0) -> bytes:
    """The value (after the colon, folds kept, no final CRLF) of the ``nth`` field ``name``."""
    return _fields(raw, name)[nth][1]


def replace_field(raw: bytes, name: str, value: bytes | None, nth: int = 0) -> bytes:
    """``raw`` with the ``nth`` field ``name`` given a new value (None removes the field)."""
    start, end = _fields(raw, name)[nth][0]
    head = raw[:start]
    if value is None:
        return head + raw[end:]
    return head + name.encode("ascii") + b":" + value + CRLF + raw[end:]


def set_tag(raw: bytes, name: str, tag: str, value: str, nth: int = 0) -> bytes:
    """``raw`` with tag ``tag`` of the ``nth`` field ``name`` set to ``value`` (the
    signature is not recomputed, so only checks before the crypto see a valid field)."""
    old = field_value(raw, name, nth).decode("utf-8")
    pattern = re.compile(rf"(^|;)(\s*){re.escape(tag)}(\s*)=[^;]*")
    if pattern.search(old):
        new = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{tag}{m.group(3)}={value}", old, 1)
    else:
        new = old.rstrip() + ("" if old.rstrip().endswith(";") else ";") + f" {tag}={value}"
    return replace_field(raw, name, new.encode("utf-8"), nth)


#: The three fields of an ARC set.
ARC_FIELDS = ("ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal")


def drop_arc_fields(raw: bytes, instance: int, *names: str) -> bytes:
    """``raw`` without the fields ``names`` (of :data:`ARC_FIELDS`) of ARC set ``instance``."""
    for name in names:
        found = [
            k
            for k, (_, value) in enumerate(_fields(raw, name))
            if re.match(rb"\s*i\s*=\s*%d\s*;" % instance, value)
        ]
        if not found:
            raise AssertionError(f"no {name} i={instance}")
        raw = replace_field(raw, name, None, nth=found[0])
    return raw


def _fields(raw: bytes, name: str) -> list[tuple[tuple[int, int], bytes]]:
    """((start, end), value) of every field ``name`` in the header block."""
    header_end = raw.find(b"\r\n\r\n")
    header_end = len(raw) if header_end < 0 else header_end + 2
    out = []
    pos = 0
    lname = name.lower().encode("ascii")
    while pos < header_end:
        end = pos
        while True:
            eol = raw.find(CRLF, end, header_end)
            end = header_end if eol < 0 else eol + 2
            if end >= header_end or raw[end : end + 1] not in (b" ", b"\t"):
                break
        line = raw[pos:end]
        colon = line.find(b":")
        if colon > 0 and line[:colon].strip().lower() == lname:
            out.append(((pos, end), line[colon + 1 :].removesuffix(CRLF)))
        pos = end
    return out
