"""Addresses in message header fields: the mailboxes of a From field and their domains.

RFC 5322 §3.4 (mailbox-list, groups, obs-route §4.4) and RFC 5890 (A-labels).  DMARC
(RFC 9989 §5.3.1, the Author Domain) and DKIM2's From-Authentic rule (-09) both read the
From field through these.
"""

from __future__ import annotations

import re
import unicodedata

from . import limits
from .resolvers import InvalidKeyName, host_name

__all__ = ["DomainError", "a_label_domain", "address_domain", "mailbox_addresses"]

_BLANKS_AROUND_DOT = re.compile(r"\s*\.\s*")


def _cut(text: str, limit: int = limits.MAX_REPORT_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DomainError(ValueError):
    """A text that cannot be used as a domain name; the message is a sentence part."""


def _a_label(label: str) -> tuple[str, bool]:
    """One label in A-label form (RFC 5890 §2.3.2.1), and whether it was converted."""
    if label.isascii():
        return label.lower(), False
    u_label = unicodedata.normalize("NFC", unicodedata.normalize("NFC", label).lower())
    for ch in u_label:
        if ch != "-" and unicodedata.category(ch)[0] not in "LMN":
            raise DomainError(
                f"the label {label!r} contains {ch!r} (U+{ord(ch):04X}), which cannot be "
                "part of an internationalised domain name"
            )
    return "xn--" + u_label.encode("punycode").decode("ascii"), True


def a_label_domain(text: str) -> tuple[str, bool]:
    """``text`` as a lower-case A-label domain name, and whether a U-label was converted.

    Raises ``ValueError`` with a sentence part when ``text`` is not a usable domain name
    (empty, a domain literal, characters a DNS name cannot hold, too long)."""
    text = text.strip()
    if not text:
        raise DomainError("the domain is empty")
    if text.startswith("["):
        raise DomainError(f"{_cut(text, 80)!r} is an address literal, not a domain name")
    converted = False
    labels: list[str] = []
    for raw in text.split("."):
        label, was = _a_label(raw) if raw else (raw, False)
        converted = converted or was
        labels.append(label)
    try:
        name = host_name(".".join(labels)).name
    except InvalidKeyName as exc:
        raise DomainError(str(exc)) from None
    return name, converted


def mailbox_addresses(text: str) -> list[str]:
    """The addresses of an RFC 5322 mailbox-list (groups tolerated), comments removed.

    One linear pass; quoted strings, comments (nested), domain literals and angle brackets
    are tracked so that commas and colons inside them do not split.  A mailbox written with
    two angle-addrs yields both (so a hostile "<a@x> <b@y>" counts two addresses).
    """
    addresses: list[str] = []
    plain: list[str] = []
    angles: list[str] = []
    angle: list[str] | None = None
    comment = 0
    quoted = literal = False

    def flush() -> None:
        if angles:
            addresses.extend(angles)
        else:
            spec = "".join(plain).strip()
            if spec:
                addresses.extend(_split_bare_addresses(spec))
        plain.clear()
        angles.clear()

    i, n = 0, len(text)
    while i < n:
        c = text[i]
        target = angle if angle is not None else plain
        if comment:
            if c == "\\":
                i += 1
            elif c == "(":
                comment += 1
            elif c == ")":
                comment -= 1
                if not comment:
                    target.append(" ")
        elif quoted:
            target.append(c)
            if c == "\\" and i + 1 < n:
                target.append(text[i + 1])
                i += 1
            elif c == '"':
                quoted = False
        elif literal:
            target.append(c)
            if c == "]":
                literal = False
        elif c == "(":
            comment = 1
        elif c == '"':
            quoted = True
            target.append(c)
        elif c == "[":
            literal = True
            target.append(c)
        elif angle is not None:
            if c == ">":
                angles.append("".join(angle))
                angle = None
            else:
                angle.append(c)
        elif c == "<":
            angle = []
        elif c in ",;":
            flush()
        elif c == ":":  # a group's display name ends here (RFC 5322 §3.4)
            plain.clear()
        else:
            plain.append(c)
        i += 1
    if angle is not None:  # an unclosed "<": what follows is the address
        angles.append("".join(angle))
    flush()
    return addresses


def _outside_quotes(text: str) -> list[tuple[int, str]]:
    """(index, character) of ``text`` outside quoted strings and domain literals."""
    out: list[tuple[int, str]] = []
    quoted = literal = False
    escaped = False
    for index, c in enumerate(text):
        if escaped:
            escaped = False
        elif quoted:
            escaped = c == "\\"
            quoted = c != '"'
        elif literal:
            literal = c != "]"
        elif c == '"':
            quoted = True
        elif c == "[":
            literal = True
        else:
            out.append((index, c))
    return out


def _split_bare_addresses(spec: str) -> list[str]:
    """A mailbox without angle brackets holding several addr-specs separated only by white
    space ("a@x.example b@y.example", no comma) yields each of them, so that every domain
    it shows is counted; otherwise the mailbox itself."""
    plain = _outside_quotes(spec)
    if sum(1 for _, c in plain if c == "@") < 2:
        return [spec]
    cuts = [i for i, c in plain if c.isspace()]
    pieces, start = [], 0
    for cut in [*cuts, len(spec)]:
        pieces.append(spec[start:cut])
        start = cut + 1
    found = [p for p in pieces if "@" in p]
    return found if len(found) > 1 else [spec]


def address_domain(address: str) -> str | None:
    """The domain of an addr-spec (obs-route dropped, white space removed), or None."""
    spec = address.strip()
    if spec.startswith("@") and ":" in spec:  # obs-route "@a,@b:local@domain" (RFC 5322 §4.4)
        spec = spec.split(":", 1)[1]
    if sum(1 for _, c in _outside_quotes(spec) if c == "@") != 1:
        return None  # an addr-spec has exactly one "@" outside quotes (RFC 5322 §3.4.1)
    if spec.endswith("]") and "@[" in spec:
        return spec[spec.rindex("@[") + 1 :]
    local, at, domain = spec.rpartition("@")
    if not at or not local.strip() or not domain.strip():
        return None
    # obs-domain allows CFWS around the dots (RFC 5322 §4.4); other white space stays and
    # makes the domain unusable.
    return _BLANKS_AROUND_DOT.sub(".", domain).strip()
