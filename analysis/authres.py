"""The receivers' verdicts: every Authentication-Results and ARC-Authentication-Results
field, and how far each can be trusted.

An Authentication-Results field (RFC 8601) is a receiver's testimony: "I, the system
named by this authserv-id, checked DKIM, SPF, DMARC ... and got these results".  It is only
meaningful inside the administrative domain (ADMD) of that authserv-id (RFC 8601 §1.5,
§5): anybody can write such a field, so a reader must ask who wrote each one.  An
ARC-Authentication-Results field (RFC 8617 §4.1.1) is the same testimony, numbered with
``i=`` and sealed by an ARC signer; its trust follows the ARC chain.

Theory of operation
-------------------
* Reading: each field is parsed with the ``authres`` package (the RFC 8601 grammar).  Real
  mail is full of fields the package refuses -- Microsoft 365 writes no authserv-id, Yahoo
  properties without a ptype, trailing semicolons, ``x-`` methods with odd comments -- so
  every field is also read by a tolerant reader of our own (method=result, reason=,
  ptype.property=value, comments).  A refused field is reported with its raw text, the
  package's error and what the tolerant reader found.  The package drops comments, so
  they always come from the tolerant reader.  Work is bounded: at most
  :data:`limits.MAX_AUTHRES_FIELDS` fields, :data:`limits.MAX_AUTHRES_FIELD_BYTES` octets
  per field (a longer one is shown, not parsed),
  :data:`limits.MAX_AUTHRES_METHODS_PER_FIELD` results per field; only comments nested at
  most :data:`limits.MAX_AUTHRES_COMMENT_DEPTH` deep are handed to the package (its parser
  recurses per nesting level), and at most
  :data:`limits.MAX_AUTHRES_STRICT_BYTES` octets per message (it costs about 10 µs per octet).
* Placement: every field lies between two Received fields.  Counting from the oldest
  Received (hop 1), a field in "slot j" lies above hop j's Received and below hop j+1's:
  it was written after hop j's receiver took the message and before hop j+1's Received
  was prepended, so by hop j's receiver (above its own Received) or by hop j+1's (below
  its own Received, as Gmail does).  Slot 0 is below every Received: nobody had received
  the message yet.
* Attribution: a field belongs to the hop whose by-host its authserv-id names (the same
  host, else the same registered-looking parent, :func:`analysis.received.organisation`),
  preferring a hop in its slot; with no such name, to the nearer of the Received just
  below and just above it (a tie goes to the one below: most receivers write their field
  just above their own Received).
* Trust (RFC 8601 §5, §7): a receiver must remove fields claiming its own authserv-id when
  mail enters, and many do not, so

  - ``untrusted``: the field lies in slot 0 (added by the sender); or it names a receiver
    that only got the message at a hop above slot j+1 (it was already in the message:
    forged or copied); or it claims the final receiver's authserv-id but lies below the
    Received of the hop before the border hop (:func:`analysis.received.find_border`),
    outside the final receiver's part of the header;
  - ``upstream``: a well-placed field of another receiver: that system's testimony, worth
    what that system is worth to the reader; every ARC-Authentication-Results field is
    ``upstream`` too, its trust following the ARC chain (RFC 8617 §5.2), not placement;
  - ``trusted``: the final receiver's own well-placed fields.

  The final receiver is named by the topmost Authentication-Results field that lies in
  its part of the header (at or above the slot of the hop before the border) and does not
  name only hops older than the border hop.  A field that names no authserv-id at all
  (Microsoft 365) claims nobody's name: it is the final receiver's only when it is
  attributed to the border hop or a newer one, and otherwise ``upstream``.
* Claims: the trusted fields' results, by method.  When they show dmarc=fail with
  arc=pass, or an explicit override marker (Microsoft's compauth reason=130, a
  ``dis=NONE`` under p=REJECT or p=QUARANTINE, an override named in a comment or property),
  the receiver delivered the message although DMARC failed, because an ARC chain or a local
  policy vouched for it (RFC 8617 §7.2.1; RFC 9989's local policy override).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import authres  # type: ignore[import-untyped]

from . import limits
from .findings import Finding, Severity, Step, note
from .message import HeaderField, ParsedMessage
from .received import (
    ReceivedHop,
    Token,
    bounded_text,
    comment_body,
    field_text,
    find_border,
    lex,
    organisation,
)

__all__ = [
    "AuthResField",
    "MethodResult",
    "ReceiverClaims",
    "parse_authres_field",
    "read_receivers",
]

#: How much of an over-long field is scanned for its ``i=`` and authserv-id.
_HEAD_CHARS = 1024

AR = "Authentication-Results"
AAR = "ARC-Authentication-Results"

TRUSTED = "trusted"
UPSTREAM = "upstream"
UNTRUSTED = "untrusted"


# -- values -----------------------------------------------------------------------------------


@dataclass
class MethodResult:
    """One ``method=result`` clause of a field (RFC 8601 §2.2 resinfo)."""

    method: str  # dkim, spf, dmarc, arc, dkim2, iprev, auth, bimi, compauth, x-...
    result: str
    reason: str | None = None
    comment: str | None = None  # the clause's comments, joined
    properties: dict[str, str] = field(default_factory=dict)  # "smtp.mailfrom" -> value

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "result": self.result,
            "reason": self.reason,
            "comment": self.comment,
            "properties": dict(self.properties),
        }


@dataclass
class AuthResField:
    """One Authentication-Results or ARC-Authentication-Results field."""

    position: int  # index among all header fields, 0 = top
    kind: str  # "Authentication-Results" | "ARC-Authentication-Results"
    instance: int | None  # the AAR's i=, else None
    authserv_id: str  # lower case; "" when the field names none (Microsoft 365)
    version: str | None
    methods: list[MethodResult]
    raw: str  # the field as written, bounded
    parse_error: str | None  # None, or a sentence
    parsed_by: str  # "authres" | "fallback"
    attributed_hop: int | None = None  # ReceivedHop.index
    trust: str = UNTRUSTED  # "trusted" | "upstream" | "untrusted"
    trust_reason: str = ""
    methods_not_read: int = 0  # results past limits.MAX_AUTHRES_METHODS_PER_FIELD
    none_result: bool = False  # the field says "none" (RFC 8601 §2.2: no method applied)

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "kind": self.kind,
            "instance": self.instance,
            "authserv_id": self.authserv_id,
            "version": self.version,
            "methods": [m.to_json() for m in self.methods],
            "raw": self.raw,
            "parse_error": self.parse_error,
            "parsed_by": self.parsed_by,
            "attributed_hop": self.attributed_hop,
            "trust": self.trust,
            "trust_reason": self.trust_reason,
            "methods_not_read": self.methods_not_read,
            "none_result": self.none_result,
        }


@dataclass
class ReceiverClaims:
    """What the receivers wrote, and what the final receiver claims."""

    fields: list[AuthResField] = field(default_factory=list)
    receiver_authserv_id: str | None = None  # None: no field of the final receiver
    claims: dict[str, list[MethodResult]] = field(default_factory=dict)
    arc_override: str | None = None
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""

    def claims_for(self, method: str) -> list[MethodResult]:
        """The final receiver's trusted results for ``method`` (lower case), top first."""
        return list(self.claims.get(method.lower(), []))

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": [f.to_json() for f in self.fields],
            "receiver_authserv_id": self.receiver_authserv_id,
            "claims": {k: [m.to_json() for m in v] for k, v in self.claims.items()},
            "arc_override": self.arc_override,
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary,
        }


