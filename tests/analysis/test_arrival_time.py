"""An expired signature on an archived message: the verdict is as of now, the note says
whether it was valid when the message arrived (topmost Received date)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import State
from analysis.dkim2 import analyze
from analysis.dkim2.verify import arrival_time
from analysis.message import parse_message
from analysis.resolvers import StaticResolver

T1 = 1790000000  # t= of hop 1 in the worked example (2026-09-21 14:13:20 UTC)


@pytest.fixture(scope="module")
def hop1(shared_dir: Path) -> bytes:
    return (shared_dir / "vectors" / "worked-example" / "hop1-originator.eml").read_bytes()


@pytest.fixture(scope="module")
def zone(shared_dir: Path) -> StaticResolver:
    zone: dict[str, dict[str, list[list[str]]]] = {}
    text = (shared_dir / "vectors" / "worked-example" / "dns-records.txt").read_text()
    for line in text.splitlines():
        m = re.match(r'(\S+)\._domainkey\.(\S+)\. IN TXT "(.*)"$', line)
        assert m
        zone.setdefault(m.group(2), {})[f"{m.group(1)}._domainkey"] = [["txt", m.group(3)]]
    return StaticResolver(zone)


def received(date: str) -> bytes:
    return f"Received: from mx.example.net by mx.example.org; {date}\r\n".encode()


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Mon, 21 Sep 2026 14:20:00 +0000", 1790000400.0),
        ("Mon, 21 Sep 2026 16:20:00 +0200", 1790000400.0),
        ("not a date", None),
    ],
)
def test_arrival_time_reads_the_topmost_received_date(date: str, expected: float | None) -> None:
    msg = parse_message(received(date) + received("Mon, 1 Jan 2024 00:00:00 +0000") + b"\r\nx\r\n")
    assert arrival_time(msg) == expected


def test_no_received_field_means_no_arrival_time() -> None:
    assert arrival_time(parse_message(b"Subject: x\r\n\r\nbody\r\n")) is None


def test_expired_but_valid_at_arrival_is_noted(hop1: bytes, zone: StaticResolver) -> None:
    raw = received("Mon, 21 Sep 2026 14:20:00 +0000") + hop1
    report = analyze(raw, lookup=zone, now=T1 + 30 * 86400, revision="06")
    assert report.result == State.PERMERROR
    codes = [f.code for f in report.findings]
    assert "sig.expired" in codes
    note = next(f for f in report.findings if f.code == "sig.valid-at-arrival")
    assert note.state == State.NONE and note.hop == 1
    assert note.data == {"arrival_time": 1790000400}
    assert "Verify as of the arrival time (unix time 1790000400)" in note.detail


def test_expired_and_already_expired_at_arrival_gets_no_note(
    hop1: bytes, zone: StaticResolver
) -> None:
    raw = received("Mon, 19 Oct 2026 14:20:00 +0000") + hop1  # 28 days after t=
    report = analyze(raw, lookup=zone, now=T1 + 30 * 86400, revision="06")
    assert [f.code for f in report.findings if f.code.startswith("sig.")] == ["sig.expired"]


def test_unparsable_signature_is_labelled_as_a_signature() -> None:
    raw = (
        b"DKIM2-Signature: m=1; t=1; d=example.com; mf=PD4=; rt=PD4=; s=a:ed25519-sha256:AA==;\r\n"
        b"Message-Instance: m=1; h=sha256:"
        + b"A" * 43
        + b"=:"
        + b"A" * 43
        + b"=;\r\nSubject: x\r\n\r\nbody\r\n"
    )
    report = analyze(raw, lookup=StaticResolver({}), now=0, revision="06")
    missing = [f for f in report.findings if f.code == "sig.tag-missing"]
    assert [f.message for f in missing] == ["PERMERROR DKIM2-Signature i=? tag=i missing"]
    assert missing[0].hop is None and missing[0].instance is None
