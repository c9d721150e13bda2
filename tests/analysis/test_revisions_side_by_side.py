"""Every rule that differs between -06, -07, -08 and -09, with the verdict under each revision.

One test per rule of :data:`analysis.dkim2.revisions.RULES` that a message can show: the
chain's verdict (and the first problem) under ``--revision 06``, ``07``, ``08`` and ``09``
side by side, and, judged ``auto``, the rule the comparison names as the one that splits the
neighbouring revisions.  The -07..-09 rules are second-hand (SPEC-09-NOTES.md); each test says
which item it follows.
"""

from __future__ import annotations

import base64
import itertools
import json

import pytest

from analysis import State
from analysis.dkim2 import ChainReport, analyze
from analysis.dkim2.revisions import ORDER, REVISIONS, RULE_IDS, VERDICT_RULES
from analysis.resolvers import StaticResolver
from tests.support.chains import (
    DEFAULT_HEADERS,
    T0,
    Chain,
    Hop,
    append_body,
    build_chain,
    compose,
    edit_tags,
    get_tag,
    message,
    resign,
    set_header,
    set_tag,
)

P, F, PERM = State.PASS, State.FAIL, State.PERMERROR

ALICE = ("example.com", "<alice@example.com>", ["<list@lists.example.org>"])
LIST = ("lists.example.org", "<list-bounces@lists.example.org>", ["<bob@example.net>"])


def under_each(chain: Chain, raw: bytes | None = None, **kw: object) -> dict[str, State]:
    return {r: chain.analyze(raw, revision=r, **kw).result for r in ORDER}  # type: ignore[arg-type]


def first_problem(report: ChainReport) -> str | None:
    return next((f.message for f in report.findings if f.affects_verdict), None)


def split_rules(report: ChainReport) -> list[tuple[str, str, list[str]]]:
    return [(s.older, s.newer, s.rules) for s in report.splits]


def verdict_row(results: dict[str, State]) -> tuple[State, ...]:
    return tuple(results[r] for r in ORDER)


# -- the profiles themselves -----------------------------------------------------------------------


def test_every_rule_has_a_source_in_every_revision_and_adjacent_revisions_differ() -> None:
    for rev in REVISIONS.values():
        assert set(rev.sources) == set(RULE_IDS), rev.number
        # Rules taken from implementations say so; -06 rules cite S06 itself.
        for rule, source in rev.sources.items():
            if rev.number == "06":
                assert source.cite.startswith("S06"), rule
            elif source.provisional:
                assert "as implemented by" in source.text(), rule
    assert [n for n in ORDER if REVISIONS[n].text_public] == ["06"]
    changed = {
        (a, b): [r for r in RULE_IDS if getattr(REVISIONS[a], r) != getattr(REVISIONS[b], r)]
        for a, b in itertools.pairwise(ORDER)
    }
    assert changed == {
        ("06", "07"): [
            "request_flags",
            "recipe_grammar",
            "future_timestamp",
            "custody_strings",
            "from_authentic",
            "verification_levels",
        ],
        ("07", "08"): [
            "unsigned_fields",
            "groups",
            "unknown_algorithm",
            "signature_algorithms",
            "custody_state",
            "verification_levels",
            "resign_only_verified",
        ],
        ("08", "09"): ["null_body", "exploded_not_first"],
    }
    assert (
        set(RULE_IDS)
        - {
            "custody_strings",
            "verification_levels",
            "resign_only_verified",
            "exploded_not_first",
        }
        == VERDICT_RULES
    )


# -- unsigned fields: Auto-Submitted and VBR-Info are signed again from -08 (SPEC-09-NOTES 1.8) ----


def _with_auto_submitted(revision: str) -> Chain:
    headers = [*DEFAULT_HEADERS, ("Auto-Submitted", "auto-generated")]
    return build_chain(message(headers), [Hop(*ALICE, revision=revision)])


