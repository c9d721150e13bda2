"""DKIM1 (RFC 6376, updated by RFC 8301 and RFC 8463) as one mechanism of the engine, on dkimpy.

Two steps, like the DKIM2 engine: :func:`prepare` reads every DKIM-Signature field and
names the keys it needs (:attr:`Dkim1Prepared.key_queries`); :func:`verify` checks each
signature with the answers the caller fetched, without any I/O; :func:`analyze` joins them
through an injected :class:`~analysis.lookup.KeyLookup`.  :mod:`analysis.arc` builds on the
primitives defined here (tag lists, body hashes, key records, the dkimpy boundary).

Theory of operation
-------------------
*What dkimpy does and what we do.*  dkimpy (``dkim``) computes the header hash of a
signature (``dkim.hash_headers``: header selection bottom-up, RFC 6376 §5.4.2;
canonicalisation, §3.4; the signature field with its ``b=`` value removed, §3.7), loads RSA
keys from the key record (``dkim.load_pk_from_dns``, with its ``dnsfunc`` hook answered
only from the prefetched :class:`~analysis.lookup.KeyAnswer`); ``cryptography`` checks the
signatures (RSASSA-PKCS1-v1_5; Ed25519).  Everything dkimpy does not tell apart is ours:

* dkimpy's ``dnsfunc`` cannot tell a missing key from a DNS failure, so the
  :class:`~analysis.lookup.LookupStatus` of the answer is read first: servfail, timeout,
  budget and error give ``temperror`` (RFC 6376 §6.1.2 step 2, TEMPFAIL); nxdomain and
  nodata give ``permerror`` "no key" (§6.1.2 step 3); an invalid name gives ``permerror``.
* dkimpy checks ``t=`` and ``x=`` against the machine's clock and stops at the first
  problem; the tags are therefore parsed and checked here (bounded, against the injected
  ``now``), and dkimpy only ever sees the signature tags it needs for hashing.
* The body hash is computed here (RFC 6376 §3.4.3 simple, §3.4.4 relaxed, §3.7, ``l=``
  honoured), independently of the key, so a signature whose key cannot be fetched still
  says whether its body hash matches; the header signature is checked separately, so a
  body changed under intact header fields is told apart from changed header fields.
* Ed25519 (RFC 8463): dkimpy verifies it through PyNaCl, which is not a dependency of
  this project; the key (the raw 32-byte public key, RFC 8463 §4) and the signature over
  the SHA-256 digest of the header hash (§3) are checked with ``cryptography`` over the
  header hash dkimpy computed.
* Every exception dkimpy can raise on hostile input (its own ``DKIMException`` tree, and
  the ``ValueError``, ``IndexError``, ``binascii.Error``, ``AssertionError`` its parsers let
  through) is mapped to a finding at one boundary, :func:`dkimpy_call`.

*Interpretations chosen.*

1. Tag lists (RFC 6376 §3.2) are parsed here: tag names are case-sensitive, a duplicate
   tag or an empty tag-spec invalidates the list, a final ``;`` is allowed, values are
   trimmed of FWS.  The values RFC 6376 defines as ABNF strings (``a=``, ``c=``, ``q=``,
   key ``k=``, ``h=``, ``s=``, ``t=``) compare case-insensitively (RFC 5234 §2.3; dkimpy
   compares ``a=`` and ``c=`` exactly).  Values must be UTF-8 without control characters
   (RFC 6376 VALCHAR is ASCII; UTF-8 is accepted for display, while ``d=``, ``s=`` and
   ``h=`` must be ASCII).
   A field longer than :data:`limits.MAX_DKIM1_FIELD_BYTES`, with more than
   :data:`limits.MAX_DKIM1_TAGS` tags or more than :data:`limits.MAX_DKIM1_SIGNED_FIELDS`
   names in ``h=`` is not processed (a finding says so);
   an ``h=`` name longer than a line (998 octets, RFC 5322 §2.1.1) is a syntax error.
   Whatever is copied into the report is cut to ``limits.MAX_REPORT_TEXT_CHARS``
   characters ("…"), and the raw field's control characters other than the folds' CR, LF
   and HTAB become U+FFFD.
2. Selectors accept ``_`` in labels (deployed selectors use it); ``d=`` must be an ASCII
   LDH domain name of at least two labels (RFC 6376 §3.5 ``domain-name``).
3. The checks run in the order of RFC 6376 §6.1, and the first step that fails decides a
   signature's ``result`` and ``failed_step``; every later check still runs and is
   reported, so the report shows every problem:

   ==============  ================================================  ==============
   failed_step     problem                                           result
   ==============  ================================================  ==============
   ``syntax``      tag list, required tag, ``v=``, ``a=``, ``c=``,   ``neutral``
                   ``q=``, ``i=`` outside ``d=``, ``x=`` not after
                   ``t=`` (§3.5, §6.1.1)
   ``policy``      From not in ``h=`` (§5.4, §6.1.1);                ``policy``
                   ``a=rsa-sha1`` (RFC 8301 §3.1); ``t=`` in the
                   future (§3.5)
   ``expired``     ``now`` is after ``x=`` (§3.5, §6.1.1)            ``policy``
   ``key``         DNS failure (§6.1.2 step 2)                       ``temperror``
   ``key``         no key, key syntax, revoked ``p=``, ``k=`` or     ``permerror``
                   ``h=`` or ``s=`` of the key not fitting, ``t=s``
                   broken (§3.6.1, §6.1.2)
   ``key``         RSA key below 1024 bits (RFC 8301 §3.2)           ``policy``
   ``body-hash``   the body hash does not match (§6.1.3)             ``fail``
   ``signature``   the header signature does not verify (§6.1.3)     ``fail``
   ==============  ================================================  ==============

   RFC 8601 §2.7.1 gives the words: ``neutral`` is "the signature or signatures contained
   syntax errors or were not otherwise able to be processed"; ``policy`` is "some aspect
   of the signature ... was not acceptable" -- a SHA-1 signature or a short key that RFC
   8301 §3.1/§3.2 says verifiers MUST NOT consider valid, an expired one, one that does
   not sign From; ``permerror`` is an error "that is unrecoverable" (the key record).
4. ``x=`` is compared with ``now`` exactly (``now > x`` is expired: the signer chose the
   time); ``t=`` more than ``limits.FUTURE_SKEW_SECONDS`` after ``now`` is "in the future"
   (§3.5 lets verifiers ignore such signatures).  ``now=0`` checks neither (the engine's
   convention for "no verification time", as in :mod:`analysis.dkim2`).
5. Key records (RFC 6376 §3.6.1): ``v=`` if present must be ``DKIM1``; ``k=`` defaults to
   ``rsa`` and must be the key type of ``a=``; ``h=`` if present must list the hash of
   ``a=``; ``s=`` must include ``email`` or ``*``; ``t=y`` (testing) is a warning, the
   result is kept (§3.6.1 asks receivers not to treat such mail differently from unsigned
   mail, which is the receiver's decision); ``t=s`` makes an ``i=`` in a subdomain of
   ``d=`` fail.  With several TXT records the first one that parses is used (§6.1.2 step
   5 leaves the choice to the verifier) and a warning says so.  RSA keys longer than
   ``limits.MAX_RSA_BITS`` or with a public exponent longer than
   :data:`limits.MAX_RSA_EXPONENT_BITS` bits are not used (dkimpy's RSA is pure Python; a hostile
   exponent costs a second per check).
6. dkimpy's verifier adds one extra ``from`` to ``h=`` (its bug #644046 defence); this
   module does not (the header hash is RFC 6376's), and reports a message with more From
   fields than the signature covers as a warning instead (RFC 6376 §8.15).
7. The message's ``dkim`` result (RFC 8601 §2.7.1): ``none`` without signatures;
   ``pass`` if any verified signature passed; otherwise the most telling result among
   the verified signatures, in the order ``fail`` (a signature was checked and the
   message changed), ``policy`` (it verifies but must not be accepted), ``temperror`` (a
   retry could still pass), ``permerror``, ``neutral``.
8. At most ``limits.MAX_DKIM1_SIGNATURES`` signatures (the topmost) are verified (RFC 6376
   §6.1 lets a verifier limit them); the next :data:`limits.MAX_DKIM1_UNVERIFIED_LISTED` are
   listed as not verified (result ``neutral``, failed step ``policy``), any further ones are only
   counted; a finding says the limit was reached.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import dkim  # type: ignore[import-untyped]
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils
from dkim.canonicalization import CanonicalizationPolicy  # type: ignore[import-untyped]

from . import ed25519_verify, limits
from .change_search import ChangeSearch, Context, SearchBudget, search_body
from .findings import Finding, State, Step, note
from .lookup import KeyAnswer, KeyLookup, KeyQuery, LookupStatus
from .message import Body, HeaderField, ParsedMessage
from .textsize import prefix_within

__all__ = [
    "Dkim1Prepared",
    "Dkim1Report",
    "Dkim1Signature",
    "analyze",
    "prepare",
    "verify",
]

#: RFC 5322 §2.1.1: a line holds at most 998 octets, so no header field name is longer.
MAX_LINE_OCTETS = 998

# -- text ---------------------------------------------------------------------------------------

ELLIPSIS = "…"
CRLF = b"\r\n"


def clip(text: str, limit: int = limits.MAX_REPORT_TEXT_CHARS) -> str:
    """``text`` cut to ``limit`` octets of the stored report (characters, for ASCII: see
    :mod:`analysis.textsize`), visibly ("…") when cut."""
    if len(text) <= limit and text.isascii():
        return text
    keep = prefix_within(text, max(0, limit - 1))
    return text if keep == len(text) else text[:keep] + ELLIPSIS


def show(value: str, limit: int = 60) -> str:
    """A value quoted inside a detail sentence, short and with control characters escaped."""
    safe = "".join(_escape(c) for c in value[: limit + 1])
    return "'" + clip(safe, limit) + "'"


_CONTROL_IN_FIELD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _escape(c: str) -> str:
    if c.isprintable():
        return c
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def field_text(f: HeaderField) -> str:
    """The whole field as text for the report, bounded: undecodable octets and control
    characters other than the folds' CR, LF and HTAB replaced by U+FFFD (a NUL could not
    even be stored in a JSON database column)."""
    raw = f.raw[:-2] if f.raw.endswith(CRLF) else f.raw
    text = raw[: limits.MAX_REPORT_TEXT_CHARS * 4].decode("utf-8", "replace")
    return clip(_CONTROL_IN_FIELD.sub("\ufffd", text))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# -- tag lists (RFC 6376 §3.2) --------------------------------------------------------------------


class TagListError(ValueError):
    """A field value is not a valid tag list; the message says what is wrong."""


class LimitExceeded(TagListError):
    """A value is larger than this module's bounds allow: it is reported, not parsed."""


