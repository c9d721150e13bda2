"""Delivery time: the timeline read from the Date and Received fields, its delays and long
waits, the clocks that cannot be right, and each DKIM2 hop, DKIM1 signature and ARC set placed
on the Received hop that added it (analysis.delivery_time)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis import limits
from analysis.delivery_time import DeliveryTime, delivery_time, format_duration
from analysis.message import parse_message
from analysis.message_report import analyze_message
from analysis.received import read_received
from analysis.resolvers import StaticResolver
from tests.support.delivery_traces import THROUGH_THE_LIST, long_trace, message

T0 = 1772532000  # Tue, 3 Mar 2026 10:00:00 +0000


def measure(raw: bytes, now: float | None = None) -> DeliveryTime:
    msg = parse_message(raw)
    return delivery_time(msg, read_received(msg), now=now)


def points(dt: DeliveryTime) -> list[tuple[int, int | None, int | None, bool]]:
    return [(p.index, p.delay_seconds, p.offset_seconds, p.long) for p in dt.points]


def placed(dt: DeliveryTime) -> list[tuple[str, int | None, str, bool]]:
    return [(p.label, p.hop, p.basis, p.guess) for p in dt.placements]


def test_the_timeline_of_a_message_through_a_list() -> None:
    dt = measure(THROUGH_THE_LIST, now=T0 + 3600)
    # Date 09:57:45 UTC; stamps 09:57:47 (written in PST), :48, 09:58:01, 10:02:13, 10:02:14.
    assert points(dt) == [
        (0, None, 0, False),
        (1, 2, 2, False),
        (2, 1, 3, False),
        (3, 13, 16, False),
        (4, 252, 268, True),  # more than half of the total, and over a minute
        (5, 1, 269, False),
    ]
    assert (dt.start, dt.end, dt.start_source) == (1772531865, 1772532134, "date")
    assert (dt.total_seconds, dt.transit_seconds, dt.longest) == (269, 267, 4)
    assert dt.summary == (
        "Delivered 4 min 29 s after it was written (from the Date field to the last Received "
        "field); the longest wait was 4 min 12 s, before hop 4 (mx.inbox.example.net)."
    )
    assert dt.flags == [] and dt.flags_omitted == 0
    assert [(p.host, p.client) for p in dt.points] == [
        (None, None),
        ("mail-sor-f41.origin.example", None),
        ("mail.lists.example.org", "mail-sor-f41.origin.example"),
        ("mail.lists.example.org", "localhost"),
        ("mx.inbox.example.net", "mail.lists.example.org"),
        ("bn9pr01mb0002.namprd01.prod.outlook.com", "DM6PR01MB0001.namprd01.prod.outlook.com"),
    ]


def test_each_signature_is_placed_on_the_hop_that_added_it() -> None:
    dt = measure(THROUGH_THE_LIST, now=T0 + 3600)
    assert placed(dt) == [
        ("DKIM1 signature 2", 1, "position and domain", False),
        ("DKIM2 i=1", 1, "position and domain", False),
        ("ARC i=1", 2, "position and domain", False),
        ("DKIM1 signature 1", 3, "position and domain", False),
        ("DKIM2 i=2", 3, "position and domain", False),
        ("ARC i=2", 4, "position", True),
    ]
    by_label = {p.label: p for p in dt.placements}
    assert by_label["DKIM2 i=1"].text == (
        "DKIM2 i=1 (d=origin.example) was added on hop 1 (mail-sor-f41.origin.example): its "
        "field lies between the Received fields of hop 1 and hop 2, and origin.example is the "
        "organisation of a host there."
    )
    arc2 = by_label["ARC i=2"]
    assert (arc2.domain, arc2.next_hop, arc2.timestamp, arc2.domain_hops) == (
        "microsoft.com",
        5,
        1772532133,
        [],
    )
    assert arc2.text == (
        "ARC i=2 (d=microsoft.com) was added on hop 4 (mx.inbox.example.net): its field lies "
        "between the Received fields of hop 4 and hop 5; no host there belongs to "
        "microsoft.com, so which system signed is a guess."
    )
    assert arc2.why == (
        "Its field lies between the Received fields of hop 4 and hop 5; no host there belongs "
        "to microsoft.com, so which system signed is a guess."
    )
    # The ARC set is placed at its seal, and the DKIM1 numbers are dkim1's (1 = topmost).
    assert by_label["ARC i=1"].position == 8
    assert by_label["DKIM1 signature 1"].domain == "lists.example.org"


def test_a_signature_above_every_received_field_is_the_final_receivers() -> None:
    raw = message(
        "ARC-Seal: i=1; a=rsa-sha256; d=mail.example.net; s=s; t=1772532001; cv=none; b=AA==",
        "Received: from out.example.com (out.example.com [192.0.2.9]) by mx.example.net with"
        " ESMTPS; Tue, 3 Mar 2026 10:00:00 +0000",
        "Date: Tue, 3 Mar 2026 09:59:59 +0000",
    )
    dt = measure(raw)
    assert placed(dt) == [("ARC i=1", 1, "position and domain", False)]
    assert dt.placements[0].text == (
        "ARC i=1 (d=mail.example.net) was added on hop 1 (mx.example.net), the newest: its "
        "field lies above every Received field, and example.net is the organisation of a "
        "host there."
    )
    assert dt.summary == (
        "Delivered 1 s after it was written (from the Date field to the last Received field); "
        "the longest wait was 1 s, before the first server received it."
    )


def test_a_signature_below_every_received_field_was_added_by_the_sending_system() -> None:
    raw = message(
        "Received: from relay.example.net (relay.example.net [198.51.100.2]) by"
        " mx.example.org with ESMTP; Tue, 3 Mar 2026 10:00:05 +0000",
        "Received: from mail.example.com (mail.example.com [192.0.2.5]) by relay.example.net"
        " with ESMTPS; Tue, 3 Mar 2026 10:00:00 +0000",
        "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=A=; b=AA==",
        "DKIM-Signature: v=1; a=rsa-sha256; d=bulk-esp.example; s=s; h=from; bh=A=; b=AA==",
    )
    dt = measure(raw)
    assert placed(dt) == [
        ("DKIM1 signature 2", 0, "position", True),
        ("DKIM1 signature 1", 0, "position and domain", False),
    ]
    assert dt.placements[1].text == (
        "DKIM1 signature 1 (d=example.com) was added before the first Received field: its "
        "field lies below every Received field, so the sending system added it before any "
        "server stamped the message, and example.com is the organisation of a host there."
    )
    assert dt.summary == (
        "Delivered in 5 s, from the first Received field to the last (the message has no Date "
        "field); the longest wait was 5 s, before hop 2 (mx.example.org)."
    )
    assert [p.index for p in dt.points] == [1, 2]
    assert (dt.start_source, dt.total_seconds, dt.transit_seconds) == ("received", 5, 5)


def test_position_against_domain_names_the_hops_whose_hosts_match() -> None:
    raw = message(
        "Received: from mx2.example.org (mx2.example.org [192.0.2.20]) by store.example.net"
        " with LMTP; Tue, 3 Mar 2026 10:00:09 +0000",
        "DKIM2-Signature: i=2; d=example.org; s=s; t=1772532008; b=AA==",
        "Received: from gw.example.com (gw.example.com [192.0.2.10]) by relay.example.net with"
        " ESMTP; Tue, 3 Mar 2026 10:00:08 +0000",
        "Received: from a.example.com (a.example.com [192.0.2.11]) by gw.example.com with"
        " ESMTP; Tue, 3 Mar 2026 10:00:01 +0000",
        "DKIM2-Signature: i=1; d=example.com; s=s; t=1772532000; b=AA==",
        "Received: by a.example.com with SMTP; Tue, 3 Mar 2026 10:00:00 +0000",
    )
    dt = measure(raw)
    assert placed(dt) == [
        ("DKIM2 i=1", 1, "position and domain", False),
        ("DKIM2 i=2", 3, "position and domain", False),  # the next hop's client: mx2.example.org
    ]
    # Moved: the same example.com signature sitting above hop 3 is placed there by position,
    # and the hops whose hosts belong to example.com are named.
    moved = raw.replace(b"DKIM2-Signature: i=1; d=example.com", b"X-Moved: 1").replace(
        b"DKIM2-Signature: i=2; d=example.org", b"DKIM2-Signature: i=2; d=example.com"
    )
    dt = measure(moved)
    assert placed(dt) == [("DKIM2 i=2", 3, "position", True)]
    assert dt.placements[0].domain_hops == [1, 2]
    assert dt.placements[0].text.endswith(
        "; no host there belongs to example.com, so which system signed is a guess (a host of "
        "hop 1, hop 2 belongs to example.com)."
    )


def test_clock_problems_are_flagged_and_left_out_of_the_total() -> None:
    raw = message(
        "Received: from store.example.org ([10.0.0.5]) by vault.example.org with LMTP;"
        " Wed, 1 Jan 2031 00:00:00 +0000",
        "Received: from mx.example.org ([10.0.0.4]) by store.example.org with LMTP;"
        " Tue, 3 Mar 2026 10:03:00 +0000",
        "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s; t=1772528400; h=from; bh=A=;"
        " b=AA==",
        "Received: from relay.example.net (relay.example.net [198.51.100.3]) by mx.example.org"
        " with ESMTP; Tue, 3 Mar 2026 09:58:06 +0000",
        "Received: from mx1.sender.example (mx1.sender.example [192.0.2.1]) by"
        " relay.example.net with ESMTP; Tue, 3 Mar 2026 10:00:20 +0000",
        "Received: from [192.0.2.100] by mx1.sender.example with ESMTPSA;"
        " Tue, 3 Mar 2026 10:00:00 +0000",
        "Date: Tue, 3 Mar 2026 10:05:00 +0000",
    )
    dt = measure(raw, now=T0 + 3600)
    assert [(f.code, f.hop, f.seconds) for f in dt.flags] == [
        ("future", 5, 152456400),
        ("date-after-received", 0, 300),
        ("out-of-order", 3, 134),
        ("signature-clock", 3, 3486),
    ]
    assert [f.text for f in dt.flags] == [
        "Hop 5 (vault.example.org) is stamped 1764 d 13 h in the future of the analysis clock, "
        "so that clock is wrong; its stamp is left out of the delivery time.",
        "The Date field is 5 min later than the first Received stamp (hop 1): the sender's "
        "clock is ahead, so the delivery time is counted from the first Received field.",
        "Hop 3 (mx.example.org) is stamped 2 min 14 s before hop 2, which received the message "
        "earlier: one of their clocks is wrong.",
        "DKIM1 signature 1 (d=example.org) is stamped t= 58 min 6 s before hop 3 received the "
        "message, though it was added after: the signer's clock is behind, or the field was "
        "moved.",
    ]
    assert points(dt) == [
        (0, None, None, False),
        (1, None, 0, False),
        (2, 20, 20, False),
        (3, -134, -114, False),
        (4, 294, 180, True),
        (5, None, None, False),
    ]
    assert [(p.index, p.usable, p.flags) for p in dt.points] == [
        (0, False, ["date-after-received"]),
        (1, True, []),
        (2, True, []),
        (3, True, ["out-of-order"]),
        (4, True, []),
        (5, False, ["future"]),
    ]
    assert (dt.start_source, dt.total_seconds, dt.transit_seconds) == ("received", 180, 180)
    assert dt.summary == (
        "Delivered in 3 min, from the first Received field to the last; the longest wait was "
        "4 min 54 s, before hop 4 (store.example.org)."
    )


def test_without_the_analysis_clock_nothing_is_in_the_future() -> None:
    raw = message(
        "Received: from a.example (a.example [192.0.2.1]) by b.example with ESMTP;"
        " Wed, 1 Jan 2031 00:00:00 +0000",
        "Received: by a.example with SMTP; Wed, 1 Jan 2031 00:00:07 +0000",
    )
    dt = measure(raw, now=None)
    assert dt.flags[0].code == "out-of-order"
    assert [(p.index, p.usable) for p in dt.points] == [(1, True), (2, True)]
    assert (dt.total_seconds, dt.transit_seconds) == (None, None)
    assert dt.summary == (
        "The stamps disagree: the newest Received field is stamped 7 s before the oldest, so "
        "the delivery time cannot be measured."
    )


def test_a_long_delay_is_over_five_minutes_whatever_the_total() -> None:
    raw = message(
        "Received: from b.example (b.example [192.0.2.2]) by c.example with ESMTP;"
        " Tue, 3 Mar 2026 11:00:00 +0000",
        "Received: from a.example (a.example [192.0.2.1]) by b.example with ESMTP;"
        " Tue, 3 Mar 2026 10:54:59 +0000",
        "Received: by a.example with SMTP; Tue, 3 Mar 2026 10:49:59 +0000",
        "Date: Tue, 3 Mar 2026 10:49:58 +0000",
    )
    dt = measure(raw)
    # 5 min exactly is not over it; 5 min 1 s is.  Neither is half of the total of 10 min 2 s.
    assert points(dt) == [
        (0, None, 0, False),
        (1, 1, 1, False),
        (2, 300, 301, False),
        (3, 301, 602, True),
    ]
    assert dt.summary == (
        "Delivered 10 min 2 s after it was written (from the Date field to the last Received "
        "field); the longest wait was 5 min 1 s, before hop 3 (c.example)."
    )


def test_half_of_a_short_total_is_not_a_long_delay() -> None:
    raw = message(
        "Received: from a.example (a.example [192.0.2.1]) by b.example with ESMTP;"
        " Tue, 3 Mar 2026 10:00:59 +0000",
        "Received: by a.example with SMTP; Tue, 3 Mar 2026 10:00:00 +0000",
    )
    dt = measure(raw)
    assert points(dt) == [(1, None, 0, False), (2, 59, 59, False)]  # under a minute: not long
    at_a_minute = measure(raw.replace(b"10:00:59", b"10:01:00"))
    assert points(at_a_minute) == [(1, None, 0, False), (2, 60, 60, True)]


def test_nothing_to_measure() -> None:
    no_trace = measure(
        message(
            "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=A=; b=AA==",
            "Date: Tue, 3 Mar 2026 10:00:00 +0000",
        )
    )
    assert no_trace.summary == (
        "The message has no Received field, so nothing records when it was delivered."
    )
    assert (no_trace.total_seconds, no_trace.start, no_trace.end) == (None, None, None)
    assert placed(no_trace) == [("DKIM1 signature 1", None, "none", True)]
    assert no_trace.placements[0].text == (
        "DKIM1 signature 1 (d=example.com) cannot be placed: the message has no Received field."
    )
    unreadable = measure(message("Received: by a.example with SMTP; yesterday at noon"))
    assert unreadable.summary == (
        "No Received field has a readable date, so the delivery time is unknown."
    )
    assert [(p.timestamp, p.date_text, p.usable) for p in unreadable.points] == [
        (None, "yesterday at noon", False)
    ]
    one = measure(message("Received: by a.example with SMTP; Tue, 3 Mar 2026 10:00:00 +0000"))
    assert one.summary == "Only one stamp can be read, so the delivery time is unknown."
    assert (one.start, one.end, one.total_seconds) == (T0, T0, None)


def test_an_unreadable_hop_is_measured_across() -> None:
    raw = message(
        "Received: from b.example (b.example [192.0.2.2]) by c.example with ESMTP;"
        " Tue, 3 Mar 2026 10:00:30 +0000",
        "Received: from a.example (a.example [192.0.2.1]) by b.example with ESMTP; soon",
        "Received: by a.example with SMTP; Tue, 3 Mar 2026 10:00:00 +0000",
        "Date: Tue, 3 Mar 2026 10:00:00 GMT",
    )
    dt = measure(raw)
    assert points(dt) == [(0, None, 0, False), (1, 0, 0, False), (2, None, None, False),
                          (3, 30, 30, False)]  # fmt: skip
    assert dt.summary == (
        "Delivered 30 s after it was written (from the Date field to the last Received field); "
        "the longest wait was 30 s, before hop 3 (c.example)."
    )


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (59, "59 s"),
        (134, "2 min 14 s"),
        (3600, "1 h"),
        (7205, "2 h"),  # "2 h 5 s" would skip the minutes: two adjacent units only
        (7500, "2 h 5 min"),
        (90061, "1 d 1 h"),
        (-134, "2 min 14 s"),
    ],
)
def test_durations_in_plain_words(seconds: int, words: str) -> None:
    assert format_duration(seconds) == words


# -- real mail ---------------------------------------------------------------------------------


def test_brong_final_timeline_and_placements(shared_dir: Path) -> None:
    """IETF list mail delivered to Fastmail: written 11:22:49 +1000 (01:22:49 UTC), first
    stamped 21 s later by Fastmail's webmail host, last by the mailbox store 46 s after it
    was written; the list's amavis loop took 16 s."""
    dt = measure((shared_dir / "interop/brong/brong-final.eml").read_bytes(), now=1723080215)
    assert (dt.start, dt.end, dt.total_seconds, dt.transit_seconds) == (
        1723080169,
        1723080215,
        46,
        25,
    )
    assert [p.delay_seconds for p in dt.points] == [None, 21, 0, 0, 1, 0, 5, 16, 0, 2, 0, 0, 1, 0]
    assert [p.index for p in dt.points if p.long] == []
    assert dt.flags == []
    assert dt.summary == (
        "Delivered 46 s after it was written (from the Date field to the last Received field); "
        "the longest wait was 21 s, before the first server received it."
    )
    assert placed(dt) == [
        ("DKIM1 signature 4", 1, "position", True),
        ("DKIM1 signature 3", 1, "position", True),
        ("DKIM2 i=1", 3, "position", True),
        ("DKIM1 signature 2", 6, "position", True),
        ("DKIM1 signature 1", 7, "position", True),
        ("DKIM2 i=2", 8, "position", True),
        ("DKIM2 i=3", 8, "position", True),
        ("ARC i=1", 9, "position and domain", False),  # mx6.messagingengine.com sealed it
        ("DKIM2 i=4", 13, "position", True),
    ]
    assert [p.domain for p in dt.placements] == [
        "messagingengine.com",
        "fastmailteam.com",
        "test1.dkim2.com",
        "ietf.org",
        "ietf.org",
        "test1.dkim2.com",
        "test1.dkim2.com",
        "messagingengine.com",
        "test1.dkim2.com",
    ]