def test_an_06_signature_over_auto_submitted_fails_from_08() -> None:
    chain = _with_auto_submitted("06")
    assert verdict_row(under_each(chain)) == (P, P, F, F)
    report = chain.analyze()
    assert (report.revision, report.result) == ("09", F)
    assert first_problem(report) == "FAIL: Message Instance m=1 header hash sha256 mismatch"
    assert split_rules(report) == [("07", "08", ["unsigned_fields"])]
    (fp,) = report.fingerprints
    assert fp.signer_revisions == ["06", "07"]
    assert fp.sentence == (
        "example.com (hop 1) signed by -06 or -07 rules (left Auto-Submitted unsigned); an -08 "
        "or later receiver fails this hop (FAIL: Message Instance m=1 header hash sha256 "
        "mismatch): example.com's DKIM2 software needs upgrading."
    )


def test_a_09_signature_over_auto_submitted_fails_before_08() -> None:
    chain = _with_auto_submitted("09")
    assert verdict_row(under_each(chain)) == (F, F, P, P)
    report = chain.analyze()
    assert report.result == P
    assert split_rules(report) == [("07", "08", ["unsigned_fields"])]
    (fp,) = report.fingerprints
    assert fp.sentence == (
        "example.com (hop 1) follows -08 or -09 rules (signed Auto-Submitted); -06 or -07 "
        "receivers fail this hop (FAIL: Message Instance m=1 header hash sha256 mismatch): "
        "the signer is current, those receivers' software needs upgrading."
    )


def test_without_auto_submitted_or_vbr_info_the_lists_agree() -> None:
    chain = build_chain(message(), [Hop(*ALICE, revision="06")])
    assert verdict_row(under_each(chain)) == (P, P, P, P)
    assert chain.analyze().fingerprints[0].sentence == (
        "example.com (hop 1) verifies under every revision (-06 to -09)."
    )


# -- signature groups (SPEC-09-NOTES 1.1) ----------------------------------------------------------


def _grouped(groups: list[tuple[str, ...]]) -> Chain:
    return build_chain(
        message(),
        [Hop(*ALICE, revision="09", selectors=groups[0], selector_groups=groups[1:])],
    )


def test_a_bar_between_groups_is_a_syntax_error_before_08() -> None:
    chain = _grouped([("ed1",), ("rsa1",)])
    assert b"s=ed1:ed25519-sha256:" in chain.message and b"|rsa1:rsa-sha256:" in chain.message
    assert verdict_row(under_each(chain)) == (PERM, PERM, P, P)
    old = chain.analyze(revision="06")
    assert first_problem(old) == "PERMERROR DKIM2-Signature i=1 syntax error"
    assert old.findings[0].detail.startswith(
        "s= contains '|', which separates signature and hash groups only from -08"
    )
    report = chain.analyze()
    assert split_rules(report) == [("07", "08", ["groups"])]
    assert [(s.selector, s.group, s.result) for s in report.hops[0].selectors] == [
        ("ed1", 1, "pass"),
        ("rsa1", 2, "pass"),
    ]


def test_one_passing_group_is_enough_and_the_failing_one_is_a_note() -> None:
    chain = _grouped([("ed1",), ("rsa1",)])
    zone = {d: dict(n) for d, n in chain.zone.items()}
    zone["example.com"]["rsa1._domainkey"] = [
        ["txt", chain.zone["example.com"]["rsa2._domainkey"][0][1]]
    ]
    report = chain.analyze(zone=zone)
    assert report.result == P
    (note,) = [f for f in report.findings if f.code == "sig.group-failed"]
    assert (note.state, note.message, note.detail) == (
        State.NONE,
        "DKIM2-Signature i=1 signature group 2 (rsa1:rsa-sha256) failed; group 1 passed",
        "FAIL: DKIM2-Signature i=1 rsa1 incorrect signature",
    )


def test_every_entry_of_a_group_must_pass_and_no_group_passing_is_named() -> None:
    chain = _grouped([("ed1", "rsa1"), ("ed2",)])
    zone = {d: dict(n) for d, n in chain.zone.items()}
    zone["example.com"]["rsa1._domainkey"] = zone["example.com"]["rsa2._domainkey"]
    zone["example.com"]["ed2._domainkey"] = zone["example.com"]["ed3._domainkey"]
    report = chain.analyze(zone=zone)
    assert report.result == F
    assert [(f.code, f.message) for f in report.findings if f.affects_verdict] == [
        ("sig.incorrect", "FAIL: DKIM2-Signature i=1 rsa1 incorrect signature"),
        ("sig.incorrect", "FAIL: DKIM2-Signature i=1 ed2 incorrect signature"),
        ("sig.no-group-passed", "FAIL: DKIM2-Signature i=1 no signature group passed"),
    ]


