"""The receivers' trace: every Received field, and the SMTP envelope they imply.

Each MTA that accepts a message prepends a Received field (RFC 5321 §4.4): who connected
(``from``: the name the client gave in HELO/EHLO, then in a comment the address the
receiver saw and, often, the reverse-DNS name it looked up), who received (``by``), how
(``with``: the RFC 3848 / RFC 8314 protocol word), a queue ``id``, the envelope recipient
(``for``) and, after the last semicolon, the date.  The grammar of RFC 5321 §4.4 is not
what real MTAs write, so this module reads them tolerantly and never raises.

Theory of operation
-------------------
* Lexing: a field's value is split into words, whole (nested, escape-aware) comments,
  quoted strings and top-level semicolons.  An unclosed comment runs to the end of the
  field and is reported.  The date is the text after the last top-level semicolon; earlier
  top-level semicolons (some submission servers put one after every clause) separate
  nothing.
* Clauses: the keywords ``from``, ``by``, ``via``, ``with``, ``id`` and ``for`` start a
  clause when the clause before them is not empty (so "from by.example by mx.example" reads
  the first "by" as the client's name).  Words before any keyword belong to ``from``.
* The client: the first word of the ``from`` clause is the name the client gave in HELO,
  except when a comment says which HELO was used ("(HELO x)", "(EHLO x)", Exim's
  "helo=x"): then the first word is the name the receiver found (Exim, qmail).  The client
  address is the first address in a ``from`` comment ("[192.0.2.1]", "[IPv6:2001:db8::1]",
  "(2603:10b6::1)", "(user@192.0.2.1)"), else an address literal given as the first word;
  every candidate is validated with :mod:`ipaddress`.
* Positions: ``position`` is the index of the field among all header fields (0 = top),
  ``index`` the hop number counted from the oldest Received (1).  Past
  :data:`limits.MAX_RECEIVED_FIELDS` the oldest fields are not read (the newest carry the
  receiver's own testimony) and the cut is reported.

The envelope (:func:`reconstruct_smtp`) is read back from the final receiver's own trace:
see the function's docstring for the heuristic and its limits.
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from . import limits
from .addresses import AddressSyntaxError, parse_address_list
from .findings import Finding, Severity, Step, note
from .message import HeaderField, ParsedMessage
from .textsize import prefix_within

__all__ = [
    "ReceivedHop",
    "ReceivedPath",
    "SmtpContext",
    "bounded_text",
    "find_border",
    "is_public_address",
    "organisation",
    "read_received",
    "reconstruct_smtp",
]

_CLAUSE_WORDS = ("from", "by", "via", "with", "id", "for")

_ELLIPSIS = "…"


def bounded_text(text: str, limit: int = limits.MAX_REPORT_TEXT_CHARS) -> str:
    """``text`` cut to ``limit`` octets of the stored report (characters, for ASCII: see
    :mod:`analysis.textsize`), the cut marked with "…"."""
    if len(text) <= limit and text.isascii():
        return text
    keep = prefix_within(text, max(0, limit - 1))
    return text if keep == len(text) else text[:keep] + _ELLIPSIS


def field_text(f: HeaderField) -> str:
    """A header field as written (name, colon, value with its folds), for display."""
    raw = f.raw[:-2] if f.raw.endswith(b"\r\n") else f.raw
    return bounded_text(raw[: limits.MAX_REPORT_TEXT_CHARS * 4].decode("utf-8", "replace"))


def _unfolded(value: bytes) -> str:
    return value.replace(b"\r\n", b"").decode("utf-8", "replace")


# -- lexing ---------------------------------------------------------------------------------


@dataclass
class Token:
    kind: str  # "word", "comment", "quoted", ";", "="
    text: str  # a comment keeps its parentheses, a quoted string its quotes
    start: int = 0  # offset of the token in the lexed text


#: A word: up to the next blank, parenthesis, semicolon or quote (and "=" when split_eq).
_WORD = {
    False: re.compile(r'[^ \t\r\n();"]+'),
    True: re.compile(r'[^ \t\r\n();"=]+'),
}
#: Inside a comment, the next character that matters; inside a quoted string, likewise.
_COMMENT_STEP = re.compile(r"[\\()]")
_QUOTED_STEP = re.compile(r'["\\]')


def lex(text: str, *, split_eq: bool = False) -> tuple[list[Token], bool]:
    """Words, comments, quoted strings and semicolons (and "=" when ``split_eq``).

    Linear in the length of ``text``; never raises.  Returns the tokens and whether the
    text ended inside a comment or a quoted string (an unclosed one).  A backslash inside
    a comment or a quoted string escapes the character after it.
    """
    tokens: list[Token] = []
    word = _WORD[split_eq]
    n = len(text)
    k = 0
    unclosed = False
    while k < n:
        c = text[k]
        if c in " \t\r\n":
            k += 1
        elif c == "(":
            depth, start, pos = 0, k, k
            while True:
                m = _COMMENT_STEP.search(text, pos)
                if m is None or (m.group() == "\\" and m.start() + 2 >= n):
                    # the text ends inside the comment (or right after an escape)
                    k = n if m is None else m.start() + 2
                    unclosed = True
                    break
                j = m.start()
                ch = m.group()
                if ch == "\\":
                    pos = j + 2
                elif ch == "(":
                    depth += 1
                    pos = j + 1
                else:
                    depth -= 1
                    pos = j + 1
                    if depth == 0:
                        k = pos
                        break
            tokens.append(Token("comment", text[start:k], start))
        elif c == '"':
            start = k
            pos = k + 1
            while True:
                m = _QUOTED_STEP.search(text, pos)
                if m is None:
                    k = n
                    break
                if m.group() == '"':
                    k = m.start()
                    break
                pos = m.start() + 2
                if pos >= n:
                    k = pos
                    break
            if k >= n:
                unclosed = True
            else:
                k += 1
            tokens.append(Token("quoted", text[start : min(k, n)], start))
        elif c == ";":
            tokens.append(Token(";", ";", k))
            k += 1
        elif c == "=" and split_eq:
            tokens.append(Token("=", "=", k))
            k += 1
        elif c == ")":  # a stray closing parenthesis: kept as a word of its own
            tokens.append(Token("word", ")", k))
            k += 1
        else:
            m = word.match(text, k)
            assert m is not None  # c is none of the stops
            tokens.append(Token("word", m.group(), k))
            k = m.end()
    return tokens, unclosed


def comment_body(comment: str) -> str:
    """The text inside a comment's outer parentheses."""
    inner = comment[1:]
    return inner[:-1] if inner.endswith(")") else inner