def test_the_report_carries_the_section(shared_dir: Path) -> None:
    raw = (shared_dir / "interop/brong/brong-final.eml").read_bytes()
    data = analyze_message(raw, lookup=StaticResolver({}), now=1723080215).to_json()
    section = data["delivery_time"]
    assert json.loads(json.dumps(section)) == section
    assert (section["total_seconds"], section["long_delay_seconds"], section["longest"]) == (
        46,
        300,
        1,
    )
    assert len(section["points"]) == 14 and len(section["placements"]) == 9


# -- limits ------------------------------------------------------------------------------------


def _backwards_trace(hops: int) -> bytes:
    """``hops`` Received fields, each stamped a second before the one below it."""
    fields = [
        f"Received: from h{k - 1}.example (h{k - 1}.example [192.0.2.{k % 250 + 1}]) by"
        f" h{k}.example with ESMTP; Tue, 3 Mar 2026 10:{(60 - k) // 60:02d}:{(60 - k) % 60:02d}"
        " +0000"
        for k in range(hops, 0, -1)
    ]
    return message(*fields)


@pytest.mark.parametrize(("hops", "kept", "omitted"), [(51, 50, 0), (52, 50, 1)])
def test_clock_flags_stop_at_their_limit(hops: int, kept: int, omitted: int) -> None:
    assert limits.MAX_DELIVERY_FLAGS == 50
    dt = measure(_backwards_trace(hops))
    assert (len(dt.flags), dt.flags_omitted) == (kept, omitted)
    assert {f.code for f in dt.flags} == {"out-of-order"}
    # Every point still says it is out of order; only the list of sentences stops.
    assert sum(1 for p in dt.points if p.flags) == hops - 1