# -- reading one field --------------------------------------------------------------------------


@dataclass
class _Reading:
    authserv_id: str = ""
    version: str | None = None
    methods: list[MethodResult] = field(default_factory=list)
    not_read: int = 0
    saw_none: bool = False  # the field says "none": no method was applied
    problems: list[str] = field(default_factory=list)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        inner = text[1:-1]
    elif text.startswith('"'):
        inner = text[1:]
    else:
        return text
    out: list[str] = []
    k = 0
    while k < len(inner):
        if inner[k] == "\\" and k + 1 < len(inner):
            k += 1
        out.append(inner[k])
        k += 1
    return "".join(out)


def _segments(tokens: list[Token]) -> list[list[Token]]:
    out: list[list[Token]] = [[]]
    for t in tokens:
        if t.kind == ";":
            out.append([])
        else:
            out[-1].append(t)
    return out


def _glue(tokens: list[Token]) -> list[Token]:
    """Join "dkim / 1" and "policy . expired" (RFC 8601 allows CFWS around "/" and ".")
    into one word, and a quoted local-part with its "@domain"."""
    out: list[Token] = []
    for t in tokens:
        if out and out[-1].kind in ("word", "quoted") and t.kind == "word":
            prev = out[-1]
            if (
                prev.text.endswith((".", "/"))
                or t.text.startswith((".", "/"))
                or (prev.kind == "quoted" and t.text.startswith("@"))
            ):
                out[-1] = Token("word", prev.text + t.text, prev.start)
                continue
        out.append(t)
    return out


def _read_resinfo(tokens: list[Token]) -> tuple[MethodResult | None, list[str]]:
    """One ``method=result [reason=...] [ptype.property=value ...]`` clause, tolerantly."""
    comments = [
        bounded_text(" ".join(comment_body(t.text).split()), 500)
        for t in tokens
        if t.kind == "comment"
    ]
    items = _glue([t for t in tokens if t.kind != "comment"])
    pairs: list[tuple[str, str]] = []
    loose: list[str] = []
    k = 0
    while k < len(items):
        t = items[k]
        if t.kind in ("word", "quoted") and k + 1 < len(items) and items[k + 1].kind == "=":
            value = ""
            step = 2
            if k + 2 < len(items) and items[k + 2].kind in ("word", "quoted"):
                value = _unquote(items[k + 2].text)
                step = 3
            pairs.append((t.text, value))
            k += step
        else:
            loose.append(t.text)
            k += 1
    problems: list[str] = []
    if not pairs:
        if [w.lower() for w in loose] != ["none"] and (loose or comments):
            problems.append(
                f'"{bounded_text(" ".join(loose) or "(comment only)", 60)}" is no result'
            )
        return None, problems
    method, result = pairs[0]
    if loose:
        problems.append(f'stray text "{bounded_text(" ".join(loose), 60)}"')
    m = MethodResult(
        method=bounded_text(method.split("/", 1)[0].strip().lower(), 64),
        result=bounded_text(result.lower(), 64),
        comment=bounded_text(" ".join(comments)) if comments else None,
    )
    for key, value in pairs[1:]:
        lkey = key.lower()
        if lkey == "reason" and m.reason is None:
            m.reason = bounded_text(value, 500)
        elif len(m.properties) < 32:
            if "." not in lkey:
                problems.append(f'property "{bounded_text(lkey, 40)}" has no ptype')
            m.properties.setdefault(bounded_text(lkey.replace(" ", ""), 64), bounded_text(value))
    return m, problems