def test_one_failing_signature_of_one_group_fails_without_the_06_partial_string() -> None:
    """-06 says "<s1> signature passed, <s2> signature failed"; -08 has no such string
    (Stalwart 0.15 dropped PartialSignatureFailure)."""
    chain = build_chain(message(), [Hop(*ALICE, revision="06", selectors=("ed1", "rsa1"))])
    zone = {d: dict(n) for d, n in chain.zone.items()}
    zone["example.com"]["rsa1._domainkey"] = zone["example.com"]["rsa2._domainkey"]
    old, new = chain.analyze(zone=zone, revision="06"), chain.analyze(zone=zone, revision="09")
    assert (old.result, new.result) == (F, F)
    assert first_problem(old) == (
        "FAIL: DKIM2-Signature i=1 ed1 signature passed, rsa1 signature failed"
    )
    assert first_problem(new) == "FAIL: DKIM2-Signature i=1 rsa1 incorrect signature"


# -- unknown algorithms (SPEC-09-NOTES 1.3) and ML-DSA-44 (1.4) ------------------------------------


def _with_unknown_entry(separator: str) -> bytes:
    chain = build_chain(message(), [Hop(*ALICE, revision="09")])

    def add(tags: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(n, v + f"{separator}pq9:foo-sha256:AAAA" if n == "s" else v) for n, v in tags]

    return resign(edit_tags(chain.message, "dkim2-signature", 1, add))


def test_an_unknown_algorithm_is_ignored_before_08_and_fails_its_group_from_08() -> None:
    chain = build_chain(message(), [Hop(*ALICE)])
    raw = _with_unknown_entry(",")
    assert verdict_row(under_each(chain, raw)) == (P, P, PERM, PERM)
    new = chain.analyze(raw)
    assert first_problem(new) == (
        "PERMERROR DKIM2-Signature i=1 pq9 uses unknown algorithm foo-sha256"
    )
    assert split_rules(new) == [("07", "08", ["unknown_algorithm"])]


def test_an_unknown_algorithm_in_its_own_group_leaves_the_other_group_to_pass() -> None:
    chain = build_chain(message(), [Hop(*ALICE)])
    raw = _with_unknown_entry("|")
    assert verdict_row(under_each(chain, raw)) == (PERM, PERM, P, P)
    notes = [f.message for f in chain.analyze(raw).findings if f.code == "sig.group-failed"]
    assert notes == [
        "DKIM2-Signature i=1 signature group 2 (pq9:foo-sha256) failed; group 1 passed"
    ]


def test_mldsa44_alone_is_unknown_before_08_and_verifies_from_08() -> None:
    chain = build_chain(message(), [Hop(*ALICE, revision="09", selectors=("pq1",))])
    assert verdict_row(under_each(chain)) == (PERM, PERM, P, P)
    old = chain.analyze(revision="06")
    assert first_problem(old) == (
        "PERMERROR DKIM2-Signature i=1 has no signature this verifier can check"
    )
    report = chain.analyze()
    assert split_rules(report) == [("07", "08", ["signature_algorithms"])]
    assert report.fingerprints[0].clues == ["signs with ML-DSA-44"]


def test_mldsa44_beside_ed25519_in_one_group_passes_everywhere() -> None:
    chain = build_chain(message(), [Hop(*ALICE, revision="08", selectors=("ed1", "pq1"))])
    assert verdict_row(under_each(chain)) == (P, P, P, P)
    old = chain.analyze(revision="06")
    assert [(s.selector, s.result) for s in old.hops[0].selectors] == [
        ("ed1", "pass"),
        ("pq1", "skipped"),
    ]


def test_the_signer_refuses_what_its_revision_does_not_have() -> None:
    from analysis.dkim2.sign import SigningError

    with pytest.raises(SigningError, match="mldsa44 is not an algorithm of -07"):
        build_chain(message(), [Hop(*ALICE, revision="07", selectors=("pq1",))])
    with pytest.raises(SigningError, match=r"groups \('\|'\) exist from -08; -07 has one group"):
        build_chain(message(), [Hop(*ALICE, revision="07", selector_groups=[("rsa1",)])])


