"""ARC (analysis.arc): chains that pass, and every way RFC 8617 §5.2 makes one fail.

Chains are sealed by dkimpy (``dkim.arc_sign``, through tests.support.mailauth), then one
thing is broken; each test asserts the chain status, where it broke, oldest-pass, and each
instance's seal and message-signature verdicts.
"""

from __future__ import annotations

import json

import pytest

from analysis import arc
from analysis.findings import State, Step
from analysis.lookup import KeyAnswer, KeyQuery
from analysis.message import parse_message
from tests.support.mailauth import (
    ARC_FIELDS,
    NOW,
    SIGN_TIME,
    TestKey,
    Zone,
    arc_seal,
    drop_arc_fields,
    ed25519_key,
    fail_name,
    key_record,
    message,
    publish,
    replace_field,
    resolver,
    rsa_key,
    set_tag,
    short_rsa_key,
)

SEALERS: list[tuple[str, str, str]] = [
    ("lists.example.org", "arc", "one"),
    ("fwd.example.net", "arc2", "two"),
    ("mx.example.edu", "arc3", "three"),
]
SIGNED = ["from", "to", "subject", "date", "message-id", "mime-version", "content-type", "from"]


def key(n: int) -> TestKey:
    return rsa_key(SEALERS[n - 1][2])


def chain(n: int, raw: bytes | None = None, **seal: object) -> bytes:
    """``raw`` (a fresh message by default) sealed by the first ``n`` sealers, in order."""
    raw = message() if raw is None else raw
    for k in range(1, n + 1):
        domain, selector, _ = SEALERS[k - 1]
        raw = arc_seal(raw, key(k), domain=domain, selector=selector, **seal)  # type: ignore[arg-type]
    return raw


def zone(n: int = 3) -> Zone:
    z: Zone = {}
    for k in range(1, n + 1):
        domain, selector, _ = SEALERS[k - 1]
        publish(z, domain, selector, key(k))
    return z


def check(raw: bytes, z: Zone | None = None) -> arc.ArcReport:
    return arc.analyze(parse_message(raw), lookup=resolver(zone() if z is None else z), now=NOW)


Row = tuple[int, str | None, str, str | None, str, bool | None]


def rows(report: arc.ArcReport) -> list[Row]:
    return [
        (i.i, i.sealer, i.seal_result, i.cv, i.ams_result, i.ams_body_hash_matches)
        for i in report.instances
    ]


def codes(report: arc.ArcReport) -> dict[int | None, list[str]]:
    out: dict[int | None, list[str]] = {}
    for f in report.findings:
        out.setdefault(f.hop, []).append(f.code)
    return out


def status(report: arc.ArcReport) -> tuple[str, int | None, int | None]:
    return report.result, report.broken_at, report.oldest_pass


# -- none and pass ---------------------------------------------------------------------------------


def test_a_message_without_arc_sets_has_status_none() -> None:
    prepared = arc.prepare(parse_message(message()))
    assert prepared.key_queries == []
    report = arc.verify(prepared, {}, now=NOW)
    assert (status(report), report.instances, report.findings) == ((("none", None, None)), [], [])
    assert report.summary == "ARC: the message carries no ARC set."


@pytest.mark.parametrize("n", [1, 2, 3])
def test_chains_of_one_two_and_three_sets_pass(n: int) -> None:
    report = check(chain(n))
    assert status(report) == ("pass", None, 0)
    assert rows(report) == [
        (k, SEALERS[k - 1][0], "pass", "none" if k == 1 else "pass", "pass", True)
        for k in range(1, n + 1)
    ]
    assert report.findings == []
    assert [i.aar_authserv_id for i in report.instances] == [
        f"mx.{SEALERS[k - 1][0]}" for k in range(1, n + 1)
    ]


def test_a_passing_chain_is_summarised() -> None:
    assert check(chain(3)).summary == (
        "ARC: pass — the chain of 3 sets validates (newest sealed by mx.example.edu); every "
        "message signature verifies (oldest-pass=0)."
    )