def _tolerant(value: str) -> _Reading:
    """Read what can be read of an Authentication-Results value (never raises)."""
    reading = _Reading()
    tokens, unclosed = lex(value, split_eq=True)
    if unclosed:
        reading.problems.append("a comment or quoted string is not closed")
    segments = _segments(tokens)
    first = segments[0]
    rest = segments[1:]
    plain = [t for t in first if t.kind != "comment"]
    if any(t.kind == "=" for t in plain):
        # No authserv-id (Microsoft 365 writes "spf=pass ...; dkim=pass ..."): the first
        # segment is already a result.
        reading.problems.append("the field names no authserv-id")
        rest = segments
    else:
        words = [t.text for t in plain if t.kind in ("word", "quoted")]
        if words:
            reading.authserv_id = bounded_text(_unquote(words[0]).lower(), 255)
            if len(words) > 1 and words[1].isdigit() and len(words[1]) <= 4:
                reading.version = words[1]
            if len(words) > 1 + (reading.version is not None):
                reading.problems.append("unexpected words after the authserv-id")
        else:
            reading.problems.append("the field names no authserv-id")
    empty = False
    for seg in rest:
        if not seg:
            empty = True  # a trailing or doubled semicolon
            continue
        if len(reading.methods) >= limits.MAX_AUTHRES_METHODS_PER_FIELD:
            if any(t.kind == "=" for t in seg):
                reading.not_read += 1
            continue
        if [t.text.lower() for t in seg if t.kind != "comment"] == ["none"]:
            reading.saw_none = True
            continue
        m, problems = _read_resinfo(seg)
        reading.problems.extend(problems[:2])
        if m is not None:
            reading.methods.append(m)
    if empty:
        reading.problems.insert(0, "it has an empty clause (a trailing or doubled semicolon)")
    reading.problems = list(dict.fromkeys(reading.problems))
    if len(reading.problems) > 5:
        reading.problems[5:] = [f"{len(reading.problems) - 5} more problems"]
    return reading


def _comment_depth(text: str) -> int:
    if "(" not in text:
        return 0
    depth = deepest = 0
    escaped = False
    for c in text:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif c == ")":
            depth = max(0, depth - 1)
    return deepest


_FEATURES: Any = None

#: A character outside printable ASCII and tab.
_NOT_PRINTABLE = re.compile(r"[^\t -~]")

#: The package's patterns, compiled once each (``re.compile("^" + pattern, re.I)``), or
#: None for a pattern with a top-level "|", which is anchored only in its first branch.
_PATTERNS: dict[str, re.Pattern[str] | None] = {}


def _anchored_throughout(pattern: str) -> bool:
    """Whether ``"^" + pattern`` can only match at the start: no "|" outside brackets."""
    depth = 0
    escaped = in_class = False
    for c in pattern:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return False
    return True


def _fast_header_class(base: Any) -> Any:
    """The package's header class with its one hot method made cheaper, same results.

    ``authres`` reads a value by consuming it pattern by pattern: each step compiles
    ``"^" + pattern`` (a cache lookup in :mod:`re`) and runs ``sub`` with a callback that
    keeps the match, copying the rest of the text.  A pattern anchored throughout matches
    only at the start, so ``match`` and a slice give the same match and the same rest,
    from a pattern compiled once; any other pattern goes the package's own way.
    """

    class FastHeader(base):  # type: ignore[misc]
        _parse_text: str  # the part of the value not read yet (the package's attribute)

        def _parse_pattern(self, pattern: Any) -> Any:
            regexp = _PATTERNS.get(pattern) if isinstance(pattern, str) else None
            if regexp is None:
                if not isinstance(pattern, str) or pattern in _PATTERNS:
                    return super()._parse_pattern(pattern)
                if not _anchored_throughout(pattern):
                    _PATTERNS[pattern] = None
                    return super()._parse_pattern(pattern)
                regexp = _PATTERNS[pattern] = re.compile("^" + pattern, re.I)
            text = self._parse_text
            match = regexp.match(text)
            if match is not None and match.end():
                self._parse_text = text[match.end() :]
            return match

        def _parse_rfc5322_cfws(self) -> Any:
            # Neither FWS nor a comment can start here: the package's three attempts
            # would all fail and give None.
            text = self._parse_text
            if not text or text[0] not in _CFWS_STARTS:
                return None
            return super()._parse_rfc5322_cfws()

    return FastHeader