# -- request flags (SPEC-09-NOTES 1.5) -------------------------------------------------------------


def test_donotmodify_is_enforced_by_06_only() -> None:
    chain = build_chain(
        message(),
        [
            Hop(*ALICE, revision="06", flags=("donotmodify",)),
            Hop(*LIST, revision="06", modify=set_header("Subject", "[list] Hello")),
        ],
    )
    assert verdict_row(under_each(chain)) == (F, P, P, P)
    report = chain.analyze()
    assert split_rules(report) == [("06", "07", ["request_flags"])]
    notes = [f.message for f in report.findings if f.code == "request.obsolete-flag"]
    assert notes == ["DKIM2-Signature i=1 asks donotmodify, which no longer means anything"]
    assert report.fingerprints[0].signer_revisions == ["06"]


def test_a_07_signer_refuses_the_removed_flags() -> None:
    from analysis.dkim2.sign import SigningError

    with pytest.raises(SigningError, match="-07 removed the donotmodify and donotexplode"):
        build_chain(message(), [Hop(*ALICE, revision="07", flags=("donotexplode",))])


# -- the null body recipe (SPEC-09-NOTES 1.6) ------------------------------------------------------


def test_a_null_body_recipe_is_an_error_from_09() -> None:
    chain = build_chain(
        message(),
        [
            Hop(*ALICE, revision="08"),
            Hop(*LIST, revision="08", modify=append_body("footer"), body_unrecoverable=True),
        ],
    )
    assert verdict_row(under_each(chain)) == (P, P, P, PERM)
    report = chain.analyze()
    assert first_problem(report) == "PERMERROR Message-Instance m=2 has a null body recipe"
    assert split_rules(report) == [("08", "09", ["null_body"])]
    assert report.fingerprints[1].signer_revisions == ["06", "07", "08"]


def test_a_09_signer_refuses_a_null_body_recipe() -> None:
    from analysis.dkim2.sign import SigningError

    with pytest.raises(SigningError, match="a null body recipe is a PERMERROR under -09"):
        build_chain(
            message(),
            [Hop(*ALICE, revision="09"), Hop(*LIST, revision="09", body_unrecoverable=True)],
        )


# -- the recipe grammar of -07: "u" steps (SPEC-09-NOTES 1.9) --------------------------------------


def test_a_u_step_is_invalid_json_for_06_and_valid_from_07() -> None:
    body = b"Caf\xe9 (ISO-8859-1).\r\nLine two.\r\n"
    chain = build_chain(
        message(DEFAULT_HEADERS, body),
        [
            Hop(*ALICE, revision="07"),
            Hop(
                *LIST,
                revision="07",
                modify=compose(set_header("Subject", "[list] Hello"), _replace_first_line),
            ),
        ],
    )
    assert verdict_row(under_each(chain)) == (PERM, P, P, P)
    old = chain.analyze(revision="06")
    assert first_problem(old) == "PERMERROR Message-Instance m=2 contains invalid JSON"
    report = chain.analyze()
    assert split_rules(report) == [("06", "07", ["recipe_grammar"])]
    assert 'records non-UTF-8 octets with a "u" recipe step' in report.fingerprints[1].clues


def _replace_first_line(msg: bytes) -> bytes:
    head, _, body = msg.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n" + b"Cafe (ASCII).\r\n" + body.split(b"\r\n", 1)[1]


# -- timestamps in the future (SPEC-09-NOTES 1.13) and the state of custody failures ---------------


def test_a_signature_from_the_future_is_an_error_from_07() -> None:
    chain = build_chain(message(), [Hop(*ALICE, timestamp=T0 + 3600)])
    results = {r: chain.analyze(now=T0, revision=r) for r in ORDER}
    assert verdict_row({r: x.result for r, x in results.items()}) == (P, PERM, F, F)
    assert first_problem(results["07"]) == (
        "PERMERROR DKIM2-Signature i=1 timestamp is in the future"
    )
    assert first_problem(results["09"]) == "FAIL: DKIM2-Signature i=1 timestamp is in the future"
    report = chain.analyze(now=T0)
    assert split_rules(report) == [
        ("06", "07", ["future_timestamp"]),
        ("07", "08", ["custody_state"]),
    ]