def test_an_instance_reports_every_field() -> None:
    raw = chain(1)
    [inst] = check(raw).instances
    data = inst.to_json()
    assert data["aar_raw"].startswith(
        "ARC-Authentication-Results: i=1; mx.lists.example.org;\r\n spf=pass"
    )
    assert data["seal_raw"].startswith("ARC-Seal: i=1; cv=none; a=rsa-sha256;")
    assert data["ams_raw"].startswith("ARC-Message-Signature: i=1; a=rsa-sha256;")
    for name in ("aar_raw", "seal_raw", "ams_raw"):
        del data[name]
    assert data == {
        "i": 1,
        "sealer": "lists.example.org",
        "seal_selector": "arc",
        "seal_result": "pass",
        "cv": "none",
        "seal_timestamp": SIGN_TIME,
        "ams_domain": "lists.example.org",
        "ams_selector": "arc",
        "ams_result": "pass",
        "ams_body_hash_matches": True,
        "ams_signed_headers": SIGNED,
        "aar_authserv_id": "mx.lists.example.org",
        "reason": (
            "The set i=1 of lists.example.org verifies: its seal and message signature are valid."
        ),
        "findings": [],
    }


def test_the_report_is_json_and_findings_carry_the_instance() -> None:
    raw = chain(2).replace(b"noon", b"one")
    report = check(raw)
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) == {"result", "summary", "broken_at", "oldest_pass", "instances", "findings"}
    assert [(f["code"], f["hop"]) for f in data["findings"]] == [
        ("arc.ams-body-hash-mismatch", 1),
        ("arc.ams-body-hash-mismatch", 2),
    ]
    assert {f.step for f in report.findings} == {Step.ARC}
    assert [f.data for f in report.findings] == [{"arc_instance": 1}, {"arc_instance": 2}]


# -- the message changed after the newest seal -----------------------------------------------------


def test_a_body_changed_after_the_newest_seal_breaks_the_chain_there() -> None:
    report = check(chain(3).replace(b"noon", b"one"))
    assert status(report) == ("fail", 3, None)
    assert rows(report) == [
        (1, "lists.example.org", "pass", "none", "fail", False),
        (2, "fwd.example.net", "pass", "pass", "fail", False),
        (3, "mx.example.edu", "pass", "pass", "fail", False),
    ]
    assert codes(report) == {k: ["arc.ams-body-hash-mismatch"] for k in (1, 2, 3)}
    assert report.summary == (
        "ARC: fail — the chain of 3 sets breaks at i=3: the message signature of the newest "
        "set (i=3, mx.example.edu) does not verify: the body changed after it was added; the "
        "message was changed after mx.example.edu sealed it: by a later handler that did not "
        "add its own ARC set, or in the copy analysed here."
    )
    assert report.instances[2].reason == (
        "The set i=3 of mx.example.edu: the seal verifies; the message signature does not "
        "verify: the body changed after it was added."
    )


def test_a_header_changed_after_the_newest_seal_breaks_the_chain_there() -> None:
    report = check(replace_field(chain(2), "Subject", b" Changed"))
    assert status(report) == ("fail", 2, None)
    assert rows(report) == [
        (1, "lists.example.org", "pass", "none", "fail", True),
        (2, "fwd.example.net", "pass", "pass", "fail", True),
    ]
    assert codes(report) == {1: ["arc.ams-signature-mismatch"], 2: ["arc.ams-signature-mismatch"]}


def test_a_change_between_two_sets_keeps_the_chain_and_moves_oldest_pass() -> None:
    """The body changed between sealers 1 and 2: sealer 2 validly sealed the changed
    message, so the chain passes, and only the AMS of i=2 and later still verify."""
    raw = chain(1).replace(b"noon", b"one")
    raw = arc_seal(raw, key(2), domain="fwd.example.net", selector="arc2")
    raw = arc_seal(raw, key(3), domain="mx.example.edu", selector="arc3")
    report = check(raw)
    assert status(report) == ("pass", None, 2)
    assert [i.ams_result for i in report.instances] == ["fail", "pass", "pass"]
    assert report.summary == (
        "ARC: pass — the chain of 3 sets validates (newest sealed by mx.example.edu); the "
        "message signatures verify back to i=2 (oldest-pass=2)."
    )


# -- broken seals ----------------------------------------------------------------------------------