# -- addresses and names ------------------------------------------------------------------

_NON_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",  # unique local (RFC 4193)
        "fe80::/10",
        "ff00::/8",
    )
)


#: What an IPv4 address is made of (an address without ":" is IPv4 or nothing).
_DIGITS_AND_DOTS = re.compile(r"[0-9.]+")


def parse_address(text: str) -> str | None:
    """The IP address written in ``text`` ("[192.0.2.1]", "IPv6:2001:db8::1", "x@192.0.2.1",
    "[192.0.2.1]:25"), normalised, or None."""
    t = text.strip().strip(",;")
    if t.startswith("["):
        end = t.find("]")
        t = t[1:end] if end > 0 else t[1:]
    if "@" in t:
        t = t.rsplit("@", 1)[1]
    if t[:5].lower() == "ipv6:":
        t = t[5:]
    t = t.split("%", 1)[0]
    if not t or len(t) > 45 or not (":" in t or "." in t):
        return None
    if ":" not in t and not _DIGITS_AND_DOTS.fullmatch(t):
        return None  # a name: neither address form below can read it (and raising costs)
    try:
        return str(ipaddress.ip_address(t))
    except ValueError:
        pass
    # "192.0.2.1:25" (Exim's port logging after the brackets is handled above)
    if t.count(":") == 1 and "." in t:
        try:
            return str(ipaddress.ip_address(t.split(":", 1)[0]))
        except ValueError:
            return None
    return None


