"""The presenters behind the result page: the Received path (read by the engine), the raw
message view, input recognition, time formatting, explanations rebuilt from stored
findings."""

from __future__ import annotations

import pytest

from dkim2web.reports import presenters

RECEIVED = (
    b"Received: from mx.fwd.example.net (mx.fwd.example.net [203.0.113.7])\r\n"
    b"\tby mx.example.org with ESMTPS id D4\r\n"
    b"\tfor <bob@example.org>; Sat, 28 Nov 2026 16:41:02 +0000\r\n"
    b"Received: from mx.lists.example.org (mx.lists.example.org [198.51.100.5]) by\r\n"
    b" mx.fwd.example.net with ESMTPS id C3; Sat, 28 Nov 2026 17:40:31 +0100\r\n"
    b"Received: by submit.example.com (Postfix, from userid 1000) id 77; garbage date\r\n"
    b"Received: from [192.0.2.10] (helo=laptop) by submit.example.com with ESMTPSA; "
    b"Sat, 28 Nov 2026 16:40:00 -0000\r\n"
    b"From: a@example.com\r\n\r\nbody\r\n"
)


def test_the_received_path_is_oldest_first_with_delays_and_the_border_hop() -> None:
    from analysis.message import parse_message
    from analysis.received import read_received, reconstruct_smtp
    from dkim2web.reports.mechanism_views import received_view

    message = parse_message(RECEIVED)
    hops = read_received(message)
    smtp = reconstruct_smtp(message, hops)
    view = received_view(hops.to_json(), smtp.to_json())
    assert view is not None
    rows = view.rows
    assert [r.index for r in rows] == [1, 2, 3, 4]
    assert [r.from_ for r in rows] == ["laptop", "", "mx.lists.example.org", "mx.fwd.example.net"]
    assert [r.client for r in rows] == [
        "192.0.2.10",
        "",
        "mx.lists.example.org 198.51.100.5",
        "mx.fwd.example.net 203.0.113.7",
    ]
    assert [r.by for r in rows] == [
        "submit.example.com",
        "submit.example.com",
        "mx.fwd.example.net",
        "mx.example.org",
    ]
    assert [r.with_ for r in rows] == ["ESMTPSA", "", "ESMTPS", "ESMTPS"]
    # "-0000" is UTC with the zone unknown; "+0100" is converted; a bad date is skipped.
    assert [r.when for r in rows] == [
        "2026-11-28 16:40:00 UTC",
        "",
        "2026-11-28 16:40:31 UTC",
        "2026-11-28 16:41:02 UTC",
    ]
    assert [r.delay for r in rows] == ["", "", "+31 s", "+31 s"]
    # The newest hop came from a public address: the final receiver took the message in there.
    assert [r.border for r in rows] == [False, False, False, True]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "+0 s"),
        (59, "+59 s"),
        (60, "+1 min"),
        (75, "+1 min 15 s"),
        (3600 * 2 + 300, "+2 h 5 min"),
        (86400 * 3 + 3600 * 4 + 5, "+3 d 4 h"),
        (-30, "30 s before the previous hop (clocks disagree)"),
        (None, ""),
    ],
)
def test_delays_are_said_in_two_units(seconds: int | None, text: str) -> None:
    assert presenters.format_delay(seconds) == text


def test_utc_times() -> None:
    assert presenters.format_utc(1790000000) == "2026-09-21 14:13:20 UTC"
    assert presenters.format_utc(None) == ""
    assert presenters.format_utc(10**20) == str(10**20)


def test_the_raw_view_marks_dkim2_fields_and_keeps_folds() -> None:
    raw = (
        b"DKIM2-Signature: i=1; m=1;\r\n d=example.com;\r\nmessage-instance: m=1;\r\n"
        b"Subject: caf\xc3\xa9 \xff\r\n\r\nline\rwith bare CR\r\n"
    )
    view = presenters.raw_view(raw)
    assert [(f.name, f.rest, f.dkim2) for f in view.fields] == [
        ("DKIM2-Signature", ": i=1; m=1;\n d=example.com;\n", True),
        ("message-instance", ": m=1;\n", True),
        ("Subject", ": café \ufffd\n", False),
    ]
    assert view.separated
    assert view.body == "line\u240dwith bare CR\n"
    assert (view.size, view.truncated) == (len(raw), False)