def test_a_set_sealed_with_an_unpublished_key_breaks_the_chain_at_that_set() -> None:
    z = zone()
    z["fwd.example.net"] = {}
    publish(z, "fwd.example.net", "arc2", rsa_key("rotated"))
    report = check(chain(3), z)
    assert status(report) == ("fail", 2, 3)
    assert rows(report) == [
        (1, "lists.example.org", "pass", "none", "pass", True),
        (2, "fwd.example.net", "fail", "pass", "fail", True),
        (3, "mx.example.edu", "pass", "pass", "pass", True),
    ]
    assert codes(report) == {2: ["arc.ams-signature-mismatch", "arc.seal-signature-mismatch"]}
    assert report.summary == (
        "ARC: fail — the chain of 3 sets breaks at i=2: the seal of i=2 (fwd.example.net) does "
        "not verify; the seal of fwd.example.net was altered after sealing, or "
        "fwd.example.net seals with a key other than the one it publishes."
    )


def test_a_seal_altered_after_a_later_seal_breaks_the_chain_at_the_later_seal() -> None:
    """Every later seal covers the earlier ones, so the walk from the newest finds i=3."""
    raw = set_tag(chain(3), "ARC-Seal", "t", str(SIGN_TIME + 1), nth=1)  # the seal of i=2
    report = check(raw)
    assert status(report) == ("fail", 3, 0)
    assert [(i.i, i.seal_result, i.ams_result) for i in report.instances] == [
        (1, "pass", "pass"),
        (2, "fail", "pass"),
        (3, "fail", "pass"),
    ]
    assert report.instances[1].seal_timestamp == SIGN_TIME + 1


# -- the form of the chain (RFC 8617 §5.2 steps 1 to 3) --------------------------------------------


def test_a_missing_arc_authentication_results_makes_the_set_incomplete() -> None:
    report = check(drop_arc_fields(chain(2), 2, "ARC-Authentication-Results"))
    assert status(report) == ("fail", 2, None)
    assert rows(report) == [
        (1, "lists.example.org", "pass", "none", "pass", True),
        (2, "fwd.example.net", "permerror", "pass", "pass", True),
    ]
    assert codes(report) == {2: ["arc.set-incomplete"]}
    inst = report.instances[1]
    assert (inst.aar_raw, inst.aar_authserv_id) == (None, None)
    assert inst.findings[0].detail == (
        "set i=2 has no ARC-Authentication-Results; each set needs exactly one "
        "ARC-Authentication-Results, one ARC-Message-Signature and one ARC-Seal"
    )
    assert inst.reason == (
        "The set i=2 of fwd.example.net: the seal cannot be checked (a set up to it is "
        "incomplete or repeated); the message signature verifies; it has no "
        "ARC-Authentication-Results."
    )
    assert report.summary == (
        "ARC: fail — the chain of 2 sets breaks at i=2: set i=2 has no "
        "ARC-Authentication-Results; the operator of fwd.example.net must fix the ARC fields "
        "it adds."
    )


def test_a_missing_seal_and_message_signature_are_named() -> None:
    report = check(drop_arc_fields(chain(2), 1, "ARC-Message-Signature", "ARC-Seal"))
    assert status(report) == ("fail", 1, None)
    assert rows(report) == [
        (1, None, "none", None, "none", None),
        (2, "fwd.example.net", "permerror", "pass", "pass", True),
    ]
    assert (
        report.instances[0]
        .findings[0]
        .detail.startswith("set i=1 has no ARC-Message-Signature and no ARC-Seal;")
    )


def test_a_gap_in_the_instances_breaks_the_chain_at_the_first_missing_one() -> None:
    report = check(drop_arc_fields(chain(3), 2, *ARC_FIELDS))
    assert status(report) == ("fail", 2, None)
    assert [i.i for i in report.instances] == [1, 3]
    assert [(i.seal_result, i.ams_result) for i in report.instances] == [
        ("pass", "pass"),
        ("permerror", "pass"),
    ]
    assert codes(report) == {None: ["arc.instance-gap"]}
    assert report.findings[0].detail == (
        "the newest set is i=3 but no field has i=2; instances must run from 1 without gaps"
    )
    assert report.findings[0].state == State.FAIL