_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_WSP = " \t"


def unfold(value: bytes) -> str:
    """A field value as text: folds removed (RFC 5322 §2.2.3), UTF-8 required, no controls.

    Raises :class:`TagListError` for a value that is too long, not UTF-8, or holds a NUL,
    a bare CR or LF or another control character.
    """
    if len(value) > limits.MAX_DKIM1_FIELD_BYTES:
        raise LimitExceeded(
            f"the field value is {len(value)} octets long; values longer than "
            f"{limits.MAX_DKIM1_FIELD_BYTES} octets are not parsed"
        )
    text_bytes = value.replace(b"\r\n", b"")
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TagListError(
            f"octet 0x{text_bytes[exc.start]:02x} at position {exc.start} is not UTF-8"
        ) from None
    bad = _CONTROL.search(text)
    if bad:
        what = {"\x00": "a NUL octet", "\r": "a bare CR", "\n": "a bare LF"}.get(
            bad.group(), f"control character 0x{ord(bad.group()):02x}"
        )
        raise TagListError(f"the value contains {what} at position {bad.start()}")
    return text


def parse_tag_list(text: str) -> dict[str, str]:
    """``tag-list = tag-spec *( ";" tag-spec ) [ ";" ]`` (RFC 6376 §3.2) of unfolded text.

    Tag names are case-sensitive; values keep their inner whitespace and lose FWS at both
    ends.  Raises :class:`TagListError` for an empty tag-spec, a spec without ``=``, an
    invalid tag name, a duplicate tag ("the entire tag-list is invalid") or more than
    :data:`limits.MAX_DKIM1_TAGS` tags.
    """
    pieces = text.split(";", limits.MAX_DKIM1_TAGS + 1)
    if not pieces[-1].strip(_WSP):
        pieces.pop()
    if len(pieces) > limits.MAX_DKIM1_TAGS:
        raise LimitExceeded(
            f"more than {limits.MAX_DKIM1_TAGS} tags; longer tag lists are not parsed"
        )
    tags: dict[str, str] = {}
    for piece in pieces:
        spec = piece.strip(_WSP)
        if not spec:
            raise TagListError("an empty tag (two ';' in a row, or a leading ';')")
        name, eq, value = spec.partition("=")
        name = name.rstrip(_WSP)
        if not eq:
            raise TagListError(f"{show(spec)} is not of the form tag=value")
        if not _TAG_NAME.match(name):
            raise TagListError(f"{show(name)} is not a valid tag name")
        if name in tags:
            raise TagListError(f"tag {name}= appears twice (RFC 6376 §3.2: the list is invalid)")
        tags[name] = value.strip(_WSP)
    return tags


def decode_base64(value: str, what: str) -> bytes:
    """A ``base64string`` (RFC 6376 §2.4): FWS ignored, padding optional."""
    compact = "".join(value.split())
    if not compact:
        raise TagListError(f"{what} is empty")
    body = compact.rstrip("=")
    if len(compact) - len(body) > 2 or not re.fullmatch(r"[A-Za-z0-9+/]*", body):
        bad = next((c for c in body if not (c.isascii() and (c.isalnum() or c in "+/"))), "=")
        raise TagListError(f"{what} contains {show(bad)}, which is not a base64 character")
    if len(body) % 4 == 1:
        raise TagListError(f"{what} is not valid base64 (its length {len(body)} is impossible)")
    try:
        return binascii.a2b_base64(body + "=" * (-len(body) % 4))
    except binascii.Error as exc:  # pragma: no cover - excluded by the checks above
        raise TagListError(f"{what} is not valid base64 ({exc})") from None


_LDH_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_SELECTOR_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")
_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+\Z")


def parse_domain(value: str, what: str) -> str:
    """``domain-name`` (RFC 6376 §3.5: RFC 5321 Domain, at least two labels), lower-cased."""
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LDH_LABEL.match(x) for x in labels):
        raise TagListError(f"{what} {show(value)} is not a domain name")
    return value.lower()


def parse_selector(value: str, what: str = "s=") -> str:
    """``selector = sub-domain *( "." sub-domain )`` (RFC 6376 §3.1), ``_`` accepted."""
    labels = value.split(".")
    if len(value) > 253 or not all(_SELECTOR_LABEL.match(x) for x in labels):
        raise TagListError(f"{what} {show(value)} is not a valid selector")
    return value.lower()


def parse_field_names(value: str, what: str = "h=") -> list[str]:
    """``h=`` (RFC 6376 §3.5): colon-separated header field names, lower-cased."""
    names = [n.strip(_WSP) for n in value.split(":", limits.MAX_DKIM1_SIGNED_FIELDS + 1)]
    if len(names) > limits.MAX_DKIM1_SIGNED_FIELDS:
        raise LimitExceeded(
            f"{what} lists more than {limits.MAX_DKIM1_SIGNED_FIELDS} field names; longer "
            "lists are not processed"
        )
    for name in names:
        if not _FIELD_NAME.match(name):
            raise TagListError(f"{what} holds {show(name)}, which is not a header field name")
        if len(name) > MAX_LINE_OCTETS:
            raise TagListError(
                f"{what} holds a field name of {len(name)} characters; no field name can be "
                f"longer than a line ({MAX_LINE_OCTETS} octets, RFC 5322 §2.1.1)"
            )
    return [n.lower() for n in names]


def parse_number(value: str, what: str, digits: int) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > digits:
        raise TagListError(f"{what} {show(value)} is not a number of 1 to {digits} digits")
    return int(value)


#: a= values (RFC 6376 §3.3, RFC 8463 §3): key type and hash.
ALGORITHMS: dict[str, tuple[str, str]] = {
    "rsa-sha256": ("rsa", "sha256"),
    "rsa-sha1": ("rsa", "sha1"),
    "ed25519-sha256": ("ed25519", "sha256"),
}

_CANONICALIZATIONS = ("simple", "relaxed")


def parse_canonicalization(value: str | None, default: str = "simple/simple") -> tuple[str, str]:
    """``c=`` (RFC 6376 §3.5): header/body, body defaulting to ``simple``."""
    text = (value if value is not None else default).lower()
    header, _, body = text.partition("/")
    body = body or "simple"
    if header not in _CANONICALIZATIONS or body not in _CANONICALIZATIONS:
        raise TagListError(f"c={show(value or '')} is not simple or relaxed for header/body")
    return header, body