_CFWS_STARTS = frozenset(" \t\r\n(")


def _strict(value: str) -> tuple[_Reading | None, str | None]:
    """The ``authres`` package's reading of a value, or its refusal as a sentence.

    The one boundary with the untyped package: its objects are copied into our values here.
    """
    global _FEATURES
    if _NOT_PRINTABLE.search(value):
        return None, "it contains characters outside printable ASCII"
    if _comment_depth(value) > limits.MAX_AUTHRES_COMMENT_DEPTH:
        return None, f"its comments are nested more than {limits.MAX_AUTHRES_COMMENT_DEPTH} deep"
    if _FEATURES is None:
        features = authres.all_features()
        features.header_class = _fast_header_class(features.header_class)
        _FEATURES = features
    try:
        header = _FEATURES.parse_value(value)
        reading = _Reading(
            authserv_id=bounded_text(str(header.authserv_id or ""), 255),
            version=str(header.version) if header.version else None,
        )
        for r in list(header.results)[: limits.MAX_AUTHRES_METHODS_PER_FIELD + 1]:
            if len(reading.methods) >= limits.MAX_AUTHRES_METHODS_PER_FIELD:
                reading.not_read = len(header.results) - limits.MAX_AUTHRES_METHODS_PER_FIELD
                break
            m = MethodResult(
                method=bounded_text(str(r.method), 64),
                result=bounded_text(str(r.result), 64),
                reason=bounded_text(str(r.reason), 500) if r.reason else None,
            )
            for p in list(r.properties)[:32]:
                key = bounded_text(f"{p.type}.{p.name}", 64)
                m.properties.setdefault(key, bounded_text(str(p.value or "")))
            reading.methods.append(m)
    except Exception as exc:  # the package's SyntaxError & co, and any bug of its own
        message = " ".join(str(exc).split()) or type(exc).__name__
        return None, bounded_text(message, 200)
    return reading, None


def _instance(value: str) -> tuple[int | None, str, str | None]:
    """Split an ARC-Authentication-Results value: ``i=N;`` first (RFC 8617 §4.1.1).
    Returns the instance, the rest (an Authentication-Results value) and a problem."""
    tokens, _ = lex(value[:_HEAD_CHARS], split_eq=True)
    semi = next((t for t in tokens if t.kind == ";"), None)
    head = [t for t in tokens[: tokens.index(semi)] if t.kind != "comment"] if semi else []
    if (
        semi is not None
        and len(head) == 3
        and head[0].text.lower() == "i"
        and head[1].kind == "="
        and head[2].text.isdigit()
        and len(head[2].text) <= 4
    ):
        return int(head[2].text), value[semi.start + 1 :], None
    return None, value, "it does not start with the instance tag i=N; (RFC 8617 §4.1.1)"


def parse_authres_field(f: HeaderField, position: int, *, strict: bool = True) -> AuthResField:
    """Read one Authentication-Results / ARC-Authentication-Results field.  Never raises.

    ``strict=False`` skips the ``authres`` package (the message's budget for it is spent)."""
    kind = AAR if f.lname == "arc-authentication-results" else AR
    raw = field_text(f)
    size = len(f.raw)
    if size > limits.MAX_AUTHRES_FIELD_BYTES:
        head = f.value[:_HEAD_CHARS].replace(b"\r\n", b"").decode("utf-8", "replace")
        instance, rest, _ = _instance(head) if kind == AAR else (None, head, None)
        reading = _tolerant(rest.split(";", 1)[0] + ";")
        return AuthResField(
            position=position,
            kind=kind,
            instance=instance,
            authserv_id=reading.authserv_id,
            version=reading.version,
            methods=[],
            raw=raw,
            parse_error=(
                f"The field is {size} octets long; fields longer than "
                f"{limits.MAX_AUTHRES_FIELD_BYTES} octets are shown, not parsed."
            ),
            parsed_by="fallback",
        )
    value = f.value.replace(b"\r\n", b"").decode("utf-8", "replace")
    problems: list[str] = []
    instance = None
    if kind == AAR:
        instance, value, problem = _instance(value)
        if problem:
            problems.append(problem)
    tolerant = _tolerant(value)
    strict_reading, refusal = (
        _strict(value.strip())
        if strict
        else (
            None,
            f"not run: the message's fields exceed {limits.MAX_AUTHRES_STRICT_BYTES} octets",
        )
    )
    if strict_reading is not None:
        _add_comments(strict_reading, tolerant)
        reading, parsed_by = strict_reading, "authres"
    else:
        reading, parsed_by = tolerant, "fallback"
        problems.append(f"it does not follow the RFC 8601 grammar (authres: {refusal})")
        problems.extend(tolerant.problems)
    error: str | None = None
    if problems:
        error = bounded_text(_sentence(problems), 1000)
    return AuthResField(
        position=position,
        kind=kind,
        instance=instance,
        authserv_id=reading.authserv_id,
        version=reading.version,
        methods=reading.methods,
        raw=raw,
        parse_error=error,
        parsed_by=parsed_by,
        methods_not_read=reading.not_read,
        none_result=tolerant.saw_none and not reading.methods,
    )


