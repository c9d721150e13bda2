"""The two gallery samples about DKIM2 revisions, judged under each revision.

"groups-mldsa44": Alice and the ops-talk list sign by -09 rules with ``|`` signature groups
(Ed25519 | ML-DSA-44; Ed25519,RSA | ML-DSA-44) and the list records ``|`` hash groups
(SHA-256 | SHA-512).  "mixed-revisions": billing.example signs by -06 rules a message that
carries Auto-Submitted (left out of its header hash), forwarder.example by -09 rules.

The rules of -07, -08 and -09 are second-hand (SPEC-09-NOTES); what is pinned here is what
the engine makes of the samples, exactly: the verdict under each revision, the rule that
splits them and the fingerprint sentence of every hop.
"""

from __future__ import annotations

import hashlib
import re
import time

import pytest

from analysis import State
from analysis.dkim2 import ChainReport, Envelope, analyze
from analysis.dkim2.fields import parse_message_instance, parse_signature
from analysis.dkim2.keys import parse_key_record, public_record_for
from analysis.lookup import KeyQuery, LookupStatus
from analysis.message import parse_message
from dkim2web.reports import services
from dkim2web.samples.gallery import SAMPLES, BuiltSample, get_sample
from dkim2web.samples.keys import (
    DEMO_MLDSA44_SELECTORS,
    demo_zone,
    mldsa44_private_key,
    rsa_private_key,
)

NOW = 1_800_000_000
P, F, E = State.PASS, State.FAIL, State.PERMERROR

GROUPS_SYNTAX_06 = "PERMERROR Message-Instance m=2 syntax error"
HEADER_MISMATCH = "FAIL: Message Instance m=1 header hash sha256 mismatch"

#: Per sample and revision: (the chain's verdict, its first failure, each hop's result).
VERDICTS: dict[str, dict[str, tuple[State, str | None, dict[int, State]]]] = {
    "groups-mldsa44": {
        "06": (E, GROUPS_SYNTAX_06, {1: E, 2: E}),
        "07": (E, GROUPS_SYNTAX_06, {1: E, 2: E}),
        "08": (P, None, {1: P, 2: P}),
        "09": (P, None, {1: P, 2: P}),
        "auto": (P, None, {1: P, 2: P}),
    },
    "mixed-revisions": {
        "06": (P, None, {1: P, 2: P}),
        "07": (P, None, {1: P, 2: P}),
        "08": (F, HEADER_MISMATCH, {1: F, 2: P}),
        "09": (F, HEADER_MISMATCH, {1: F, 2: P}),
        "auto": (F, HEADER_MISMATCH, {1: F, 2: P}),
    },
}

#: Under auto: the verdict under every revision, (revision, result, level, first problem code).
OUTCOMES: dict[str, list[tuple[str, State, str, str | None]]] = {
    "groups-mldsa44": [
        ("06", E, "not-verified", "mi.syntax"),
        ("07", E, "not-verified", "mi.syntax"),
        ("08", P, "fully-verified", None),
        ("09", P, "fully-verified", None),
    ],
    "mixed-revisions": [
        ("06", P, "fully-verified", None),
        ("07", P, "fully-verified", None),
        ("08", F, "not-verified", "hash.header-mismatch"),
        ("09", F, "not-verified", "hash.header-mismatch"),
    ],
}

#: Under auto: where neighbouring revisions disagree, the rule that splits them.
SPLITS: dict[str, list[tuple[str, str, list[str], str, list[str]]]] = {
    "groups-mldsa44": [
        (
            "07",
            "08",
            ["groups"],
            "Under -07 rules the chain's verdict is permerror; under -08 rules it is pass: the "
            "rule that splits them is signature and hash groups (',' all must pass, '|' "
            "alternatives).",
            [
                "SPEC-09-NOTES 1.1, 1.2, as implemented by mailauth 8.1.0, Mail::DKIM2, "
                "croessner/dkim2, Stalwart mail-auth 0.15 (4 sources; draft text not public)"
            ],
        )
    ],
    "mixed-revisions": [
        (
            "07",
            "08",
            ["unsigned_fields"],
            "Under -07 rules the chain's verdict is pass; under -08 rules it is fail: the rule "
            "that splits them is which header fields the header hash leaves out.",
            [
                "SPEC-09-NOTES 1.8 (-08 §4.1), as implemented by mailauth 8.0.5, "
                "croessner/dkim2 v0.1.49 (2 sources; draft text not public)"
            ],
        )
    ],
}