def is_public_address(address: str) -> bool:
    """True unless the address is private, loopback, link-local, CGNAT, unique-local,
    multicast or unspecified.  The documentation ranges (192.0.2.0/24, 198.51.100.0/24,
    203.0.113.0/24, 2001:db8::/32) count as public: test messages use them."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not any(ip.version == net.version and ip in net for net in _NON_PUBLIC)


def _same_network(a: str, b: str) -> bool:
    """Both addresses in one IPv4 /24 or one IPv6 /32 (one operator's allocation)."""
    try:
        x, y = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return False
    if x.version != y.version:
        return False
    prefix = 24 if x.version == 4 else 32
    return ipaddress.ip_network(f"{x}/{prefix}", strict=False) == ipaddress.ip_network(
        f"{y}/{prefix}", strict=False
    )


_NOT_IN_HOST_NAME = re.compile(r'[\[\]()<>@;,"\\ \t]')


def _host_name(word: str | None) -> str | None:
    """A host name as written, lower case, without a final dot; None for "unknown" and
    for anything that is not a plausible name."""
    if not word:
        return None
    name = word.strip().rstrip(".").lower()
    if not name or name in ("unknown", "localhost.localdomain") or len(name) > 253:
        return None
    if _NOT_IN_HOST_NAME.search(name):
        return None
    return name


#: A host name: dot-separated LDH labels ending in an alphabetic top-level label.
_HOST_SHAPE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")

#: Second-level labels under which country domains register names (example.co.uk).
_SECOND_LEVEL = frozenset(
    {"ac", "co", "com", "edu", "gov", "go", "ne", "net", "or", "org", "ltd", "plc", "mil"}
)

#: Domains one operator uses for the same mail system (Microsoft 365 names its hosts under
#: both): treated as one organisation.
_ORGANISATION_ALIASES = {"office365.com": "outlook.com"}


def organisation(name: str | None) -> str | None:
    """The registered-looking parent of a host name: its last two labels, or three under a
    country code's second level (``co.uk``).  A heuristic without the public suffix list,
    used only to say that two hosts probably belong to one operator; None for addresses
    and single labels."""
    host = _host_name(name)
    if host is None or parse_address(host) is not None:
        return None
    labels = host.split(".")
    if len(labels) < 2 or not all(labels):
        return None
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        org = ".".join(labels[-3:])
    else:
        org = ".".join(labels[-2:])
    return _ORGANISATION_ALIASES.get(org, org)


# -- one Received field -------------------------------------------------------------------


@dataclass
class ReceivedHop:
    """One Received field, read."""

    index: int  # 1 = the oldest Received field of the message
    position: int  # index of the field among all header fields, 0 = top
    raw: str  # the field as written, bounded
    clauses: dict[str, str] = field(default_factory=dict)  # from, by, via, with, id, for
    from_helo: str | None = None  # the name the client gave (HELO/EHLO)
    from_rdns: str | None = None  # the reverse-DNS name the receiver recorded
    from_ip: str | None = None  # the client address the receiver saw
    by_host: str | None = None  # the receiving host
    by_ip: str | None = None  # the receiving host's own address, when it wrote one
    by_names: list[str] = field(default_factory=list)  # by_host and names in by comments
    with_protocol: str | None = None  # ESMTPS, LMTP, "Microsoft SMTP Server", ...
    tls: bool | None = None
    authenticated: bool = False
    timestamp: int | None = None  # unix seconds
    date_text: str = ""
    delay_seconds: int | None = None  # since the nearest older hop with a readable date
    for_address: str | None = None
    problems: list[str] = field(default_factory=list)  # what could not be read

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "position": self.position,
            "raw": self.raw,
            "clauses": dict(self.clauses),
            "from_helo": self.from_helo,
            "from_rdns": self.from_rdns,
            "from_ip": self.from_ip,
            "by_host": self.by_host,
            "by_ip": self.by_ip,
            "by_names": list(self.by_names),
            "with_protocol": self.with_protocol,
            "tls": self.tls,
            "authenticated": self.authenticated,
            "timestamp": self.timestamp,
            "date_text": self.date_text,
            "delay_seconds": self.delay_seconds,
            "for_address": self.for_address,
            "problems": list(self.problems),
        }