def _sentence(problems: list[str]) -> str:
    text = "; ".join(problems)
    return text[:1].upper() + text[1:] + "."


def _add_comments(strict: _Reading, tolerant: _Reading) -> None:
    """The package drops comments: take them from the tolerant reading when both readings
    agree clause by clause, with any property the package dropped (a ptype it does not
    know)."""
    if [(m.method, m.result) for m in strict.methods] != [
        (m.method, m.result) for m in tolerant.methods
    ]:
        return
    for mine, theirs in zip(strict.methods, tolerant.methods, strict=True):
        mine.comment = theirs.comment
        for key, value in theirs.properties.items():
            if len(mine.properties) < 32:
                mine.properties.setdefault(key, value)


# -- placement and trust ------------------------------------------------------------------------


class _Path:
    """The Received fields by position, for placing the other fields among them."""

    def __init__(self, hops: list[ReceivedHop]) -> None:
        self.hops = sorted(hops, key=lambda h: h.position)  # top (newest) first
        self.by_index = {h.index: h for h in hops}
        self.oldest = min((h.index for h in hops), default=0)
        self.cut = self.oldest > 1
        border, _, _ = find_border(hops)
        self.border = border.index if border is not None else None

    def slot(self, position: int) -> int:
        """The index of the nearest Received below ``position`` (0: below them all)."""
        below = [h for h in self.hops if h.position > position]
        if below:
            return below[0].index
        return self.oldest - 1 if self.hops else 0

    def near(self, position: int) -> ReceivedHop | None:
        """The nearer of the Received fields just below and just above ``position``."""
        below = next((h for h in self.hops if h.position > position), None)
        above = next((h for h in reversed(self.hops) if h.position < position), None)
        if below is None or above is None:
            return above or below
        # A tie goes to the hop below: most receivers write their field just above their
        # own Received (milters, Microsoft 365); Gmail's style below it is found by name.
        if below.position - position <= position - above.position:
            return below
        return above

    def named(self, authserv_id: str) -> list[ReceivedHop]:
        """The hops whose receiving host the authserv-id names: the same host, else the
        same registered-looking parent."""
        if not authserv_id:
            return []
        exact = [h for h in self.hops if authserv_id in h.by_names or authserv_id == h.by_host]
        if exact:
            return exact
        org = organisation(authserv_id)
        if org is None:
            return []
        return [h for h in self.hops if any(organisation(n) == org for n in h.by_names)]


@dataclass
class _Placement:
    slot: int
    hop: ReceivedHop | None  # attributed hop
    late_receiver: ReceivedHop | None  # the named receiver got the message above the slot


def _place(path: _Path, f: AuthResField) -> _Placement:
    j = path.slot(f.position)
    if j == 0 and path.hops and not path.cut:
        return _Placement(0, None, None)  # below every Received: nobody had received it
    named = path.named(f.authserv_id)
    in_slot = [h for h in named if h.index in (j, j + 1)]
    if in_slot:
        best = min(in_slot, key=lambda h: abs(h.position - f.position))
        return _Placement(j, best, None)
    later = [h for h in named if h.index > j + 1]
    if later:
        first = min(later, key=lambda h: h.index)
        return _Placement(j, first, first)
    return _Placement(j, path.near(f.position), None)


def _judge(
    path: _Path, f: AuthResField, placement: _Placement, receiver_id: str | None
) -> tuple[str, str, str | None]:
    """(trust, reason, finding code) of one field."""
    where = f"field {f.position + 1} from the top"
    if f.kind == AAR:
        instance = f.instance if f.instance is not None else "?"
        return (
            UPSTREAM,
            f"An ARC sealer's testimony (i={instance}): how far it can be trusted follows "
            "from validating the ARC chain (RFC 8617 §5.2), not from where it sits.",
            None,
        )
    if not path.hops:
        return (
            UNTRUSTED,
            "The message has no Received field, so nothing shows which receiver wrote this "
            f"field ({where}).",
            None,  # one receivers.no-received finding covers them all
        )
    if placement.slot == 0 and not path.cut:
        return (
            UNTRUSTED,
            f"It lies below the oldest Received field ({where}): it was written before any "
            "receiver had the message, so the sender added it.",
            "receivers.sender-added",
        )
    name = f.authserv_id or "(no authserv-id)"
    b = path.border
    is_final = receiver_id is not None and f.authserv_id == receiver_id
    if is_final and not f.authserv_id and not _inside(path, placement):
        is_final = False  # a field naming nobody belongs to whoever wrote it there
    if is_final and f.authserv_id and b is not None and placement.slot < b - 1:
        before = path.by_index.get(b - 1)
        return (
            UNTRUSTED,
            f"It claims the final receiver's authserv-id {name} but lies below the Received "
            f"field of hop {b - 1} (by {_by(before)}), which was written before the message "
            f"reached the final receiver at hop {b}: it was already in the message when it "
            "arrived (forged or copied), and the receiver should have removed it "
            "(RFC 8601 §5).",
            "receivers.forged-or-copied",
        )
    late = placement.late_receiver
    if late is not None:
        prior = path.by_index.get(placement.slot + 1)
        return (
            UNTRUSTED,
            f"It claims to come from {name}, which received the message only at hop "
            f"{late.index}, but it lies below the Received field of hop {placement.slot + 1} "
            f"(by {_by(prior)}), written before that: it was already in the message (forged "
            "or copied).",
            "receivers.forged-or-copied",
        )
    hop = placement.hop
    at = f"hop {hop.index} (by {_by(hop)})" if hop is not None else "an unidentified hop"
    if is_final:
        return (
            TRUSTED,
            f"The final receiver's own field ({name}), written at {at}, inside the part of "
            "the header the final receiver wrote.",
            None,
        )
    if not f.authserv_id:
        return (
            UPSTREAM,
            f"A field that names no authserv-id, written at {at}: an earlier system's "
            "testimony, worth what that system is worth to you.",
            None,
        )
    return (
        UPSTREAM,
        f"Testimony of {name}, written at {at} before the message reached the final "
        "receiver: trust it only as far as you trust that system (RFC 8601 §7.1).",
        None,
    )


