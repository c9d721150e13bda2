"""Delivery time: how long the message took, where the time went, and who signed where.

Every MTA that accepts a message prepends a Received field ending in the date it took the
message (RFC 5321 §4.4), and the author's software wrote a Date field when the message was
written (RFC 5322 §3.6.1).  Read oldest first, those stamps are the message's timeline.

Theory of operation
-------------------
* Points: the Date field is point 0 (the message written), each Received field a point
  numbered by its hop index (:attr:`analysis.received.ReceivedHop.index`, 1 = oldest).
  Dates are read by :func:`analysis.received.parse_date` (the stdlib's
  ``email.utils.parsedate_to_datetime``; a date without a zone is read as UTC).
* Delay: a point's delay is the time since the nearest older point with a usable stamp
  (a hop with an unreadable date is skipped and the next one measures across it).  The
  first Received hop measures from the Date only when the Date is usable (see below).
* Total: from the start to the end.  The start is the Date when it is readable, not in the
  future and not later than the first Received stamp; otherwise the first Received stamp.
  The end is the stamp of the newest Received hop whose stamp is not in the future.  The
  transit is the same span from the first Received stamp only.
* Long delays: a delay is long past :data:`LONG_DELAY_SECONDS`, or when it is more than
  :data:`LONG_SHARE` of the total and at least :data:`LONG_SHARE_MIN_SECONDS`.
* Clock flags: a hop stamped earlier than the nearest older stamped hop (out of order: a
  clock is wrong, or a relay rewrote a stamp); a Date later than the first Received stamp
  (the author's clock is ahead); any stamp more than :data:`limits.FUTURE_SKEW_SECONDS`
  after the analysis clock; a signature whose ``t=`` lies more than
  :data:`CLOCK_TOLERANCE_SECONDS` outside the stamps of the hop it is placed on.

Placing signatures on hops
--------------------------
Each DKIM2-Signature (by ``i=``), DKIM-Signature (by its index, 1 = topmost, as
:mod:`analysis.dkim1` numbers them) and ARC set (by ``i=``, at its ARC-Seal, else its
ARC-Message-Signature, else its ARC-Authentication-Results) is placed on a Received hop:

1. Position.  Header fields are prepended (RFC 5321 §4.4 for Received; RFC 6376 §5.6,
   RFC 8617 §5.1 and the DKIM2 draft for signatures), so a signature field lies above the
   Received field its signer's system wrote when it took the message in, and below the one
   the next system wrote.  It is placed on the hop of the nearest Received field *below*
   it: added after that hop received the message, before the next hop did.  A field below
   every Received field is placed on hop 0: added by the sending system before any server
   stamped the message.  A field above every Received field is placed on the newest hop
   (the final receiver, e.g. its ARC seal).
2. Domain.  The ``d=`` organisation (:func:`analysis.received.organisation`, a heuristic
   without the public suffix list) is compared with the host names of that hop: the
   receiving host of the hop itself (its ``by`` names) and the client that handed the
   message to the next hop (its HELO and reverse-DNS names).  A match confirms the placement
   (basis ``"position and domain"``).  Without one, the placement rests on the position
   alone (basis ``"position"``) and is marked a guess: the field's position says between
   which stamps it was added, not which system added it.  Hops elsewhere whose hosts do
   match are named (``domain_hops``).
3. A field that lies below the newest :data:`limits.MAX_RECEIVED_FIELDS` Received fields
   (among those not read) is not placed (basis ``"none"``), nor is any field of a message
   without Received fields.

Limits: a system that reorders header fields (some gateways and mailbox stores do) moves
a signature away from its stamp, and then the position misleads; the domain check catches
some of these.  Dates are the writers' own clocks, taken as written.

No I/O, no clock of its own (the analysis clock is passed in), bounded output: at most
one point per Received field read, :data:`limits.MAX_DELIVERY_FLAGS` flags and
:data:`limits.MAX_DELIVERY_PLACEMENTS` placements (the rest are counted).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .message import HeaderField, ParsedMessage
from .received import ReceivedHop, bounded_text, organisation, parse_date

__all__ = [
    "CLOCK_TOLERANCE_SECONDS",
    "LONG_DELAY_SECONDS",
    "LONG_SHARE",
    "LONG_SHARE_MIN_SECONDS",
    "ClockFlag",
    "DeliveryTime",
    "Placement",
    "TimePoint",
    "delivery_time",
    "format_duration",
]

#: A delay longer than this is highlighted: mail between well-run systems takes seconds;
#: five minutes means a queue, greylisting or a retry.
LONG_DELAY_SECONDS = 5 * 60

#: A delay that takes more than this share of the total is highlighted too...
LONG_SHARE = 0.5

#: ...when it is at least this long (half of a four-second delivery is no delay).
LONG_SHARE_MIN_SECONDS = 60

#: A signature's ``t=`` may lie this far outside the stamps of the hop it is placed on
#: before its clock is flagged (stamps have one-second resolution; signers and MTAs of one
#: system may keep slightly different clocks).
CLOCK_TOLERANCE_SECONDS = 60

#: Most hops named in one placement's ``domain_hops`` (the list is for reading, not a count).
_DOMAIN_HOPS_LISTED = 5

#: Octets of a signature field searched for its d=, i= and t= tags (a DKIM1 field's d= may
#: follow a long h= and b=; no honest field is longer).
_TAG_SEARCH_OCTETS = limits.MAX_DKIM1_FIELD_BYTES

_ARC_KINDS = {"arc-seal": 0, "arc-message-signature": 1, "arc-authentication-results": 2}

# -- words ----------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """``45 s``, ``2 min 14 s``, ``2 h 5 min``, ``3 d 4 h``: the two largest units, in
    plain words (the sign is the caller's; a fraction of a second is rounded)."""
    s = round(abs(seconds))
    if s < 60:
        return f"{s} s"
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size} {unit}")
            s %= size
        elif parts:
            break  # "2 h 5 s" would skip a unit: two adjacent units only
        if len(parts) == 2:
            break
    return " ".join(parts)