#: Under auto, per hop: (domain, passes under, signer follows, clues, the sentence).
FINGERPRINTS: dict[str, list[tuple[str, list[str], list[str], list[str], str]]] = {
    "groups-mldsa44": [
        (
            "origin.example",
            ["08", "09"],
            ["08", "09"],
            ["uses '|' signature groups", "signs with ML-DSA-44"],
            "origin.example (hop 1) follows -08 or -09 rules (uses '|' signature groups; signs "
            "with ML-DSA-44); -06 or -07 receivers fail this hop (PERMERROR DKIM2-Signature i=1 "
            "syntax error): the signer is current, those receivers' software needs upgrading.",
        ),
        (
            "lists.example",
            ["08", "09"],
            ["08", "09"],
            ["uses '|' signature groups", "signs with ML-DSA-44", "uses '|' hash groups"],
            "lists.example (hop 2) follows -08 or -09 rules (uses '|' signature groups; signs "
            "with ML-DSA-44; uses '|' hash groups); -06 or -07 receivers fail this hop "
            "(PERMERROR DKIM2-Signature i=2 syntax error): the signer is current, those "
            "receivers' software needs upgrading.",
        ),
    ],
    "mixed-revisions": [
        (
            "billing.example",
            ["06", "07"],
            ["06", "07"],
            ["left Auto-Submitted unsigned"],
            "billing.example (hop 1) signed by -06 or -07 rules (left Auto-Submitted unsigned); "
            "an -08 or later receiver fails this hop (FAIL: Message Instance m=1 header hash "
            "sha256 mismatch): billing.example's DKIM2 software needs upgrading.",
        ),
        (
            "forwarder.example",
            ["06", "07", "08", "09"],
            ["06", "07", "08", "09"],
            [],
            "forwarder.example (hop 2) verifies under every revision (-06 to -09).",
        ),
    ],
}

CASES = [(slug, rev) for slug, by_rev in VERDICTS.items() for rev in by_rev]


@pytest.fixture(scope="module")
def built() -> dict[str, BuiltSample]:
    return {slug: get_sample(slug).build(NOW) for slug in VERDICTS}


def _report(sample: BuiltSample, revision: str = "auto", now: float = NOW + 5) -> ChainReport:
    return analyze(
        sample.raw,
        lookup=demo_zone(),
        envelope=Envelope(sample.mail_from, sample.rcpt_to),
        now=now,
        revision=revision,
    )


@pytest.fixture(scope="module")
def auto(built: dict[str, BuiltSample]) -> dict[str, ChainReport]:
    return {slug: _report(sample) for slug, sample in built.items()}


def test_the_revision_samples_close_the_gallery_in_this_order() -> None:
    assert [s.slug for s in SAMPLES][-2:] == ["groups-mldsa44", "mixed-revisions"]
    assert [get_sample(slug).title for slug in VERDICTS] == [
        "A -09 chain with signature groups and ML-DSA-44",
        "A mixed chain: an -06 originator and a -09 forwarder",
    ]


@pytest.mark.parametrize(("slug", "revision"), CASES)
def test_each_revision_sample_has_exactly_its_verdict_under_each_revision(
    built: dict[str, BuiltSample], slug: str, revision: str
) -> None:
    report = _report(built[slug], revision)
    failures = [f.message for f in report.findings if f.affects_verdict]
    result, first, hops = VERDICTS[slug][revision]
    assert (report.result, failures[0] if failures else None) == (result, first)
    assert {h.hop: h.result for h in report.hops} == hops
    assert (report.revision, report.revision_mode) == (
        ("09", "auto") if revision == "auto" else (revision, "fixed")
    )


@pytest.mark.parametrize("slug", list(VERDICTS))
def test_auto_lists_the_verdict_under_every_revision(
    auto: dict[str, ChainReport], slug: str
) -> None:
    got = [(o.revision, o.result, o.level, o.first_problem_code) for o in auto[slug].revisions]
    assert got == OUTCOMES[slug]
    # The table agrees with each revision judged alone.
    for o in auto[slug].revisions:
        assert (o.result, o.first_problem, o.hop_results) == VERDICTS[slug][o.revision]


