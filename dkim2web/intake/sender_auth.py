"""Whom the intake may answer, and what it may copy into the answer (no Django here).

Theory of operation
-------------------
An answer is mail the intake sends on its own, so whoever can make it send one can aim it:
anyone can put a victim's address in MAIL FROM or From:, and anyone holding one DKIM1-signed
message from a person (a newsletter, a message they received) can deliver it again, from
anywhere, to their own intake address. So the intake answers only an address that the
delivery itself proves, and the answer goes to the MAIL FROM of that delivery:

1. **DKIM2** binds the envelope: the newest DKIM2-Signature passed, the chain was checked
   against this delivery's SMTP envelope (its ``rt=`` names the intake address: a copy
   signed for anyone else fails), its ``mf=`` is this MAIL FROM, its ``d=`` is the MAIL
   FROM domain or a parent of it, and the Message-Instance it vouches for verified (the
   conditions under which DKIM2 lets a system bounce, SPEC-NOTES §6.6); or
2. **DKIM1 and SPF together**: the From field is one plain address; a DKIM1 signature that
   covers From passed and is aligned with the From domain (DMARC's alignment, RFC 9989
   §4.4); SPF passed for this delivery's MAIL FROM (not for HELO) at the client that
   connected to the intake -- or, when that client is a trusted MTA in front of the intake,
   at the client which that MTA recorded in the newest Received field; and the MAIL FROM
   domain is the From domain or shares DMARC's Organizational Domain with it. DKIM1 alone
   proves only that the domain once sent this message; SPF proves the domain's own server
   delivered this copy, so a stranger resending a signed message proves nothing.

It never answers the null sender ``<>``, nor a message that says it was sent automatically
(RFC 3834 ``Auto-Submitted`` other than ``no`` in any instance; ``Precedence`` bulk, list
or junk), which also keeps two robots from answering each other forever.

The decision reads only the engine's public verdicts in the stored whole-message report:
the ``dkim2``, ``dkim1``, ``spf``, ``dmarc``, ``smtp`` and ``received`` sections. The
analysis already fetched every key and record through the app's DNS lookup (its servers,
timeout, budget, cache and evidence), so deciding whom to answer asks DNS nothing.

What the answer copies from the message: the Subject and the Message-ID (for In-Reply-To),
each only when the proof covers it, and then the copy the proof covers -- the *last*
instance of the field (RFC 6376 §5.4.2: a signer signs, and a verifier such as dkimpy
checks, header fields from the bottom up, so a ``Subject:`` prepended above a signed one is
not covered). A DKIM1 signature covers the fields its ``h=`` names; a DKIM2
Message-Instance covers every field but the trace and authentication fields (S06 §4), Subject
and Message-ID included. A field not covered is not copied.

Addresses that decide are parsed here, strictly, never with ``email.utils.parseaddr`` or
``getaddresses`` (CVE-2023-27043: on Python 3.11 they read
``alice@example.org)<bob@example.org>`` as alice's address): a reverse-path or a From
mailbox is a dot-atom local part and a domain of letters, digits and hyphens, nothing else
(no comments, quoted local parts, source routes, address literals or second address). Text
copied into a header of the answer is validated or cleaned first (CVE-2024-6923: the
encoded word ``=?UTF-8?Q?embedded_newline=0A?=`` decodes to a line break).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.header import decode_header, make_header
from typing import Any

from .mime import header_block

#: What the header of an answer may carry from the message, at most (characters).
MAX_SUBJECT_CHARS = 200
MAX_MESSAGE_ID_CHARS = 250

# RFC 5322 §3.2.3 atext; a dot-atom is atext runs joined by single dots.
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]"
_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
# RFC 1035 §2.3.1 / RFC 5321 §4.1.2 Domain: letters, digits and hyphens. Stricter than
# DNS itself: no answer goes to a name with "_" or a U-label (an A-label is fine).
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# RFC 5322 §3.6.4 msg-id without CFWS: "<" id-left "@" id-right ">".
_DTEXT_LITERAL = re.compile(r"\[[\x21-\x5a\x5e-\x7e]*\]")
# A display name: a quoted string, or a phrase of atext, dots (obs-phrase) and blanks
# (encoded words are atext). Nothing that could start a comment, group or second address.
_QUOTED = re.compile(r'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[\x09\x20-\x7e])*"')
_PHRASE = re.compile(rf"(?:{_ATEXT}|[ \t.])*")
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")


class AddressError(ValueError):
    """Text that is not one plain address; the message is a sentence part."""


@dataclass(frozen=True)
class Mailbox:
    local: str
    domain: str  # lower case

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}"

    @property
    def path(self) -> str:
        """As a reverse-path: ``<local@domain>``."""
        return f"<{self.address}>"


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:79] + "…")


def parse_domain(text: str) -> str:
    """A host name of two or more LDH labels, lower-cased (RFC 5321 §4.1.2 Domain)."""
    name = text[:-1] if text.endswith(".") else text
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        raise AddressError(f"{_excerpt(text)} is not a domain name")
    if labels[-1].isdigit():
        raise AddressError(f"{_excerpt(text)} is not a domain name")
    return name.lower()


def parse_addr_spec(text: str) -> Mailbox:
    """``local@domain`` with a dot-atom local part (RFC 5321 §4.1.2 Dot-string)."""
    local, at, domain = text.rpartition("@")
    if not at or not local:
        raise AddressError(f"{_excerpt(text)} is not an address (local@domain)")
    if len(local) > 64 or not _DOT_ATOM.fullmatch(local):
        raise AddressError(
            f"the local part of {_excerpt(text)} is not a plain dot-atom (RFC 5321 §4.1.2)"
        )
    mailbox = Mailbox(local, parse_domain(domain))
    if len(mailbox.address) > 254:
        raise AddressError(f"{_excerpt(text)} is longer than 254 characters")
    return mailbox


def parse_reverse_path(text: str) -> Mailbox | None:
    """An SMTP reverse-path as the intake stored it (``<a@b>``, or ``a@b``); None for the
    null sender. Raises :class:`AddressError` for anything but one plain address."""
    path = text.strip(" \t")
    if path in ("", "<>"):
        return None
    if path.startswith("<") or path.endswith(">"):
        if not (path.startswith("<") and path.endswith(">")):
            raise AddressError(f"{_excerpt(text)} has unbalanced angle brackets")
        path = path[1:-1]
    if path.startswith("@"):
        raise AddressError(f"{_excerpt(text)} carries a source route (RFC 5321 §4.1.2)")
    return parse_addr_spec(path)


def parse_mailbox(value: str) -> Mailbox:
    """One RFC 5322 mailbox -- ``addr-spec`` or ``display-name <addr-spec>`` -- without
    comments, groups, obsolete routes or a second address."""
    text = value.strip(" \t")
    if "<" not in text and ">" not in text:
        return parse_addr_spec(text)
    opening = text.rfind("<")
    if not text.endswith(">") or opening < 0:
        raise AddressError(f"{_excerpt(value)} is not one address")
    display, inner = text[:opening].strip(" \t"), text[opening + 1 : -1]
    if display and not (_QUOTED.fullmatch(display) or _PHRASE.fullmatch(display)):
        raise AddressError(
            f"the display name of {_excerpt(value)} holds characters outside a phrase or "
            "quoted string (a comment, a second address or a group)"
        )
    return parse_addr_spec(inner)


def parse_message_id(value: str) -> str | None:
    """``<id-left@id-right>`` (RFC 5322 §3.6.4, without comments), or None."""
    text = value.strip(" \t")
    if len(text) > MAX_MESSAGE_ID_CHARS or not (text.startswith("<") and text.endswith(">")):
        return None
    left, at, right = text[1:-1].rpartition("@")
    if not at or not _DOT_ATOM.fullmatch(left):
        return None
    if not (_DOT_ATOM.fullmatch(right) or _DTEXT_LITERAL.fullmatch(right)):
        return None
    return text


def clean_text(text: str, limit: int = MAX_SUBJECT_CHARS) -> str:
    """Decoded header text made safe to show on one line: control and format characters
    (line breaks, NUL, bidirectional overrides) become blanks, runs of blanks one space."""
    kept = [" " if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} else c for c in text]
    out = " ".join("".join(kept).split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


# -- the header block -------------------------------------------------------------------------


class HeaderError(ValueError):
    """A header block this module will not read; the message is a sentence."""


@dataclass(frozen=True)
class Header:
    """The header fields of a message, in order: (lower-cased name, unfolded value)."""

    fields: tuple[tuple[str, str], ...]

    def all(self, name: str) -> list[str]:
        return [value for field, value in self.fields if field == name]


def read_header(raw: bytes) -> Header:
    """The header block of ``raw``, split strictly: every line is a field (``name:``) or
    continues one (starts with a blank). Anything else is refused, rather than read one
    way here and another by the engine that verified the signatures."""
    block = header_block(raw)
    rest = raw[len(block) :]
    if rest and not rest.startswith((b"\r\n", b"\n")):
        raise HeaderError(
            f"the header block is larger than {len(block):,} bytes, so it was not read to its end"
        )
    fields: list[tuple[str, str]] = []
    for number, line in enumerate(block.splitlines(), start=1):
        if line[:1] in (b" ", b"\t"):
            if not fields:
                raise HeaderError("the header block starts with a continuation line")
            previous, text = fields[-1]
            fields[-1] = (previous, text + line.decode("utf-8", "replace"))
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            raise HeaderError(f"line {number} of the header block is not a header field")
        fields.append((name.decode("ascii").lower(), value.decode("utf-8", "replace")))
    return Header(tuple(fields))


def is_automatic(header: Header) -> bool:
    """RFC 3834 §5: Auto-Submitted present and not "no"; also list and bulk mail."""
    for value in header.all("auto-submitted"):
        if value.split(";")[0].strip(" \t").lower() != "no":
            return True
    return any(v.strip(" \t").lower() in {"bulk", "list", "junk"} for v in header.all("precedence"))


# -- the decision -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    ok: bool
    to: str  # the address to answer, as a reverse-path "<local@domain>" ("" when not ok)
    reason: str  # why, in words (shown on the page)
    method: str = ""  # "dkim2" or "dkim1+spf"
    #: The header fields (lower-cased names) whose last instance the proof covers.
    covered: frozenset[str] = frozenset()


def _no(reason: str) -> Decision:
    return Decision(False, "", reason)


def _section(report: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = report.get(name)
    return value if isinstance(value, Mapping) else None


def _items(section: Mapping[str, Any] | None, name: str) -> list[Mapping[str, Any]]:
    values = section.get(name) if section is not None else None
    return [v for v in values or [] if isinstance(v, Mapping)]


def _at_or_above(domain: str, signer: str) -> bool:
    """``signer`` is ``domain`` or one of its parents (two labels at least)."""
    signer = signer.lower().rstrip(".")
    return "." in signer and (domain == signer or domain.endswith("." + signer))


def _same_ip(a: object, b: object) -> bool:
    try:
        x, y = ipaddress.ip_address(str(a).strip("[]")), ipaddress.ip_address(str(b).strip("[]"))
    except ValueError:
        return False
    if isinstance(x, ipaddress.IPv6Address) and x.ipv4_mapped is not None:
        x = x.ipv4_mapped
    if isinstance(y, ipaddress.IPv6Address) and y.ipv4_mapped is not None:
        y = y.ipv4_mapped
    return x == y


def _signed_mail_from(text: object) -> Mailbox | None:
    try:
        return parse_reverse_path(str(text or ""))
    except AddressError:
        return None


def dkim2_authenticated(report: Mapping[str, Any], sender: Mailbox) -> Decision:
    """Did the newest DKIM2 signature pass for the delivery's MAIL FROM ``sender``?
    (``report``: the ``dkim2`` section of the whole-message report.)"""
    hops = _items(report, "hops")
    if not hops:
        return _no("the message carries no DKIM2 signature")
    newest = max(hops, key=lambda h: int(h.get("i") or 0))
    label = f"the newest DKIM2 signature (i={newest.get('i')}, d={newest.get('d')})"
    if newest.get("result") != "pass":
        return _no(f"{label} did not pass ({newest.get('result')})")
    if not report.get("envelope_checked"):
        return _no("the envelope was not checked against the signature")
    if _signed_mail_from(newest.get("mail_from")) != sender:
        return _no(f"{label} names another MAIL FROM than {sender.path}")
    if not _at_or_above(sender.domain, str(newest.get("d") or "")):
        return _no(f"{label} is not for the MAIL FROM domain {sender.domain}")
    m = newest.get("m")
    verified = [i.get("result") for i in _items(report, "instances") if i.get("m") == m]
    if verified != ["pass"]:
        return _no(f"Message-Instance m={m} did not verify")
    return Decision(
        True,
        sender.path,
        f"{label} passed for {sender.path}",
        "dkim2",
        frozenset({"subject", "message-id"}),
    )


def _from_mailbox(header: Header) -> Mailbox | str:
    values = header.all("from")
    if len(values) != 1:
        return f"the message has {len(values)} From fields, not one"
    try:
        return parse_mailbox(" ".join(values[0].split()))
    except AddressError as exc:
        return f"the From field is not one plain address: {exc}"


def _dkim1_for_from(report: Mapping[str, Any], author: str) -> Mapping[str, Any] | str:
    """The first DKIM1 signature that passed, covers From and is aligned with ``author``
    (DMARC's alignment), or why there is none."""
    signatures = _items(_section(report, "dkim1"), "signatures")
    if not signatures:
        return "the message carries no DKIM1 signature"
    aligned = {
        str(a.get("domain") or "").lower()
        for a in _items(_section(report, "dmarc"), "alignment")
        if a.get("mechanism") == "dkim" and a.get("passed") is True and a.get("aligned") is True
    }
    tried = []
    for sig in signatures:  # the engine verified at most limits.MAX_DKIM1_SIGNATURES
        signer = str(sig.get("domain") or "").lower()
        result = str(sig.get("result") or "")
        if result == "pass" and sig.get("from_signed") and signer in aligned:
            return sig
        if result != "pass":
            step = str(sig.get("failed_step") or "")
            why = result + (f" at the {step} step" if step else "")
        elif not sig.get("from_signed"):
            why = "pass, but From is not in h="
        else:
            why = f"pass, not aligned with {author}"
        tried.append(f"d={signer or '?'}: {why}")
    return "no DKIM1 signature passed for the From domain (" + "; ".join(tried) + ")"


def _spf_at_the_border(
    report: Mapping[str, Any], sender: Mailbox, client_ip: str, relayed: bool
) -> str | None:
    """None when SPF passed for ``sender`` at the client that delivered the message to us
    (or, ``relayed``, to the trusted MTA in front of us); else why not."""
    spf = _section(report, "spf")
    if spf is None:
        return "SPF was not checked in this analysis"
    result, identity = str(spf.get("result") or "none"), spf.get("identity")
    if identity != "mailfrom" or _signed_mail_from(spf.get("mail_from")) != sender:
        return f"SPF was not evaluated for the MAIL FROM {sender.path}"
    ip = spf.get("ip")
    if relayed:
        smtp = _section(report, "smtp") or {}
        received = _section(report, "received") or {}
        newest = received.get("total")
        if (
            spf.get("source") != "reconstructed"
            or not isinstance(newest, int)
            or smtp.get("hop_index") != newest
            or smtp.get("internal_hops")
            or not _same_ip(ip, smtp.get("client_ip"))
        ):
            return (
                "the message came through a trusted MTA, but SPF was not evaluated at the "
                "client that MTA recorded in the newest Received field"
            )
        where = f"{ip} (the client the trusted MTA in front recorded)"
    else:
        if spf.get("source") != "smtp" or not _same_ip(ip, client_ip):
            return f"SPF was not evaluated at the client that connected ({client_ip or '?'})"
        where = f"{ip} (the client that connected)"
    if result != "pass":
        return f"SPF for {sender.domain} is {result}, not pass, at {where}"
    return None


def _same_organisation(report: Mapping[str, Any], sender: Mailbox, author: str) -> str | None:
    """None when the MAIL FROM domain is the From domain or shares DMARC's Organizational
    Domain with it; else why not."""
    if sender.domain == author:
        return None
    dmarc = _section(report, "dmarc") or {}
    org = dmarc.get("organizational_domain")
    for entry in _items(dmarc, "alignment"):
        if entry.get("mechanism") == "spf" and str(entry.get("domain")).lower() == sender.domain:
            theirs = entry.get("organizational_domain")
            if org and theirs == org:
                return None
            return (
                f"the MAIL FROM domain {sender.domain} (Organizational Domain "
                f"{theirs or 'not determined'}) is not in the organisation of the From domain "
                f"{author} ({org or 'not determined'})"
            )
    return f"DMARC did not compare the MAIL FROM domain {sender.domain} with {author}"


def dkim1_and_spf_authenticated(
    header: Header,
    report: Mapping[str, Any],
    sender: Mailbox,
    *,
    client_ip: str,
    relayed: bool,
) -> Decision:
    """DKIM1 for the From domain, and SPF for a MAIL FROM of the same organisation at the
    delivering client: the answer goes to that MAIL FROM."""
    mailbox = _from_mailbox(header)
    if isinstance(mailbox, str):
        return _no(mailbox)
    dmarc = _section(report, "dmarc")
    if dmarc is None:
        return _no("DMARC was not evaluated in this analysis, so the From domain was not judged")
    author = str(dmarc.get("author_domain") or "")
    if author != mailbox.domain:
        return _no(
            f"the From domain {mailbox.domain} is not the domain DMARC judged ({author or 'none'})"
        )
    sig = _dkim1_for_from(report, author)
    if isinstance(sig, str):
        return _no(sig)
    why_not = _spf_at_the_border(report, sender, client_ip, relayed) or _same_organisation(
        report, sender, author
    )
    if why_not:
        return _no(why_not)
    signer = str(sig.get("domain") or "").lower()
    covered = frozenset(str(h).lower() for h in sig.get("signed_headers") or [])
    where = (_section(report, "spf") or {}).get("ip")
    return Decision(
        True,
        sender.path,
        f"a DKIM1 signature (d={signer}) passed for the From domain {author}, and SPF passed "
        f"for {sender.path} at {where}, "
        + (
            "the client the trusted MTA in front recorded"
            if relayed
            else "the client that connected"
        ),
        "dkim1+spf",
        covered,
    )


def decide(
    *,
    raw: bytes,
    mail_from: str,
    report: Mapping[str, Any] | None,
    client_ip: str = "",
    relayed: bool = False,
) -> Decision:
    """Whom to answer about the delivered message ``raw``, if anyone.

    ``report``: its analysis (the whole-message report); ``client_ip``: the SMTP client
    that delivered it to the intake; ``relayed``: that client is a trusted MTA in front of
    the intake, whose newest Received field records the client it took the message from.
    """
    try:
        sender = parse_reverse_path(mail_from)
    except AddressError as exc:
        return _no(f"the MAIL FROM is not one plain address: {exc}")
    if sender is None:
        return _no(
            "the message came from the null sender <>: no answer is sent, so the analyser "
            "never produces backscatter"
        )
    try:
        header = read_header(raw)
    except HeaderError as exc:
        return _no(f"{exc}, so whether it was sent automatically is not known")
    if is_automatic(header):
        return _no(
            "the message says it was sent automatically (Auto-Submitted or Precedence): "
            "robots are not answered"
        )
    if report is None:
        return _no("the message has not been analysed")
    first = dkim2_authenticated(_section(report, "dkim2") or {}, sender)
    if first.ok:
        return first
    second = dkim1_and_spf_authenticated(
        header, report, sender, client_ip=client_ip, relayed=relayed
    )
    if second.ok:
        return second
    return _no(
        f"the delivery does not prove the address {sender.path}: {first.reason}; {second.reason}"
    )


# -- what the answer copies -------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyFields:
    subject: str | None  # the covered Subject, decoded and cleaned; None: not copied
    message_id: str | None  # the covered Message-ID, validated; None: not copied
    thread_key: str  # the last Message-ID, validated ("" when none): answered once


def _last(values: Sequence[str]) -> str | None:
    return values[-1] if values else None


def _decoded(value: str) -> str:
    try:
        text = str(make_header(decode_header(" ".join(value.split()))))
    except Exception:  # an undecodable encoded word: shown as written
        text = value
    return clean_text(text)


def reply_fields(raw: bytes, decision: Decision) -> ReplyFields:
    """What an answer under ``decision`` may copy from ``raw`` (see the module docs)."""
    try:
        header = read_header(raw)
    except HeaderError:
        return ReplyFields(None, None, "")
    subject = _last(header.all("subject"))
    last_id = _last(header.all("message-id"))
    message_id = parse_message_id(last_id) if last_id is not None else None
    return ReplyFields(
        subject=_decoded(subject)
        if subject is not None and "subject" in decision.covered
        else None,
        message_id=message_id if "message-id" in decision.covered else None,
        thread_key=message_id or "",
    )