def _hop_words(index: int, host: str | None) -> str:
    if index == 0:
        return "the Date field"
    return f"hop {index}" + (f" ({host})" if host else "")


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- values -----------------------------------------------------------------------------------


@dataclass
class TimePoint:
    """One stamp of the timeline: the Date field (index 0) or a Received hop."""

    index: int  # 0 = the Date field; else ReceivedHop.index (1 = oldest Received)
    position: int  # index of the field among all header fields, 0 = top
    host: str | None  # the receiving host (by); None for the Date field
    client: str | None  # who handed the message over (reverse DNS, HELO or address)
    timestamp: int | None  # unix seconds; None when unreadable
    date_text: str = ""
    delay_seconds: int | None = None  # since the nearest older usable stamp
    offset_seconds: int | None = None  # since the start of the timeline
    long: bool = False  # the delay is highlighted (LONG_DELAY_SECONDS, LONG_SHARE)
    usable: bool = True  # False: unreadable, or in the future (left out of the totals)
    flags: list[str] = field(default_factory=list)  # ClockFlag codes about this point

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "position": self.position,
            "host": self.host,
            "client": self.client,
            "timestamp": self.timestamp,
            "date_text": self.date_text,
            "delay_seconds": self.delay_seconds,
            "offset_seconds": self.offset_seconds,
            "long": self.long,
            "usable": self.usable,
            "flags": list(self.flags),
        }


@dataclass
class ClockFlag:
    """A stamp that cannot be right: out of order, ahead of the trace, or in the future."""

    code: str  # "out-of-order", "date-after-received", "future", "signature-clock"
    hop: int  # the point it concerns (0 = the Date field)
    seconds: int  # by how much (always positive)
    text: str  # one sentence in plain words

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "hop": self.hop, "seconds": self.seconds, "text": self.text}


@dataclass
class Placement:
    """A DKIM2 hop, DKIM1 signature or ARC set, placed on the Received hop that added it."""

    kind: str  # "dkim2", "dkim1", "arc"
    number: int | None  # i= (DKIM2, ARC) or the DKIM1 index (1 = topmost); None: unreadable
    label: str  # "DKIM2 i=2", "DKIM1 signature 1", "ARC i=1"
    domain: str | None  # d= (ARC: the ARC-Seal's)
    position: int  # index of the field among all header fields, 0 = top
    hop: int | None  # ReceivedHop.index; 0 = before the first Received; None = not placed
    next_hop: int | None  # the Received hop just above the field, if any
    basis: str  # "position and domain", "position", "none"
    guess: bool  # True unless the d= organisation matches a host at that hop
    domain_hops: list[int] = field(default_factory=list)  # hops whose hosts match d=
    timestamp: int | None = None  # t= (ARC: the ARC-Seal's)
    text: str = ""  # one sentence: where and why
    why: str = ""  # the evidence alone, for a page that shows the hop beside it

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "number": self.number,
            "label": self.label,
            "domain": self.domain,
            "position": self.position,
            "hop": self.hop,
            "next_hop": self.next_hop,
            "basis": self.basis,
            "guess": self.guess,
            "domain_hops": list(self.domain_hops),
            "timestamp": self.timestamp,
            "text": self.text,
            "why": self.why,
        }


