"""Build DKIM2 chains for engine tests, hop by hop, and keep every instance's bytes.

A test writes a chain as a starting message and a list of :class:`Hop` values::

    chain = build_chain(
        message(),
        [
            Hop("example.com", "<alice@example.com>", ["<list@lists.example.org>"]),
            Hop(
                "lists.example.org",
                "<list-bounces@lists.example.org>",
                ["<bob@example.net>"],
                modify=append_body("-- ", "footer"),
            ),
        ],
    )
    report = chain.analyze()

Each hop applies its ``modify`` function to the message it received, then signs
with :func:`analysis.dkim2.sign.sign` (``previous=`` the message as received whenever
it changed).  :class:`Chain` keeps what a test needs to check the engine:

* ``inputs[k]`` -- the message hop ``k`` signed (after its change, before its
  fields were added), so reconstructed instance bytes can be compared;
* ``instance_bytes[m]`` -- the same, indexed by the instance ``m`` it became;
* ``envelopes[k]`` -- the SMTP envelope hop ``k`` signed (``None`` for ``nd=``).

Keys are generated once per test session (module-level cache): Ed25519 keys are
cheap; RSA keys are few (``rsa1``, ``rsa2`` at 2048 bits, ``rsa1024``).  Every
domain in a chain publishes every selector of :data:`SELECTORS`, so a hop may
sign with any of them.  All domains are under ``.example`` / ``.test``.

For failure tests, :func:`edit_field`, :func:`edit_recipe` and friends rewrite
one DKIM2 field, and :func:`resign` recomputes the signatures afterwards with
its own canonicalisation (S06 §9.6; written independently of the engine's), so
a test hits exactly the check it targets instead of also breaking the
signature.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes as crypto_hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, padding, rsa

from analysis.dkim2 import ChainReport, Envelope, Options, analyze
from analysis.dkim2.keys import PrivateKey, public_record_for
from analysis.dkim2.sign import SigningKey, SignResult, sign
from analysis.resolvers import StaticResolver

CRLF = b"\r\n"

#: First hop's t=; hop k signs at T0 + 60 * k unless it says otherwise.
T0 = 1_800_000_000

#: selector -> key kind.  Every domain of a chain publishes all of them.
SELECTORS: dict[str, str] = {
    "ed1": "ed25519",
    "ed2": "ed25519",
    "ed3": "ed25519",
    "rsa1": "rsa2048",
    "rsa2": "rsa2048",
    "rsa1024": "rsa1024",
    "pq1": "mldsa44",
}

Mod = Callable[[bytes], bytes]


# -- keys and zone ---------------------------------------------------------------------------


@functools.cache
def private_key(selector: str) -> PrivateKey:
    """The private key behind ``selector`` (generated on first use, then cached)."""
    kind = SELECTORS[selector]
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "mldsa44":
        return mldsa.MLDSA44PrivateKey.generate()
    bits = {"rsa2048": 2048, "rsa1024": 1024}[kind]
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def signing_key(selector: str) -> SigningKey:
    return SigningKey(selector, private_key(selector))


@functools.cache
def key_record(selector: str) -> str:
    """The TXT record published for ``selector``."""
    return public_record_for(private_key(selector))


def rsa_public_record(bits: int) -> str:
    """A ``k=rsa`` record for a public key of exactly ``bits`` bits, without a private key.

    Used for sizes the ``cryptography`` key generator refuses (< 1024) or that take
    too long to generate (> 8192): the engine rejects these records before it would
    verify anything.  The modulus is odd with the top bit set; it need not be a
    product of two primes for a public key to load.
    """
    n = (1 << (bits - 1)) | (0x5DEECE66D << 8) | 1
    key = rsa.RSAPublicNumbers(65537, n).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def zone_for(domains: Iterable[str]) -> dict[str, dict[str, list[list[str]]]]:
    """The ``dns.json`` zone publishing every selector of :data:`SELECTORS` under each domain."""
    return {
        d: {f"{sel}._domainkey": [["txt", key_record(sel)]] for sel in SELECTORS}
        for d in dict.fromkeys(domains)
    }


def set_zone_entry(
    zone: dict[str, dict[str, list[list[str]]]],
    domain: str,
    selector: str,
    entries: list[list[str]] | None,
) -> dict[str, dict[str, list[list[str]]]]:
    """A copy of ``zone`` with one name's entries replaced (``None``: the name is removed)."""
    out = {d: dict(names) for d, names in zone.items()}
    names = out.setdefault(domain, {})
    if entries is None:
        names.pop(f"{selector}._domainkey", None)
    else:
        names[f"{selector}._domainkey"] = entries
    return out