def test_a_duplicated_instance_breaks_the_chain() -> None:
    first = chain(1)
    other = arc_seal(message(), key(2), domain="fwd.example.net", selector="arc2")
    other_set = other[: other.index(b"Authentication-Results: mx.fwd")]
    report = check(other_set + first)
    assert status(report) == ("fail", 1, None)
    assert [(i.i, i.seal_result, i.ams_result) for i in report.instances] == [
        (1, "permerror", "permerror")
    ]
    assert codes(report) == {1: ["arc.duplicate-instance"]}
    assert report.findings[0].detail == (
        "instance i=1 has 2 ARC-Authentication-Results, 2 ARC-Message-Signature, 2 ARC-Seal "
        "fields; each instance number must be used by exactly one set"
    )


def test_a_newest_seal_with_cv_fail_fails_the_chain_at_step_2() -> None:
    """dkimpy's sealer, writing cv=fail, seals only its own set; RFC 8617 §5.1.1's input is
    every set, so that seal does not verify here: the chain fails at step 2 either way."""
    raw = chain(1)
    raw = arc_seal(raw, key(2), domain="fwd.example.net", selector="arc2", chain="fail")
    report = check(raw)
    assert status(report) == ("fail", 2, None)
    assert rows(report) == [
        (1, "lists.example.org", "pass", "none", "pass", True),
        (2, "fwd.example.net", "fail", "fail", "pass", True),
    ]
    assert codes(report) == {2: ["arc.cv-fail", "arc.seal-signature-mismatch"]}
    assert report.summary == (
        "ARC: fail — the chain of 2 sets breaks at i=2: the newest seal (i=2) records that the "
        "chain had already failed (cv=fail); fwd.example.net found the chain already broken "
        "when the message reached it; look at the sets before it."
    )


def test_a_cv_fail_below_the_newest_seal_fails_the_chain_at_step_3() -> None:
    raw = chain(1)
    raw = arc_seal(raw, key(2), domain="fwd.example.net", selector="arc2", chain="fail")
    raw = arc_seal(raw, key(3), domain="mx.example.edu", selector="arc3")
    report = check(raw)
    assert status(report) == ("fail", 2, None)
    assert codes(report)[2] == ["arc.cv-fail", "arc.seal-signature-mismatch"]


@pytest.mark.parametrize(
    ("instance", "cv", "detail"),
    [
        (
            2,
            "none",
            "the seal of i=2 says cv=none; the first set must say cv=none and every later set "
            "cv=pass",
        ),
        (
            1,
            "pass",
            "the seal of i=1 says cv=pass; the first set must say cv=none and every later set "
            "cv=pass",
        ),
    ],
)
def test_a_cv_that_does_not_fit_its_position_fails_the_chain(
    instance: int, cv: str, detail: str
) -> None:
    raw = set_tag(chain(2), "ARC-Seal", "cv", cv, nth=2 - instance)
    report = check(raw)
    assert status(report) == ("fail", instance, None)
    findings = report.instances[instance - 1].findings
    assert (findings[0].code, findings[0].detail) == ("arc.cv-invalid", detail)


def test_a_cv_value_that_is_not_a_status_is_a_syntax_error() -> None:
    raw = set_tag(chain(1), "ARC-Seal", "cv", "maybe")
    report = check(raw)
    assert status(report) == ("fail", 1, None)
    assert [(f.code, f.detail) for f in report.findings] == [
        ("arc.syntax", "cv='maybe' is not none, pass or fail (§4.1.3)")
    ]
    assert report.instances[0].seal_result == "permerror"


def test_more_than_fifty_sets_fail_the_chain_and_only_fifty_are_checked() -> None:
    fields = []
    for i in range(51, 0, -1):
        cv = "none" if i == 1 else "pass"
        fields += [
            f"ARC-Seal: i={i}; a=rsa-sha256; cv={cv}; d=loop.example; s=s; t=1; b=AAAA",
            f"ARC-Message-Signature: i={i}; a=rsa-sha256; c=relaxed/relaxed; d=loop.example; "
            "s=s; h=from; bh=AAAA; b=AAAA",
            f"ARC-Authentication-Results: i={i}; mx.loop.example; arc=pass",
        ]
    raw = ("\r\n".join(fields) + "\r\n").encode() + message()
    prepared = arc.prepare(parse_message(raw))
    assert prepared.key_queries == [KeyQuery("s", "loop.example")]
    report = arc.verify(prepared, {}, now=NOW)
    assert status(report) == ("fail", 51, None)
    assert [i.i for i in report.instances] == list(range(1, 51))
    assert codes(report)[None] == ["arc.instance-out-of-range"]
    assert report.findings[0].detail == (
        "i=51: ARC instances run from 1 to 50 (§4.2.1), and a chain of more than 50 sets fails "
        "(§5.2); sets beyond that are not checked"
    )
    assert report.summary.startswith(
        "ARC: fail — the chain of 50 sets breaks at i=51: instance i=51 is outside ARC's range "
        "of 1 to 50;"
    )