# -- body hashes (RFC 6376 §3.4.3, §3.4.4, §3.7) ---------------------------------------------------


def _strip_final_crlfs(data: bytes) -> int:
    """Length of ``data`` without its run of final CRLFs ("empty lines at the end"), found
    4 KiB at a time so that a body of millions of empty lines costs a few comparisons."""
    j = len(data)
    block = CRLF * 2048
    while j >= len(block) and data.endswith(block, 0, j):
        j -= len(block)
    while j >= 2 and data.endswith(CRLF, 0, j):
        j -= 2
    return j


def _one_space_per_run(data: bytes) -> bytes:
    """``re.sub(rb"[ \\t]+", b" ", data)`` without a substitution per space: tabs become
    spaces, then each run of spaces is halved until none is left (a run of n spaces
    takes log2(n) passes of ``replace``, each linear and in C).  Text with words
    separated by single spaces, most of it, is returned as it is after two searches."""
    if b"\t" in data:
        data = data.replace(b"\t", b" ")
    while b"  " in data:
        data = data.replace(b"  ", b" ")
    return data


def canonical_body(body: bytes, algorithm: str) -> bytes:
    """The body in ``simple`` (§3.4.3) or ``relaxed`` (§3.4.4) canonical form.

    simple: empty lines at the end removed, one CRLF ending the body (an empty body is one
    CRLF).  relaxed: runs of WSP become one SP, WSP at line ends removed (also at the end
    of a last line without CRLF), empty lines at the end removed, and a non-empty body
    ends with CRLF (an empty body stays empty).  Linear in the body: no backtracking
    pattern is used.
    """
    if algorithm == "relaxed":
        body = _one_space_per_run(body).replace(b" \r\n", CRLF)
        if body.endswith(b" "):
            body = body[:-1]
        end = _strip_final_crlfs(body)
        return body[:end] + CRLF if end else b""
    end = _strip_final_crlfs(body)
    return body[:end] + CRLF


class BodyHasher:
    """Canonical bodies and their hashes for one message, computed once each."""

    def __init__(self, body: Body) -> None:
        self._body = body
        self._raw: bytes | None = None
        self._canonical: dict[str, bytes] = {}
        self._digests: dict[tuple[str, str, int | None], bytes] = {}

    def canonical(self, algorithm: str) -> bytes:
        if algorithm not in self._canonical:
            if self._raw is None:
                self._raw = self._body.to_bytes()
            self._canonical[algorithm] = canonical_body(self._raw, algorithm)
        return self._canonical[algorithm]

    def digest(self, algorithm: str, hash_name: str, length: int | None) -> bytes:
        """The hash of the canonical body, cut to ``length`` octets when ``l=`` is given."""
        key = (algorithm, hash_name, length)
        if key not in self._digests:
            self._digests[key] = digest_canonical(self.canonical(algorithm), hash_name, length)
        return self._digests[key]


def digest_canonical(canonical: bytes, hash_name: str, length: int | None) -> bytes:
    """The body hash (RFC 6376 §3.7) of a canonical body, cut to ``length`` octets (``l=``)."""
    view = memoryview(canonical)[:length] if length is not None else memoryview(canonical)
    return hashlib.new(hash_name, view).digest()


# -- the dkimpy boundary ---------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What a dkimpy call gave: ``value``, or ``error`` (its exception in words)."""

    value: Any
    error: str = ""


def dkimpy_call(action: Callable[[], T]) -> Outcome:
    """Run one dkimpy call; any exception it raises becomes ``Outcome.error``.

    The one boundary for dkimpy: on hostile input it raises its own ``DKIMException``
    subclasses, ``InvalidTagValueList``, ``UnparsableKeyError``, ``DigestTooLargeError``,
    and also ``ValueError``, ``IndexError``, ``KeyError``, ``binascii.Error`` and
    ``AssertionError`` from its parsers, so everything is caught here and named.
    """
    try:
        return Outcome(action())
    except Exception as exc:  # the dkimpy boundary: see the docstring
        text = str(exc) or "no message"
        return Outcome(None, clip(f"{type(exc).__name__}: {text}", 300))


def _policy(header: str, body: str = "simple") -> Any:
    return CanonicalizationPolicy.from_c_value(f"{header}/{body}".encode("ascii"))


class HeaderSet:
    """Header fields as dkimpy reads them (name, value with folds and final CRLF), with
    their canonical forms computed once per algorithm."""

    def __init__(self, fields: Iterable[tuple[bytes, bytes]]) -> None:
        self.fields = list(fields)
        self._canonical: dict[str, Outcome] = {}

    @classmethod
    def of_message(cls, message: ParsedMessage) -> HeaderSet:
        return cls(split_field(f) for f in message.fields if f.valid)

    def canonical(self, algorithm: str) -> Outcome:
        if algorithm not in self._canonical:
            if algorithm == "relaxed":
                self._canonical[algorithm] = Outcome(relaxed_headers(self.fields))
            else:
                policy = _policy(algorithm)
                self._canonical[algorithm] = dkimpy_call(
                    lambda: policy.canonicalize_headers(self.fields)
                )
        return self._canonical[algorithm]