@pytest.mark.parametrize("slug", list(VERDICTS))
def test_auto_names_the_rule_that_splits_the_revisions(
    auto: dict[str, ChainReport], slug: str
) -> None:
    got = [(s.older, s.newer, s.rules, s.sentence, s.sources) for s in auto[slug].splits]
    assert got == SPLITS[slug]


@pytest.mark.parametrize("slug", list(VERDICTS))
def test_auto_says_which_revision_each_hop_follows_in_exact_words(
    auto: dict[str, ChainReport], slug: str
) -> None:
    got = [
        (fp.domain, fp.passes_under, fp.signer_revisions, fp.clues, fp.sentence)
        for fp in auto[slug].fingerprints
    ]
    assert got == FINGERPRINTS[slug]
    assert [fp.hop for fp in auto[slug].fingerprints] == [1, 2]


# -- the -09 chain: groups and ML-DSA-44 --------------------------------------------------------


def _signatures_and_instances(
    raw: bytes,
) -> tuple[dict[int, list[list[str]]], dict[int, list[list[str]]]]:
    """Each signature's ``s=`` and each Message-Instance's ``h=``, as groups of names."""
    msg = parse_message(raw)
    sigs: dict[int, list[list[str]]] = {}
    hashes: dict[int, list[list[str]]] = {}
    for f in msg.fields:
        if f.lname == "dkim2-signature":
            sig, problems = parse_signature(f, groups=True)
            assert sig is not None, problems
            sigs[sig.hop] = [[f"{s.selector}:{s.algorithm}" for s in g] for g in sig.groups]
        elif f.lname == "message-instance":
            mi, problems = parse_message_instance(f, groups=True)
            assert mi is not None, problems
            hashes[mi.instance] = [[h.algorithm for h in g] for g in mi.hash_groups]
    return sigs, hashes


def test_the_09_chain_signs_with_groups_and_records_two_hash_groups(
    built: dict[str, BuiltSample],
) -> None:
    sigs, hashes = _signatures_and_instances(built["groups-mldsa44"].raw)
    assert sigs == {
        1: [["demo1:ed25519-sha256"], ["pq1:mldsa44"]],
        2: [["demo1:ed25519-sha256", "rsa1:rsa-sha256"], ["pq1:mldsa44"]],
    }
    assert hashes == {1: [["sha256"]], 2: [["sha256"], ["sha512"]]}


def test_every_selector_of_the_09_chain_passes_in_its_group(
    auto: dict[str, ChainReport],
) -> None:
    # The first '|' group is numbered 0 and the second 1 (the walk's SigSet.group).
    got = {
        h.hop: [(s.selector, s.algorithm, s.result, s.group, s.key_bits) for s in h.selectors]
        for h in auto["groups-mldsa44"].hops
    }
    assert got == {
        1: [
            ("demo1", "ed25519-sha256", "pass", 1, 256),
            ("pq1", "mldsa44", "pass", 2, 10496),
        ],
        2: [
            ("demo1", "ed25519-sha256", "pass", 1, 256),
            ("rsa1", "rsa-sha256", "pass", 1, 2048),
            ("pq1", "mldsa44", "pass", 2, 10496),
        ],
    }


def test_an_06_verifier_reads_the_bar_as_a_syntax_error(built: dict[str, BuiltSample]) -> None:
    report = _report(built["groups-mldsa44"], "06")
    got = [(f.code, f.message, f.detail) for f in report.findings if f.affects_verdict]

    def because(tag: str, item: str) -> str:
        return (
            f"{tag} contains '|', which separates signature and hash groups only from -08 "
            f"(SPEC-09-NOTES {item}); the rules of this revision read it as a malformed entry"
        )

    assert got == [
        ("mi.syntax", GROUPS_SYNTAX_06, because("h=", "1.2")),
        ("sig.syntax", "PERMERROR DKIM2-Signature i=1 syntax error", because("s=", "1.1")),
        ("sig.syntax", "PERMERROR DKIM2-Signature i=2 syntax error", because("s=", "1.1")),
    ]