# -- keys ------------------------------------------------------------------------------------------


def test_a_temporary_key_failure_fails_the_chain_and_says_a_retry_may_pass() -> None:
    report = check(chain(1), fail_name({}, "lists.example.org", "arc"))
    assert status(report) == ("fail", 1, None)
    assert rows(report) == [(1, "lists.example.org", "temperror", "none", "temperror", True)]
    assert codes(report) == {1: ["arc.key-temperror", "arc.key-temperror"]}
    assert {f.state for f in report.findings} == {State.TEMPERROR}
    assert report.summary == (
        "ARC: fail — the chain of 1 set breaks at i=1: the message signature of the newest set "
        "(i=1, lists.example.org) could not be checked now (the name servers answered SERVFAIL "
        "for arc._domainkey.lists.example.org; the resolver said: simulated servfail (static "
        "zone marker)); a key could not be fetched, so checking again later may pass; if it "
        "persists, the DNS administrator of lists.example.org must fix its name servers."
    )


def test_a_missing_key_gives_permerror_for_both_signatures() -> None:
    report = check(chain(1), {})
    assert rows(report) == [(1, "lists.example.org", "permerror", "none", "permerror", True)]
    assert codes(report) == {1: ["arc.key-not-found", "arc.key-not-found"]}
    assert report.instances[0].findings[0].message == (
        "ARC-Message-Signature i=1: PERMFAIL (no key for signature)"
    )


def test_a_testing_key_is_noted_and_the_chain_passes() -> None:
    z = publish({}, "lists.example.org", "arc", key_record(key(1), t="y"))
    report = check(chain(1), z)
    assert status(report) == ("pass", None, 0)
    assert codes(report) == {1: ["arc.key-testing", "arc.key-testing"]}
    assert {f.state for f in report.findings} == {State.NONE}


def test_a_revoked_seal_key_is_named() -> None:
    z = publish({}, "lists.example.org", "arc", key_record(key(1), p=""))
    report = check(chain(1), z)
    assert codes(report) == {1: ["arc.key-revoked", "arc.key-revoked"]}
    assert rows(report) == [(1, "lists.example.org", "permerror", "none", "permerror", True)]


def test_prepare_names_every_distinct_key_once_and_analyze_asks_once() -> None:
    prepared = arc.prepare(parse_message(chain(3)))
    assert prepared.key_queries == [
        KeyQuery("arc", "lists.example.org"),
        KeyQuery("arc2", "fwd.example.net"),
        KeyQuery("arc3", "mx.example.edu"),
    ]
    calls: list[list[KeyQuery]] = []
    inner = resolver(zone())

    class Counting:
        def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
            calls.append(list(queries))
            return inner.lookup_many(queries)

    assert arc.analyze(parse_message(chain(3)), lookup=Counting(), now=NOW).result == "pass"
    assert len(calls) == 1 and len(calls[0]) == 3


# -- malformed and hostile fields ------------------------------------------------------------------


def test_an_ams_that_signs_arc_seal_cannot_be_checked() -> None:
    raw = set_tag(chain(1), "ARC-Message-Signature", "h", "from:arc-seal")
    report = check(raw)
    assert status(report) == ("fail", 1, None)
    assert rows(report)[0][4] == "permerror"
    # The seal covers the AMS as it was sealed, so editing h= breaks the seal too.
    assert [(f.code, f.detail) for f in report.findings] == [
        (
            "arc.ams-signs-seal",
            "h= lists arc-seal 1 time(s); RFC 8617 §4.1.2 forbids an AMS to sign ARC-Seal fields",
        ),
        (
            "arc.seal-signature-mismatch",
            "the seal does not verify over the ARC sets 1 to 1 with the key of lists.example.org",
        ),
    ]