@dataclass
class DeliveryTime:
    """The timeline of one message (see the module docs)."""

    points: list[TimePoint]  # the Date field first (when there is one), then oldest first
    start: int | None = None
    start_source: str | None = None  # "date" or "received"
    end: int | None = None
    total_seconds: int | None = None  # start -> end
    transit_seconds: int | None = None  # first Received -> last Received
    longest: int | None = None  # the point with the longest delay (a positive one)
    flags: list[ClockFlag] = field(default_factory=list)
    flags_omitted: int = 0
    placements: list[Placement] = field(default_factory=list)
    placements_omitted: int = 0
    received_unread: int = 0  # oldest Received fields not read (limits.MAX_RECEIVED_FIELDS)
    summary: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "start_source": self.start_source,
            "end": self.end,
            "total_seconds": self.total_seconds,
            "transit_seconds": self.transit_seconds,
            "longest": self.longest,
            "long_delay_seconds": LONG_DELAY_SECONDS,
            "points": [p.to_json() for p in self.points],
            "flags": [f.to_json() for f in self.flags],
            "flags_omitted": self.flags_omitted,
            "placements": [p.to_json() for p in self.placements],
            "placements_omitted": self.placements_omitted,
            "received_unread": self.received_unread,
            "summary": self.summary,
        }


# -- the timeline -----------------------------------------------------------------------------


class _Flags:
    """Flags collected up to MAX_DELIVERY_FLAGS; the rest counted."""

    def __init__(self) -> None:
        self.kept: list[ClockFlag] = []
        self.omitted = 0

    def add(self, point: TimePoint | None, flag: ClockFlag) -> None:
        if point is not None and flag.code not in point.flags:
            point.flags.append(flag.code)
        if len(self.kept) < limits.MAX_DELIVERY_FLAGS:
            self.kept.append(flag)
        else:
            self.omitted += 1


def _client(hop: ReceivedHop) -> str | None:
    return hop.from_rdns or hop.from_helo or hop.from_ip


