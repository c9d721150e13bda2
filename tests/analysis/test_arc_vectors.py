"""ARC on real messages this project did not write: the IETF list mail and the spam that
Fastmail sealed (``interop/brong``).  Fastmail's keys are in no zone here, so offline both
signatures of each set are ``permerror`` (no key) and the chain fails at its newest set;
what is exact besides is the structure, the sealer, the selectors, ``cv=``, the seal time,
the signed fields, the authserv-id, and that the message body still matches the AMS."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import arc
from analysis.message import parse_message
from analysis.resolvers import StaticResolver

ARRIVAL = 1723080214


def report_for(shared_dir: Path, name: str) -> arc.ArcReport:
    raw = (shared_dir / "interop" / "brong" / name).read_bytes()
    return arc.analyze(parse_message(raw), lookup=StaticResolver({}), now=ARRIVAL)


SEALED = [
    (
        "brong-final.eml",
        "fm3",
        1723080214,
        "mx6.messagingengine.com",
        [
            "mime-version",
            "date",
            "to",
            "message-id",
            "subject",
            "list-id",
            "list-archive",
            "list-help",
            "list-owner",
            "list-post",
            "list-subscribe",
            "list-unsubscribe",
            "content-type",
            "from",
        ],
    ),
    (
        "spam.eml",
        "fm2",
        1759097894,
        "phl-mx-08.messagingengine.com",
        ["message-id", "from", "to", "subject", "date", "mime-version", "content-type"],
    ),
]


@pytest.mark.parametrize(("name", "selector", "sealed_at", "authserv_id", "signed"), SEALED)
def test_fastmail_sealed_messages_offline(
    shared_dir: Path,
    name: str,
    selector: str,
    sealed_at: int,
    authserv_id: str,
    signed: list[str],
) -> None:
    report = report_for(shared_dir, name)
    assert (report.result, report.broken_at, report.oldest_pass) == ("fail", 1, None)
    [inst] = report.instances
    assert (
        inst.i,
        inst.sealer,
        inst.seal_selector,
        inst.seal_result,
        inst.cv,
        inst.seal_timestamp,
        inst.ams_domain,
        inst.ams_selector,
        inst.ams_result,
        inst.ams_body_hash_matches,
        inst.aar_authserv_id,
    ) == (
        1,
        "messagingengine.com",
        selector,
        "permerror",
        "none",
        sealed_at,
        "messagingengine.com",
        selector,
        "permerror",
        True,
        authserv_id,
    )
    assert inst.ams_signed_headers == signed
    assert [(f.code, f.detail) for f in report.findings] == [
        (
            "arc.key-not-found",
            f"{selector}._domainkey.messagingengine.com does not exist (NXDOMAIN)",
        )
    ] * 2
    assert inst.aar_raw is not None
    assert inst.aar_raw.startswith(f"ARC-Authentication-Results: i=1; {authserv_id};")


@pytest.mark.parametrize(
    "name", ["brong-mm.eml", "brong-mm2.eml", "brong-mm3.eml", "brong-orig.eml", "empty.eml"]
)
def test_messages_without_arc_sets_have_status_none(shared_dir: Path, name: str) -> None:
    report = report_for(shared_dir, name)
    assert (report.result, report.instances, report.findings) == ("none", [], [])


def test_every_brong_message_is_covered(shared_dir: Path) -> None:
    names = {p.name for p in (shared_dir / "interop" / "brong").glob("*.eml")}
    assert names == {
        "brong-final.eml",
        "brong-mm.eml",
        "brong-mm2.eml",
        "brong-mm3.eml",
        "brong-orig.eml",
        "empty.eml",
        "spam.eml",
    }