#: RFC 3848 / RFC 6531 protocol words: (TLS, authenticated).
_PROTOCOLS: dict[str, tuple[bool, bool]] = {}
for _base in ("SMTP", "ESMTP", "LMTP", "UTF8SMTP", "UTF8LMTP"):
    _PROTOCOLS[_base] = (False, False)
    if _base != "SMTP":
        _PROTOCOLS[_base + "A"] = (False, True)
    _PROTOCOLS[_base + "S"] = (True, False)
    _PROTOCOLS[_base + "SA"] = (True, True)
_PROTOCOLS.update({"HTTPS": (True, False), "SMTPS": (True, False), "HTTP": (False, False)})

#: Comment text that says the connection used TLS (Postfix, Sendmail, Exim, Gmail, Microsoft).
_TLS_MARKERS = (
    "using tls",
    "version=tls",
    "version=ssl",
    "cipher=",
    "transport security",
    "tls1",
    "tlsv1",
)


def _clauses(tokens: list[Token]) -> dict[str, list[Token]]:
    out: dict[str, list[Token]] = {}
    current: str | None = None
    for tok in tokens:
        if tok.kind == ";":
            continue
        word = tok.text.lower() if tok.kind == "word" else ""
        if word in _CLAUSE_WORDS and (current is None or out.get(current)):
            if word in out:  # a keyword seen twice: keep the first clause, join the rest
                current = word
                continue
            current = word
            out[current] = []
            continue
        if current is None:
            if tok.kind == "comment" and set(out) <= {""}:
                out.setdefault("", []).append(tok)  # a comment-only field (qmail)
                continue
            current = "from"
            out[current] = []
        out[current].append(tok)
    return out


def _join(tokens: list[Token]) -> str:
    return bounded_text(" ".join(t.text for t in tokens))


def _read_from(hop: ReceivedHop, tokens: list[Token]) -> None:
    words = [t.text for t in tokens if t.kind in ("word", "quoted")]
    comments = [comment_body(t.text) for t in tokens if t.kind == "comment"]
    first = words[0] if words else None
    helo_override: str | None = None
    rdns: str | None = None
    address: str | None = None
    for body in comments:
        parts = body.replace(",", " ").split()
        for i, part in enumerate(parts):
            low = part.lower()
            if low in ("helo", "ehlo") and i + 1 < len(parts) and helo_override is None:
                helo_override = parts[i + 1]
            elif low.startswith("helo=") and helo_override is None:
                helo_override = part[5:]
            elif address is None:
                found = parse_address(part)
                if found is not None:
                    address = found
                    # "(name [address])": the name the receiver looked up
                    if part.startswith("[") and i > 0 and rdns is None:
                        rdns = _host_name(parts[i - 1])
    if address is None and first is not None:
        address = parse_address(first)
    if helo_override is not None:
        hop.from_helo = bounded_text(helo_override, 255)
        if first is not None and parse_address(first) is None and rdns is None:
            rdns = _host_name(first)  # Exim and qmail write the looked-up name first
    elif first is not None:
        hop.from_helo = bounded_text(first, 255)
    hop.from_rdns = rdns
    hop.from_ip = address


def _read_by(hop: ReceivedHop, tokens: list[Token]) -> None:
    words = [t.text for t in tokens if t.kind == "word"]
    if words:
        hop.by_host = bounded_text(words[0].rstrip(".").lower(), 255)
    names: list[str] = []
    if hop.by_host and _host_name(hop.by_host):
        names.append(hop.by_host)
    for t in tokens:
        if t.kind != "comment":
            continue
        for part in comment_body(t.text).replace(",", " ").split():
            found = parse_address(part)
            if found is not None:
                hop.by_ip = hop.by_ip or found
                continue
            name = _host_name(part)
            if name and _HOST_SHAPE.match(name) and name not in names and len(names) < 4:
                names.append(name)
    hop.by_names = names