# -- messages ----------------------------------------------------------------------------------

DEFAULT_HEADERS: tuple[tuple[str, str], ...] = (
    ("From", "Alice <alice@example.com>"),
    ("To", "Bob <bob@example.net>"),
    ("Subject", "Hello"),
    ("Date", "Thu, 15 Jan 2027 10:00:00 +0000"),
    ("Message-ID", "<m1@example.com>"),
)
DEFAULT_BODY = "Line one.\r\nLine two.\r\nLine three.\r\n"


def message(
    headers: Sequence[tuple[str, str]] = DEFAULT_HEADERS, body: str | bytes = DEFAULT_BODY
) -> bytes:
    """A message with ``Name: value`` fields (no folding) and ``body`` verbatim."""
    head = b"".join(f"{n}: {v}".encode() + CRLF for n, v in headers)
    return head + CRLF + (body.encode() if isinstance(body, str) else body)


def split(msg: bytes) -> tuple[list[bytes], bytes]:
    """Header fields (each with its folds and final CRLF) and the body."""
    if msg.startswith(CRLF):
        return [], msg[2:]
    sep = msg.find(CRLF + CRLF)
    head, body = (msg, b"") if sep < 0 else (msg[: sep + 2], msg[sep + 4 :])
    fields: list[bytes] = []
    for line in head.split(CRLF)[:-1]:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + CRLF
        else:
            fields.append(line + CRLF)
    return fields, body


def join(fields: Sequence[bytes], body: bytes) -> bytes:
    return b"".join(fields) + CRLF + body


def field_name(raw: bytes) -> str:
    return raw.split(b":", 1)[0].strip().decode("latin-1").lower()


def without_dkim2(msg: bytes) -> bytes:
    """``msg`` without its Message-Instance and DKIM2-Signature fields.

    Recipes leave those fields alone, so a reconstructed instance carries every
    DKIM2 field of the received message; what a hop signed is the rest.
    """
    fields, body = split(msg)
    kept = [f for f in fields if field_name(f) not in ("message-instance", "dkim2-signature")]
    return join(kept, body)


def _lines(body: bytes) -> list[bytes]:
    parts = body.split(CRLF)
    if parts and parts[-1] == b"":
        parts.pop()
    return parts