def test_the_raw_view_of_a_long_message_is_cut_and_says_so() -> None:
    view = presenters.raw_view(b"A: b\n\n" + b"x" * 100, limit=20)
    assert view.body == "x" * 14
    assert view.truncated


def test_the_raw_view_of_headers_only_and_of_a_body_only() -> None:
    assert not presenters.raw_view(b"A: b\r\nC: d\r\n").separated
    body_only = presenters.raw_view(b"\r\njust a body")
    assert (body_only.fields, body_only.body) == ([], "just a body")


def test_rfc2047_words_are_decoded_and_plain_text_is_left_alone() -> None:
    assert presenters.decode_words("=?utf-8?b?Q2Fmw6k=?= ok") == "Café ok"
    assert presenters.decode_words("plain") is None
    assert presenters.decode_words("=?x-unknown?q?abc?=") is None


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"From: a\r\n\r\n", None),
        (b"\xef\xbb\xbfSubject: x\r\n\r\n", None),
        (b"From a@b Sat Nov 28 2026\nSubject: x\n\nbody\n", None),
        (b"<!DOCTYPE html><html>", "html"),
        (b"  <html lang=en>", "html"),
        (b"Dear Bob,\r\n", "no-header"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "outlook-msg"),
        (b"PK\x03\x04rest", "zip"),
        (b"%PDF-1.4", "pdf"),
        (b"\x1f\x8b\x08", "gzip"),
        (b"Subject: x\x00y", "binary"),
    ],
)
def test_input_is_recognised(data: bytes, kind: str | None) -> None:
    note = presenters.sniff_input(data)
    assert (note.kind if note else None) == kind


def test_a_stored_finding_gets_its_catalogue_explanation() -> None:
    from analysis.catalogue import CATALOGUE

    view = presenters.finding_view(
        {
            "code": "hash.body-mismatch",
            "state": "fail",
            "severity": "error",
            "message": "FAIL: Message Instance m=2 body hash sha256 mismatch",
            "step": 8,
            "hop": 2,
            "instance": 2,
            "detail": "computed X, the field says Y",
            "spec": "S06 §6.1",
        }
    )
    entry = CATALOGUE["hash.body-mismatch"]
    assert view.explanation["title"] == entry.title
    assert view.explanation["fix"] == entry.fix
    assert view.explanation["responsible_label"] == presenters.RESPONSIBLE_LABELS[entry.responsible]
    assert (view.css, view.label) == ("error", "Fail")


def test_an_unknown_code_still_gets_an_explanation() -> None:
    view = presenters.finding_view({"code": "new.thing", "state": "bogus", "message": "m"})
    assert view.explanation["catalogued"] is False
    assert view.css == "info"


def test_the_received_table_marks_a_hop_slow_past_the_delivery_time_threshold() -> None:
    """One threshold on the page: the Received table marks the delays the delivery-time
    section calls long (analysis.delivery_time.LONG_DELAY_SECONDS, 5 min)."""
    from analysis.delivery_time import LONG_DELAY_SECONDS
    from dkim2web.reports.mechanism_views import received_view

    hops = [
        {"index": 1, "delay_seconds": None},
        {"index": 2, "delay_seconds": LONG_DELAY_SECONDS},
        {"index": 3, "delay_seconds": LONG_DELAY_SECONDS + 1},
    ]
    view = received_view({"hops": hops, "total": 3}, None)
    assert view is not None
    assert [(r.delay, r.long_delay) for r in view.rows] == [
        ("", False),
        ("+5 min", False),
        ("+5 min 1 s", True),
    ]