def _read_with(hop: ReceivedHop, tokens: list[Token]) -> None:
    words: list[str] = []
    for t in tokens:
        if t.kind != "word":
            break
        words.append(t.text)
    if words:
        hop.with_protocol = bounded_text(" ".join(words), 100)
        known = _PROTOCOLS.get(words[0].upper())
        if known is not None:
            hop.tls, hop.authenticated = known
    if any(t.kind == "word" and t.text.lower() == "tls" for t in tokens):
        hop.tls = True


def parse_received_value(value: str) -> tuple[dict[str, list[Token]], str, bool]:
    """The clauses of one Received value, its date text, and whether a comment or quoted
    string was left open."""
    tokens, unclosed = lex(value)
    last = max((i for i, t in enumerate(tokens) if t.kind == ";"), default=-1)
    date_text = ""
    if last >= 0:
        # The date is the raw text after the last top-level semicolon.
        head_tokens = tokens[:last]
        date_text = " ".join(t.text for t in tokens[last + 1 :])
    else:
        head_tokens = tokens
    return _clauses(head_tokens), date_text.strip(), unclosed


def parse_date(text: str) -> int | None:
    """Unix seconds of an RFC 5322 date, or None (a "-0000" zone is read as UTC)."""
    if not text or len(text) > limits.MAX_RECEIVED_DATE_CHARS:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return int(when.timestamp())
    except (OverflowError, ValueError, OSError):
        return None


#: A control character other than tab.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f]")


def read_hop(f: HeaderField, index: int, position: int) -> ReceivedHop:
    """One Received field, read tolerantly."""
    hop = ReceivedHop(index=index, position=position, raw=field_text(f))
    value = _unfolded(f.value[: limits.MAX_HEADER_BYTES])
    clauses, date_text, unclosed = parse_received_value(value)
    hop.clauses = {k: _join(v) for k, v in clauses.items() if k}
    hop.date_text = bounded_text(date_text, 200)
    if "from" in clauses:
        _read_from(hop, clauses["from"])
    if "by" in clauses:
        _read_by(hop, clauses["by"])
    if "with" in clauses:
        _read_with(hop, clauses["with"])
    if "for" in clauses:
        words = [t.text for t in clauses["for"] if t.kind in ("word", "quoted")]
        if words:
            hop.for_address = bounded_text(words[0].strip("<>,"), 255) or None
    all_comments = " ".join(
        comment_body(t.text).lower() for v in clauses.values() for t in v if t.kind == "comment"
    )
    if hop.tls is not True and any(m in all_comments for m in _TLS_MARKERS):
        hop.tls = True
    if "authenticated" in all_comments and "not authenticated" not in all_comments:
        hop.authenticated = True
    # Problems a reader should know about (RFC 5321 §4.4: every Received ends in a date).
    if unclosed:
        hop.problems.append("a comment or quoted string is not closed")
    if not clauses:
        hop.problems.append("the field is empty")
    elif not any(k in clauses for k in ("from", "by", "")):
        hop.problems.append("it has neither a from nor a by clause")
    if not date_text:
        hop.problems.append("it has no date after a semicolon")
    else:
        hop.timestamp = parse_date(date_text)
        if hop.timestamp is None:
            hop.problems.append(f'its date "{bounded_text(date_text, 80)}" cannot be read')
    if _CONTROL.search(value):
        hop.problems.append("it contains control characters")
    return hop


# -- the path ---------------------------------------------------------------------------------


class ReceivedPath(list[ReceivedHop]):
    """The hops of :func:`read_received` (a list, oldest first), with what reading them
    found: ``findings`` (fields that cannot be read, fields cut at the limit) and
    ``total`` (how many Received fields the message has)."""

    def __init__(
        self,
        hops: list[ReceivedHop] | None = None,
        *,
        findings: list[Finding] | None = None,
        total: int = 0,
    ) -> None:
        super().__init__(hops or [])
        self.findings: list[Finding] = list(findings or [])
        self.total = total

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "hops": [h.to_json() for h in self],
            "findings": [f.to_json() for f in self.findings],
        }