def test_a_seal_with_an_h_tag_cannot_be_checked() -> None:
    report = check(set_tag(chain(1), "ARC-Seal", "h", "from"))
    assert [(f.code, f.detail) for f in report.findings] == [
        ("arc.syntax", "an ARC-Seal must not have an h= tag (§4.1.3)")
    ]
    assert report.instances[0].seal_result == "permerror"


@pytest.mark.parametrize(
    ("field", "code", "detail"),
    [
        (
            b"ARC-Seal: a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA",
            "arc.syntax",
            "an ARC-Seal field cannot be given to an ARC set: it has no i= tag (§4.2.1)",
        ),
        (
            b"ARC-Authentication-Results: mx.example; spf=pass",
            "arc.syntax",
            "an ARC-Authentication-Results field cannot be given to an ARC set: it does not "
            "start with i=<number>; (§4.1.1)",
        ),
        (
            b"ARC-Seal: i=one; a=rsa-sha256",
            "arc.syntax",
            "an ARC-Seal field cannot be given to an ARC set: i= 'one' is not a number of 1 to "
            "4 digits",
        ),
        (
            b"ARC-Message-Signature: i=1; \x00",
            "arc.syntax",
            "an ARC-Message-Signature field cannot be given to an ARC set: the value contains a "
            "NUL octet at position 6",
        ),
        (
            b"ARC-Seal: i=1; z=" + b"A" * 40_000,
            "arc.field-too-large",
            "an ARC-Seal field could not be read: the field value is 40008 octets long; values "
            "longer than 32768 octets are not parsed",
        ),
    ],
)
def test_an_arc_field_without_a_readable_instance_fails_the_chain(
    field: bytes, code: str, detail: str
) -> None:
    report = check(field + b"\r\n" + chain(1))
    assert status(report) == ("fail", None, None)
    assert (report.findings[0].code, report.findings[0].detail) == (code, detail)
    assert [(i.i, i.seal_result, i.ams_result) for i in report.instances] == [(1, "pass", "pass")]
    assert report.summary.startswith(
        "ARC: fail — the chain of 1 set breaks: an ARC field cannot be given to a set;"
    )


def test_fields_with_only_unreadable_instances_fail_without_instances() -> None:
    report = check(b"ARC-Seal: nonsense\r\n" + message())
    assert (status(report), report.instances) == (("fail", None, None), [])
    assert report.summary == (
        "ARC: fail — the chain of 0 sets breaks: an ARC field cannot be given to a set; the "
        "intermediary that added the malformed ARC fields must fix its ARC software."
    )


def test_the_authserv_id_is_read_past_comments_and_quotes() -> None:
    raw = replace_field(
        chain(1), "ARC-Authentication-Results", b' i=1; (a comment) "mx (quoted)"; spf=pass'
    )
    assert check(raw).instances[0].aar_authserv_id == "mx (quoted)"


# -- dkimpy's own ARC verifier agrees where it can tell --------------------------------------------


def _dkimpy_arc(raw: bytes, z: Zone) -> object:
    import dkim  # type: ignore[import-untyped]

    answers = resolver(z)

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        selector, _, domain = name.decode().rstrip(".").partition("._domainkey.")
        answer = answers.lookup_many([KeyQuery(selector, domain)])[KeyQuery(selector, domain)]
        return answer.records[0].encode() if answer.records else None

    return dkim.arc_verify(raw, dnsfunc=dnsfunc)[0]


@pytest.mark.parametrize(
    ("n", "change", "result", "dkimpy_says"),
    [
        (1, None, "pass", b"pass"),
        (3, None, "pass", b"pass"),
        (3, (b"noon", b"one"), "fail", b"fail"),
        (2, (b"Subject: Lunch", b"Subject: Dinner"), "fail", b"fail"),
    ],
)
def test_dkimpys_arc_verify_agrees(
    n: int, change: tuple[bytes, bytes] | None, result: str, dkimpy_says: bytes
) -> None:
    raw = chain(n)
    if change is not None:
        raw = raw.replace(*change)
    assert check(raw).result == result
    assert _dkimpy_arc(raw, zone()) == dkimpy_says


