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
_SELECTOR_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")


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
    if not text or len(text) > 253 or not all(_SELECTOR_LABEL.match(x) for x in text.split(".")):
        raise GrammarError(f"selector '{_clip(value)}' is not a valid DNS name")
    return text


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