def test_the_demo_zone_publishes_the_ml_dsa_44_keys_with_k_mldsa44() -> None:
    zone = demo_zone()
    for domain, selector in DEMO_MLDSA44_SELECTORS.items():
        answer = zone.lookup(KeyQuery(selector, domain))
        assert answer.status == LookupStatus.FOUND
        [record] = answer.records
        assert record == public_record_for(mldsa44_private_key(domain))
        key = parse_key_record(record)
        assert (key.key_type, key.bits, key.notes) == ("mldsa44", 10496, ())
        assert record.startswith("v=DKIM1; k=mldsa44; p=")


def test_the_ml_dsa_44_seed_is_derived_like_the_other_demo_keys() -> None:
    seed = hashlib.sha256(
        b"dkim2web demo key, never use for real mail: mldsa44 pq1._domainkey.origin.example"
    ).digest()
    assert mldsa44_private_key("origin.example").private_bytes_raw() == seed
    # Pinned (the records are 1774 characters), so a change to the derivation is noticed.
    assert {
        d: hashlib.sha256(public_record_for(mldsa44_private_key(d)).encode()).hexdigest()
        for d in DEMO_MLDSA44_SELECTORS
    } == {
        "origin.example": "fa981338359224ac6388db7d327dac7ad76dd3ff651ac5fd11789e448196af90",
        "lists.example": "dd196f65e115c39a40e4ba58ff7c54bd36d30cef111ff4bd5decf961543fd195",
    }


def test_the_list_signs_dkim2_with_its_own_rsa_key_not_its_arc_key() -> None:
    dkim2 = public_record_for(rsa_private_key("lists.example", "rsa1"))
    arc = public_record_for(rsa_private_key("lists.example"))
    assert hashlib.sha256(dkim2.encode()).hexdigest() == (
        "08d14205e99648338a6b7c572b9491f79b0d0d8b4609e8747ab14dd34127c53b"
    )
    assert arc != dkim2 and arc == public_record_for(rsa_private_key("lists.example", "arc1"))
    assert demo_zone().lookup(KeyQuery("rsa1", "lists.example")).records == (dkim2,)
    unknown = "lists.example publishes no RSA key under selector 'x'"
    with pytest.raises(KeyError, match=re.escape(unknown)):
        rsa_private_key("lists.example", "x")


# -- the mixed chain: an -06 originator, a -09 forwarder ----------------------------------------


def test_the_06_originator_left_auto_submitted_out_and_the_09_rules_count_it(
    built: dict[str, BuiltSample],
) -> None:
    raw = built["mixed-revisions"].raw
    assert b"\r\nAuto-Submitted: auto-generated\r\n" in raw
    by_revision: dict[str, list[tuple[str, bool | None]]] = {}
    for revision in ("06", "07", "08", "09"):
        [m1] = [i for i in _report(built["mixed-revisions"], revision).instances if i.instance == 1]
        by_revision[revision] = [(c.part, c.match) for c in m1.checks]
    assert by_revision == {
        "06": [("header", True), ("body", True)],
        "07": [("header", True), ("body", True)],
        "08": [("header", False), ("body", True)],
        "09": [("header", False), ("body", True)],
    }


def test_the_09_forwarder_is_noted_for_signing_a_chain_that_does_not_verify(
    auto: dict[str, ChainReport],
) -> None:
    notes = [
        (f.code, f.state, f.message, f.detail)
        for f in auto["mixed-revisions"].findings
        if not f.affects_verdict
    ]
    assert notes == [
        (
            "sig.signed-unverified-chain",
            State.NONE,
            "DKIM2-Signature i=2 was added to a chain that does not verify (hop 1 fails)",
            "From -08 a hop adds its signature only after the chain it received fully verified "
            "(or under an out-of-band arrangement). Hop 1 (d=billing.example) fails here on a "
            "check hop 2 (d=forwarder.example) could have made before signing.",
        ),
        (
            "draft.header-hash-revision",
            State.NONE,
            "Message Instance m=1 header hash matches the rules of draft-ietf-dkim-dkim2-spec-07",
            "The header hash does not match -09 rules but does match when the unsigned-field "
            "list of draft-ietf-dkim-dkim2-spec-07 is used. The signer hashed fields that -09 "
            "leaves out (or the reverse). Implementer: use the unsigned-field list of the "
            "revision you sign by (-09: SPEC-09-NOTES 1.8 (-08 §4.1), as implemented by "
            "mailauth 8.0.5, croessner/dkim2 v0.1.49 (2 sources; draft text not public)).",
        ),
    ]


