"""Every gallery sample yields exactly its verdict and first failure, offline: the DKIM2
chain's, and the whole message's (the demo zone publishes each demo domain's SPF record and
DMARC policy, so DMARC judges the From domain as a receiver would)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from analysis import State
from analysis.dkim2 import Envelope, analyze
from analysis.dkim2.keys import public_record_for
from analysis.lookup import KeyQuery, LookupStatus
from dkim2web.reports import services
from dkim2web.reports.models import Analysis
from dkim2web.samples.gallery import SAMPLES, BuiltSample, get_sample
from dkim2web.samples.keys import DEMO_DOMAINS, DemoDnsLookup, demo_zone, private_key

NOW = 1_800_000_000

#: Judged by -09 rules (auto, the default): from -08 a broken envelope binding or chain of
#: custody and an expired signature are FAIL (Stalwart mail-auth 0.15; SPEC-09-NOTES is
#: silent), and the custody check has its own (provisional) words from -07.
EXPECTED: dict[str, tuple[State, str | None]] = {
    "clean-list": (State.PASS, None),
    "list-without-recipe": (
        State.FAIL,
        "FAIL: Message Instance m=1 body hash sha256 mismatch",
    ),
    "replayed": (
        State.FAIL,
        "FAIL: DKIM2-Signature i=3 RCPT TO <carol@inbox.example> did not match",
    ),
    "tampered": (State.FAIL, "FAIL: Message Instance m=1 body hash sha256 mismatch"),
    "expired": (State.FAIL, "FAIL: DKIM2-Signature i=1 signature expired"),
    "broken-custody": (
        State.FAIL,
        "FAIL: DKIM2-Signature i=2 custody MAIL FROM <bounces@relay.example> does not follow "
        "from i=1",
    ),
    "real-mail": (State.PASS, None),
    # Signed by -09 rules with '|' groups and ML-DSA-44 (tests/web/test_samples_revisions.py).
    "groups-mldsa44": (State.PASS, None),
    # An -06 originator left Auto-Submitted out of its header hash; -08 on hash it.
    "mixed-revisions": (State.FAIL, "FAIL: Message Instance m=1 header hash sha256 mismatch"),
}

#: The same samples judged by -06 rules: today's -06 verdicts, unchanged; the -09 chain's
#: '|' groups are a syntax error to an -06 verifier, and the -06 originator's hop passes.
EXPECTED_06: dict[str, tuple[State, str | None]] = {
    **EXPECTED,
    "replayed": (
        State.PERMERROR,
        "PERMERROR: DKIM2-Signature i=3 RCPT TO <carol@inbox.example> did not match",
    ),
    "expired": (State.PERMERROR, "PERMERROR DKIM2-Signature i=1 signature expired"),
    "broken-custody": (
        State.PERMERROR,
        "PERMERROR: DKIM2-Signature i=2 MAIL FROM <bounces@relay.example> did not match",
    ),
    "groups-mldsa44": (State.PERMERROR, "PERMERROR Message-Instance m=2 syntax error"),
    "mixed-revisions": (State.PASS, None),
}

#: Under -06 a sample has one failure at most, except the -09 chain: each field with a '|'.
FAILURES_06: dict[str, list[str]] = {
    "groups-mldsa44": [
        "PERMERROR Message-Instance m=2 syntax error",
        "PERMERROR DKIM2-Signature i=1 syntax error",
        "PERMERROR DKIM2-Signature i=2 syntax error",
    ],
}

#: The whole message's verdict: DMARC passes only where a DKIM2 chain holds (no demo
#: message carries a DKIM1 signature that survives, and no SPF domain aligns).
TRUSTED = {"clean-list", "real-mail", "groups-mldsa44"}


def _verdict(
    built: BuiltSample, now: float, revision: str = "auto"
) -> tuple[State, str | None, list[str]]:
    report = analyze(
        built.raw,
        lookup=demo_zone(),
        envelope=Envelope(built.mail_from, built.rcpt_to),
        now=now,
        revision=revision,
    )
    failures = [f.message for f in report.findings if f.affects_verdict]
    return report.result, (failures[0] if failures else None), failures


def test_the_gallery_has_the_dkim2_samples_the_real_mail_one_and_the_revision_ones() -> None:
    assert [s.slug for s in SAMPLES] == list(EXPECTED)
    for sample in SAMPLES:
        assert sample.title and len(sample.what_you_will_see) > 100


@pytest.mark.parametrize("slug", list(EXPECTED))
def test_each_sample_has_exactly_its_verdict_and_first_failure(slug: str) -> None:
    result, first, failures = _verdict(get_sample(slug).build(NOW), NOW + 5)
    assert (result, first) == EXPECTED[slug]
    assert len(failures) == (0 if first is None else 1), failures


@pytest.mark.parametrize("slug", list(EXPECTED))
def test_each_sample_keeps_its_06_verdict_under_revision_06(slug: str) -> None:
    result, first, failures = _verdict(get_sample(slug).build(NOW), NOW + 5, "06")
    assert (result, first) == EXPECTED_06[slug]
    assert failures == FAILURES_06.get(slug, [first] if first else [])


@pytest.mark.parametrize("slug", list(EXPECTED))
def test_samples_signed_now_verify_now(slug: str) -> None:
    result, first, _ = _verdict(get_sample(slug).sign_now(), time.time())
    assert (result, first) == EXPECTED[slug]


def test_the_clean_chain_is_three_hops_with_the_list_changes_explained() -> None:
    built = get_sample("clean-list").build(NOW)
    report = analyze(
        built.raw,
        lookup=demo_zone(),
        envelope=Envelope(built.mail_from, built.rcpt_to),
        now=NOW,
    )
    assert [(h.hop, h.domain, h.result, h.custody_link) for h in report.hops] == [
        (1, "origin.example", State.PASS, "first"),
        (2, "lists.example", State.PASS, "ok"),
        (3, "forwarder.example", State.PASS, "ok"),
    ]
    assert report.summary == (
        "Pass: 3 hops verified; lists.example changed Subject, added List-Id and added 3 body lines"
    )
    assert (built.mail_from, built.rcpt_to) == ("<bob@forwarder.example>", ["<bob@inbox.example>"])


def test_the_expired_sample_was_signed_twenty_days_before_now() -> None:
    built = get_sample("expired").build(NOW)
    assert f"t={NOW - 20 * 86400};".encode() in built.raw
    date = datetime.fromtimestamp(NOW - 20 * 86400, UTC).strftime("%d %b %Y")
    assert date.encode() in built.raw


def test_demo_keys_are_derived_the_same_way_every_time() -> None:
    # Pinned, so a change to the derivation (which would change every demo record and
    # break anything saved from the gallery) is noticed.
    assert public_record_for(private_key("origin.example")) == (
        "v=DKIM1; k=ed25519; p=K0pzU/my8XsMI9qFdQChNkCyJXtRfeObSeZf6NxfewI="
    )
    assert len({public_record_for(private_key(d)) for d in DEMO_DOMAINS}) == len(DEMO_DOMAINS)
    assert all(d.endswith(".example") for d in DEMO_DOMAINS)


def test_the_demo_zone_serves_only_example_names() -> None:
    zone = demo_zone()
    found = zone.lookup(KeyQuery("demo1", "lists.example"))
    assert found.status == LookupStatus.FOUND
    assert zone.lookup(KeyQuery("demo1", "nowhere.example")).status == LookupStatus.NXDOMAIN
    outside = zone.lookup(KeyQuery("demo1", "lists.example.org"))
    assert outside.status == LookupStatus.ERROR  # "not served here", never "does not exist"
    assert (
        DemoDnsLookup()
        .lookup_many([KeyQuery("demo1", "origin.example")])[KeyQuery("demo1", "origin.example")]
        .status
        == LookupStatus.FOUND
    )


@pytest.mark.django_db
@pytest.mark.parametrize("slug", list(EXPECTED))
def test_through_the_service_with_the_default_lookup_and_no_network(slug: str) -> None:
    built = get_sample(slug).sign_now()
    analysis = services.analysis_submit(
        raw=built.raw, mail_from=built.mail_from, rcpt_to=built.rcpt_to, enqueue=False
    )
    run = services.analysis_run(analysis_id=analysis.pk)  # AppDnsLookup from settings
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    assert run is not None
    expected_state, expected_first = EXPECTED[slug]
    chain = run.document["dkim2"]
    assert chain["result"] == expected_state.value
    failures = [f["message"] for f in chain["findings"] if f["state"] != "none"]
    assert (failures[0] if failures else None) == expected_first
    # The whole message: DMARC passes only where the DKIM2 chain holds (through DKIM2, as
    # the demo mail carries no DKIM1 signature).
    assert run.result == ("pass" if slug in TRUSTED else "fail")
    assert (run.document["dmarc"]["result"], run.document["dmarc"]["result_without_dkim2"]) == (
        "pass" if slug in TRUSTED else "fail",
        "fail",
    )
    # The DNS evidence is stored with the run: every answer came from the demo zone.
    assert run.dns_evidence
    assert {e["transport"] for e in run.dns_evidence} == {"static"}


@pytest.mark.django_db
def test_the_real_mail_sample_carries_every_mechanism_and_the_receivers_record() -> None:
    built = get_sample("real-mail").sign_now()
    analysis = services.analysis_submit(
        raw=built.raw, mail_from=built.mail_from, rcpt_to=built.rcpt_to, enqueue=False
    )
    run = services.analysis_run(analysis_id=analysis.pk)
    assert run is not None
    doc = run.document
    lines = {m["mechanism"]: (m["result"], m["claimed"]) for m in doc["verdict"]["mechanisms"]}
    assert lines == {
        "dkim2": ("pass", None),
        "dkim1": ("fail", "fail"),
        "arc": ("pass", "pass"),
        "spf": ("pass", "pass"),
        "dmarc": ("pass", "fail"),
    }
    [signature] = doc["dkim1"]["signatures"]
    assert (signature["domain"], signature["failed_step"]) == ("origin.example", "body-hash")
    assert [(i["i"], i["sealer"], i["seal_result"]) for i in doc["arc"]["instances"]] == [
        (1, "lists.example", "pass")
    ]
    assert (doc["smtp"]["source"], doc["smtp"]["client_ip"]) == ("reconstructed", "198.51.100.20")
    assert doc["receivers"]["receiver_authserv_id"] == "mx.inbox.example"
    assert doc["receivers"]["arc_override"].startswith(
        "The final receiver mx.inbox.example reports dmarc=fail together with arc=pass"
    )
    assert doc["verdict"]["headline"] == (
        "Trusted: a DKIM2 signature by origin.example vouches for origin.example, so DMARC "
        "passes; origin.example should keep signing with DKIM1 too, for receivers that do not "
        "count DKIM2 yet."
    )