def relaxed_headers(fields: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """RFC 6376 §3.4.2 relaxed header canonicalisation, octet for octet what dkimpy's
    ``Relaxed.canonicalize_headers`` gives (name lower-cased without trailing blanks; value
    unfolded, each run of SP/HTAB one SP, stripped, CRLF), in memory of a few copies of the
    value: dkimpy's ``re.sub`` makes one object per blank run, 90 MB for a signed 1 MB
    field of one-letter words (issue #11, header bombs)."""
    return [
        (name.lower().rstrip(), _squeeze_blanks(_unfold(value)).strip() + b"\r\n")
        for name, value in fields
    ]


def _unfold(value: bytes) -> bytes:
    # dkimpy's unfold_header_value: every CRLF and every bare LF removed.
    return value.replace(b"\r\n", b"").replace(b"\n", b"")


def _squeeze_blanks(value: bytes) -> bytes:
    """Each run of SP and HTAB as one SP (``re.sub(b"[\\t ]+", b" ", value)``); each pass of
    ``replace`` halves the longest run, so a value is copied a few times at most."""
    value = value.replace(b"\t", b" ")
    while b"  " in value:
        value = value.replace(b"  ", b" ")
    return value


def split_field(f: HeaderField) -> tuple[bytes, bytes]:
    """(name as written, value after the colon including the final CRLF)."""
    colon = f.raw.find(b":")
    return f.raw[:colon], f.raw[colon + 1 :]


#: dkimpy's ``RE_BTAG`` (the ``b=`` tag whose value it empties before hashing the signature
#: field), rewritten to match the same text without its nested optional folding: dkimpy's
#: FWS, ``((\s*\r?\n)?\s+)?``, matches any run of blanks, so ``b FWS =`` is ``b\s*=``, and
#: its value, ``(FWS [A-Za-z0-9+/=])*``, taken greedily, is the longest run of base64
#: characters and blanks cut back to its last base64 character.  dkimpy's pattern spends
#: about 100 us on a 2048-bit signature; this one a tenth of that.
_B_TAG_VALUE = re.compile(rb"([;\s]b\s*=)(?:[a-zA-Z0-9+/=\s]*[a-zA-Z0-9+/=])?(?:\r?\n\Z)?")


def _b_value_emptied(signature_field: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """The signature field with its ``b=`` value emptied as dkimpy's ``hash_headers`` does
    it (``RE_BTAG.sub(b"\\1", value)``).  dkimpy empties it again, finding nothing left to
    remove: emptying is idempotent (each property is pinned by a test)."""
    name, value = signature_field
    return name, _B_TAG_VALUE.sub(b"\\1", value)


@dataclass(frozen=True)
class SignatureCheck:
    """The header signature: ``valid`` True/False, or None with ``error`` when it could
    not be computed."""

    valid: bool | None
    error: str = ""


def check_header_signature(
    *,
    headers: HeaderSet,
    header_algorithm: str,
    signed: list[str],
    signature_field: tuple[bytes, bytes],
    hash_name: str,
    key: PublicKey,
    signature: bytes,
) -> SignatureCheck:
    """Hash the signed fields with dkimpy (``hash_headers``: RFC 6376 §5.4.2 selection,
    §3.4 canonicalisation, §3.7 the signature field without its ``b=`` value and final
    CRLF) and check ``signature`` with ``key``: RSASSA-PKCS1-v1_5 by dkimpy, Ed25519 over
    the SHA-256 digest (RFC 8463 §3) by cryptography."""
    canonical = headers.canonical(header_algorithm)
    if canonical.error:
        return SignatureCheck(None, canonical.error)
    hasher = hashlib.new(hash_name)
    policy = _policy(header_algorithm)
    include = [n.encode("ascii") for n in signed]
    hashed = dkimpy_call(
        lambda: dkim.hash_headers(
            hasher, policy, canonical.value, include, _b_value_emptied(signature_field), {}
        )
    )
    if hashed.error:
        return SignatureCheck(None, hashed.error)
    if key.ed25519 is not None:
        return SignatureCheck(ed25519_verify.verify(key.ed25519, signature, hasher.digest()))
    if key.rsa is None:
        return SignatureCheck(None, "the key is neither RSA nor Ed25519")
    # RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.2) by cryptography over the digest dkimpy hashed: a
    # C implementation where dkimpy's is pure Python (a tenth of the time).
    try:
        public = _rsa_public_key(key.rsa["publicExponent"], key.rsa["modulus"])
    except ValueError as exc:
        return SignatureCheck(None, f"the RSA key cannot be used: {exc}")
    algorithm = hashes.SHA1() if hash_name == "sha1" else hashes.SHA256()
    try:
        public.verify(signature, hasher.digest(), padding.PKCS1v15(), utils.Prehashed(algorithm))
    except InvalidSignature:
        return SignatureCheck(False)
    return SignatureCheck(True)


@functools.lru_cache(maxsize=512)
def _rsa_public_key(exponent: int, modulus: int) -> rsa.RSAPublicKey:
    """cryptography's key for these numbers, made once per key (OpenSSL checks the numbers
    as it builds it: most of a DKIM1 verification's time outside the RSA operation)."""
    return rsa.RSAPublicNumbers(exponent, modulus).public_key()


# -- key records (RFC 6376 §3.6.1, §6.1.2; RFC 8301 §3.2; RFC 8463 §4) --------------------------


@dataclass(frozen=True)
class PublicKey:
    """A usable key record."""

    key_type: str  # k= as written (lower-cased), "rsa" by default
    bits: int  # RSA modulus size; 256 for Ed25519
    testing: bool  # t=y
    strict: bool  # t=s
    hashes: tuple[str, ...] | None  # h=, None when absent (any hash)
    services: tuple[str, ...]  # s=, ("*",) by default
    record: str
    rsa: Mapping[str, int] | None = None  # dkimpy's {"modulus", "publicExponent"}
    ed25519: ed25519.Ed25519PublicKey | None = None


#: Key problems: kind -> (state, RFC 6376 §6.1.2 words, spec).
KEY_PROBLEMS: dict[str, tuple[State, str, str]] = {
    "temperror": (State.TEMPERROR, "TEMPFAIL (key unavailable)", "RFC 6376 §6.1.2"),
    "not-found": (State.PERMERROR, "PERMFAIL (no key for signature)", "RFC 6376 §6.1.2"),
    "name-invalid": (State.PERMERROR, "PERMFAIL (no key for signature)", "RFC 6376 §6.1.2"),
    "syntax": (State.PERMERROR, "PERMFAIL (key syntax error)", "RFC 6376 §3.6.1, §6.1.2"),
    "revoked": (State.PERMERROR, "PERMFAIL (key revoked)", "RFC 6376 §3.6.1, §6.1.2"),
    "type-mismatch": (
        State.PERMERROR,
        "PERMFAIL (inappropriate key algorithm)",
        "RFC 6376 §3.6.1, §6.1.2",
    ),
    "hash-not-allowed": (
        State.PERMERROR,
        "PERMFAIL (inappropriate hash algorithm)",
        "RFC 6376 §3.6.1, §6.1.2",
    ),
    "service-mismatch": (
        State.PERMERROR,
        "PERMFAIL (inappropriate service type)",
        "RFC 6376 §3.6.1",
    ),
    "strict-identity": (
        State.PERMERROR,
        "PERMFAIL (key requires i= in the d= domain itself)",
        "RFC 6376 §3.6.1",
    ),
    "too-short": (State.FAIL, "RSA key shorter than 1024 bits", "RFC 8301 §3.2"),
    "too-large": (State.PERMERROR, "key too large to verify here", "RFC 6376 §3.6.1"),
}


@dataclass(frozen=True)
class KeyOutcome:
    """The key for one query: ``key``, or ``problem`` (a :data:`KEY_PROBLEMS` kind)."""

    name: str  # <selector>._domainkey.<domain>
    key: PublicKey | None
    problem: str | None = None
    detail: str = ""
    multiple: str = ""  # a note when several TXT records were published


def load_key(query: KeyQuery, answer: KeyAnswer | None) -> KeyOutcome:
    """Read the prefetched answer for ``query`` (no I/O): DNS status first, then the record.

    Details are clauses naming the key ("sel._domainkey.example.com does not exist
    (NXDOMAIN)"), so callers can put them after a colon in a sentence.
    """
    name = query.name
    if answer is None:
        return KeyOutcome(name, None, "temperror", f"no answer was fetched for {name}")
    status = answer.status
    said = f"; the resolver said: {clip(answer.detail, 200)}" if answer.detail else ""
    if status.is_temporary:
        words = {
            LookupStatus.SERVFAIL: f"the name servers answered SERVFAIL for {name}",
            LookupStatus.TIMEOUT: f"the query for {name} timed out",
            LookupStatus.BUDGET: f"the message's DNS budget ran out before {name} was asked",
            LookupStatus.ERROR: f"the lookup of {name} failed",
        }[status]
        return KeyOutcome(name, None, "temperror", words + said)
    if status == LookupStatus.NXDOMAIN:
        return KeyOutcome(name, None, "not-found", f"{name} does not exist (NXDOMAIN)")
    if status == LookupStatus.NODATA:
        return KeyOutcome(name, None, "not-found", f"{name} exists but has no TXT record (NODATA)")
    if status == LookupStatus.INVALID_NAME:
        return KeyOutcome(name, None, "name-invalid", f"{name} is not a valid DNS name{said}")
    records = [r for r in answer.records if r.strip()]
    if not records:
        return KeyOutcome(name, None, "not-found", f"the TXT record at {name} is empty")
    first_problem: KeyOutcome | None = None
    for number, record in enumerate(records[:8], start=1):
        outcome = _parse_key(name, record)
        if outcome.problem != "syntax":
            if len(records) > 1:
                outcome = KeyOutcome(
                    name,
                    outcome.key,
                    outcome.problem,
                    outcome.detail,
                    f"{name} has {len(records)} TXT records; record {number} was used "
                    "(RFC 6376 §6.1.2 leaves the choice to the verifier)",
                )
            return outcome
        first_problem = first_problem or outcome
    assert first_problem is not None
    return first_problem


def _parse_key(name: str, record: str) -> KeyOutcome:
    """The key record ``record`` published at ``name``.  Kept for the records read most (a
    process meets the same signers' keys again and again; the outcome depends on the two
    texts alone and is frozen): dkimpy's ASN.1 reading of an RSA key was 9% of a message
    with two DKIM1 signatures and three ARC sets (issue #13).  A record longer than any
    real key's is read each time, so what is kept stays small (512 records of at most
    ``_KEPT_RECORD_CHARS``)."""
    if len(record) > _KEPT_RECORD_CHARS:
        return _read_key(name, record)
    return _read_key_kept(name, record)


#: A key record of RSA-8192 with every tag is about 1,500 characters.
_KEPT_RECORD_CHARS = 2048


@functools.lru_cache(maxsize=512)
def _read_key_kept(name: str, record: str) -> KeyOutcome:
    return _read_key(name, record)


def _read_key(name: str, record: str) -> KeyOutcome:
    def problem(kind: str, predicate: str) -> KeyOutcome:
        return KeyOutcome(name, None, kind, f"the key record at {name} {predicate}")

    if len(record) > limits.MAX_DKIM1_FIELD_BYTES:
        return problem("syntax", f"is {len(record)} characters long")
    try:
        # A record read from a zone file may hold a lone surrogate (JSON "\ud800"): its
        # octets then are not UTF-8, which unfold reports (as analysis.spf reads records).
        tags = parse_tag_list(unfold(record.encode("utf-8", "surrogatepass")))
    except TagListError as exc:
        return problem("syntax", f"is not a tag list ({exc})")
    if "v" in tags and tags["v"] != "DKIM1":
        return problem("syntax", f"has v={show(tags['v'])}, not DKIM1")
    if "p" not in tags:
        return problem("syntax", "has no p= tag")
    p = "".join(tags["p"].split())
    if not p:
        return problem("revoked", "has an empty p=, which means the key has been revoked")
    key_type = tags.get("k", "rsa").lower()
    hashes = tuple(h.strip(_WSP).lower() for h in tags["h"].split(":")) if "h" in tags else None
    services = tuple(s.strip(_WSP).lower() for s in tags.get("s", "*").split(":"))
    flags = {f.strip(_WSP).lower() for f in tags.get("t", "").split(":")}
    try:
        der = decode_base64(p, "p=")
    except TagListError as exc:
        return problem("syntax", f"has a p= that is not base64 ({exc})")
    testing, strict = "y" in flags, "s" in flags
    shown = clip(record, 600)

    def usable(bits: int, **material: Any) -> KeyOutcome:
        return KeyOutcome(
            name,
            PublicKey(key_type, bits, testing, strict, hashes, services, shown, **material),
        )

    if key_type == "ed25519":
        if len(der) != 32:
            return problem(
                "syntax",
                f"has an Ed25519 p= of {len(der)} octets, not the raw 32-octet public key "
                "of RFC 8463 §4",
            )
        return usable(256, ed25519=ed25519.Ed25519PublicKey.from_public_bytes(der))
    if key_type != "rsa":
        # An unknown key type verifies nothing; the signature's a= decides (type-mismatch).
        return usable(0)
    # dkimpy reads the key through its dnsfunc hook, answered from this answer only; it gets
    # the record reduced to k= and p=, whose other tags were read above (its own tag parser
    # is case-sensitive on k= and lets a bad s= pass silently).
    loaded = dkimpy_call(
        lambda: dkim.load_pk_from_dns(
            name.encode("ascii"), _dnsfunc(name, f"k=rsa; p={p}"), timeout=0
        )
    )
    if loaded.error:
        return problem("syntax", f"does not hold an RSA key dkimpy can read ({loaded.error})")
    rsa_key = loaded.value[0]
    modulus, exponent = int(rsa_key["modulus"]), int(rsa_key["publicExponent"])
    bits = modulus.bit_length()
    if bits > limits.MAX_RSA_BITS:
        return problem(
            "too-large",
            f"holds a {bits}-bit RSA key; keys over {limits.MAX_RSA_BITS} bits are not used "
            "here, to bound the work",
        )
    if exponent.bit_length() > limits.MAX_RSA_EXPONENT_BITS:
        return problem(
            "too-large",
            f"holds an RSA key whose public exponent has {exponent.bit_length()} bits; "
            f"exponents over {limits.MAX_RSA_EXPONENT_BITS} bits are not used here, to bound "
            "the work",
        )
    return usable(bits, rsa={"modulus": modulus, "publicExponent": exponent})


def _dnsfunc(name: str, record: str) -> Callable[..., bytes | None]:
    """dkimpy's ``dnsfunc`` hook, answered only from the prefetched record for ``name``."""
    wanted = name.lower().rstrip(".")

    def dnsfunc(asked: bytes, timeout: float = 0) -> bytes | None:
        if asked.decode("ascii", "replace").lower().rstrip(".") != wanted:
            return None
        return record.encode("utf-8")

    return dnsfunc


def key_fit(
    key: PublicKey, *, algorithm: str, domain: str, identity_domain: str | None
) -> tuple[str, str] | None:
    """A problem of ``key`` for a signature with ``a=algorithm``: (kind, a predicate for
    "the key at <name> ..."), or None."""
    key_type, hash_name = ALGORITHMS[algorithm]
    if "*" not in key.services and "email" not in key.services:
        return ("service-mismatch", f"has s={':'.join(key.services)}, which excludes email")
    if key.key_type != key_type:
        return ("type-mismatch", f"is k={key.key_type}, but the signature uses a={algorithm}")
    if key.hashes is not None and hash_name not in key.hashes:
        return (
            "hash-not-allowed",
            f"has h={':'.join(key.hashes)}, which does not allow the {hash_name} of a={algorithm}",
        )
    if key.strict and identity_domain is not None and identity_domain != domain:
        return (
            "strict-identity",
            f"has t=s, so i= must be in {domain} itself, not in {identity_domain}",
        )
    if key.key_type == "rsa" and key.bits < 1024:
        return (
            "too-short",
            f"holds a {key.bits}-bit RSA key; RFC 8301 §3.2 forbids accepting RSA keys of "
            "less than 1024 bits",
        )
    return None


# -- DKIM1 signatures ------------------------------------------------------------------------------

#: Results of the message, most telling first (module docstring, 7).
RESULT_ORDER = ("fail", "policy", "temperror", "permerror", "neutral")

#: failed_step -> result when the step's problem is the deciding one.
_KEY_CODES = {
    "temperror": "dkim1.key-temperror",
    "not-found": "dkim1.key-not-found",
    "name-invalid": "dkim1.key-name-invalid",
    "syntax": "dkim1.key-syntax",
    "revoked": "dkim1.key-revoked",
    "type-mismatch": "dkim1.key-type-mismatch",
    "hash-not-allowed": "dkim1.key-hash-not-allowed",
    "service-mismatch": "dkim1.key-service-mismatch",
    "strict-identity": "dkim1.key-strict-identity",
    "too-short": "dkim1.key-too-short",
    "too-large": "dkim1.key-too-large",
}

_REQUIRED = ("v", "a", "b", "bh", "d", "h", "s")


@dataclass
class Dkim1Signature:
    """One DKIM-Signature field and its verdict."""

    index: int  # 1 = topmost
    raw: str  # the field, bounded
    domain: str | None = None  # d=
    selector: str | None = None  # s=
    algorithm: str | None = None  # a=
    canonicalization: str | None = None  # c= (normalised "header/body")
    identity: str | None = None  # i= (default "@" + d=)
    signed_headers: list[str] = field(default_factory=list)  # h=, lower-cased
    body_length: int | None = None  # l=
    timestamp: int | None = None  # t=
    expires: int | None = None  # x=
    result: str = "neutral"  # RFC 8601 §2.7.1 word
    failed_step: str | None = None  # syntax, key, body-hash, signature, expired, policy
    body_hash_matches: bool | None = None
    signature_valid: bool | None = None  # the header signature alone
    key_name: str | None = None  # <s>._domainkey.<d>
    key_bits: int | None = None
    key_type: str | None = None
    key_testing: bool = False  # t=y in the key record
    from_signed: bool = False  # From in h=
    verified: bool = True  # False beyond MAX_DKIM1_SIGNATURES
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    #: What changed the body, when its hash does not match (analysis.change_search).
    change_search: ChangeSearch | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "index": self.index,
            "raw": self.raw,
            "domain": self.domain,
            "selector": self.selector,
            "algorithm": self.algorithm,
            "canonicalization": self.canonicalization,
            "identity": self.identity,
            "signed_headers": list(self.signed_headers),
            "body_length": self.body_length,
            "timestamp": self.timestamp,
            "expires": self.expires,
            "result": self.result,
            "failed_step": self.failed_step,
            "body_hash_matches": self.body_hash_matches,
            "signature_valid": self.signature_valid,
            "key_name": self.key_name,
            "key_bits": self.key_bits,
            "key_type": self.key_type,
            "key_testing": self.key_testing,
            "from_signed": self.from_signed,
            "verified": self.verified,
            "reason": self.reason,
            "findings": [f.to_json() for f in self.findings],
        }
        if self.change_search is not None:
            out["change_search"] = self.change_search.to_json()
        return out


@dataclass
class _Parsed:
    """What :func:`prepare` read from one field, for :func:`verify`."""

    signature: Dkim1Signature
    field: HeaderField
    syntax: list[Finding]
    header_algorithm: str | None = None
    body_algorithm: str | None = None
    hash_name: str | None = None
    body_hash: bytes | None = None  # bh= decoded
    signature_bytes: bytes | None = None  # b= decoded
    identity_domain: str | None = None
    query: KeyQuery | None = None


@dataclass
class Dkim1Prepared:
    """A message read for DKIM1: its signatures and the keys they need."""

    message: ParsedMessage
    key_queries: list[KeyQuery]
    parsed: list[_Parsed]
    findings: list[Finding]  # message-level (the signature limit)
    total: int  # DKIM-Signature fields in the message


@dataclass
class Dkim1Report:
    """The DKIM1 verdict of one message."""

    result: str  # RFC 8601 dkim result: none, pass, fail, policy, neutral, temperror, permerror
    signatures: list[Dkim1Signature]
    findings: list[Finding]
    summary: str

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "summary": self.summary,
            "signatures": [s.to_json() for s in self.signatures],
            "findings": [f.to_json() for f in self.findings],
        }


