"""vectors/worked-example: every expected verdict in its README, and byte-exact signing."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from analysis import State
from analysis.dkim2 import Envelope, analyze
from analysis.dkim2.canonical import header_hash_input, signing_input
from analysis.dkim2.keys import load_private_key
from analysis.dkim2.sign import SigningKey, sign
from analysis.message import parse_message
from analysis.resolvers import StaticResolver

T1 = 1790000000
NOW = T1 + 200
HOP2_ENVELOPE = Envelope("<list-bounces@lists.example.org>", ["<bob@example.net>"])


@pytest.fixture(scope="module")
def we(shared_dir: Path) -> Path:
    return shared_dir / "vectors" / "worked-example"


@pytest.fixture(scope="module")
def zone(we: Path) -> StaticResolver:
    """The TXT records of dns-records.txt, served from a static zone."""
    zone: dict[str, dict[str, list[list[str]]]] = {}
    for line in (we / "dns-records.txt").read_text().splitlines():
        m = re.match(r'(\S+)\._domainkey\.(\S+)\. IN TXT "(.*)"$', line)
        assert m, line
        zone.setdefault(m.group(2), {})[f"{m.group(1)}._domainkey"] = [["txt", m.group(3)]]
    return StaticResolver(zone)


def _verdicts(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.message for f in report.findings if f.state != State.NONE]


def test_hop1_passes(we: Path, zone: StaticResolver) -> None:
    raw = (we / "hop1-originator.eml").read_bytes()
    report = analyze(
        raw,
        lookup=zone,
        now=T1 + 5,
        envelope=Envelope("<alice@example.com>", ["<list@lists.example.org>"]),
        revision="06",
    )
    assert report.result == State.PASS
    assert _verdicts(report) == []
    assert [h.result for h in report.hops] == [State.PASS]


def test_hop2_passes_with_both_signatures_and_hashes(we: Path, zone: StaticResolver) -> None:
    raw = (we / "hop2-list-final.eml").read_bytes()
    report = analyze(raw, lookup=zone, now=NOW, envelope=HOP2_ENVELOPE, revision="06")
    assert report.result == State.PASS
    assert _verdicts(report) == []
    assert [(h.hop, h.domain, h.result) for h in report.hops] == [
        (1, "example.com", State.PASS),
        (2, "lists.example.org", State.PASS),
    ]
    assert report.hops[1].custody_link == "ok"
    assert all(c.match for inst in report.instances for c in inst.checks)
    diff = report.diffs[0]
    assert (diff.before, diff.after, diff.hop, diff.hop_domain) == (1, 2, 2, "lists.example.org")
    assert [(c.name, c.kind, c.old, c.new) for c in diff.header_changes] == [
        ("Subject", "changed", "Hello   list", "[list] Hello list"),
        ("List-Id", "added", None, "Test list <list.lists.example.org>"),
    ]
    assert diff.body_diff == [
        "--- before",
        "+++ after",
        "@@ -1,3 +1,5 @@",
        " Hi all,",
        " ",
        " This is a test.",
        "+-- ",
        "+list footer",
    ]
    assert report.summary == (
        "Pass: 2 hops verified; lists.example.org changed Subject, added List-Id and "
        "added 2 body lines"
    )


def test_hop2_m1_reconstruction_is_the_originators_message(we: Path, zone: StaticResolver) -> None:
    hop1 = parse_message((we / "hop1-originator.eml").read_bytes())
    report = analyze(
        (we / "hop2-list-final.eml").read_bytes(),
        lookup=zone,
        now=NOW,
        envelope=HOP2_ENVELOPE,
        revision="06",
    )
    m1 = report.instance(1)
    assert m1 is not None and m1.body is not None
    assert m1.body.to_bytes() == hop1.body.to_bytes()
    signed = [f for f in m1.fields if f.lname not in ("dkim2-signature", "message-instance")]
    assert header_hash_input(signed) == (we / "hop1-header-hash-input.txt").read_bytes()


def test_other_recipient_is_a_custody_permerror(we: Path, zone: StaticResolver) -> None:
    raw = (we / "hop2-list-final.eml").read_bytes()
    report = analyze(
        raw,
        lookup=zone,
        now=NOW,
        envelope=Envelope("<list-bounces@lists.example.org>", ["<carol@example.net>"]),
        revision="06",
    )
    assert report.result == State.PERMERROR
    assert _verdicts(report) == [
        "PERMERROR: DKIM2-Signature i=2 RCPT TO <carol@example.net> did not match"
    ]


def test_tampered_footer_fails_only_the_m2_body_hash(we: Path, zone: StaticResolver) -> None:
    raw = (we / "hop2-list-final.eml").read_bytes().replace(b"list footer", b"list fooTer")
    report = analyze(raw, lookup=zone, now=NOW, envelope=HOP2_ENVELOPE, revision="06")
    assert report.result == State.FAIL
    assert _verdicts(report) == ["FAIL: Message Instance m=2 body hash sha256 mismatch"]
    assert [h.result for h in report.hops] == [State.PASS, State.FAIL]


def test_dropping_the_list_id_undo_breaks_signature_and_m1_header_hash(
    we: Path, zone: StaticResolver
) -> None:
    raw = (we / "hop2-list-final.eml").read_bytes()
    values = json.loads((we / "values.json").read_text())
    old_r = values["hop2"]["r"]
    recipe = json.loads(base64.b64decode(old_r))
    del recipe["h"]["list-id"]
    new_r = base64.b64encode(json.dumps(recipe, separators=(",", ":")).encode()).decode()
    assert old_r.encode() in raw
    report = analyze(
        raw.replace(old_r.encode(), new_r.encode()),
        lookup=zone,
        now=NOW,
        envelope=HOP2_ENVELOPE,
        revision="06",
    )
    assert report.result == State.FAIL
    assert sorted(_verdicts(report)) == [
        "FAIL: DKIM2-Signature i=2 rsa1 incorrect signature",
        "FAIL: Message Instance m=1 header hash sha256 mismatch",
    ]


@pytest.mark.parametrize("name", ["hop1-originator.eml", "hop2-list-final.eml"])
def test_fourteen_days_later_the_first_signature_has_expired(
    name: str, we: Path, zone: StaticResolver
) -> None:
    report = analyze((we / name).read_bytes(), lookup=zone, now=T1 + 14 * 86400 + 1, revision="06")
    assert report.result == State.PERMERROR
    assert "PERMERROR DKIM2-Signature i=1 signature expired" in _verdicts(report)


def test_hashes_and_signing_inputs_match_the_files(we: Path) -> None:
    values = json.loads((we / "values.json").read_text())
    hop1 = parse_message((we / "hop1-originator.eml").read_bytes())
    assert base64.b64encode(hop1.body.hash("sha256")).decode() == values["hop1"]["body_hash"]
    mi = [f for f in hop1.fields if f.lname == "message-instance"]
    sig = [f for f in hop1.fields if f.lname == "dkim2-signature"]
    assert signing_input(mi, [], sig[0]) == (we / "hop1-signing-input.txt").read_bytes()
    hop2 = parse_message((we / "hop2-list-final.eml").read_bytes())
    mis = [f for f in hop2.fields if f.lname == "message-instance"][::-1]  # m=1, m=2
    sigs = [f for f in hop2.fields if f.lname == "dkim2-signature"]  # i=2, i=1
    assert signing_input(mis, [sigs[1]], sigs[0]) == (we / "hop2-signing-input.txt").read_bytes()
    empty = parse_message(b"Subject: x\r\n\r\n")
    assert base64.b64encode(empty.body.hash("sha256")).decode() == values["empty_body_sha256"]


def test_signer_reproduces_both_hops_byte_for_byte(we: Path) -> None:
    hop1 = (we / "hop1-originator.eml").read_bytes()
    hop2 = (we / "hop2-list-final.eml").read_bytes()
    values = json.loads((we / "values.json").read_text())
    ed = SigningKey(
        "ed1", load_private_key((we / "ed1._domainkey.example.com.private.pem").read_bytes())
    )
    rsa = SigningKey(
        "rsa1",
        load_private_key((we / "rsa1._domainkey.lists.example.org.private.pem").read_bytes()),
    )
    original = hop1[hop1.index(b"From: Alice") :]
    env1 = values["hop1"]["envelope"]
    first = sign(
        original,
        domain="example.com",
        keys=[ed],
        timestamp=T1,
        mail_from=env1["mail_from"],
        rcpt_to=env1["rcpt_to"],
    )
    assert first.role == "originator"
    assert first.message == hop1
    # The list's own edit of the message (Subject tag, List-Id, footer), before it signs.
    edited = hop2[hop2.index(b"DKIM2-Signature: i=1") :]
    env2 = values["hop2"]["envelope"]
    second = sign(
        edited,
        previous=hop1,
        domain="lists.example.org",
        keys=[rsa],
        timestamp=T1 + 120,
        mail_from=env2["mail_from"],
        rcpt_to=env2["rcpt_to"],
        flags=["exploded"],
    )
    assert second.role == "reviser"
    assert base64.b64encode(second.recipe.encode()).decode() == values["hop2"]["r"]  # type: ignore[union-attr]
    assert second.message == hop2