def read_received(message: ParsedMessage) -> ReceivedPath:
    """Every Received field of ``message``, oldest first (at most
    :data:`limits.MAX_RECEIVED_FIELDS`, the newest ones; the cut is reported in
    ``.findings``).  Never raises."""
    located = [(pos, f) for pos, f in enumerate(message.fields) if f.lname == "received"]
    total = len(located)
    kept = located[: limits.MAX_RECEIVED_FIELDS]  # the topmost = the newest
    hops = [read_hop(f, total - k, pos) for k, (pos, f) in enumerate(kept)]
    hops.reverse()
    previous: int | None = None
    for hop in hops:
        if hop.timestamp is not None:
            if previous is not None:
                hop.delay_seconds = hop.timestamp - previous
            previous = hop.timestamp
    findings: list[Finding] = []
    if total > len(kept):
        findings.append(
            note(
                "receivers.received-cut",
                "Only the newest Received fields were read",
                Step.RECEIVERS,
                detail=(
                    f"the message has {total} Received fields; the analyser reads the newest "
                    f"{limits.MAX_RECEIVED_FIELDS}, so the oldest {total - len(kept)} "
                    "(the start of the path) are not shown"
                ),
                spec="RFC 5321 §6.3",
                data={"total": total, "read": len(kept)},
            )
        )
    troubled = [h for h in reversed(hops) if h.problems]
    if troubled:
        listed = [
            f"hop {h.index} (field {h.position + 1} from the top): " + "; ".join(h.problems)
            for h in troubled[: limits.MAX_RECEIVED_LISTED_PROBLEMS]
        ]
        more = len(troubled) - len(listed)
        detail = "; ".join(listed) + (f"; and {more} more" if more > 0 else "")
        findings.append(
            note(
                "receivers.received-unreadable",
                "Some Received fields cannot be fully read",
                Step.RECEIVERS,
                detail=bounded_text(detail),
                spec="RFC 5321 §4.4",
                data={"hops": [h.index for h in troubled]},
            )
        )
    return ReceivedPath(hops, findings=findings, total=total)


# -- the SMTP envelope ------------------------------------------------------------------------


@dataclass
class SmtpContext:
    """The SMTP transaction in which the final receiver took the message from the outside."""

    client_ip: str | None = None
    helo: str | None = None
    mail_from: str | None = None  # "" is the null reverse-path <>
    rcpt_to: list[str] = field(default_factory=list)
    source: str = "none"  # "smtp" | "given" | "reconstructed" | "none"
    detail: str = ""  # where each value came from, one sentence
    receiver: str | None = None  # the by-host of the border hop
    hop_index: int | None = None  # ReceivedHop.index of the border hop
    client_rdns: str | None = None  # the reverse-DNS name the receiver recorded
    internal_hops: list[int] = field(default_factory=list)  # hops skipped as internal
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "client_ip": self.client_ip,
            "helo": self.helo,
            "mail_from": self.mail_from,
            "rcpt_to": list(self.rcpt_to),
            "source": self.source,
            "detail": self.detail,
            "receiver": self.receiver,
            "hop_index": self.hop_index,
            "client_rdns": self.client_rdns,
            "internal_hops": list(self.internal_hops),
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary,
        }


