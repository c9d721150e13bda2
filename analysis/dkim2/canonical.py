"""Canonicalisation: the header hash (S06 §6.2) and the signing input (S06 §9.6).

Small named byte helpers, one per spec step, bytes in and bytes out.  The body
hash is :meth:`analysis.message.Body.hash` (S06 §6.1).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Iterator

from ..message import CRLF, HeaderField

# S06 §4, §4.1, §6.2: fields never covered by the header hash (compared
# case-insensitively), plus every X-* and Received-* field.
UNSIGNED_FIELDS_S06 = frozenset(
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
UNSIGNED_PREFIXES_S06 = ("x-", "received-")

# The pre-05 drafts' sets (SPEC-NOTES §3.1 history table), used only to name the revision
# a message's hashes were computed under (analysis.dkim2.drafts).
_BASE_C08 = frozenset(
    {"received", "return-path", "dkim-signature", "message-instance", "dkim2-signature"}
)
UNSIGNED_BY_REVISION: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    # S00/S01 (and C08): Authentication-Results still hashed; ARC-* prefix.
    "draft-ietf-dkim-dkim2-spec-01": (_BASE_C08, ("x-", "arc-")),
    # S02: + Authentication-Results.
    "draft-ietf-dkim-dkim2-spec-02": (_BASE_C08 | {"authentication-results"}, ("x-", "arc-")),
    # S03/S04: + Delivered-To.
    "draft-ietf-dkim-dkim2-spec-04": (
        _BASE_C08 | {"authentication-results", "delivered-to"},
        ("x-", "arc-"),
    ),
}
# (The lists of -06 to -09 are the revision profiles' own: analysis.dkim2.revisions.)


def is_unsigned(lname: str) -> bool:
    """True when a field (lower-cased name) is left out of the header hash (S06 §4)."""
    return lname in UNSIGNED_FIELDS_S06 or lname.startswith(UNSIGNED_PREFIXES_S06)


_WSP_RUN = re.compile(rb"[ \t]+")

#: A value longer than this has its WSP runs squeezed in place (:func:`_squeeze_wsp`), not
#: split into words: a 1 MB value of one-letter words would be 500,000 objects, some 45 MB
#: for a 1 MB field (issue #11, header bombs).
_SPLIT_OCTETS = 4096


def _squeeze_wsp(value: bytes) -> bytes:
    """Each run of WSP (SP, HTAB) as one SP, none at either end, every other octet kept:
    what ``_WSP_RUN.sub(b" ", value).strip(b" ")`` gives, in memory of a few copies of the
    value (each pass halves the longest run)."""
    value = value.replace(b"\t", b" ")
    while b"  " in value:
        value = value.replace(b"  ", b" ")
    return value.strip(b" ")


def canonical_header_line(field: HeaderField) -> bytes:
    """S06 §6.2 steps 2-6 for one field: ``name ":" value CRLF``.

    Lower-case the name; unfold; replace each run of WSP by one SP; delete WSP
    at the end of the value and around the colon.
    """
    raw = field.raw
    colon = raw.find(b":")
    name = raw[:colon].rstrip(b" \t").lower()
    value = raw[colon + 1 :]
    if value.endswith(CRLF):
        value = value[:-2]
    value = value.replace(CRLF, b"")
    if len(value) > _SPLIT_OCTETS:
        value = _squeeze_wsp(value)
    elif b"\r" in value or b"\n" in value or b"\x0b" in value or b"\x0c" in value:
        # Slow path keeps bare CR/LF/VT/FF as ordinary octets (SPEC-NOTES §11 A11).
        value = _WSP_RUN.sub(b" ", value).strip(b" ")
    else:
        value = b" ".join(value.split())
    return name + b":" + value + CRLF


def _hashed_fields(
    fields: Iterable[HeaderField], unsigned: frozenset[str], prefixes: tuple[str, ...]
) -> Iterator[HeaderField]:
    """The fields the header hash covers, in the order it covers them (S06 §6.2).

    Unsigned fields dropped (step 1); fields sorted by lower-cased name in
    ASCII byte order (step 7, SPEC-NOTES §11 A5); fields sharing a name ordered
    bottom-up, the last in the header block first (step 8).
    """
    groups: dict[str, list[HeaderField]] = {}
    for f in fields:
        if not f.valid:
            continue
        ln = f.lname
        if ln in unsigned or ln.startswith(prefixes):
            continue
        groups.setdefault(ln, []).append(f)
    for name in sorted(groups, key=lambda n: n.encode("latin-1")):
        yield from reversed(groups[name])


def header_hash_input(
    fields: Iterable[HeaderField],
    unsigned: frozenset[str] = UNSIGNED_FIELDS_S06,
    prefixes: tuple[str, ...] = UNSIGNED_PREFIXES_S06,
) -> bytes:
    """The octets hashed for the header hash (S06 §6.2; see :func:`_hashed_fields`)."""
    return b"".join(canonical_header_line(f) for f in _hashed_fields(fields, unsigned, prefixes))


def header_hash(
    fields: Iterable[HeaderField],
    algorithm: str,
    unsigned: frozenset[str] = UNSIGNED_FIELDS_S06,
    prefixes: tuple[str, ...] = UNSIGNED_PREFIXES_S06,
) -> bytes:
    """The header hash (S06 §6.2), fed field by field: a rebuilt header block is never
    held twice (its fields and their canonical form) at once."""
    h = hashlib.new(algorithm)
    for f in _hashed_fields(fields, unsigned, prefixes):
        h.update(canonical_header_line(f))
    return h.digest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- signing input (S06 §9.6, §11.6) ------------------------------------------------


def canonical_signing_line(field: HeaderField, *, strip_signatures: bool = False) -> bytes:
    """One MI or SIG field for the signing input: lower-cased name, unfolded,
    every WSP deleted (not collapsed), colon and final CRLF kept (S06 §9.6).

    ``strip_signatures`` empties each signature value inside ``s=`` (the field
    being made or checked; S06 §9.6, §11.6 step 1).
    """
    raw = field.raw
    colon = raw.find(b":")
    name = raw[:colon].rstrip(b" \t").lower()
    value = raw[colon + 1 :]
    if value.endswith(CRLF):
        value = value[:-2]
    value = value.replace(CRLF, b"").translate(None, b" \t")
    if strip_signatures:
        value = _empty_signature_values(value)
    return name + b":" + value + CRLF


_SET_SEPARATOR = re.compile(rb"([,|])")


def _empty_signature_values(value: bytes) -> bytes:
    """Each ``selector:algorithm:signature`` entry of ``s=`` becomes ``selector:algorithm:``.

    The separators stay: ``,`` and, from -08, the ``|`` between groups (SPEC-09-NOTES 1.1:
    the canonicalisation deletes WSP and empties the values, so ``|`` is in the signed bytes).
    Every tag named ``s`` is cut (the value holds no WSP: ``s=`` or ``S=`` starts it).
    """
    parts = value.split(b";")
    for idx, part in enumerate(parts):
        if part[:2] in (b"s=", b"S="):
            entries = part[2:]
            if b"," in entries or b"|" in entries:
                cut = b"".join(_emptied(e) for e in _SET_SEPARATOR.split(entries))
            else:
                cut = _emptied(entries)  # one entry, the usual case: no split
            parts[idx] = part[:2] + cut
    return b";".join(parts)


def _emptied(entry: bytes) -> bytes:
    """``selector:algorithm:`` of an entry with two colons or more; anything else (a
    separator, an entry with fewer colons) as it is."""
    selector, _, rest = entry.partition(b":")
    algorithm, second, _ = rest.partition(b":")
    return selector + b":" + algorithm + b":" if second else entry


def signing_input(
    instances: Iterable[HeaderField],
    earlier_signatures: Iterable[HeaderField],
    signature: HeaderField,
    *,
    cache: dict[int, bytes] | None = None,
) -> bytes:
    """What signature *k* signs (S06 §9.6; SPEC-NOTES §3.4).

    ``instances``: the Message-Instance fields with ``m`` up to the
    signature's ``m=``, in ascending ``m``; ``earlier_signatures``: the
    DKIM2-Signature fields with ``i`` below *k*, ascending; then the signature
    itself with its signature values emptied.

    ``cache`` (field id -> canonical line) lets a verifier checking every hop canonicalise
    each field once instead of once per later signature.
    """
    if cache is None:
        cache = {}
    out = []
    for f in (*instances, *earlier_signatures):
        line = cache.get(id(f))
        if line is None:
            line = cache[id(f)] = canonical_signing_line(f)
        out.append(line)
    out.append(canonical_signing_line(signature, strip_signatures=True))
    return b"".join(out)
