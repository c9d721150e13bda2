"""The DKIM2 grammar: tag lists, base64strings, domains, addresses.

Every rule cites the section of draft-ietf-dkim-dkim2-spec-06 (S06) it comes
from, and says where we accept more or less than the text.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field


class GrammarError(ValueError):
    """A value does not match the grammar; the message says what and where."""


# S06 §7, §8: tag names are case-insensitive in prose, but the ABNF spells them
# as %x literals; follow the prose (SPEC-NOTES Annex C 4).  x-tag-name is
# ALPHA *(ALPHA / DIGIT / "_") (S06 §7).
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_WSP_CHARS = " \t"


@dataclass
class TagList:
    tags: dict[str, str]  # lower-cased tag name -> value, FWS trimmed at both ends
    names_as_written: dict[str, str] = field(default_factory=dict)
    missing_final_semicolon: bool = False
    duplicates: list[str] = field(default_factory=list)


def unfold(value: bytes) -> str:
    """Value octets to text: CRLF removed (FWS unfolding), must be ASCII."""
    text = value.replace(b"\r\n", b"")
    try:
        return text.decode("ascii")
    except UnicodeDecodeError as exc:
        raise GrammarError(f"non-ASCII octet 0x{text[exc.start]:02x} in the field value") from exc


def parse_tag_list(value: bytes) -> TagList:
    """Parse ``*([FWS] tag [FWS] ";" [FWS])`` (S06 §7, §8).

    Accepts a missing final ``;`` (SPEC-NOTES §11 A1; the caller reports it as a
    draft artefact).  Duplicate tag names (compared case-insensitively) are
    collected in ``duplicates`` rather than raised, so the caller can name them
    in its own failure string.

    The common case is read here with as few steps as possible; anything unusual (an octet
    outside printable ASCII and blanks, a bare CR or LF, an empty tag, a tag without ``=``, a
    name outside ``_PLAIN_TAG_NAMES`` that is not valid) is handed to
    :func:`_parse_tag_list_careful`, which reads the whole value again and says what is wrong
    in the words it always used.  Both give the same result on every value (a property test
    holds them to it).
    """
    # Every octet printable ASCII, a blank, CR or LF: nothing for the decoding to refuse, and
    # once the folds are gone no tag value can hold a character x-tag-char forbids (S06 §7).
    if value.translate(None, _PLAIN_OCTETS):
        return _parse_tag_list_careful(value)
    text = value.replace(b"\r\n", b"").decode("ascii")
    if "\r" in text or "\n" in text:
        return _parse_tag_list_careful(value)
    pieces = text.split(";")
    missing_final = bool(pieces[-1].strip(_WSP_CHARS))
    if not missing_final:
        del pieces[-1]
    tags: dict[str, str] = {}
    names: dict[str, str] = {}
    duplicates: list[str] = []
    for piece in pieces:
        # The blanks before the name stay on it and come off with its trailing ones; the
        # value's come off below: the same name and value as strip-then-partition gives.
        name, eq, val = piece.partition("=")
        if not eq:
            return _parse_tag_list_careful(value)
        lname = _PLAIN_TAG_NAMES.get(name)
        if lname is not None:
            name = lname
        else:
            name = name.strip(_WSP_CHARS)
            if not _TAG_NAME.match(name):
                return _parse_tag_list_careful(value)
            lname = name.lower()
        if lname in tags:
            duplicates.append(lname)
            continue
        tags[lname] = val.strip(_WSP_CHARS)
        names[lname] = name
    return TagList(tags, names, missing_final, duplicates)


#: Octets a tag list read by the short path may hold: printable ASCII, blanks, CR and LF.
_PLAIN_OCTETS = bytes(range(0x21, 0x7F)) + b" \t\r\n"
#: Tag names as S06 spells them (lower case, valid x-tag-names), alone or after one space as
#: fields are usually written: looked up (name part as split -> name), not trimmed and matched.
_PLAIN_TAG_NAMES = {
    written: name
    for name in ("i", "m", "t", "d", "s", "mf", "rt", "nd", "n", "f", "h", "r")
    for written in (name, " " + name)
}


def _parse_tag_list_careful(value: bytes) -> TagList:
    """The reference reading of a tag list, check by check: it says what is wrong first.

    Accepts a missing final ``;`` (SPEC-NOTES §11 A1; the caller reports it as a
    draft artefact).  Duplicate tag names (compared case-insensitively) are
    collected in ``duplicates`` rather than raised, so the caller can name them
    in its own failure string.
    """
    text = unfold(value)
    # One search over the whole value: when every character is printable or blank (nearly
    # always), no tag value can hold one a tag value may not, and none is searched alone.
    check_values = _NOT_PRINTABLE.search(text) is not None
    if check_values and ("\r" in text or "\n" in text):
        raise GrammarError("a bare CR or LF inside the field value")
    pieces = text.split(";")
    result = TagList(tags={})
    last = pieces[-1].strip(_WSP_CHARS)
    if last:
        result.missing_final_semicolon = True
    else:
        pieces = pieces[:-1]
    for piece in pieces:
        stripped = piece.strip(_WSP_CHARS)
        if not stripped:
            raise GrammarError("an empty tag (two ';' in a row, or a leading ';')")
        name, eq, val = stripped.partition("=")
        if not eq:
            raise GrammarError(f"'{_clip(stripped)}' is not of the form name=value")
        name = name.rstrip(_WSP_CHARS)
        if not _TAG_NAME.match(name):
            raise GrammarError(f"'{_clip(name)}' is not a valid tag name")
        lname = name.lower()
        if lname in result.tags:
            result.duplicates.append(lname)
            continue
        val = val.strip(_WSP_CHARS)
        bad = _NOT_TAG_CHAR.search(val) if check_values else None
        if bad is not None:
            # x-tag-value = x-tag-char *([FWS] x-tag-char), x-tag-char = %x21-3A / %x3C-7E
            # (S06 §7): every value, an unknown tag's too, is printable ASCII and blanks.
            raise GrammarError(
                f"tag {_clip(name)}= holds {bad.group()!r}, which a tag value may "
                "not (only printable ASCII and blanks)"
            )
        result.tags[lname] = val
        result.names_as_written[lname] = name
    return result


#: A character no tag value may hold (S06 §7 x-tag-char, plus the blanks of FWS).
_NOT_TAG_CHAR = re.compile(r"[^\x21-\x3a\x3c-\x7e \t]")
#: The same, with the ";" that separates tags allowed: a tag list none of whose values
#: holds a character ``_NOT_TAG_CHAR`` finds.
_NOT_PRINTABLE = re.compile(r"[^\x21-\x7e \t]")


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "..."


# -- base64string (S06 §2.14) ---------------------------------------------------

_B64_BODY = re.compile(r"[A-Za-z0-9+/]*={0,2}\Z")


def decode_base64string(value: str, what: str) -> bytes:
    """Decode a base64string: FWS inside is ignored, padding and zero pad bits
    are required (canonical base64, S06 §2.14, added in S02; SPEC-NOTES §11 A4)."""
    return decode_base64string_compact(value, what)[0]


def decode_base64string_compact(value: str, what: str) -> tuple[bytes, str]:
    """:func:`decode_base64string`, and the value without its FWS (as signed and compared)."""
    hit = canonical_base64string(value)
    if hit is None:
        return _decode_base64string_careful(value, what), value.replace(" ", "").replace("\t", "")
    return hit


def canonical_base64string(value: str) -> tuple[bytes, str] | None:
    """(decoded, value without FWS) of a canonical base64string, else None: then
    :func:`decode_base64string` raises and says what is wrong.

    One strict decoding settles it.  It refuses every character outside the alphabet and
    any data after padding, so what it accepts is d data characters and then k ``=``, d not
    1 more than a multiple of 4, and it returns 3*(d//4) octets plus 0, 1 or 2 for d%4 = 0,
    2, 3.  With the length a multiple of 4 and ``pads`` = the ``=`` among the last two
    characters, that count is 3*length/4 - pads exactly when k = 0 (d%4 = 0), k = 2
    (d%4 = 2) or k = 1 (d%4 = 3): the padding is where and as long as it must be.  The pad
    bits are the low 4 bits of the last data character before ``==`` and its low 2 bits
    before ``=``; canonical means they are 0 (re-encoding the octets gives the same text
    exactly then).  A property test holds this to the careful reading.
    """
    compact = value.replace(" ", "").replace("\t", "")
    try:
        decoded = binascii.a2b_base64(compact, strict_mode=True)
    except ValueError:  # binascii.Error, or a str that is not ASCII
        return None
    n = len(compact)
    if not n or n % 4:
        return None
    if compact[-1] != "=":
        ok = len(decoded) == n // 4 * 3
    elif compact[-2] == "=":
        ok = len(decoded) == n // 4 * 3 - 2 and compact[-3] in _LOW4_ZERO
    else:
        ok = len(decoded) == n // 4 * 3 - 1 and compact[-2] in _LOW2_ZERO
    return (decoded, compact) if ok else None


_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#: Base64 characters whose low 4 (low 2) bits are 0: the last before "==" ("=").
_LOW4_ZERO = frozenset(_B64_ALPHABET[::16])
_LOW2_ZERO = frozenset(_B64_ALPHABET[::4])


def _decode_base64string_careful(value: str, what: str) -> bytes:
    """The reference reading of a base64string, check by check."""
    compact = value.replace(" ", "").replace("\t", "")
    if not compact:
        raise GrammarError(f"{what} is empty")
    if not _B64_BODY.match(compact):
        bad = next((c for c in compact if not (c.isascii() and (c.isalnum() or c in "+/="))), None)
        if bad is None:
            raise GrammarError(
                f"{what} has '=' padding in the wrong place (only at the end, at most two)"
            )
        raise GrammarError(f"{what} contains '{bad}', which is not a base64 character")
    if len(compact) % 4:
        raise GrammarError(
            f"{what} is not padded base64 (length {len(compact)} is not a multiple of 4)"
        )
    try:
        decoded = binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error as exc:
        raise GrammarError(f"{what} is not valid base64 ({exc})") from exc
    if binascii.b2a_base64(decoded, newline=False).decode("ascii") != compact:
        raise GrammarError(f"{what} is not canonical base64 (non-zero pad bits)")
    return decoded


def encode_base64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


# -- domains and addresses (RFC 5321 Domain, Forward-path, reverse-path) -------

_LABEL_RE = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LABEL = re.compile(_LABEL_RE + r"\Z")
_DOMAIN = re.compile(rf"{_LABEL_RE}(?:\.{_LABEL_RE})*\Z")
# Selectors are Domains (S06 §3.5); deployed DKIM selectors also use "_", so
# selector labels accept it (we accept more than the text here).
_SELECTOR_LABEL_RE = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_SELECTOR_LABEL = re.compile(_SELECTOR_LABEL_RE + r"\Z")
#: A whole selector, every label a ``_SELECTOR_LABEL``: one match instead of one a label.
_SELECTOR = re.compile(rf"{_SELECTOR_LABEL_RE}(?:\.{_SELECTOR_LABEL_RE})*\Z")


def parse_domain(value: str, what: str) -> str:
    """An RFC 5321 Domain, returned lower-cased (domains compare case-insensitively)."""
    text = value.strip(_WSP_CHARS)
    if text.endswith("."):
        text = text[:-1]
    if not text or len(text) > 253:
        raise GrammarError(f"{what} '{_clip(value)}' is not a domain name")
    if _DOMAIN.match(text):
        return text.lower()
    bad = next((x for x in text.split(".") if not _LABEL.match(x)), text)
    raise GrammarError(f"{what} '{_clip(value)}' is not a domain name (label '{_clip(bad, 20)}')")


def parse_selector(value: str) -> str:
    text = value.strip(_WSP_CHARS)
    if not text or len(text) > 253 or not _SELECTOR.match(text):
        raise GrammarError(f"selector '{_clip(value)}' is not a valid DNS name")
    return text


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: ``<local@domain>``: no control character, no other "@", no source route, a Domain that
#: needs no trimming (:func:`plain_address`).
_PLAIN_PATH = re.compile(rf"<([^@\x00-\x1f\x7f]+)@({_LABEL_RE}(?:\.{_LABEL_RE})*)>\Z")


@dataclass(frozen=True)
class Address:
    """A decoded ``mf=`` or ``rt=`` value (reverse-path / Forward-path)."""

    text: str  # as decoded, e.g. "<alice@example.com>" or "<>"
    local: str  # local part, case preserved ("" for <>)
    domain: str  # lower-cased domain ("" for <>)
    bracketed: bool  # False: a bare address, as drafts before -04 allowed

    @property
    def is_null(self) -> bool:
        return self.text in ("<>", "")

    def normalised(self) -> str:
        """``<local@domain>`` with the domain lower-cased (S06 §11.4 comparison form)."""
        if self.is_null:
            return "<>"
        if not self.domain:
            return f"<{self.local}>"
        return f"<{self.local}@{self.domain}>"


def parse_address(text: str, what: str, *, allow_null: bool, allow_bare: bool) -> Address:
    """Parse a reverse-path or Forward-path with angle brackets, without
    Mail-parameters (S06 §8.5, §8.6).  ``allow_bare`` accepts a bare address
    (``--compat``, earlier drafts)."""
    plain = plain_address(text)
    if plain is not None:
        return plain
    return _parse_address_careful(text, what, allow_null=allow_null, allow_bare=allow_bare)


def _parse_address_careful(text: str, what: str, *, allow_null: bool, allow_bare: bool) -> Address:
    """The reference reading of a path, check by check."""
    raw = text
    if _CONTROL.search(raw):
        raise GrammarError(f"{what} contains control characters")
    bracketed = raw.startswith("<") and raw.endswith(">")
    if not bracketed:
        if not allow_bare:
            raise GrammarError(
                f"{what} decodes to '{_clip(raw, 80)}' without angle brackets "
                "(S06 §8.5/§8.6 require <...>)"
            )
        inner = raw
    else:
        inner = raw[1:-1]
    if inner == "":
        if not allow_null:
            raise GrammarError(f"{what} is the null path <>, which is not allowed here")
        return Address("<>", "", "", bracketed)
    # A source route (obsolete "@a,@b:") is dropped before the mailbox.
    if inner.startswith("@") and ":" in inner:
        inner = inner.split(":", 1)[1]
    at = inner.rfind("@")
    if at <= 0:
        if inner.lower() == "postmaster":
            return Address(raw, inner, "", bracketed)
        raise GrammarError(f"{what} '{_clip(raw, 80)}' is not an address (no local@domain)")
    local, dom = inner[:at], inner[at + 1 :]
    if dom.startswith("[") and dom.endswith("]"):
        domain = dom.lower()
    else:
        domain = parse_domain(dom, f"{what} domain")
    return Address(raw, local, domain, bracketed)


def plain_address(text: str) -> Address | None:
    """The common case of :func:`parse_address`, ``<local@domain>`` with a plain domain, in
    one match: what its checks conclude for it, whatever it allows.  None: read ``text`` with
    :func:`parse_address`."""
    plain = _PLAIN_PATH.match(text)
    if plain is None:
        return None
    local, domain = plain.groups()
    return Address(text, local, domain.lower(), True) if len(domain) <= 253 else None


def normalise_envelope_address(text: str, *, allow_null: bool) -> Address:
    """An address given by a caller (CLI, form, SMTP), with or without brackets."""
    t = text.strip()
    if not t.startswith("<"):
        t = f"<{t}>"
    return parse_address(t, "address", allow_null=allow_null, allow_bare=False)


def relaxed_domain_match(child: str, parent: str) -> bool:
    """S06 §9.4 relaxed match: ``child`` equals ``parent`` or is below it.

    Labels are stripped from the left of ``child`` (the MAIL FROM side) one at
    a time; no labels left means no match.
    """
    child, parent = child.lower().rstrip("."), parent.lower().rstrip(".")
    if not child or not parent:
        return False
    return child == parent or child.endswith("." + parent)