def delivery_time(
    message: ParsedMessage,
    hops: Sequence[ReceivedHop],
    *,
    now: float | None = None,
    received_total: int | None = None,
) -> DeliveryTime:
    """The timeline, delays, clock flags and signature placements of ``message``.

    ``hops``: :func:`analysis.received.read_received` of the message (a ReceivedPath; its
    ``total`` says how many Received fields the message has, else ``received_total``).
    ``now``: the analysis clock in unix seconds; None skips the future check.  Never raises.
    """
    ordered = sorted(hops, key=lambda h: h.index)
    total_fields = received_total
    if total_fields is None:
        total_fields = int(getattr(hops, "total", len(ordered)))
    unread = max(0, total_fields - len(ordered))
    flags = _Flags()
    future_limit = None if not now else int(now) + limits.FUTURE_SKEW_SECONDS

    points: list[TimePoint] = []
    date_point: TimePoint | None = None
    for pos, f in enumerate(message.fields):
        if f.lname == "date":
            text = f.text()
            date_point = TimePoint(
                index=0,
                position=pos,
                host=None,
                client=None,
                timestamp=parse_date(text),
                date_text=bounded_text(text, 200),
            )
            points.append(date_point)
            break
    for hop in ordered:
        points.append(
            TimePoint(
                index=hop.index,
                position=hop.position,
                host=hop.by_host,
                client=_client(hop),
                timestamp=hop.timestamp,
                date_text=hop.date_text,
            )
        )

    for p in points:
        if p.timestamp is None:
            p.usable = False
        elif future_limit is not None and p.timestamp > future_limit:
            p.usable = False
            ahead = p.timestamp - int(now or 0)
            flags.add(
                p,
                ClockFlag(
                    "future",
                    p.index,
                    ahead,
                    f"{_upper_first(_hop_words(p.index, p.host))} is stamped "
                    f"{format_duration(ahead)} in the future of the analysis clock, so that "
                    "clock is wrong; its stamp is left out of the delivery time.",
                ),
            )

    received_points = [p for p in points if p.index > 0 and p.usable]
    first_rx = received_points[0] if received_points else None
    date_usable = date_point is not None and date_point.usable
    if date_point is not None and date_point.usable and first_rx is not None:
        ahead = (date_point.timestamp or 0) - (first_rx.timestamp or 0)
        if ahead > 0:
            date_usable = False
            flags.add(
                date_point,
                ClockFlag(
                    "date-after-received",
                    0,
                    ahead,
                    f"The Date field is {format_duration(ahead)} later than the first "
                    f"Received stamp (hop {first_rx.index}): the sender's clock is ahead, so "
                    "the delivery time is counted from the first Received field.",
                ),
            )
    if date_point is not None and not date_usable:
        date_point.usable = False

    # Delays, and out-of-order stamps (a hop stamped before the one below it).
    previous: TimePoint | None = date_point if date_usable else None
    previous_rx: TimePoint | None = None
    for p in points:
        if p.index == 0 or not p.usable or p.timestamp is None:
            continue
        if previous is not None and previous.timestamp is not None:
            p.delay_seconds = p.timestamp - previous.timestamp
        if previous_rx is not None and previous_rx.timestamp is not None:
            behind = previous_rx.timestamp - p.timestamp
            if behind > 0:
                flags.add(
                    p,
                    ClockFlag(
                        "out-of-order",
                        p.index,
                        behind,
                        f"Hop {p.index}" + (f" ({p.host})" if p.host else "") + " is stamped "
                        f"{format_duration(behind)} before hop {previous_rx.index}, which "
                        "received the message earlier: one of their clocks is wrong.",
                    ),
                )
        previous = p
        previous_rx = p

    result = DeliveryTime(points=points, received_unread=unread)
    if first_rx is not None:
        last_rx = received_points[-1]
        start_point = date_point if date_usable and date_point is not None else first_rx
        result.start = start_point.timestamp
        result.start_source = "date" if start_point is date_point else "received"
        result.end = last_rx.timestamp
        if last_rx is not first_rx and last_rx.timestamp is not None:
            transit = last_rx.timestamp - (first_rx.timestamp or 0)
            result.transit_seconds = transit if transit >= 0 else None
        if start_point is not last_rx and result.end is not None and result.start is not None:
            span = result.end - result.start
            result.total_seconds = span if span >= 0 else None
        if result.start is not None:
            for p in points:
                if p.usable and p.timestamp is not None:
                    p.offset_seconds = p.timestamp - result.start
    total = result.total_seconds
    longest: TimePoint | None = None
    for p in points:
        d = p.delay_seconds
        if d is None or d <= 0:
            continue
        p.long = d > LONG_DELAY_SECONDS or (
            total is not None and d > total * LONG_SHARE and d >= LONG_SHARE_MIN_SECONDS
        )
        if longest is None or d > (longest.delay_seconds or 0):
            longest = p
    result.longest = longest.index if longest is not None else None

    by_index = {p.index: p for p in points}
    placements, omitted = _placements(message, ordered, unread, by_index, flags)
    result.placements, result.placements_omitted = placements, omitted
    result.flags, result.flags_omitted = flags.kept, flags.omitted
    result.summary = _summary(result, date_point, longest)
    return result


def _summary(result: DeliveryTime, date_point: TimePoint | None, longest: TimePoint | None) -> str:
    usable = [p for p in result.points if p.index > 0 and p.usable]
    if not result.points or all(p.index == 0 for p in result.points):
        return "The message has no Received field, so nothing records when it was delivered."
    if not usable:
        return "No Received field has a readable date, so the delivery time is unknown."
    if result.total_seconds is None:
        if result.end is not None and result.start is not None and result.end < result.start:
            return (
                f"The stamps disagree: the newest Received field is stamped "
                f"{format_duration(result.start - result.end)} before the oldest, so the "
                "delivery time cannot be measured."
            )
        return "Only one stamp can be read, so the delivery time is unknown."
    if result.start_source == "date":
        words = (
            f"Delivered {format_duration(result.total_seconds)} after it was written "
            "(from the Date field to the last Received field)"
        )
    else:
        words = (
            f"Delivered in {format_duration(result.total_seconds)}, from the first Received "
            "field to the last"
        )
        if date_point is None:
            words += " (the message has no Date field)"
        elif date_point.timestamp is None:
            words += " (its Date cannot be read)"
    if longest is not None and longest.delay_seconds:
        where = (
            "before the first server received it"
            if longest.index == min(p.index for p in usable) and result.start_source == "date"
            else f"before {_hop_words(longest.index, longest.host)}"
        )
        words += f"; the longest wait was {format_duration(longest.delay_seconds)}, {where}"
    return bounded_text(words + ".")