def _by(hop: ReceivedHop | None) -> str:
    if hop is None:
        return "an unread host"
    return hop.by_host or "an unnamed host"


def _inside(path: _Path, placement: _Placement) -> bool:
    """Whether a field sits in the part of the header the final receiver wrote: above the
    Received of the hop before the border, and, when it is attributed to a hop, to the
    border hop or a newer one."""
    b = path.border
    if b is None:
        return True
    if placement.slot < b - 1:
        return False
    return placement.hop is None or placement.hop.index >= b


def _final_receiver(
    path: _Path, fields: list[AuthResField], placements: dict[int, _Placement]
) -> str | None:
    b = path.border
    for f in fields:  # top first
        if f.kind != AR:
            continue
        placement = placements[f.position]
        j = placement.slot
        if not path.hops or (j == 0 and not path.cut):
            continue
        if b is not None and j < b - 1:
            continue
        if not f.authserv_id and not _inside(path, placement):
            continue
        named = path.named(f.authserv_id)
        if b is not None and named and all(h.index < b for h in named):
            continue  # an upstream system's field that happens to sit high
        return f.authserv_id
    return None


# -- ARC and local-policy overrides -------------------------------------------------------------

_OVERRIDE_WORDS = (
    "override",
    "local_policy",
    "local-policy",
    "trusted_forwarder",
    "mailing_list",
    "forwarded",
)