def test_dkimpys_arc_verify_calls_a_cv_fail_chain_terminated() -> None:
    """dkimpy returns None ("the chain is terminated") for cv=fail; RFC 8617 §5.2 says fail."""
    raw = arc_seal(chain(1), key(2), domain="fwd.example.net", selector="arc2", chain="fail")
    assert check(raw).result == "fail"
    assert _dkimpy_arc(raw, zone()) is None


# -- bounded work and output -----------------------------------------------------------------------


def test_thousands_of_duplicate_seals_give_one_bounded_finding() -> None:
    seal = b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA\r\n"
    report = check(seal * 4000 + chain(1))
    assert status(report) == ("fail", 1, None)
    assert codes(report) == {1: ["arc.duplicate-instance"]}
    assert report.findings[0].detail == (
        "instance i=1 has 4001 ARC-Seal fields; each instance number must be used by exactly "
        "one set"
    )
    assert len(json.dumps(report.to_json())) < 20_000


def test_thousands_of_out_of_range_instances_are_counted_not_listed() -> None:
    fields = b"".join(b"ARC-Seal: i=%d; cv=pass\r\n" % i for i in range(51, 3051))
    report = check(fields + chain(1))
    assert status(report) == ("fail", 51, None)
    assert report.findings[0].detail.startswith("i=51, 52, 53, 54, 55, …: ARC instances run")
    assert len(json.dumps(report.to_json())) < 20_000


def test_a_seal_with_thousands_of_tags_is_not_read() -> None:
    tags = "; ".join(f"x{k}=1" for k in range(10_000))
    report = check(f"ARC-Seal: i=1; {tags}\r\n".encode() + message())
    assert (status(report), report.instances) == (("fail", None, None), [])
    assert [f.code for f in report.findings] == ["arc.field-too-large"]


def test_a_seal_with_bad_base64_cannot_be_checked() -> None:
    raw = set_tag(chain(1), "ARC-Seal", "b", "AAAA!AAA")
    report = check(raw)
    assert status(report) == ("fail", 1, 0)  # step 5 (oldest-pass) came before the seals
    assert [(f.code, f.detail) for f in report.findings] == [
        ("arc.syntax", "b= contains '!', which is not a base64 character")
    ]
    assert rows(report) == [(1, "lists.example.org", "permerror", "none", "pass", True)]


@pytest.mark.parametrize(
    ("record", "code", "result"),
    [
        (lambda: key_record(ed25519_key()), "arc.key-type-mismatch", "permerror"),
        (lambda: key_record(key(1), k="ed25519"), "arc.key-syntax", "permerror"),
        (lambda: key_record(key(1), h="sha1"), "arc.key-hash-not-allowed", "permerror"),
        (lambda: key_record(key(1), s="tlsrpt"), "arc.key-service-mismatch", "permerror"),
        (lambda: "v=DKIM1; k=rsa; p=!", "arc.key-syntax", "permerror"),
    ],
)
def test_unusable_arc_keys_are_named(record: object, code: str, result: str) -> None:
    z = publish({}, "lists.example.org", "arc", record())  # type: ignore[operator]
    report = check(chain(1), z)
    assert codes(report) == {1: [code, code]}
    assert rows(report) == [(1, "lists.example.org", result, "none", result, True)]


def test_an_arc_set_sealed_with_a_short_key_fails() -> None:
    short = short_rsa_key(768)
    raw = arc_seal(message(), short, domain="lists.example.org", selector="arc")
    report = check(raw, publish({}, "lists.example.org", "arc", short))
    assert status(report) == ("fail", 1, None)
    assert codes(report) == {1: ["arc.key-too-short", "arc.key-too-short"]}
    assert rows(report) == [(1, "lists.example.org", "fail", "none", "fail", True)]


def test_several_arc_key_records_are_noted() -> None:
    z = publish(publish({}, "lists.example.org", "arc", "junk"), "lists.example.org", "arc", key(1))
    report = check(chain(1), z)
    assert status(report) == ("pass", None, 0)
    assert codes(report) == {1: ["arc.key-multiple-records", "arc.key-multiple-records"]}