# -- placements -------------------------------------------------------------------------------


#: The pattern finding each tag name asked for, compiled once (a few names: i, d, t).
_TAG_PATTERNS: dict[str, re.Pattern[bytes]] = {}


def _tag(f: HeaderField, name: str) -> str | None:
    """The value of tag ``name`` in a tag-list field, read tolerantly for labelling (the
    mechanisms themselves parse strictly)."""
    value = f.value[:_TAG_SEARCH_OCTETS].replace(b"\r\n", b"")
    pattern = _TAG_PATTERNS.get(name)
    if pattern is None:
        pattern = _TAG_PATTERNS[name] = re.compile(
            rb"(?:^|;)[ \t]*" + name.encode() + rb"[ \t]*=[ \t]*([^;]*)", re.IGNORECASE
        )
    m = pattern.search(value)
    if m is None:
        return None
    return m.group(1).strip(b" \t").decode("ascii", "replace")


def _number(text: str | None, digits: int) -> int | None:
    if text is None or not text.isdigit() or len(text) > digits:
        return None
    return int(text)


def _domain(f: HeaderField) -> str | None:
    text = _tag(f, "d")
    if not text:
        return None
    text = text.rstrip(".").lower()
    if len(text) > 253 or not re.fullmatch(r"[a-z0-9._-]+", text):
        return None
    return text


@dataclass
class _Candidate:
    kind: str
    number: int | None
    label: str
    field: HeaderField
    position: int


def _candidates(message: ParsedMessage) -> list[_Candidate]:
    out: list[_Candidate] = []
    arc: dict[int, tuple[int, int, HeaderField]] = {}  # i -> (kind rank, position, field)
    dkim1 = 0
    for pos, f in enumerate(message.fields):
        if f.lname == "dkim2-signature":
            i = _number(_tag(f, "i"), limits.MAX_NUMBER_DIGITS)
            label = f"DKIM2 i={i}" if i is not None else "DKIM2 (i= unreadable)"
            out.append(_Candidate("dkim2", i, label, f, pos))
        elif f.lname == "dkim-signature":
            dkim1 += 1
            out.append(_Candidate("dkim1", dkim1, f"DKIM1 signature {dkim1}", f, pos))
        elif f.lname in _ARC_KINDS:
            i = _number(_tag(f, "i"), 2)
            if i is None or not 1 <= i <= limits.MAX_ARC_INSTANCES:
                continue
            rank = _ARC_KINDS[f.lname]
            if i not in arc or rank < arc[i][0]:
                arc[i] = (rank, pos, f)
    for i, (_rank, pos, f) in arc.items():
        out.append(_Candidate("arc", i, f"ARC i={i}", f, pos))
    out.sort(key=lambda c: -c.position)  # oldest field (lowest in the header) first
    return out


def _hop_names(hop: ReceivedHop) -> set[str]:
    """Organisations of the hop's receiving host."""
    return {o for o in (organisation(n) for n in [hop.by_host, *hop.by_names]) if o}


def _client_names(hop: ReceivedHop) -> set[str]:
    """Organisations of the client that handed the message to ``hop``."""
    return {o for o in (organisation(n) for n in (hop.from_rdns, hop.from_helo)) if o}