def _label(sig: Dkim1Signature) -> str:
    parts = [f"DKIM-Signature {sig.index}"]
    if sig.domain:
        parts.append(f"d={sig.domain}")
    if sig.selector:
        parts.append(f"s={sig.selector}")
    return " ".join(parts)


def _finding(
    sig: Dkim1Signature,
    code: str,
    state: State,
    words: str,
    detail: str,
    spec: str,
) -> Finding:
    return Finding(
        code=code,
        state=state,
        message=f"{_label(sig)}: {words}",
        step=Step.DKIM1,
        detail=clip(detail),
        spec=spec,
        data={"signature": sig.index},
    )


def _note(sig: Dkim1Signature, code: str, words: str, detail: str, spec: str) -> Finding:
    return note(
        code,
        f"{_label(sig)}: {words}",
        Step.DKIM1,
        detail=clip(detail),
        spec=spec,
        data={"signature": sig.index},
    )


def prepare(message: ParsedMessage) -> Dkim1Prepared:
    """Read every DKIM-Signature field (top-down; index 1 is the topmost) and name the keys
    of the signatures that can be verified.  No I/O, no clock."""
    fields = [f for f in message.fields if f.lname == "dkim-signature"]
    parsed: list[_Parsed] = []
    findings: list[Finding] = []
    verified_limit = limits.MAX_DKIM1_SIGNATURES
    listed_limit = limits.MAX_DKIM1_UNVERIFIED_LISTED
    for index, f in enumerate(fields[: verified_limit + listed_limit], start=1):
        item = _parse_signature(index, f)
        if index > verified_limit:
            sig = item.signature
            sig.verified = False
            sig.result, sig.failed_step = "neutral", "policy"
            sig.reason = (
                f"Not verified: only the first {verified_limit} DKIM-Signature fields of a "
                "message are verified."
            )
            item.syntax = []
            item.query = None
        parsed.append(item)
    if len(fields) > verified_limit:
        findings.append(
            note(
                "dkim1.too-many-signatures",
                f"The message has {len(fields)} DKIM-Signature fields; only the first "
                f"{verified_limit} were verified",
                Step.DKIM1,
                detail=(
                    f"{len(fields)} DKIM-Signature fields: the topmost {verified_limit} were "
                    f"verified, the next {min(len(fields) - verified_limit, listed_limit)}"
                    " are listed as not verified"
                    + (
                        f" and {len(fields) - verified_limit - listed_limit} more are only counted"
                        if len(fields) > verified_limit + listed_limit
                        else ""
                    )
                    + f"; the analyser's limit is {verified_limit} (RFC 6376 §6.1 lets a "
                    "verifier limit the signatures it checks)."
                ),
                spec="RFC 6376 §6.1",
                data={"fields": len(fields), "limit": verified_limit},
            )
        )
    queries = sorted({p.query for p in parsed if p.query is not None})
    return Dkim1Prepared(message, queries, parsed, findings, len(fields))