# -- the descriptions, and signed now ------------------------------------------------------------


@pytest.mark.parametrize("slug", list(VERDICTS))
def test_each_description_says_the_later_rules_are_second_hand(slug: str) -> None:
    text = get_sample(slug).what_you_will_see
    assert "The rules of -07, -08 and -09 are second-hand" in text
    assert "their text is not public" in text


@pytest.mark.parametrize("slug", list(VERDICTS))
def test_each_description_names_the_revisions_the_engine_finds(
    auto: dict[str, ChainReport], slug: str
) -> None:
    text = get_sample(slug).what_you_will_see
    for fp in auto[slug].fingerprints:
        if fp.clues:  # the hops whose signer's revision the message shows
            assert " or ".join(f"-{n}" for n in fp.signer_revisions) + " rules" in text
    for split in auto[slug].splits:
        assert split.rule_titles[0].split(" (")[0] in text


def test_the_descriptions_name_the_verdicts_the_page_shows() -> None:
    groups = get_sample("groups-mldsa44").what_you_will_see
    assert "would be a PERMERROR under -06 and -07 rules and passes under -08 and -09" in groups
    assert "reads it as a syntax error" in groups
    assert "its signer follows -08 or -09 rules" in groups
    mixed = get_sample("mixed-revisions").what_you_will_see
    assert "would pass under -06 and -07 rules and fails under -08 and -09" in mixed
    assert "signed by -06 or -07 rules (it left Auto-Submitted unsigned)" in mixed
    assert "billing.example's DKIM2 software needs upgrading" in mixed


@pytest.mark.parametrize("slug", list(VERDICTS))
def test_the_revision_samples_signed_now_verify_now(slug: str) -> None:
    sample = get_sample(slug).sign_now()
    report = _report(sample, now=time.time())
    failures = [f.message for f in report.findings if f.affects_verdict]
    result, first, hops = VERDICTS[slug]["auto"]
    assert (report.result, failures[0] if failures else None) == (result, first)
    assert {h.hop: h.result for h in report.hops} == hops
    assert [fp.sentence for fp in report.fingerprints] == [x[4] for x in FINGERPRINTS[slug]]


@pytest.mark.django_db
@pytest.mark.parametrize("slug", list(VERDICTS))
def test_the_stored_report_carries_every_revision_and_the_fingerprints(slug: str) -> None:
    built = get_sample(slug).sign_now()
    analysis = services.analysis_submit(
        raw=built.raw, mail_from=built.mail_from, rcpt_to=built.rcpt_to, enqueue=False
    )
    run = services.analysis_run(analysis_id=analysis.pk)
    assert run is not None
    chain = run.document["dkim2"]
    assert (chain["revision"], chain["revision_mode"]) == ("09", "auto")
    assert [(r["revision"], r["result"]) for r in chain["revisions"]] == [
        (rev, result.value) for rev, result, _, _ in OUTCOMES[slug]
    ]
    assert [s["rules"] for s in chain["splits"]] == [s[2] for s in SPLITS[slug]]
    assert [f["sentence"] for f in chain["fingerprints"]] == [x[4] for x in FINGERPRINTS[slug]]


def test_the_whole_message_verdict_names_the_signer_to_upgrade(
    built: dict[str, BuiltSample],
) -> None:
    from analysis.message_report import analyze_message

    sample = built["mixed-revisions"]
    report = analyze_message(sample.raw, lookup=demo_zone(), now=NOW + 5)
    assert report.verdict.dkim2_revision == "09"
    assert report.verdict.points[0] == (
        "DKIM2 was judged by -09 rules. Under -06 and -07 rules the chain would be pass (the "
        "rule that splits them: which header fields the header hash leaves out). "
        "billing.example (hop 1) signs by -06 or -07 rules: its DKIM2 software needs upgrading."
    )