def test_an_envelope_mismatch_is_permerror_to_07_and_fail_from_08() -> None:
    chain = build_chain(message(), [Hop(*ALICE)])
    from analysis.dkim2 import Envelope

    other = Envelope("<alice@example.com>", ["<carol@lists.example.org>"])
    results = {r: chain.analyze(envelope=other, revision=r) for r in ORDER}
    assert verdict_row({r: x.result for r, x in results.items()}) == (PERM, PERM, F, F)
    assert first_problem(results["06"]) == (
        "PERMERROR: DKIM2-Signature i=1 RCPT TO <carol@lists.example.org> did not match"
    )
    assert first_problem(results["08"]) == (
        "FAIL: DKIM2-Signature i=1 RCPT TO <carol@lists.example.org> did not match"
    )
    report = chain.analyze(envelope=other)
    assert [s.sentence for s in report.splits] == [
        "Under -07 rules the chain's verdict is permerror; under -08 rules it is fail: the rule "
        "that splits them is whether a custody, envelope, timestamp or From-Authentic failure "
        "is FAIL or PERMERROR."
    ]


def test_the_inter_hop_custody_check_has_its_own_words_from_07() -> None:
    chain = build_chain(
        message(),
        [Hop(*ALICE), Hop("relay.example", "<bounces@relay.example>", ["<bob@example.net>"])],
    )
    old, mid = chain.analyze(revision="06"), chain.analyze(revision="07")
    assert first_problem(old) == (
        "PERMERROR: DKIM2-Signature i=2 MAIL FROM <bounces@relay.example> did not match"
    )
    assert first_problem(mid) == (
        "PERMERROR: DKIM2-Signature i=2 custody MAIL FROM <bounces@relay.example> does not "
        "follow from i=1"
    )


# -- From-Authentic (SPEC-09-NOTES 1.7) ------------------------------------------------------------


def _from(domain: str, signer: str) -> Chain:
    headers = [("From", f"Alice <alice@{domain}>"), *DEFAULT_HEADERS[1:]]
    return build_chain(
        message(headers),
        [Hop(signer, f"<alice@{signer}>", ["<bob@example.net>"], revision="06")],
    )


@pytest.mark.parametrize(
    ("from_domain", "signer", "row"),
    [
        ("example.com", "example.com", (P, P, P, P)),
        ("news.example.com", "example.com", (P, P, P, P)),  # d= a parent of the From domain
        ("example.com", "mail.example.com", (P, P, P, P)),  # needs a policy record: noted
        ("brand.example", "esp.example", (P, PERM, F, F)),
    ],
)
def test_from_authentic_side_by_side(from_domain: str, signer: str, row: tuple[State, ...]) -> None:
    assert verdict_row(under_each(_from(from_domain, signer))) == row


def test_a_from_the_signer_is_not_authentic_for_is_named() -> None:
    report = _from("brand.example", "esp.example").analyze()
    assert first_problem(report) == "FAIL: From header field is not Authentic for d=esp.example"
    assert report.from_checks == [
        {
            "instance": 1,
            "hop": 1,
            "from_domains": ["brand.example"],
            "d": "esp.example",
            "outcome": "not-authentic",
            "why": "brand.example vs esp.example",
        }
    ]
    assert split_rules(report) == [
        ("06", "07", ["from_authentic"]),
        ("07", "08", ["custody_state"]),
    ]


def test_a_d_below_the_from_domain_is_not_evaluated_without_the_policy_record() -> None:
    report = _from("example.com", "mail.example.com").analyze()
    (note,) = [f for f in report.findings if f.code == "sig.from-needs-policy-record"]
    assert note.message == (
        "From-Authentic not evaluated for DKIM2-Signature i=1: d=mail.example.com is below "
        "the From domain example.com"
    )
    assert report.from_checks[0]["outcome"] == "needs-policy-record"