def _parse_signature(index: int, f: HeaderField) -> _Parsed:
    sig = Dkim1Signature(index=index, raw=field_text(f))
    item = _Parsed(signature=sig, field=f, syntax=[])

    def syntax(code: str, words: str, detail: str, spec: str = "RFC 6376 §3.5, §6.1.1") -> None:
        item.syntax.append(_finding(sig, code, State.PERMERROR, words, detail, spec))

    try:
        tags = parse_tag_list(unfold(f.value))
    except LimitExceeded as exc:
        syntax("dkim1.field-too-large", "field too large to verify here", str(exc), "RFC 6376 §6.1")
        return item
    except TagListError as exc:
        syntax("dkim1.syntax", "PERMFAIL (signature syntax error)", str(exc), "RFC 6376 §3.2")
        return item

    def tag(name: str, parse: Callable[[str], T]) -> T | None:
        if name not in tags:
            return None
        try:
            return parse(tags[name])
        except LimitExceeded as exc:
            syntax("dkim1.field-too-large", "field too large to verify here", str(exc))
        except TagListError as exc:
            syntax("dkim1.syntax", "PERMFAIL (signature syntax error)", str(exc))
        return None

    sig.domain = tag("d", lambda v: parse_domain(v, "d="))
    sig.selector = tag("s", parse_selector)
    sig.algorithm = tags.get("a")
    if sig.algorithm is not None:
        sig.algorithm = clip(sig.algorithm, 100)
    signed = tag("h", parse_field_names)
    if signed is not None:
        sig.signed_headers = signed
        sig.from_signed = "from" in signed
    missing = [t for t in _REQUIRED if t not in tags]
    if missing:
        syntax(
            "dkim1.missing-tag",
            "PERMFAIL (signature missing required tag)",
            f"the required tag{'s' if len(missing) > 1 else ''} "
            f"{', '.join(t + '=' for t in missing)} "
            f"{'are' if len(missing) > 1 else 'is'} missing",
        )
    if "v" in tags and tags["v"] != "1":
        syntax(
            "dkim1.syntax",
            "PERMFAIL (incompatible version)",
            f"v={show(tags['v'])}; a DKIM-Signature must have v=1",
        )
    if sig.algorithm is not None:
        if sig.algorithm.lower() in ALGORITHMS:  # ABNF strings are case-insensitive
            sig.algorithm = sig.algorithm.lower()
            item.hash_name = ALGORITHMS[sig.algorithm][1]
        else:
            syntax(
                "dkim1.unknown-algorithm",
                "PERMFAIL (unsupported signature algorithm)",
                f"a={show(sig.algorithm)} is not rsa-sha256, ed25519-sha256 or rsa-sha1",
                "RFC 6376 §3.3, RFC 8463 §3",
            )
    canon = tag("c", parse_canonicalization)
    if canon is None and "c" not in tags:
        canon = ("simple", "simple")
    if canon is not None:
        item.header_algorithm, item.body_algorithm = canon
        sig.canonicalization = "/".join(canon)
    item.body_hash = tag("bh", lambda v: decode_base64(v, "bh="))
    item.signature_bytes = tag("b", lambda v: decode_base64(v, "b="))
    sig.body_length = tag("l", lambda v: parse_number(v, "l=", 76))
    sig.timestamp = tag("t", lambda v: parse_number(v, "t=", 12))
    sig.expires = tag("x", lambda v: parse_number(v, "x=", 12))
    if "q" in tags and not any(m.strip(_WSP).lower() == "dns/txt" for m in tags["q"].split(":")):
        syntax(
            "dkim1.syntax",
            "PERMFAIL (unsupported query method)",
            f"q={show(tags['q'])} does not include dns/txt, the only key query method",
        )
    if sig.timestamp is not None and sig.expires is not None and sig.expires <= sig.timestamp:
        syntax(
            "dkim1.syntax",
            "PERMFAIL (signature syntax error)",
            f"x={sig.expires} is not after t={sig.timestamp}; RFC 6376 §3.5 requires x= to be "
            "greater than t=",
        )
    if "i" in tags:
        sig.identity = clip(tags["i"], 300)
        _local, at, domain = tags["i"].rpartition("@")
        identity_domain = domain.lower()
        if not at:
            syntax(
                "dkim1.syntax",
                "PERMFAIL (signature syntax error)",
                f"i={show(tags['i'])} has no '@'",
            )
        elif sig.domain is not None and not (
            identity_domain == sig.domain or identity_domain.endswith("." + sig.domain)
        ):
            syntax(
                "dkim1.identity-mismatch",
                "PERMFAIL (domain mismatch)",
                f"i={show(tags['i'])} is not in d={sig.domain} or one of its subdomains",
            )
        else:
            item.identity_domain = identity_domain
    elif sig.domain is not None:
        sig.identity = "@" + sig.domain
        item.identity_domain = sig.domain
    if sig.domain and sig.selector:
        sig.key_name = f"{sig.selector}._domainkey.{sig.domain}"
        if not item.syntax:
            item.query = KeyQuery(sig.selector, sig.domain)
    return item