def _internal_reason(hop: ReceivedHop) -> str | None:
    """Why ``hop`` is one of the receiver's internal hops, or None when it came from outside."""
    protocol = (hop.with_protocol or "").upper()
    if protocol.startswith(("LMTP", "UTF8LMTP")) or protocol == "LOCAL":
        return f"hop {hop.index} is a local delivery ({hop.with_protocol})"
    if protocol in ("HTTP", "HTTPS", "MAPI"):
        return f"hop {hop.index} is not an SMTP transaction (with {hop.with_protocol})"
    if hop.from_ip is None:
        return f"hop {hop.index} names no client address"
    if (hop.by_host or "").lower() == "localhost" or (
        hop.by_ip is not None and ipaddress.ip_address(hop.by_ip).is_loopback
    ):
        return f"hop {hop.index} was received by a local content filter ({hop.by_host})"
    if not is_public_address(hop.from_ip):
        return f"hop {hop.index} came from the non-public address {hop.from_ip}"
    client_org = organisation(hop.from_rdns or hop.from_helo)
    if (
        hop.by_ip is not None
        and client_org is not None
        and client_org == organisation(hop.by_host)
        and _same_network(hop.from_ip, hop.by_ip)
    ):
        return (
            f"hop {hop.index} came from {hop.from_ip}, in the receiving host's own network "
            f"and organisation ({client_org})"
        )
    return None


def find_border(hops: list[ReceivedHop]) -> tuple[ReceivedHop | None, list[int], list[str]]:
    """The border hop (see :func:`reconstruct_smtp`), the indexes of the internal hops
    above it (newest first) and why each was skipped."""
    internal: list[int] = []
    reasons: list[str] = []
    for hop in sorted(hops, key=lambda h: h.index, reverse=True):
        reason = _internal_reason(hop)
        if reason is None:
            return hop, internal, reasons
        internal.append(hop.index)
        reasons.append(reason)
    return None, internal, reasons


_NULL_PATH = re.compile(r"\s*<\s*>\s*")


def _address(text: str) -> str | None:
    """The address in a Return-Path / Delivered-To value: "<a@b>" -> "a@b", "<>" -> "";
    None when the value is not exactly one well-formed address.

    Read strictly (:func:`analysis.addresses.parse_address_list`, RFC 5322 §3.4 and §3.6.7):
    this address becomes the MAIL FROM that SPF checks and whose domain DMARC aligns, so a
    value such as ``alice@example.org)<bob@example.org>`` (CVE-2023-27043) or two
    addresses in one field must not yield either of them."""
    if _NULL_PATH.fullmatch(text):
        return ""
    try:
        boxes = parse_address_list(text)
    except AddressSyntaxError:
        return None
    if len(boxes) != 1:
        return None
    return bounded_text(boxes[0].address, 320)