def test_a_list_that_rewrites_from_must_sign_it_itself() -> None:
    rewrite = set_header("From", "Alice via the list <list@lists.example.org>")
    ok = build_chain(
        message(), [Hop(*ALICE, revision="09"), Hop(*LIST, revision="09", modify=rewrite)]
    )
    assert ok.analyze().result == P
    assert [c["outcome"] for c in ok.analyze().from_checks] == ["authentic", "authentic"]
    from analysis.dkim2.sign import SigningError

    foreign = set_header("From", "Alice <alice@elsewhere.example>")
    with pytest.raises(SigningError, match="From header field is not Authentic for d=lists"):
        build_chain(
            message(), [Hop(*ALICE, revision="09"), Hop(*LIST, revision="09", modify=foreign)]
        )


# -- verification levels (SPEC-09-NOTES 1.11) ------------------------------------------------------


def test_a_broken_earlier_hop_under_a_valid_newest_one_is_provisionally_verified_from_07() -> None:
    chain = build_chain(message(), [Hop(*ALICE), Hop(*LIST)])
    zone = {d: dict(n) for d, n in chain.zone.items()}
    zone["example.com"]["ed1._domainkey"] = zone["example.com"]["ed2._domainkey"]
    levels = {r: chain.analyze(zone=zone, revision=r).level for r in ORDER}
    assert levels == {
        "06": "not-verified",
        "07": "provisionally-verified",
        "08": "provisionally-verified",
        "09": "provisionally-verified",
    }
    report = chain.analyze(zone=zone)
    notes = [f.message for f in report.findings if f.code == "sig.signed-unverified-chain"]
    assert notes == ["DKIM2-Signature i=2 was added to a chain that does not verify (hop 1 fails)"]
    assert chain.analyze(zone=zone, revision="07").findings == [
        f
        for f in chain.analyze(zone=zone, revision="07").findings
        if f.code != "sig.signed-unverified-chain"
    ]


def test_exploded_on_the_first_signature_is_a_note_from_09() -> None:
    chain = build_chain(message(), [Hop(*ALICE, revision="08", flags=("exploded",))])
    codes = {r: [f.code for f in chain.analyze(revision=r).findings] for r in ("08", "09")}
    assert "sig.exploded-first" not in codes["08"]
    assert "sig.exploded-first" in codes["09"]
    assert chain.analyze().fingerprints[0].signer_revisions == ["06", "07", "08"]


# -- hash groups (SPEC-09-NOTES 1.2) ---------------------------------------------------------------


def test_hash_groups_one_matching_group_is_enough_from_08() -> None:
    chain = build_chain(
        message(), [Hop(*ALICE, revision="08", hash_groups=[("sha256",), ("sha512",)])]
    )
    assert verdict_row(under_each(chain)) == (PERM, PERM, P, P)
    h = get_tag(chain.message, "message-instance", 1, "h")
    alg, hh, _bh = h.split("|")[1].split(":")
    bad = set_tag(
        chain.message,
        "message-instance",
        1,
        "h",
        h.split("|")[0] + "|" + f"{alg}:{hh}:{base64.b64encode(bytes(64)).decode()}",
    )
    report = chain.analyze(resign(bad))
    assert report.result == P
    assert [f.message for f in report.findings if f.code == "mi.hash-group-failed"] == [
        "Message-Instance m=1 hash group 2 does not match; group 1 does"
    ]


def test_the_auto_judge_uses_the_newest_revision_and_a_fixed_one_alone() -> None:
    chain = build_chain(message(), [Hop(*ALICE)])
    auto = chain.analyze()
    assert (auto.revision, auto.revision_mode, auto.draft) == (
        "09",
        "auto",
        "draft-ietf-dkim-dkim2-spec-09",
    )
    assert [o.revision for o in auto.revisions] == list(ORDER)
    fixed = chain.analyze(revision="07")
    assert (fixed.revision, fixed.revision_mode, fixed.fingerprints, fixed.splits) == (
        "07",
        "fixed",
        [],
        [],
    )
    assert [(o.revision, o.result) for o in fixed.revisions] == [("07", P)]
    assert json.loads(json.dumps(auto.to_json()))["revisions"][0]["hops"] == {"1": "pass"}