def verify(
    prepared: Dkim1Prepared,
    answers: Mapping[KeyQuery, KeyAnswer],
    *,
    now: float,
    change_budget: SearchBudget | None = None,
) -> Dkim1Report:
    """Check every prepared signature with the prefetched ``answers`` (no I/O).

    A signature whose body hash fails gets a search for what changed the body
    (:func:`search_body_change`), spending ``change_budget`` (the message's; a new one by
    default)."""
    budget = change_budget if change_budget is not None else SearchBudget()
    searched: dict[tuple[bytes, str, str, int | None], ChangeSearch] = {}
    message = prepared.message
    bodies = BodyHasher(message.body)
    headers = HeaderSet.of_message(message)
    from_fields = sum(1 for f in message.fields if f.lname == "from")
    keys: dict[KeyQuery, KeyOutcome] = {}
    signatures: list[Dkim1Signature] = []
    findings: list[Finding] = list(prepared.findings)
    for item in prepared.parsed:
        # A copy: verifying the same preparation twice gives two independent reports.
        sig = replace(item.signature, signed_headers=list(item.signature.signed_headers))
        if sig.verified:
            _check(sig, item, bodies, headers, keys, answers, now, from_fields)
            if sig.body_hash_matches is False:
                sig.change_search = search_body_change(sig, item, message, budget, searched)
        signatures.append(sig)
        findings.extend(sig.findings)
    result = _message_result(signatures)
    return Dkim1Report(result, signatures, findings, _summary(result, signatures, prepared.total))


def search_body_change(
    sig: Dkim1Signature,
    item: _Parsed,
    message: ParsedMessage,
    budget: SearchBudget,
    searched: dict[tuple[bytes, str, str, int | None], ChangeSearch],
) -> ChangeSearch | None:
    """What changed the body after ``sig`` was made: the edit whose undo makes its ``bh=``
    match, hashed with the signature's own body canonicalisation and ``l=`` (RFC 6376
    §3.4.3, §3.4.4, §3.7).  Signatures with the same body hash share one search."""
    want, algorithm, hash_name = item.body_hash, item.body_algorithm, item.hash_name
    if want is None or algorithm is None or hash_name is None:
        return None
    key = (want, algorithm, hash_name, sig.body_length)
    if key not in searched:
        length = sig.body_length

        def matches(candidate: Body) -> bool:
            canonical = canonical_body(candidate.to_bytes(), algorithm)
            return digest_canonical(canonical, hash_name, length) == want

        context = Context(
            after=f"DKIM-Signature {sig.index} (d={sig.domain or '?'}) was made",
            hash_words="its body hash (bh=)",
            culprit=(
                "a mail system that handled the message after it was signed (a mailing "
                "list, a forwarder or a security gateway)"
            ),
        )
        searched[key] = search_body(
            message.body, matches, fields=message.fields, budget=budget, context=context
        )
    return searched[key]


def analyze(message: ParsedMessage, *, lookup: KeyLookup, now: float) -> Dkim1Report:
    """:func:`prepare`, one ``lookup.lookup_many`` for every key, :func:`verify`."""
    prepared = prepare(message)
    answers = lookup.lookup_many(list(prepared.key_queries)) if prepared.key_queries else {}
    return verify(prepared, answers, now=now)


def _check(
    sig: Dkim1Signature,
    item: _Parsed,
    bodies: BodyHasher,
    headers: HeaderSet,
    keys: dict[KeyQuery, KeyOutcome],
    answers: Mapping[KeyQuery, KeyAnswer],
    now: float,
    from_fields: int,
) -> None:
    """Run every check of one signature, in RFC 6376 §6.1 order; the first failing step
    decides ``result`` and ``failed_step`` (module docstring, 3)."""
    steps: list[tuple[str, str]] = []  # (failed_step, result) in order of discovery
    findings: list[Finding] = list(item.syntax)
    if item.syntax:
        steps.append(("syntax", "neutral"))

    # -- policy (RFC 6376 §5.4, §6.1.1; RFC 8301 §3.1; §3.5 t=) --------------------------------
    if sig.signed_headers and not sig.from_signed:
        findings.append(
            _finding(
                sig,
                "dkim1.from-not-signed",
                State.FAIL,
                "PERMFAIL (From field not signed)",
                f"h={clip(':'.join(sig.signed_headers), 300)} does not include From; RFC 6376 "
                "§5.4 requires the From field to be signed, so verifiers must ignore this "
                "signature",
                "RFC 6376 §5.4, §6.1.1",
            )
        )
        steps.append(("policy", "policy"))
    if sig.algorithm == "rsa-sha1":
        findings.append(
            _finding(
                sig,
                "dkim1.sha1",
                State.FAIL,
                "SHA-1 signature not accepted",
                "a=rsa-sha1: RFC 8301 §3.1 says verifiers must not consider signatures using "
                "SHA-1 valid, whatever their cryptographic check gives",
                "RFC 8301 §3.1",
            )
        )
        steps.append(("policy", "policy"))
    if now and sig.timestamp is not None and sig.timestamp > now + limits.FUTURE_SKEW_SECONDS:
        findings.append(
            _finding(
                sig,
                "dkim1.future-timestamp",
                State.FAIL,
                "signature timestamp in the future",
                f"t={sig.timestamp} is {int(sig.timestamp - now)} seconds after the "
                f"verification time {int(now)} (more than the {limits.FUTURE_SKEW_SECONDS} "
                "seconds allowed for clock skew)",
                "RFC 6376 §3.5",
            )
        )
        steps.append(("policy", "policy"))
    if now and sig.expires is not None and now > sig.expires:
        findings.append(
            _finding(
                sig,
                "dkim1.expired",
                State.FAIL,
                "PERMFAIL (signature expired)",
                f"x={sig.expires} is {int(now - sig.expires)} seconds before the verification "
                f"time {int(now)}",
                "RFC 6376 §3.5, §6.1.1",
            )
        )
        steps.append(("expired", "policy"))
    if sig.from_signed and from_fields > sig.signed_headers.count("from"):
        findings.append(
            _note(
                sig,
                "dkim1.extra-from-field",
                "more From fields than the signature covers",
                f"the message has {from_fields} From fields and h= lists from "
                f"{sig.signed_headers.count('from')} time(s): a From field added above the "
                "signed one is shown to readers while the signature still verifies",
                "RFC 6376 §8.15",
            )
        )
    if sig.body_length is not None:
        canonical_length = (
            len(bodies.canonical(item.body_algorithm)) if item.body_algorithm else None
        )
        if canonical_length is None:
            tail = ""
        elif sig.body_length >= canonical_length:
            tail = (
                f"; the canonical body has {canonical_length} octets, so nothing is unsigned"
                if sig.body_length == canonical_length
                else f"; the canonical body has only {canonical_length} octets"
            )
        else:
            tail = (
                f"; {canonical_length - sig.body_length} of the body's {canonical_length} "
                "canonical octets come after them and are not covered by the signature"
            )
        findings.append(
            _note(
                sig,
                "dkim1.body-length-limit",
                "the signature covers only part of the body (l=)",
                f"l={sig.body_length}: only the first {sig.body_length} octets of the "
                f"canonical body are signed, so content may have been appended after "
                f"signing{tail}",
                "RFC 6376 §3.5, §8.2",
            )
        )

    # -- body hash (RFC 6376 §3.7, §6.1.3): independent of the key ------------------------------
    if item.body_algorithm and item.hash_name and item.body_hash is not None:
        computed = bodies.digest(item.body_algorithm, item.hash_name, sig.body_length)
        sig.body_hash_matches = computed == item.body_hash
        if not sig.body_hash_matches:
            findings.append(
                _finding(
                    sig,
                    "dkim1.body-hash-mismatch",
                    State.FAIL,
                    "PERMFAIL (body hash did not verify)",
                    f"the {item.body_algorithm} body hashes to "
                    f"{base64.b64encode(computed).decode('ascii')}, the signature says "
                    f"bh={base64.b64encode(item.body_hash).decode('ascii')[:100]}",
                    "RFC 6376 §3.7, §6.1.3",
                )
            )

    # -- key (RFC 6376 §6.1.2) ---------------------------------------------------------------------
    key: PublicKey | None = None
    key_step: tuple[str, str] | None = None
    if item.query is not None:
        if item.query not in keys:
            keys[item.query] = load_key(item.query, answers.get(item.query))
        outcome = keys[item.query]
        if outcome.multiple:
            findings.append(
                _note(
                    sig,
                    "dkim1.key-multiple-records",
                    "several TXT records at the key name",
                    outcome.multiple,
                    "RFC 6376 §6.1.2",
                )
            )
        problem, detail = outcome.problem, outcome.detail
        if outcome.key is not None:
            key = outcome.key
            sig.key_type, sig.key_testing = key.key_type, key.testing
            sig.key_bits = key.bits or None
            if key.testing:
                findings.append(
                    _note(
                        sig,
                        "dkim1.key-testing",
                        "the key is in testing mode (t=y)",
                        f"{outcome.name} has t=y: the domain is testing DKIM, and RFC 6376 "
                        "§3.6.1 asks verifiers not to treat its mail differently from "
                        "unsigned mail",
                        "RFC 6376 §3.6.1",
                    )
                )
            assert sig.algorithm is not None and sig.domain is not None
            fit = key_fit(
                key,
                algorithm=sig.algorithm,
                domain=sig.domain,
                identity_domain=item.identity_domain,
            )
            if fit is not None:
                problem, detail = fit[0], f"the key at {outcome.name} {fit[1]}"
        if problem is not None:
            state, words, spec = KEY_PROBLEMS[problem]
            findings.append(_finding(sig, _KEY_CODES[problem], state, words, detail, spec))
            result = {State.TEMPERROR: "temperror", State.FAIL: "policy"}.get(state, "permerror")
            key_step = ("key", result)
            if problem not in ("too-short",):
                key = None
        if key_step is not None:
            steps.append(key_step)
    if sig.body_hash_matches is False:
        steps.append(("body-hash", "fail"))

    # -- header signature (RFC 6376 §3.7, §6.1.3) ------------------------------------------------
    if key is not None and item.signature_bytes is not None and item.hash_name:
        assert item.header_algorithm is not None
        check = check_header_signature(
            headers=headers,
            header_algorithm=item.header_algorithm,
            signed=sig.signed_headers,
            signature_field=split_field(item.field),
            hash_name=item.hash_name,
            key=key,
            signature=item.signature_bytes,
        )
        sig.signature_valid = check.valid
        if check.valid is None:
            findings.append(
                _finding(
                    sig,
                    "dkim1.verifier-error",
                    State.PERMERROR,
                    "the signature could not be checked",
                    f"dkimpy could not hash or check the signature: {check.error}",
                    "RFC 6376 §6.1.3",
                )
            )
            steps.append(("signature", "neutral"))
        elif not check.valid:
            findings.append(
                _finding(
                    sig,
                    "dkim1.signature-mismatch",
                    State.FAIL,
                    "PERMFAIL (signature did not verify)",
                    f"the signature does not verify over the {len(sig.signed_headers)} header "
                    f"field name(s) of h= with the key at {sig.key_name}",
                    "RFC 6376 §3.7, §6.1.3",
                )
            )
            steps.append(("signature", "fail"))
    sig.findings = findings
    if steps:
        sig.failed_step, sig.result = steps[0]
    else:
        sig.failed_step, sig.result = None, "pass"
    sig.reason = _reason(sig, findings)