def reconstruct_smtp(message: ParsedMessage, hops: list[ReceivedHop]) -> SmtpContext:
    """The SMTP envelope of the final receiver, read back from its own trace fields.

    Heuristic: scanning the Received fields from the newest down, skip the receiver's
    internal hops -- a client address that is private, loopback, link-local, CGNAT
    (100.64/10), unique-local (fc00::/7) or absent; a local or LMTP delivery; a hop that is
    no SMTP transaction (HTTP, HTTPS: webmail, mailbox stores); a hop into a
    local content filter (received "by localhost" or at a loopback address); or a client in
    the receiving host's own network (IPv4 /24, IPv6 /32) whose name belongs to the same
    organisation (Microsoft 365 relays between its own public IPv6 hosts).  The first hop
    left is the border hop, where the message came in from the outside: its client address
    and HELO are the SMTP client's.  MAIL FROM is the topmost Return-Path (written at final
    delivery, RFC 5321 §4.4); RCPT TO is the border hop's ``for`` clause, else the topmost
    X-Original-To, Delivered-To or X-Apparently-To above the border hop.

    Limits: this is the receiver's testimony, taken as true.  A receiver's trace can be
    wrong (a relay that records its own address, a NAT in front of the MX), and everything
    below the border hop was written by parties the receiver does not control, so it is
    never used here.  Mail between two customers of one provider looks internal and may
    put the border too low; an MX that records no client address puts it too high.
    """
    path_hops = sorted(hops, key=lambda h: h.index)
    border, internal, reasons = find_border(path_hops)
    if not path_hops:
        ctx = SmtpContext(
            source="none",
            detail="the message has no Received field, so nothing records how it arrived",
        )
        _finish_none(ctx)
        return ctx
    if border is None:
        ctx = SmtpContext(
            source="none",
            internal_hops=internal,
            detail=bounded_text(
                "no Received field shows the message arriving from a public address ("
                + "; ".join(reasons[: limits.MAX_RECEIVED_LISTED_PROBLEMS])
                + (
                    f"; and {len(reasons) - limits.MAX_RECEIVED_LISTED_PROBLEMS} more"
                    if len(reasons) > limits.MAX_RECEIVED_LISTED_PROBLEMS
                    else ""
                )
                + ")"
            ),
        )
        _finish_none(ctx)
        return ctx

    receiver = border.by_host
    parts = [
        f"client {border.from_ip}"
        + (f" and HELO {border.from_helo}" if border.from_helo else "")
        + f" from the Received field added by {receiver or 'an unnamed host'} (hop {border.index})"
    ]
    mail_from: str | None = None
    return_path = next(
        ((pos, f) for pos, f in enumerate(message.fields) if f.lname == "return-path"), None
    )
    if return_path is not None:
        mail_from = _address(return_path[1].text())
        if mail_from is None:
            parts.append("the Return-Path is not one well-formed address, so MAIL FROM is unknown")
        elif return_path[0] > border.position:
            parts.append(
                "MAIL FROM from a Return-Path that lies below that Received field "
                "(written by an earlier system)"
            )
        else:
            parts.append("MAIL FROM from the Return-Path")
    else:
        parts.append("no Return-Path, so MAIL FROM is unknown")
    rcpt: list[str] = []
    if border.for_address:
        rcpt = [border.for_address]
        parts.append("RCPT TO from that Received field's for clause")
    else:
        for name, label in (
            ("x-original-to", "X-Original-To"),
            ("delivered-to", "Delivered-To"),
            ("x-apparently-to", "X-Apparently-To"),
        ):
            read = [
                # Yahoo writes "X-Apparently-To: addr; date": the address is before the ";".
                _address(f.text().split(";", 1)[0] if name == "x-apparently-to" else f.text())
                for pos, f in enumerate(message.fields)
                if f.lname == name and pos < border.position
            ]
            found = [a for a in read if a]  # not-well-formed values (None) are not taken
            if found:
                rcpt = found[:1]
                parts.append(f"RCPT TO from the topmost {label}")
                break
        else:
            parts.append("no recipient recorded")
    ctx = SmtpContext(
        client_ip=border.from_ip,
        helo=border.from_helo,
        mail_from=mail_from,
        rcpt_to=rcpt,
        source="reconstructed",
        detail=bounded_text("; ".join(parts)),
        receiver=receiver,
        hop_index=border.index,
        client_rdns=border.from_rdns,
        internal_hops=internal,
    )
    ctx.findings.append(
        note(
            "receivers.envelope-reconstructed",
            "The SMTP envelope was read back from the receiver's Received fields",
            Step.RECEIVERS,
            severity=Severity.INFO,
            detail=ctx.detail,
            spec="RFC 5321 §4.4",
            data={"hop": border.index, "internal_hops": internal},
        )
    )
    sender = "<>" if mail_from == "" else (f"<{mail_from}>" if mail_from else "unknown")
    ctx.summary = bounded_text(
        f"SMTP envelope (reconstructed): client {border.from_ip}"
        + (f" (HELO {border.from_helo})" if border.from_helo else "")
        + f", MAIL FROM {sender}, RCPT TO "
        + (", ".join(f"<{r}>" for r in rcpt) if rcpt else "unknown")
        + f", as recorded by {receiver or 'the receiving host'}."
    )
    return ctx


def _finish_none(ctx: SmtpContext) -> None:
    ctx.findings.append(
        note(
            "receivers.no-border-hop",
            "No Received field shows where the message entered the receiving system",
            Step.RECEIVERS,
            detail=ctx.detail,
            spec="RFC 5321 §4.4",
        )
    )
    ctx.summary = bounded_text(
        f"SMTP envelope: unknown — {ctx.detail}; give the envelope (client address, HELO, "
        "MAIL FROM, RCPT TO) by hand to check SPF and the chain of custody."
    )