def test_a_revision_name_may_be_written_as_the_draft_name() -> None:
    chain = build_chain(message(), [Hop(*ALICE)])
    report = analyze(
        chain.message,
        lookup=StaticResolver(chain.zone),
        envelope=chain.envelope,
        now=chain.now,
        revision="draft-ietf-dkim-dkim2-spec-08",
    )
    assert report.revision == "08"
    with pytest.raises(KeyError, match="unknown DKIM2 revision '10'"):
        chain.analyze(revision="10")


# -- the comparison's shortcut --------------------------------------------------------------


def _comparison(report: ChainReport) -> object:
    return (
        report.result,
        [o.to_json() for o in report.revisions],
        [f.to_json() for f in report.fingerprints],
        [s.to_json() for s in report.splits],
    )


def _corpus() -> list[tuple[str, bytes, Chain]]:
    """Messages that exercise every rule, and some that exercise none."""
    flagged = build_chain(
        message(),
        [
            Hop(*ALICE, revision="06", flags=("donotmodify",)),
            Hop(*LIST, revision="06", modify=set_header("Subject", "[list] Hello")),
        ],
    )
    null_body = build_chain(
        message(),
        [
            Hop(*ALICE, revision="08"),
            Hop(*LIST, revision="08", modify=append_body("footer"), body_unrecoverable=True),
        ],
    )
    u_step = build_chain(
        message(DEFAULT_HEADERS, b"Caf\xe9.\r\nLine two.\r\n"),
        [
            Hop(*ALICE, revision="07"),
            Hop(*LIST, revision="07", modify=_replace_first_line),
        ],
    )
    future = build_chain(message(), [Hop(*ALICE, timestamp=T0 + 3600)])
    plain = build_chain(message(), [Hop(*ALICE), Hop(*LIST)])
    out = [
        ("auto-submitted-06", _with_auto_submitted("06").message, _with_auto_submitted("06")),
        ("auto-submitted-09", _with_auto_submitted("09").message, _with_auto_submitted("09")),
        ("groups", _grouped([("ed1",), ("rsa1",)]).message, _grouped([("ed1",), ("rsa1",)])),
        ("unknown-in-group", _with_unknown_entry(","), plain),
        ("unknown-alone", _with_unknown_entry("|"), plain),
        ("flags", flagged.message, flagged),
        ("null-body", null_body.message, null_body),
        ("u-step", u_step.message, u_step),
        ("future", future.message, future),
        ("not-authentic", _from("brand.example", "esp.example").message, _from("b", "e")),
        ("plain", plain.message, plain),
    ]
    return out


def test_the_shortcut_gives_the_exhaustive_comparison_on_every_kind_of_message() -> None:
    """A revision whose differing rules the message does not exercise takes the judging
    outcome without a walk: the comparison must be the one every walk gives."""
    from analysis.dkim2 import plan, verify_plan

    for name, raw, chain in _corpus():
        zone = _from("brand.example", "esp.example").zone if name == "not-authentic" else chain.zone
        lookup = StaticResolver(zone)
        for now in (chain.now, T0):
            p = plan(raw)
            answers = lookup.lookup_many(p.key_queries)
            fast = verify_plan(p, answers, envelope=chain.envelope, now=now)
            full = verify_plan(
                plan(raw), answers, envelope=chain.envelope, now=now, exhaustive=True
            )
            assert _comparison(fast) == _comparison(full), name


def test_the_shortcut_gives_the_exhaustive_comparison_on_the_mail_auth_vectors(
    shared_dir: object,
) -> None:
    from pathlib import Path

    from analysis.dkim2 import Envelope, Options, plan, verify_plan

    vectors = Path(str(shared_dir)) / "mail-auth-vectors"
    zone = StaticResolver.from_json_file(vectors / "dns.json")
    for case in json.loads((vectors / "cases.json").read_text()):
        raw = (vectors / "expected" / case["file"]).read_bytes()
        options = Options(compat=not case["strict"])
        envelope = Envelope(case["mail_from"], list(case["rcpt_to"]))
        p = plan(raw, options)
        answers = zone.lookup_many(p.key_queries)
        fast = verify_plan(p, answers, envelope=envelope, now=case["now"])
        full = verify_plan(
            plan(raw, options), answers, envelope=envelope, now=case["now"], exhaustive=True
        )
        assert _comparison(fast) == _comparison(full), case["name"]