def _comment_tags(comment: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (comment or "").replace(",", " ").split():
        if "=" in part:
            key, _, value = part.partition("=")
            out.setdefault(key.lower(), value.lower())
    return out


def _override(receiver: str, claims: dict[str, list[MethodResult]]) -> str | None:
    """A sentence when the final receiver's own results show it delivered a message that
    failed DMARC because of ARC or a local policy (RFC 8617 §7.2.1), else None."""
    failed = [d for d in claims.get("dmarc", []) if d.result == "fail"]
    arc_pass = any(a.result == "pass" for a in claims.get("arc", []))
    markers: list[str] = []
    by_arc = False
    if failed and arc_pass:
        markers.append("dmarc=fail together with arc=pass")
        by_arc = True
    for c in claims.get("compauth", []):
        if c.result == "pass" and (c.reason or "").strip() == "130":
            markers.append("compauth=pass reason=130 (Microsoft: ARC overrode the DMARC failure)")
            by_arc = True
            break
    for d in failed:
        tags = _comment_tags(d.comment)
        if tags.get("arc") == "pass" or d.properties.get("arc", "").lower() == "pass":
            markers.append("the dmarc=fail result itself says arc=pass")
            by_arc = True
        if tags.get("p") in ("reject", "quarantine") and tags.get("dis") == "none":
            markers.append(f"dis=NONE under p={tags['p'].upper()}")
        action = d.properties.get("action", "").lower()
        if action in ("oreject", "oquarantine"):
            markers.append(f"action={action} (Microsoft: the DMARC policy was overridden)")
        text = " ".join(
            [d.comment or ""] + [f"{k}={v}" for k, v in d.properties.items() if k != "header.from"]
        ).lower()
        named = [w for w in _OVERRIDE_WORDS if w in text]
        if named:
            markers.append(f"the dmarc result names an override ({named[0]})")
    for results in claims.values():
        for r in results:
            status = r.properties.get("arc_overridden_status", "")
            if status and not status.upper().startswith("NOT"):
                markers.append(f"arc_overridden_status={status}")
                by_arc = True
    if not markers:
        return None
    why = (
        "because an ARC chain it trusts vouched for the message (RFC 8617 §7.2.1)"
        if by_arc
        else "because its local policy overrode the DMARC policy (RFC 9989)"
    )
    return bounded_text(
        f"The final receiver {receiver or '(no authserv-id)'} reports "
        + "; ".join(dict.fromkeys(markers))
        + f": it delivered the message although DMARC failed, {why}."
    )


# -- the whole message ----------------------------------------------------------------------------


def read_receivers(message: ParsedMessage, hops: list[ReceivedHop]) -> ReceiverClaims:
    """Every Authentication-Results and ARC-Authentication-Results field of ``message``,
    placed among its Received fields (``hops``, from :func:`analysis.received.read_received`)
    and judged.  Never raises."""
    located = [
        (pos, f)
        for pos, f in enumerate(message.fields)
        if f.lname in ("authentication-results", "arc-authentication-results")
    ]
    out = ReceiverClaims()
    if not located:
        out.findings.append(
            note(
                "receivers.no-authres",
                "No receiver recorded its authentication results in the message",
                Step.RECEIVERS,
                severity=Severity.INFO,
                detail=(
                    "the message has no Authentication-Results or ARC-Authentication-Results field"
                ),
                spec="RFC 8601 §2",
            )
        )
        out.summary = (
            "Receivers: the message carries no Authentication-Results field, so no receiver's "
            "verdict is recorded in it."
        )
        return out
    if len(located) > limits.MAX_AUTHRES_FIELDS:
        out.findings.append(
            note(
                "receivers.too-many-fields",
                "Only the topmost Authentication-Results fields were read",
                Step.RECEIVERS,
                detail=(
                    f"the message has {len(located)} Authentication-Results and "
                    f"ARC-Authentication-Results fields; the analyser reads the topmost "
                    f"{limits.MAX_AUTHRES_FIELDS}"
                ),
                spec="RFC 8601 §5",
                data={"total": len(located)},
            )
        )
        located = located[: limits.MAX_AUTHRES_FIELDS]
    fields: list[AuthResField] = []
    budget = limits.MAX_AUTHRES_STRICT_BYTES
    for pos, hf in located:
        fields.append(parse_authres_field(hf, pos, strict=len(hf.raw) <= budget))
        budget -= min(len(hf.raw), budget)
    path = _Path(hops)
    placements = {f.position: _place(path, f) for f in fields}
    receiver_id = _final_receiver(path, fields, placements)
    out.receiver_authserv_id = receiver_id
    codes: dict[int, str] = {}
    for f in fields:
        placement = placements[f.position]
        f.attributed_hop = placement.hop.index if placement.hop is not None else None
        f.trust, f.trust_reason, code = _judge(path, f, placement, receiver_id)
        if code is not None:
            codes[f.position] = code
    out.fields = fields
    for f in fields:
        if f.trust == TRUSTED:
            for m in f.methods:
                out.claims.setdefault(m.method, []).append(m)
    if receiver_id is not None:
        out.arc_override = _override(receiver_id, out.claims)
    out.findings.extend(_findings(path, out, codes))
    out.summary = _summary(out)
    return out


def _lower_first(text: str | None) -> str:
    return (text[:1].lower() + text[1:]) if text else ""


def _where(f: AuthResField) -> str:
    name = f.authserv_id or "no authserv-id"
    return f"{f.kind} field {f.position + 1} from the top ({name})"


def _findings(path: _Path, out: ReceiverClaims, codes: dict[int, str]) -> list[Finding]:
    found: list[Finding] = []
    lenient: list[AuthResField] = []
    for f in out.fields:
        data = {"position": f.position, "authserv_id": f.authserv_id}
        if f.kind == AAR and f.instance is None:
            found.append(
                note(
                    "receivers.aar-without-instance",
                    "An ARC-Authentication-Results field has no instance number",
                    Step.RECEIVERS,
                    detail=f"{_where(f)}: {_lower_first(f.parse_error) or 'no i= tag'}",
                    spec="RFC 8617 §4.1.1",
                    data=data,
                )
            )
        if f.parse_error and not f.methods and not f.none_result and f.parsed_by != "authres":
            found.append(
                note(
                    "receivers.unparsable",
                    "An authentication results field cannot be read",
                    Step.RECEIVERS,
                    detail=bounded_text(f"{_where(f)}: {_lower_first(f.parse_error)}"),
                    spec="RFC 8601 §2.2",
                    data=data,
                )
            )
        elif f.parsed_by == "fallback":
            lenient.append(f)
        if f.methods_not_read:
            found.append(
                note(
                    "receivers.too-many-methods",
                    "A field holds more results than the analyser reads",
                    Step.RECEIVERS,
                    detail=(
                        f"{_where(f)}: the first {limits.MAX_AUTHRES_METHODS_PER_FIELD} "
                        f"results were read, {f.methods_not_read} more were not"
                    ),
                    spec="RFC 8601 §2.2",
                    data=data,
                )
            )
        code = codes.get(f.position)
        if code == "receivers.sender-added":
            found.append(
                note(
                    "receivers.sender-added",
                    "An Authentication-Results field was added by the sender",
                    Step.RECEIVERS,
                    detail=bounded_text(f"{_where(f)}: {f.trust_reason}"),
                    spec="RFC 8601 §5",
                    data=data,
                )
            )
        elif code == "receivers.forged-or-copied":
            found.append(
                note(
                    "receivers.forged-or-copied",
                    "An Authentication-Results field claims a receiver that did not write it",
                    Step.RECEIVERS,
                    detail=bounded_text(f"{_where(f)}: {f.trust_reason}"),
                    spec="RFC 8601 §5",
                    data=data,
                )
            )
    if lenient:
        listed = "; ".join(f"{_where(f)}: {_lower_first(f.parse_error)}" for f in lenient[:5]) + (
            f"; and {len(lenient) - 5} more" if len(lenient) > 5 else ""
        )
        found.append(
            note(
                "receivers.lenient-parse",
                "Some authentication results fields do not follow RFC 8601",
                Step.RECEIVERS,
                severity=Severity.INFO,
                detail=bounded_text(listed),
                spec="RFC 8601 §2.2",
                data={"positions": [f.position for f in lenient]},
            )
        )
    if not path.hops and any(f.kind == AR for f in out.fields):
        found.append(
            note(
                "receivers.no-received",
                "Authentication-Results fields cannot be placed: the message has no Received field",
                Step.RECEIVERS,
                detail=(
                    f"{sum(f.kind == AR for f in out.fields)} Authentication-Results field(s) "
                    "and no Received field, so nothing shows which receiver wrote them"
                ),
                spec="RFC 8601 §5",
            )
        )
    upstream = [f for f in out.fields if f.trust == UPSTREAM]
    if upstream:
        earlier = [f for f in upstream if f.kind == AR]
        sealed = [f for f in upstream if f.kind == AAR]
        parts: list[str] = []
        if earlier:
            names = list(dict.fromkeys(f.authserv_id or "(no authserv-id)" for f in earlier))
            parts.append(
                f"{len(earlier)} Authentication-Results field(s) of earlier receivers ("
                + ", ".join(names[:10])
                + ")"
            )
        if sealed:
            seals = list(
                dict.fromkeys(
                    f"i={f.instance if f.instance is not None else '?'} by "
                    + (f.authserv_id or "(no authserv-id)")
                    for f in sealed
                )
            )
            parts.append(
                f"{len(sealed)} ARC-Authentication-Results field(s) ("
                + ", ".join(seals[:10])
                + "), whose trust follows the ARC chain"
            )
        found.append(
            note(
                "receivers.upstream",
                "Earlier receivers' and ARC sealers' testimony is present",
                Step.RECEIVERS,
                severity=Severity.INFO,
                detail=bounded_text("; ".join(parts)),
                spec="RFC 8601 §7.1",
                data={"positions": [f.position for f in upstream]},
            )
        )
    if out.receiver_authserv_id is None and any(f.kind == AR for f in out.fields) and path.hops:
        found.append(
            note(
                "receivers.none-from-receiver",
                "The final receiver added no Authentication-Results field of its own",
                Step.RECEIVERS,
                severity=Severity.INFO,
                detail=(
                    "every Authentication-Results field lies below the part of the header "
                    "the final receiver wrote"
                ),
                spec="RFC 8601 §5",
            )
        )
    if out.arc_override is not None:
        found.append(
            note(
                "receivers.arc-override",
                "The receiver accepted the message although DMARC failed",
                Step.RECEIVERS,
                severity=Severity.INFO,
                detail=out.arc_override,
                spec="RFC 8617 §7.2.1",
            )
        )
    return found


_MAIN_METHODS = ("dkim2", "dkim", "spf", "dmarc", "arc")


def _summary(out: ReceiverClaims) -> str:
    upstream = [f for f in out.fields if f.trust == UPSTREAM]
    untrusted = [f for f in out.fields if f.trust == UNTRUSTED]
    parts: list[str] = []
    if out.receiver_authserv_id is not None and out.claims:
        said: list[str] = []
        for method in _MAIN_METHODS:
            for r in out.claims.get(method, []):
                word = f"{method}={r.result}"
                if word not in said:
                    said.append(word)
        others = [m for m in out.claims if m not in _MAIN_METHODS]
        text = ", ".join(said) if said else "no DKIM, SPF, DMARC or ARC result"
        if others:
            text += f" (and {len(others)} other method(s))"
        parts.append(
            f"Receivers: {out.receiver_authserv_id or 'the final receiver (no authserv-id)'}, "
            f"the final receiver, reports {text}"
        )
    elif out.receiver_authserv_id is not None:
        parts.append(
            f"Receivers: {out.receiver_authserv_id or 'the final receiver (no authserv-id)'}, "
            "the final receiver, records no result (none)"
        )
    else:
        parts.append("Receivers: the final receiver added no Authentication-Results of its own")
    earlier = sum(f.kind == AR for f in upstream)
    sealed = sum(f.kind == AAR for f in upstream)
    if earlier:
        parts.append(f"{earlier} field(s) are earlier receivers' testimony")
    if sealed:
        parts.append(
            f"{sealed} ARC-Authentication-Results field(s) are worth what the ARC chain is worth"
        )
    if untrusted:
        parts.append(
            f"{len(untrusted)} field(s) are not trusted (added by the sender or copied from "
            "elsewhere); the final receiver should remove fields that claim its name when mail "
            "arrives (RFC 8601 §5)"
        )
    if out.arc_override is not None:
        parts.append("it accepted the message although DMARC failed")
    return bounded_text("; ".join(parts) + ".")