def _message_result(signatures: list[Dkim1Signature]) -> str:
    verified = [s for s in signatures if s.verified]
    if not verified:
        return "none"
    if any(s.result == "pass" for s in verified):
        return "pass"
    return next(r for r in RESULT_ORDER if any(s.result == r for s in verified))


def _reason(sig: Dkim1Signature, findings: list[Finding]) -> str:
    """One plain sentence: why this signature got its result."""
    who = sig.domain or "the signer"
    if sig.result == "pass":
        kind = {"rsa": f"{sig.key_bits}-bit RSA", "ed25519": "Ed25519"}.get(sig.key_type or "", "")
        extra = " (the key is marked as testing, t=y)" if sig.key_testing else ""
        return f"The signature of {who} verifies with its {kind} key at {sig.key_name}{extra}."
    deciding = _deciding_code(sig, findings)
    detail = next((f.detail for f in findings if f.code == deciding), "").rstrip(".")
    body = {
        True: "; its body hash matches",
        False: "; its body hash does not match",
        None: "",
    }[sig.body_hash_matches]
    if sig.failed_step == "syntax":
        return f"The DKIM-Signature field of {who} cannot be used: {detail}."
    if deciding == "dkim1.from-not-signed":
        return f"The signature of {who} does not cover the From field, so it must be ignored."
    if deciding == "dkim1.sha1":
        return f"The signature of {who} uses rsa-sha1, which must no longer be accepted{body}."
    if deciding == "dkim1.future-timestamp":
        return f"The signature of {who} is dated in the future (t={sig.timestamp}){body}."
    if deciding == "dkim1.expired":
        return f"The signature of {who} expired at x={sig.expires}{body}."
    if sig.failed_step == "key":
        lead = {
            "dkim1.key-temperror": "The key could not be fetched",
            "dkim1.key-not-found": "No key is published",
            "dkim1.key-name-invalid": "No key can exist",
            "dkim1.key-revoked": "The key has been revoked",
            "dkim1.key-too-short": "The key is too short to be accepted",
        }.get(deciding, "The key cannot be used")
        return f"{lead}: {detail}{body}."
    if sig.failed_step == "body-hash":
        header = {
            True: " while the signed header fields are intact",
            False: ", and the signed header fields do not verify either",
            None: "",
        }[sig.signature_valid]
        return f"The body was changed after {who} signed it{header}."
    if deciding == "dkim1.verifier-error":
        return f"The signature of {who} could not be checked: {detail}."
    return (
        f"The signed header fields were changed after {who} signed them, or the key at "
        f"{sig.key_name} is not the one that signed; the body is intact."
    )


def _deciding_code(sig: Dkim1Signature, findings: list[Finding]) -> str:
    step_codes = {
        "policy": ("dkim1.from-not-signed", "dkim1.sha1", "dkim1.future-timestamp"),
        "expired": ("dkim1.expired",),
        "body-hash": ("dkim1.body-hash-mismatch",),
        "signature": ("dkim1.signature-mismatch", "dkim1.verifier-error"),
    }
    if sig.failed_step == "key":
        wanted: tuple[str, ...] = tuple(_KEY_CODES.values())
    elif sig.failed_step == "syntax":
        wanted = tuple(f.code for f in findings if f.state == State.PERMERROR)
    else:
        wanted = step_codes.get(sig.failed_step or "", ())
    return next((f.code for f in findings if f.code in wanted), "")


def _action(sig: Dkim1Signature) -> str:
    """Who must do what about the deciding problem of ``sig``."""
    who = sig.domain or "the signing domain"
    step = sig.failed_step
    if step == "syntax":
        return f"the mail operator of {who} must fix the software that writes its signatures"
    if step == "policy":
        if not sig.from_signed:
            return f"{who} must include From in h= when it signs"
        if sig.algorithm == "rsa-sha1":
            return f"{who} must sign with rsa-sha256 or ed25519-sha256"
        return f"the mail operator of {who} must correct the signing server's clock"
    if step == "expired":
        return (
            f"{who} chose a short lifetime (x=); nothing needs fixing unless delivery took "
            "that long"
        )
    if step == "key":
        if sig.result == "temperror":
            return (
                "checking again later may succeed; if it persists, the DNS administrator of "
                f"{who} must fix its name servers"
            )
        if sig.result == "policy":
            return (
                f"{who} must publish an RSA key of at least 1024 bits (2048 recommended) at "
                f"{sig.key_name} and sign with it"
            )
        return f"the DNS administrator of {who} must publish the right key at {sig.key_name}"
    if step in ("body-hash", "signature"):
        return (
            "whoever changed the message after signing (usually a mailing list, forwarder or "
            "security gateway) should stop changing it or add its own signature"
        )
    return "nobody needs to act"


def _summary(result: str, signatures: list[Dkim1Signature], total: int) -> str:
    verified = [s for s in signatures if s.verified]
    if not verified:
        return "DKIM1: the message carries no DKIM-Signature field."
    passing = [s for s in verified if s.result == "pass"]
    others = len(verified) - len(passing)
    limit = (
        f" (only the first {len(verified)} of {total} signatures were verified)"
        if total > len(verified)
        else ""
    )
    if result == "pass":
        domains = ", ".join(dict.fromkeys(s.domain or "?" for s in passing))
        what = (
            f"the signature of {domains} verifies"
            if len(passing) == 1
            else f"{len(passing)} signatures verify ({domains})"
        )
        tail = f"; {plural(others, 'other signature')} did not" if others else ""
        return f"DKIM1: pass — {what}{tail}{limit}."
    deciding = next(s for s in verified if s.result == result)
    reason = deciding.reason.rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    count = f" ({plural(len(verified), 'signature')}, none verifies)" if len(verified) > 1 else ""
    return f"DKIM1: {result} — {reason}; {_action(deciding)}{count}{limit}."