def _encode(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode()


# -- modifications (a hop's change, bytes in, bytes out) -----------------------------------------


def add_header(name: str, value: str, *, at: int = 0) -> Mod:
    """Insert ``Name: value`` at index ``at`` of the header block (0 = very top)."""

    def mod(msg: bytes) -> bytes:
        fields, body = split(msg)
        pos = len(fields) if at < 0 else at
        fields.insert(pos, f"{name}: {value}".encode() + CRLF)
        return join(fields, body)

    return mod


def _nth(fields: list[bytes], name: str, nth: int) -> int:
    """Index of the ``nth`` (top-down, from 1) field called ``name``."""
    hits = [i for i, f in enumerate(fields) if field_name(f) == name.lower()]
    return hits[nth - 1]


def set_header(name: str, value: str, *, nth: int = 1) -> Mod:
    """Replace the ``nth`` (top-down) ``name`` field by ``Name: value``."""

    def mod(msg: bytes) -> bytes:
        fields, body = split(msg)
        i = _nth(fields, name, nth)
        written = fields[i].split(b":", 1)[0].decode("latin-1")
        fields[i] = f"{written}: {value}".encode() + CRLF
        return join(fields, body)

    return mod


def remove_header(name: str, *, nth: int = 1) -> Mod:
    def mod(msg: bytes) -> bytes:
        fields, body = split(msg)
        del fields[_nth(fields, name, nth)]
        return join(fields, body)

    return mod


def insert_header_above(name: str, value: str, *, nth: int) -> Mod:
    """Insert a same-name field directly above the ``nth`` (top-down) ``name`` field."""

    def mod(msg: bytes) -> bytes:
        fields, body = split(msg)
        fields.insert(_nth(fields, name, nth), f"{name}: {value}".encode() + CRLF)
        return join(fields, body)

    return mod


def reorder_headers(name: str, order: Sequence[int]) -> Mod:
    """Rearrange the ``name`` fields: ``order`` lists their old top-down numbers (from 1)."""

    def mod(msg: bytes) -> bytes:
        fields, body = split(msg)
        hits = [i for i, f in enumerate(fields) if field_name(f) == name.lower()]
        old = [fields[i] for i in hits]
        for slot, k in zip(hits, order, strict=True):
            fields[slot] = old[k - 1]
        return join(fields, body)

    return mod


def append_body(*lines: str | bytes) -> Mod:
    """Append lines (each gets a CRLF) to the body, as a list footer does."""

    def mod(msg: bytes) -> bytes:
        fields, body = split(msg)
        if body and not body.endswith(CRLF):
            body += CRLF
        return join(fields, body + b"".join(_encode(x) + CRLF for x in lines))

    return mod


def prepend_body(*lines: str | bytes) -> Mod:
    def mod(msg: bytes) -> bytes:
        fields, body = split(msg)
        return join(fields, b"".join(_encode(x) + CRLF for x in lines) + body)

    return mod


def replace_body_line(number: int, text: str | bytes) -> Mod:
    """Replace body line ``number`` (from 1)."""

    def mod(msg: bytes) -> bytes:
        fields, body = split(msg)
        lines = _lines(body)
        lines[number - 1] = _encode(text)
        return join(fields, b"".join(x + CRLF for x in lines))

    return mod


def delete_body_line(number: int) -> Mod:
    def mod(msg: bytes) -> bytes:
        fields, body = split(msg)
        lines = _lines(body)
        del lines[number - 1]
        return join(fields, b"".join(x + CRLF for x in lines))

    return mod


def set_body(data: str | bytes) -> Mod:
    def mod(msg: bytes) -> bytes:
        fields, _ = split(msg)
        return join(fields, _encode(data))

    return mod


def compose(*mods: Mod) -> Mod:
    def mod(msg: bytes) -> bytes:
        for m in mods:
            msg = m(msg)
        return msg

    return mod


# -- hops and chains ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    """One signer: its domain, envelope (or ``nd=``), keys, change and tags."""

    domain: str
    mail_from: str | None = None
    rcpt_to: Sequence[str] = ()
    nd: str | None = None
    selectors: Sequence[str] = ("ed1",)
    modify: Mod | None = None
    flags: Sequence[str] = ()
    nonce: str | None = None
    timestamp: int | None = None
    hashes: Sequence[str] = ("sha256",)
    body_unrecoverable: bool = False
    #: The revision whose rules the hop's signer follows (the tests written for -06 use -06).
    revision: str = "06"
    #: Alternative signature groups after ``selectors`` (-08 on), each a list of selectors.
    selector_groups: Sequence[Sequence[str]] = ()
    #: Alternative hash groups (-08 on); default: ``hashes`` as one group.
    hash_groups: Sequence[Sequence[str]] = ()

    @property
    def envelope(self) -> Envelope | None:
        if self.nd is not None:
            return None
        return Envelope(self.mail_from or "<>", list(self.rcpt_to))


@dataclass
class Chain:
    message: bytes  # the final message, as the last hop sent it
    hops: list[Hop]
    signed: list[SignResult]
    inputs: list[bytes]  # inputs[k]: what hop k signed (after its change)
    envelopes: list[Envelope | None]
    instance_bytes: dict[int, bytes]  # m -> what the hop that introduced it signed
    zone: dict[str, dict[str, list[list[str]]]] = field(default_factory=dict)

    @property
    def envelope(self) -> Envelope | None:
        """The envelope of the last hop: what a receiver of the final message saw."""
        return self.envelopes[-1]

    @property
    def now(self) -> int:
        """A verification time one minute after the last signature."""
        return max(_timestamp(h, k) for k, h in enumerate(self.hops)) + 60

    def analyze(
        self,
        raw: bytes | None = None,
        *,
        envelope: Envelope | Literal["final"] | None = "final",
        now: float | None = None,
        options: Options | None = None,
        zone: dict[str, dict[str, list[list[str]]]] | None = None,
        revision: str = "auto",
    ) -> ChainReport:
        """Verify ``raw`` (default: the final message) with the chain's zone (or ``zone``) and
        the last hop's envelope (or ``envelope``; ``None``: no envelope), under ``revision``
        ("auto": judged by the newest, the others compared)."""
        env = self.envelope if envelope == "final" else envelope
        return analyze(
            self.message if raw is None else raw,
            lookup=StaticResolver(self.zone if zone is None else zone),
            envelope=env,
            now=self.now if now is None else now,
            options=options,
            revision=revision,
        )


def _timestamp(hop: Hop, k: int) -> int:
    return T0 + 60 * k if hop.timestamp is None else hop.timestamp


def build_chain(start: bytes, hops: Sequence[Hop]) -> Chain:
    """Run ``start`` through ``hops`` in order; see the module docstring."""
    msg = start
    signed: list[SignResult] = []
    inputs: list[bytes] = []
    instance_bytes: dict[int, bytes] = {}
    for k, hop in enumerate(hops):
        received = msg
        changed = hop.modify(received) if hop.modify else received
        result = sign(
            changed,
            domain=hop.domain,
            keys=[signing_key(s) for s in hop.selectors],
            key_groups=[[signing_key(s) for s in g] for g in hop.selector_groups],
            hash_groups=[list(g) for g in hop.hash_groups],
            revision=hop.revision,
            timestamp=_timestamp(hop, k),
            mail_from=None if hop.nd is not None else hop.mail_from,
            rcpt_to=() if hop.nd is not None else list(hop.rcpt_to),
            next_domain=hop.nd,
            previous=received if changed != received else None,
            flags=list(hop.flags),
            nonce=hop.nonce,
            hash_algorithms=list(hop.hashes),
            body_unrecoverable=hop.body_unrecoverable,
        )
        if result.role != "forwarder":
            instance_bytes[result.instance] = changed
        signed.append(result)
        inputs.append(changed)
        msg = result.message
    domains = [h.domain for h in hops]
    return Chain(
        message=msg,
        hops=list(hops),
        signed=signed,
        inputs=inputs,
        envelopes=[h.envelope for h in hops],
        instance_bytes=instance_bytes,
        zone=zone_for(domains),
    )


# -- editing DKIM2 fields after signing (failure tests) --------------------------------------------

MI = "message-instance"
SIG = "dkim2-signature"
_NUMBER_TAG = {MI: "m", SIG: "i"}


def unfold_value(raw: bytes) -> str:
    """The field value after the colon, unfolded, without the final CRLF."""
    value = raw.split(b":", 1)[1]
    if value.endswith(CRLF):
        value = value[:-2]
    return value.replace(CRLF, b"").decode("latin-1")


def tags_of(raw: bytes) -> list[tuple[str, str]]:
    """``[(name, value)]`` of a tag-list field, in order, names as written, values trimmed."""
    out = []
    for piece in unfold_value(raw).split(";"):
        if piece.strip(" \t"):
            name, _, value = piece.partition("=")
            out.append((name.strip(" \t"), value.strip(" \t")))
    return out


def build_field(
    name: str, tags: Sequence[tuple[str, str]], *, final_semicolon: bool = True
) -> bytes:
    text = "; ".join(f"{n}={v}" for n, v in tags) + (";" if final_semicolon else "")
    return f"{name}: {text}".encode("latin-1") + CRLF


def _number(raw: bytes, kind: str) -> int | None:
    m = re.search(
        r"(?:^|;)\s*" + _NUMBER_TAG[kind] + r"\s*=\s*(\d+)", unfold_value(raw), re.IGNORECASE
    )
    return int(m.group(1)) if m else None


def find_field(msg: bytes, kind: str, number: int) -> int:
    """Index among the header fields of the Message-Instance ``m=number`` or
    DKIM2-Signature ``i=number`` (``kind`` is :data:`MI` or :data:`SIG`)."""
    fields, _ = split(msg)
    hits = [i for i, f in enumerate(fields) if field_name(f) == kind and _number(f, kind) == number]
    assert len(hits) == 1, f"{kind} {number}: {len(hits)} fields"
    return hits[0]


def get_field(msg: bytes, kind: str, number: int) -> bytes:
    fields, _ = split(msg)
    return fields[find_field(msg, kind, number)]


def replace_field(msg: bytes, kind: str, number: int, raw: bytes | None) -> bytes:
    """Replace one DKIM2 field by ``raw`` (a whole field with its CRLF), or drop it (``None``)."""
    fields, body = split(msg)
    i = find_field(msg, kind, number)
    if raw is None:
        del fields[i]
    else:
        fields[i] = raw
    return join(fields, body)


def edit_tags(
    msg: bytes,
    kind: str,
    number: int,
    fn: Callable[[list[tuple[str, str]]], list[tuple[str, str]]],
) -> bytes:
    """Rewrite the tags of one DKIM2 field (the field is written back unfolded)."""
    raw = get_field(msg, kind, number)
    name = raw.split(b":", 1)[0].decode("latin-1")
    final = unfold_value(raw).rstrip(" \t").endswith(";")
    new = build_field(name, fn(tags_of(raw)), final_semicolon=final)
    return replace_field(msg, kind, number, new)


def set_tag(msg: bytes, kind: str, number: int, tag: str, value: str | None) -> bytes:
    """Set (or add at the end; ``None``: remove) one tag of one DKIM2 field."""

    def fn(tags: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out = [(n, v) for n, v in tags if n.lower() != tag]
        if value is None:
            return out
        if len(out) < len(tags):
            return [(n, value if n.lower() == tag else v) for n, v in tags]
        return [*out, (tag, value)]

    return edit_tags(msg, kind, number, fn)


def get_tag(msg: bytes, kind: str, number: int, tag: str) -> str:
    return dict((n.lower(), v) for n, v in tags_of(get_field(msg, kind, number)))[tag]


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def recipe_of(msg: bytes, m: int) -> Any:
    """The decoded JSON recipe of Message-Instance ``m``."""
    return json.loads(base64.b64decode(get_tag(msg, MI, m, "r")))


def edit_recipe(msg: bytes, m: int, recipe: Any) -> bytes:
    """Replace the ``r=`` of Message-Instance ``m``: a JSON value (encoded compactly), a
    ``str`` (JSON text used as is), or ``bytes`` (the decoded octets used as is)."""
    if isinstance(recipe, bytes):
        data = recipe
    elif isinstance(recipe, str):
        data = recipe.encode()
    else:
        data = json.dumps(recipe, separators=(",", ":")).encode()
    return set_tag(msg, MI, m, "r", b64(data))


# -- independent content hashes and hand-made fields (S06 §6, §7, §8) ------------------------------

#: S06 §4, §6.2: fields the header hash leaves out (plus every X-* and Received-*).
UNSIGNED_FIELDS = frozenset(
    {
        "apparently-to",
        "arc-authentication-results",
        "arc-message-signature",
        "arc-seal",
        "authentication-results",
        "auto-submitted",
        "delivered-to",
        "dkim-signature",
        "dl-expansion-history",
        "original-recipient",
        "received",
        "return-path",
        "sio-label-history",
        "vbr-info",
        "x400-received",
        "x400-trace",
        "message-instance",
        "dkim2-signature",
    }
)


def header_hash_input(msg: bytes) -> bytes:
    """SPEC-NOTES §3.2, written from the notes (not from the engine)."""
    fields, _ = split(msg)
    groups: dict[str, list[bytes]] = {}
    for raw in fields:
        name = field_name(raw)
        if name in UNSIGNED_FIELDS or name.startswith(("x-", "received-")):
            continue
        groups.setdefault(name, []).append(raw)
    out = []
    for name in sorted(groups, key=lambda n: n.encode("latin-1")):
        for raw in reversed(groups[name]):
            value = raw.split(b":", 1)[1][:-2].replace(CRLF, b"")
            value = re.sub(rb"[ \t]+", b" ", value).strip(b" ")
            out.append(name.encode("latin-1") + b":" + value + CRLF)
    return b"".join(out)


def body_hash_input(msg: bytes) -> bytes:
    """SPEC-NOTES §3.3: empty lines at the end removed, one CRLF at the end."""
    _, body = split(msg)
    while body.endswith(CRLF):
        body = body[:-2]
    return body + CRLF


def hash_set(msg: bytes, algorithms: Sequence[str] = ("sha256",)) -> str:
    """The ``h=`` value for ``msg``: ``alg:header-hash:body-hash`` per algorithm."""
    head, body = header_hash_input(msg), body_hash_input(msg)
    return ",".join(
        f"{a}:{b64(hashlib.new(a, head).digest())}:{b64(hashlib.new(a, body).digest())}"
        for a in algorithms
    )


def instance_field(m: int, content: bytes, recipe: Any = None) -> bytes:
    """A Message-Instance field for ``content`` (``recipe``: JSON value, or None for no r=)."""
    tags = [("m", str(m)), ("h", hash_set(content))]
    if recipe is not None:
        tags.append(("r", b64(json.dumps(recipe, separators=(",", ":")).encode())))
    return build_field("Message-Instance", tags)


def signature_field(
    i: int,
    m: int,
    *,
    domain: str = "example.com",
    mail_from: str = "<alice@example.com>",
    rcpt_to: Sequence[str] = ("<bob@example.net>",),
    t: int = T0,
    selectors: Sequence[str] = ("ed1",),
) -> bytes:
    """A DKIM2-Signature field with empty signature values (:func:`resign` fills them)."""
    algs = {
        "ed25519": "ed25519-sha256",
        "rsa2048": "rsa-sha256",
        "rsa1024": "rsa-sha256",
        "mldsa44": "mldsa44",
    }
    tags = [
        ("i", str(i)),
        ("m", str(m)),
        ("t", str(t)),
        ("d", domain),
        ("mf", b64(mail_from)),
        ("rt", ",".join(b64(r) for r in rcpt_to)),
        ("s", ",".join(f"{s}:{algs[SELECTORS[s]]}:" for s in selectors)),
    ]
    return build_field("DKIM2-Signature", tags)


def prepend_fields(msg: bytes, *raws: bytes) -> bytes:
    fields, body = split(msg)
    return join([*raws, *fields], body)


# -- an independent re-signer (S06 §9.6) -----------------------------------------------------------


def _signing_line(raw: bytes, *, empty_signatures: bool) -> bytes:
    """Lower-case name, unfold, delete every WSP, keep colon and final CRLF (S06 §9.6)."""
    name, value = raw.split(b":", 1)
    value = value.replace(CRLF, b"").replace(b" ", b"").replace(b"\t", b"")
    if empty_signatures:
        tags = value.split(b";")
        for k, tag in enumerate(tags):
            n, eq, v = tag.partition(b"=")
            if eq and n.lower() == b"s":
                # -08 groups: "|" between groups stays, like "," between entries.
                tags[k] = (
                    n
                    + b"="
                    + b"|".join(
                        b",".join(b":".join(e.split(b":")[:2]) + b":" for e in g.split(b","))
                        for g in v.split(b"|")
                    )
                )
        value = b";".join(tags)
    return name.strip().lower() + b":" + value + CRLF


#: The ML-DSA-44 context string of DKIM2 (Stalwart mail-auth 0.15's CONTEXT).
MLDSA44_CONTEXT = b"DKIM2"


def _sign_data(selector: str, algorithm: str, data: bytes) -> bytes:
    key = private_key(selector)
    if algorithm == "mldsa44":
        assert isinstance(key, mldsa.MLDSA44PrivateKey)
        return key.sign(data, MLDSA44_CONTEXT)
    if algorithm == "rsa-sha256":
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.sign(data, padding.PKCS1v15(), crypto_hashes.SHA256())
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key.sign(hashlib.sha256(data).digest())


_RESIGNED = ("rsa-sha256", "ed25519-sha256", "mldsa44")


def resign(msg: bytes, *, from_hop: int = 1) -> bytes:
    """Recompute the ``s=`` values of every DKIM2-Signature with ``i >= from_hop``.

    Each signature signs the Message-Instance fields with ``m`` up to its ``m=``
    (a field whose ``m=`` cannot be read counts as 0), the signatures ``0 < i < k``
    and itself with empty values (S06 §9.6).  A signature whose own ``m=`` cannot
    be read is left alone.  Selectors must be in :data:`SELECTORS`;
    entries whose algorithm is not rsa-sha256 / ed25519-sha256 are left alone.
    """
    fields, _ = split(msg)
    numbers = sorted(
        n for f in fields if field_name(f) == SIG and (n := _number(f, SIG)) is not None
    )
    for i in numbers:
        if i < from_hop:
            continue
        fields, _ = split(msg)
        sig_raw = fields[find_field(msg, SIG, i)]
        sig_m_text = dict((n.lower(), v) for n, v in tags_of(sig_raw)).get("m", "")
        if not sig_m_text.isdigit():
            continue  # the engine cannot parse it either, so never checks its signature
        sig_m = int(sig_m_text)
        mis = sorted(((_number(f, MI) or 0), f) for f in fields if field_name(f) == MI)
        sigs = sorted(
            (n, f)
            for f in fields
            if field_name(f) == SIG and (n := _number(f, SIG)) is not None and 0 < n < i
        )
        data = b"".join(
            [_signing_line(f, empty_signatures=False) for m, f in mis if m <= sig_m]
            + [_signing_line(f, empty_signatures=False) for _, f in sigs]
            + [_signing_line(sig_raw, empty_signatures=True)]
        )

        def fill(tags: list[tuple[str, str]], data: bytes = data) -> list[tuple[str, str]]:
            out = []
            for n, v in tags:
                if n.lower() == "s":
                    groups = []
                    for group in v.split("|"):
                        sets = []
                        for entry in group.split(","):
                            sel, alg, old = (x.strip() for x in entry.split(":"))
                            if alg in _RESIGNED and sel in SELECTORS:
                                old = b64(_sign_data(sel, alg, data))
                            sets.append(f"{sel}:{alg}:{old}")
                        groups.append(",".join(sets))
                    v = "|".join(groups)
                out.append((n, v))
            return out

        msg = edit_tags(msg, SIG, i, fill)
    return msg