@pytest.mark.parametrize(
    ("fields", "kept", "omitted"),
    [(limits.MAX_DELIVERY_PLACEMENTS, limits.MAX_DELIVERY_PLACEMENTS, 0),
     (limits.MAX_DELIVERY_PLACEMENTS + 1, limits.MAX_DELIVERY_PLACEMENTS, 1)],
)  # fmt: skip
def test_placements_stop_at_their_limit(fields: int, kept: int, omitted: int) -> None:
    assert limits.MAX_DELIVERY_PLACEMENTS == 140
    signatures = [
        f"DKIM-Signature: v=1; a=rsa-sha256; d=d{k}.example; s=s; h=from; bh=A=; b=AA=="
        for k in range(fields)
    ]
    raw = message(
        "Received: from a.example (a.example [192.0.2.1]) by b.example with ESMTP;"
        " Tue, 3 Mar 2026 10:00:00 +0000",
        *signatures,
    )
    dt = measure(raw)
    assert (len(dt.placements), dt.placements_omitted) == (kept, omitted)
    # The oldest fields (lowest in the header) are placed first.
    assert dt.placements[0].label == f"DKIM1 signature {fields}"


def test_a_signature_among_the_unread_received_fields_is_not_placed() -> None:
    hops = limits.MAX_RECEIVED_FIELDS + 1
    raw = message(
        *[
            f"Received: from h{k - 1}.example (h{k - 1}.example [192.0.2.1]) by h{k}.example"
            " with ESMTP; Tue, 3 Mar 2026 10:00:00 +0000"
            for k in range(hops, 1, -1)
        ],
        "DKIM-Signature: v=1; a=rsa-sha256; d=h1.example; s=s; h=from; bh=A=; b=AA==",
        "Received: by h1.example with SMTP; Tue, 3 Mar 2026 10:00:00 +0000",
    )
    dt = measure(raw)
    assert dt.received_unread == 1
    assert len(dt.points) == limits.MAX_RECEIVED_FIELDS
    assert placed(dt) == [("DKIM1 signature 1", None, "none", True)]
    assert dt.placements[0].text == (
        "DKIM1 signature 1 (d=h1.example) cannot be placed: its field lies below the newest "
        "200 Received fields, among the 1 older ones that were not read."
    )


def test_a_twenty_hop_trace() -> None:
    dt = measure(long_trace(20))
    assert (dt.total_seconds, dt.transit_seconds, dt.longest) == (646, 644, 7)
    assert [p.index for p in dt.points if p.long] == [7]
    assert [p.delay_seconds for p in dt.points] == [
        None, 2, 3, 4, 1, 2, 3, 600, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1
    ]  # fmt: skip
    assert placed(dt) == [
        (f"DKIM1 signature {7 - n}", 3 * n, "position and domain", False) for n in range(7)
    ]
    assert dt.summary == (
        "Delivered 10 min 46 s after it was written (from the Date field to the last Received "
        "field); the longest wait was 10 min, before hop 7 (r7.example)."
    )