def _placements(
    message: ParsedMessage,
    hops: list[ReceivedHop],
    unread: int,
    points: dict[int, TimePoint],
    flags: _Flags,
) -> tuple[list[Placement], int]:
    candidates = _candidates(message)
    kept = candidates[: limits.MAX_DELIVERY_PLACEMENTS]
    omitted = len(candidates) - len(kept)
    # Received positions, top first (ascending), with their hops.
    by_position = sorted(hops, key=lambda h: h.position)
    positions = [h.position for h in by_position]
    receiving = [_hop_names(h) for h in by_position]
    handing = [_client_names(h) for h in by_position]
    out: list[Placement] = []
    for c in kept:
        domain = _domain(c.field)
        org = organisation(domain) if domain else None
        t = _tag(c.field, "t")
        stamp = _number(t.strip() if t else None, limits.MAX_TIMESTAMP_DIGITS)
        place = Placement(
            kind=c.kind,
            number=c.number,
            label=c.label,
            domain=domain,
            position=c.position,
            hop=None,
            next_hop=None,
            basis="none",
            guess=True,
            timestamp=stamp,
        )
        out.append(place)
        named = c.label + (f" (d={domain})" if domain else "")
        if not by_position:
            place.text = f"{named} cannot be placed: the message has no Received field."
            place.why = "The message has no Received field to place it on."
            continue
        k = bisect.bisect_left(positions, c.position)  # first Received below the field
        above = by_position[k - 1] if k > 0 else None
        below = by_position[k] if k < len(by_position) else None
        place.next_hop = above.index if above is not None else None
        if org is not None:
            # A client name belongs to the hop below the one that recorded it.
            place.domain_hops = sorted(
                {
                    *(h.index for j, h in enumerate(by_position) if org in receiving[j]),
                    *(h.index - 1 for j, h in enumerate(by_position) if org in handing[j]),
                }
            )[:_DOMAIN_HOPS_LISTED]
        if below is None and unread:
            place.why = (
                f"Its field lies below the newest {limits.MAX_RECEIVED_FIELDS} Received fields, "
                f"among the {unread} older ones that were not read."
            )
            place.text = f"{named} cannot be placed: {place.why[:1].lower()}{place.why[1:]}"
            continue
        place.hop = below.index if below is not None else 0
        matched = org is not None and (
            (below is not None and org in receiving[k])
            or (above is not None and org in handing[k - 1])
        )
        place.basis = "position and domain" if matched else "position"
        place.guess = not matched
        host = f" ({below.by_host})" if below is not None and below.by_host else ""
        if below is None:
            where = "before the first Received field"
            evidence = (
                "its field lies below every Received field, so the sending system added it "
                "before any server stamped the message"
            )
        elif above is None:
            where = f"on hop {below.index}{host}, the newest"
            evidence = "its field lies above every Received field"
        else:
            where = f"on hop {below.index}{host}"
            evidence = (
                f"its field lies between the Received fields of hop {below.index} and "
                f"hop {above.index}"
            )
        if matched:
            evidence += f", and {org} is the organisation of a host there"
        elif org is None:
            evidence += "; with no readable d= to compare, which system signed is a guess"
        else:
            others = [h for h in place.domain_hops if h != place.hop]
            evidence += f"; no host there belongs to {org}, so which system signed is a guess"
            if others:
                listed = ", ".join(f"hop {h}" if h else "the sending system" for h in others)
                evidence += f" (a host of {listed} belongs to {org})"
        place.why = bounded_text(evidence[:1].upper() + evidence[1:] + ".")
        place.text = bounded_text(f"{named} was added {where}: {evidence}.")
        # t= outside the stamps around the field: one of the clocks is wrong.
        if stamp is not None:
            low = points.get(place.hop) if place.hop else None
            high = points.get(above.index) if above is not None else None
            early = (
                low.timestamp - stamp
                if low is not None and low.usable and low.timestamp is not None
                else 0
            )
            late = (
                stamp - high.timestamp
                if high is not None and high.usable and high.timestamp is not None
                else 0
            )
            if early > CLOCK_TOLERANCE_SECONDS:
                flags.add(
                    None,
                    ClockFlag(
                        "signature-clock",
                        place.hop or 0,
                        early,
                        f"{named} is stamped t= {format_duration(early)} before hop "
                        f"{place.hop} received the message, though it was added after: the "
                        "signer's clock is behind, or the field was moved.",
                    ),
                )
            elif late > CLOCK_TOLERANCE_SECONDS and above is not None:
                flags.add(
                    None,
                    ClockFlag(
                        "signature-clock",
                        place.hop or 0,
                        late,
                        f"{named} is stamped t= {format_duration(late)} after hop "
                        f"{above.index} received the message, though it was added before: "
                        "the signer's clock is ahead, or the field was moved.",
                    ),
                )
    return out, omitted
