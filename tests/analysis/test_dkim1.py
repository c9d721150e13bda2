"""DKIM1 (analysis.dkim1): every result state of a signature, and the message's result.

Each test signs a message with tests.support.mailauth (dkimpy's signer), publishes or
breaks the key in a static zone, changes at most one thing, and asserts the exact verdict:
result word, failed step, body hash, header signature, finding codes and the sentences.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from analysis import dkim1, limits
from analysis.findings import Severity, State, Step
from analysis.lookup import KeyAnswer, KeyQuery, LookupStatus
from analysis.message import parse_message
from tests.support.mailauth import (
    DEFAULT_SIGNED,
    NOW,
    SIGN_TIME,
    Zone,
    dkim1_sign,
    dkim_sign,
    ed25519_key,
    fail_name,
    field_value,
    key_record,
    message,
    publish,
    replace_field,
    resolver,
    rsa_key,
    short_rsa_key,
)

D, S = "example.com", "sel"
NAME = "sel._domainkey.example.com"


def check(raw: bytes, zone: Zone, now: float = NOW) -> dkim1.Dkim1Report:
    return dkim1.analyze(parse_message(raw), lookup=resolver(zone), now=now)


def codes(sig: dkim1.Dkim1Signature) -> list[str]:
    return [f.code for f in sig.findings]


def verdict(sig: dkim1.Dkim1Signature) -> tuple[str, str | None, bool | None, bool | None]:
    return sig.result, sig.failed_step, sig.body_hash_matches, sig.signature_valid


def signed_rsa(**kwargs: object) -> bytes:
    return dkim1_sign(message(), rsa_key(), domain=D, selector=S, **kwargs)  # type: ignore[arg-type]


def rsa_zone() -> Zone:
    return publish({}, D, S, rsa_key())


# -- pass ---------------------------------------------------------------------------------------


def test_a_message_without_signatures_has_result_none() -> None:
    prepared = dkim1.prepare(parse_message(message()))
    assert prepared.key_queries == []
    report = dkim1.verify(prepared, {}, now=NOW)
    assert (report.result, report.signatures, report.findings) == ("none", [], [])
    assert report.summary == "DKIM1: the message carries no DKIM-Signature field."


def test_an_rsa_signature_passes_with_every_field_reported() -> None:
    report = check(signed_rsa(), rsa_zone())
    assert report.result == "pass"
    assert report.summary == "DKIM1: pass — the signature of example.com verifies."
    [sig] = report.signatures
    assert sig.to_json() == {
        "index": 1,
        "raw": "DKIM-Signature:" + field_value(signed_rsa(), "DKIM-Signature").decode(),
        "domain": "example.com",
        "selector": "sel",
        "algorithm": "rsa-sha256",
        "canonicalization": "relaxed/simple",
        "identity": "@example.com",
        "signed_headers": list(DEFAULT_SIGNED),
        "body_length": None,
        "timestamp": SIGN_TIME,
        "expires": None,
        "result": "pass",
        "failed_step": None,
        "body_hash_matches": True,
        "signature_valid": True,
        "key_name": NAME,
        "key_bits": 2048,
        "key_type": "rsa",
        "key_testing": False,
        "from_signed": True,
        "verified": True,
        "reason": (
            "The signature of example.com verifies with its 2048-bit RSA key at "
            "sel._domainkey.example.com."
        ),
        "findings": [],
    }


def test_an_ed25519_signature_passes_rfc_8463() -> None:
    raw = dkim1_sign(message(), ed25519_key(), domain=D, selector="ed")
    report = check(raw, publish({}, D, "ed", ed25519_key()))
    [sig] = report.signatures
    assert (report.result, sig.algorithm, sig.key_type, sig.key_bits) == (
        "pass",
        "ed25519-sha256",
        "ed25519",
        256,
    )
    assert verdict(sig) == ("pass", None, True, True)
    assert sig.reason == (
        "The signature of example.com verifies with its Ed25519 key at ed._domainkey.example.com."
    )


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
@pytest.mark.parametrize(
    "canonicalization", ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"]
)
def test_every_canonicalization_verifies(kind: str, canonicalization: str) -> None:
    key = rsa_key() if kind == "rsa" else ed25519_key()
    body = "Folded  \t text   \r\n\r\n  trailing space   \r\n\r\n\r\n"
    raw = dkim1_sign(
        message(body=body), key, domain=D, selector=S, canonicalization=canonicalization
    )
    [sig] = check(raw, publish({}, D, S, key)).signatures
    assert (sig.canonicalization, *verdict(sig)) == (canonicalization, "pass", None, True, True)


def test_a_signature_made_by_dkim_sign_itself_passes() -> None:
    """dkim.sign stamps t= with the current time, so this check runs at the current time."""
    raw = dkim_sign(message(), rsa_key(), domain=D, selector=S)
    report = check(raw, rsa_zone(), now=time.time())
    assert [verdict(s) for s in report.signatures] == [("pass", None, True, True)]
    assert report.signatures[0].canonicalization == "relaxed/simple"


def test_a_canonicalization_without_body_part_means_simple_body() -> None:
    raw = dkim1_sign(message(), rsa_key(), domain=D, selector=S, canonicalization="relaxed")
    [sig] = check(raw, rsa_zone()).signatures
    assert (sig.canonicalization, sig.result) == ("relaxed/simple", "pass")


# -- fail: the message changed ------------------------------------------------------------------


def test_a_changed_body_fails_at_the_body_hash_with_the_headers_intact() -> None:
    raw = signed_rsa().replace(b"noon", b"one o'clock")
    report = check(raw, rsa_zone())
    [sig] = report.signatures
    assert (report.result, *verdict(sig)) == ("fail", "fail", "body-hash", False, True)
    assert codes(sig) == ["dkim1.body-hash-mismatch"]
    assert sig.findings[0].state == State.FAIL
    assert sig.findings[0].message == (
        "DKIM-Signature 1 d=example.com s=sel: PERMFAIL (body hash did not verify)"
    )
    assert sig.reason == (
        "The body was changed after example.com signed it while the signed header fields "
        "are intact."
    )
    assert report.summary == (
        "DKIM1: fail — the body was changed after example.com signed it while the signed "
        "header fields are intact; whoever changed the message after signing (usually a "
        "mailing list, forwarder or security gateway) should stop changing it or add its own "
        "signature."
    )


def test_a_changed_signed_header_fails_at_the_signature() -> None:
    raw = replace_field(signed_rsa(), "Subject", b" Lunch on Saturday")
    [sig] = check(raw, rsa_zone()).signatures
    assert verdict(sig) == ("fail", "signature", True, False)
    assert codes(sig) == ["dkim1.signature-mismatch"]
    assert sig.findings[0].detail == (
        "the signature does not verify over the 6 header field name(s) of h= with the key at "
        "sel._domainkey.example.com"
    )
    assert sig.reason == (
        "The signed header fields were changed after example.com signed them, or the key at "
        "sel._domainkey.example.com is not the one that signed; the body is intact."
    )


def test_a_changed_body_and_header_report_both_at_the_body_hash() -> None:
    raw = replace_field(signed_rsa().replace(b"noon", b"one"), "Subject", b" Other")
    [sig] = check(raw, rsa_zone()).signatures
    assert verdict(sig) == ("fail", "body-hash", False, False)
    assert codes(sig) == ["dkim1.body-hash-mismatch", "dkim1.signature-mismatch"]
    assert sig.reason == (
        "The body was changed after example.com signed it, and the signed header fields do "
        "not verify either."
    )


def test_an_unsigned_header_may_change() -> None:
    raw = replace_field(signed_rsa(), "Content-Type", b" text/html")
    assert check(raw, rsa_zone()).result == "pass"


def test_a_signature_checked_with_another_key_fails_at_the_signature() -> None:
    [sig] = check(signed_rsa(), publish({}, D, S, rsa_key("other"))).signatures
    assert verdict(sig) == ("fail", "signature", True, False)
    assert codes(sig) == ["dkim1.signature-mismatch"]


# -- the key ---------------------------------------------------------------------------------------

KEY_CASES = [
    # (zone builder, result, finding code, finding detail)
    pytest.param(
        lambda: {},
        "permerror",
        "dkim1.key-not-found",
        "sel._domainkey.example.com does not exist (NXDOMAIN)",
        id="nxdomain",
    ),
    pytest.param(
        lambda: publish({}, D, S, None),
        "permerror",
        "dkim1.key-not-found",
        "sel._domainkey.example.com exists but has no TXT record (NODATA)",
        id="nodata",
    ),
    pytest.param(
        lambda: publish({}, D, S, key_record(rsa_key(), p="")),
        "permerror",
        "dkim1.key-revoked",
        "the key record at sel._domainkey.example.com has an empty p=, which means the key "
        "has been revoked",
        id="revoked",
    ),
    pytest.param(
        lambda: fail_name({}, D, S, "servfail"),
        "temperror",
        "dkim1.key-temperror",
        "the name servers answered SERVFAIL for sel._domainkey.example.com; the resolver "
        "said: simulated servfail (static zone marker)",
        id="servfail",
    ),
    pytest.param(
        lambda: fail_name({}, D, S, "timeout"),
        "temperror",
        "dkim1.key-temperror",
        "the query for sel._domainkey.example.com timed out; the resolver said: simulated "
        "timeout (static zone marker)",
        id="timeout",
    ),
    pytest.param(
        lambda: publish({}, D, S, "v=DKIM1; k=rsa; p=MIIB!!"),
        "permerror",
        "dkim1.key-syntax",
        "the key record at sel._domainkey.example.com has a p= that is not base64 (p= "
        "contains '!', which is not a base64 character)",
        id="bad-base64",
    ),
    pytest.param(
        lambda: publish({}, D, S, "v=DKIM1; k=rsa; p=" + "QUJD" * 20),
        "permerror",
        "dkim1.key-syntax",
        "the key record at sel._domainkey.example.com does not hold an RSA key dkimpy can "
        "read (KeyFormatError: could not parse RSA public key (b'" + "QUJD" * 20 + "'): "
        "Unparsable public key; SubjectPublicKeyInfo: Unexpected tag (got 41, expecting 30); "
        "RSAPublicKey: Unexpected tag (got 41, expecting 30))",
        id="not-an-rsa-key",
    ),
    pytest.param(
        lambda: publish({}, D, S, key_record(rsa_key(), v="DKIM2")),
        "permerror",
        "dkim1.key-syntax",
        "the key record at sel._domainkey.example.com has v='DKIM2', not DKIM1",
        id="wrong-version",
    ),
    pytest.param(
        lambda: publish({}, D, S, "v=DKIM1; k=rsa"),
        "permerror",
        "dkim1.key-syntax",
        "the key record at sel._domainkey.example.com has no p= tag",
        id="no-p",
    ),
    pytest.param(
        lambda: publish({}, D, S, "v=spf1 -all"),
        "permerror",
        "dkim1.key-syntax",
        "the key record at sel._domainkey.example.com has v='spf1 -all', not DKIM1",
        id="an-spf-record",
    ),
    pytest.param(
        lambda: publish({}, D, S, key_record(ed25519_key())),
        "permerror",
        "dkim1.key-type-mismatch",
        "the key at sel._domainkey.example.com is k=ed25519, but the signature uses a=rsa-sha256",
        id="wrong-k",
    ),
    pytest.param(
        lambda: publish({}, D, S, key_record(rsa_key(), k="dsa")),
        "permerror",
        "dkim1.key-type-mismatch",
        "the key at sel._domainkey.example.com is k=dsa, but the signature uses a=rsa-sha256",
        id="unknown-k",
    ),
    pytest.param(
        lambda: publish({}, D, S, key_record(rsa_key(), h="sha1")),
        "permerror",
        "dkim1.key-hash-not-allowed",
        "the key at sel._domainkey.example.com has h=sha1, which does not allow the sha256 "
        "of a=rsa-sha256",
        id="h-restriction",
    ),
    pytest.param(
        lambda: publish({}, D, S, key_record(rsa_key(), s="tlsrpt")),
        "permerror",
        "dkim1.key-service-mismatch",
        "the key at sel._domainkey.example.com has s=tlsrpt, which excludes email",
        id="service-type",
    ),
]


@pytest.mark.parametrize(("zone", "result", "code", "detail"), KEY_CASES)
def test_a_key_problem_fails_at_the_key_step_and_still_reports_the_body_hash(
    zone: object, result: str, code: str, detail: str
) -> None:
    report = check(signed_rsa(), zone())  # type: ignore[operator]
    [sig] = report.signatures
    assert (report.result, *verdict(sig)) == (result, result, "key", True, None)
    assert codes(sig) == [code]
    assert sig.findings[0].detail == detail
    assert sig.findings[0].state == State(result)


def test_a_temporary_key_failure_still_says_the_body_changed() -> None:
    raw = signed_rsa().replace(b"noon", b"one")
    [sig] = check(raw, fail_name({}, D, S)).signatures
    assert verdict(sig) == ("temperror", "key", False, None)
    assert codes(sig) == ["dkim1.body-hash-mismatch", "dkim1.key-temperror"]
    assert sig.reason == (
        "The key could not be fetched: the name servers answered SERVFAIL for "
        "sel._domainkey.example.com; the resolver said: simulated servfail (static zone "
        "marker); its body hash does not match."
    )


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (
            LookupStatus.BUDGET,
            "the message's DNS budget ran out before sel._domainkey.example.com was asked",
        ),
        (LookupStatus.ERROR, "the lookup of sel._domainkey.example.com failed"),
    ],
)
def test_every_temporary_lookup_status_gives_temperror(status: LookupStatus, detail: str) -> None:
    prepared = dkim1.prepare(parse_message(signed_rsa()))
    query = KeyQuery(S, D)
    report = dkim1.verify(prepared, {query: KeyAnswer(query, status)}, now=NOW)
    [sig] = report.signatures
    assert (report.result, sig.failed_step, sig.findings[0].detail) == ("temperror", "key", detail)


def test_a_key_that_was_not_fetched_is_a_temporary_failure() -> None:
    report = dkim1.verify(dkim1.prepare(parse_message(signed_rsa())), {}, now=NOW)
    [sig] = report.signatures
    assert (sig.result, codes(sig), sig.findings[0].detail) == (
        "temperror",
        ["dkim1.key-temperror"],
        "no answer was fetched for sel._domainkey.example.com",
    )


def test_an_invalid_key_name_is_a_permanent_error() -> None:
    prepared = dkim1.prepare(parse_message(signed_rsa()))
    query = KeyQuery(S, D)
    answer = KeyAnswer(query, LookupStatus.INVALID_NAME)
    [sig] = dkim1.verify(prepared, {query: answer}, now=NOW).signatures
    assert (sig.result, codes(sig), sig.findings[0].detail) == (
        "permerror",
        ["dkim1.key-name-invalid"],
        "sel._domainkey.example.com is not a valid DNS name",
    )


def test_a_short_rsa_key_gives_policy_rfc_8301() -> None:
    key = short_rsa_key(768)
    raw = dkim1_sign(message(), key, domain=D, selector=S)
    report = check(raw, publish({}, D, S, key))
    [sig] = report.signatures
    assert (report.result, *verdict(sig), sig.key_bits) == (
        "policy",
        "policy",
        "key",
        True,
        True,
        768,
    )
    assert codes(sig) == ["dkim1.key-too-short"]
    assert sig.findings[0].detail == (
        "the key at sel._domainkey.example.com holds a 768-bit RSA key; RFC 8301 §3.2 forbids "
        "accepting RSA keys of less than 1024 bits"
    )
    assert report.summary == (
        "DKIM1: policy — the key is too short to be accepted: the key at "
        "sel._domainkey.example.com holds a 768-bit RSA key; RFC 8301 §3.2 forbids accepting "
        "RSA keys of less than 1024 bits; its body hash matches; example.com must publish an "
        "RSA key of at least 1024 bits (2048 recommended) at sel._domainkey.example.com and "
        "sign with it."
    )


def test_a_key_with_strict_flag_refuses_a_subdomain_identity() -> None:
    raw = signed_rsa(identity="alice@mail.example.com")
    [sig] = check(raw, publish({}, D, S, key_record(rsa_key(), t="s"))).signatures
    assert (sig.identity, sig.result, sig.failed_step, codes(sig)) == (
        "alice@mail.example.com",
        "permerror",
        "key",
        ["dkim1.key-strict-identity"],
    )
    assert sig.findings[0].detail == (
        "the key at sel._domainkey.example.com has t=s, so i= must be in example.com itself, "
        "not in mail.example.com"
    )


def test_a_key_with_strict_flag_accepts_an_identity_in_the_domain_itself() -> None:
    raw = signed_rsa(identity="alice@example.com")
    assert check(raw, publish({}, D, S, key_record(rsa_key(), t="s"))).result == "pass"


def test_a_testing_key_keeps_the_result_and_warns() -> None:
    [sig] = check(signed_rsa(), publish({}, D, S, key_record(rsa_key(), t="y"))).signatures
    assert (sig.result, sig.key_testing, codes(sig)) == ("pass", True, ["dkim1.key-testing"])
    assert sig.findings[0].state == State.NONE
    assert sig.findings[0].severity == Severity.WARNING
    assert sig.reason == (
        "The signature of example.com verifies with its 2048-bit RSA key at "
        "sel._domainkey.example.com (the key is marked as testing, t=y)."
    )


def test_several_key_records_use_the_first_that_parses_and_warn() -> None:
    zone = publish(publish({}, D, S, "not a key"), D, S, rsa_key())
    [sig] = check(signed_rsa(), zone).signatures
    assert (sig.result, codes(sig)) == ("pass", ["dkim1.key-multiple-records"])
    assert sig.findings[0].detail == (
        "sel._domainkey.example.com has 2 TXT records; record 2 was used (RFC 6376 §6.1.2 "
        "leaves the choice to the verifier)"
    )


def test_a_key_record_with_folded_p_and_no_version_is_read() -> None:
    p = rsa_key().public
    record = f"k=rsa; p={p[:100]} {p[100:200]}\t{p[200:]}"
    assert check(signed_rsa(), publish({}, D, S, record)).result == "pass"


def test_an_ed25519_key_of_the_wrong_length_is_a_key_syntax_error() -> None:
    raw = dkim1_sign(message(), ed25519_key(), domain=D, selector=S)
    record = "v=DKIM1; k=ed25519; p=" + ed25519_key().public[:40]
    [sig] = check(raw, publish({}, D, S, record)).signatures
    assert (sig.result, codes(sig), sig.findings[0].detail) == (
        "permerror",
        ["dkim1.key-syntax"],
        "the key record at sel._domainkey.example.com has an Ed25519 p= of 30 octets, not the "
        "raw 32-octet public key of RFC 8463 §4",
    )


# -- policy: sha1, time, From ----------------------------------------------------------------------


def test_an_rsa_sha1_signature_that_verifies_gives_policy_rfc_8301() -> None:
    report = check(signed_rsa(algorithm="rsa-sha1"), rsa_zone())
    [sig] = report.signatures
    assert (report.result, *verdict(sig)) == ("policy", "policy", "policy", True, True)
    assert codes(sig) == ["dkim1.sha1"]
    assert sig.reason == (
        "The signature of example.com uses rsa-sha1, which must no longer be accepted; its "
        "body hash matches."
    )
    assert report.summary == (
        "DKIM1: policy — the signature of example.com uses rsa-sha1, which must no longer be "
        "accepted; its body hash matches; example.com must sign with rsa-sha256 or "
        "ed25519-sha256."
    )


def test_an_expired_signature_gives_policy_at_the_expired_step() -> None:
    report = check(signed_rsa(expires=SIGN_TIME + 100), rsa_zone())
    [sig] = report.signatures
    assert (report.result, *verdict(sig), sig.expires) == (
        "policy",
        "policy",
        "expired",
        True,
        True,
        SIGN_TIME + 100,
    )
    assert codes(sig) == ["dkim1.expired"]
    assert sig.findings[0].detail == (
        "x=1700000100 is 3500 seconds before the verification time 1700003600"
    )
    assert (
        sig.reason == "The signature of example.com expired at x=1700000100; its body hash matches."
    )


def test_a_signature_is_valid_until_its_expiry_second() -> None:
    raw = signed_rsa(expires=SIGN_TIME + 100)
    assert check(raw, rsa_zone(), now=SIGN_TIME + 100).result == "pass"
    assert check(raw, rsa_zone(), now=SIGN_TIME + 101).result == "policy"


def test_a_timestamp_in_the_future_gives_policy() -> None:
    raw = signed_rsa(timestamp=NOW + 901)
    [sig] = check(raw, rsa_zone()).signatures
    assert (*verdict(sig), codes(sig)) == (
        "policy",
        "policy",
        True,
        True,
        ["dkim1.future-timestamp"],
    )
    assert sig.findings[0].detail == (
        "t=1700004501 is 901 seconds after the verification time 1700003600 (more than the "
        "900 seconds allowed for clock skew)"
    )


def test_a_timestamp_within_the_clock_skew_is_accepted() -> None:
    assert check(signed_rsa(timestamp=NOW + 900), rsa_zone()).result == "pass"


def test_a_signature_without_timestamp_passes() -> None:
    [sig] = check(signed_rsa(timestamp=None), rsa_zone()).signatures
    assert (sig.timestamp, sig.result) == (None, "pass")


def test_a_signature_that_does_not_sign_from_gives_policy() -> None:
    report = check(signed_rsa(signed=("to", "subject", "date")), rsa_zone())
    [sig] = report.signatures
    assert (report.result, *verdict(sig), sig.from_signed) == (
        "policy",
        "policy",
        "policy",
        True,
        True,
        False,
    )
    assert codes(sig) == ["dkim1.from-not-signed"]
    assert sig.findings[0].detail == (
        "h=to:subject:date does not include From; RFC 6376 §5.4 requires the From field to be "
        "signed, so verifiers must ignore this signature"
    )
    assert report.summary == (
        "DKIM1: policy — the signature of example.com does not cover the From field, so it "
        "must be ignored; example.com must include From in h= when it signs."
    )


def test_an_extra_from_field_above_a_singly_signed_from_is_warned_about() -> None:
    raw = signed_rsa(signed=("from", "to", "subject"))
    raw = b"From: Mallory <ceo@example.com>\r\n" + raw
    [sig] = check(raw, rsa_zone()).signatures
    assert (sig.result, codes(sig)) == ("pass", ["dkim1.extra-from-field"])
    assert sig.findings[0].detail == (
        "the message has 2 From fields and h= lists from 1 time(s): a From field added above "
        "the signed one is shown to readers while the signature still verifies"
    )


def test_an_oversigned_from_breaks_when_a_from_field_is_added() -> None:
    raw = b"From: Mallory <ceo@example.com>\r\n" + signed_rsa()
    [sig] = check(raw, rsa_zone()).signatures
    assert (sig.result, sig.failed_step, codes(sig)) == (
        "fail",
        "signature",
        ["dkim1.signature-mismatch"],
    )


# -- l= --------------------------------------------------------------------------------------------


def test_a_body_length_limit_is_warned_about_even_when_it_covers_everything() -> None:
    [sig] = check(signed_rsa(length=True), rsa_zone()).signatures
    assert (sig.result, sig.body_length, codes(sig)) == ("pass", 33, ["dkim1.body-length-limit"])
    assert sig.findings[0].detail == (
        "l=33: only the first 33 octets of the canonical body are signed, so content may have "
        "been appended after signing; the canonical body has 33 octets, so nothing is unsigned"
    )


def test_content_appended_after_an_l_signature_keeps_it_passing_and_is_counted() -> None:
    raw = signed_rsa(length=True) + b"Click here: http://evil.example/\r\n"
    [sig] = check(raw, rsa_zone()).signatures
    assert (sig.result, sig.body_hash_matches, codes(sig)) == (
        "pass",
        True,
        ["dkim1.body-length-limit"],
    )
    assert sig.findings[0].detail.endswith(
        "; 34 of the body's 67 canonical octets come after them and are not covered by the "
        "signature"
    )


# -- several signatures: the message's result ------------------------------------------------------


def _mixed(kinds: list[str]) -> dkim1.Dkim1Report:
    """One signature per kind, selector = kind, each broken in its own way."""
    raw = message()
    zone: Zone = {}
    for kind in kinds:
        if kind == "pass":
            raw = dkim1_sign(raw, rsa_key(), domain=D, selector=kind)
            publish(zone, D, kind, rsa_key())
        elif kind == "fail":
            raw = dkim1_sign(raw, rsa_key(), domain=D, selector=kind)
            publish(zone, D, kind, rsa_key("other"))
        elif kind == "policy":
            raw = dkim1_sign(raw, rsa_key(), domain=D, selector=kind, algorithm="rsa-sha1")
            publish(zone, D, kind, rsa_key())
        elif kind == "temperror":
            raw = dkim1_sign(raw, rsa_key(), domain=D, selector=kind)
            fail_name(zone, D, kind)
        elif kind == "permerror":
            raw = dkim1_sign(raw, rsa_key(), domain=D, selector=kind)
        elif kind == "neutral":
            raw = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=neutral\r\n" + raw
    return check(raw, zone)


@pytest.mark.parametrize(
    ("kinds", "result"),
    [
        (["fail", "pass"], "pass"),
        (["pass", "permerror", "temperror"], "pass"),
        (["temperror", "fail"], "fail"),
        (["policy", "fail"], "fail"),
        (["temperror", "policy"], "policy"),
        (["permerror", "temperror"], "temperror"),
        (["neutral", "permerror"], "permerror"),
        (["neutral"], "neutral"),
    ],
)
def test_several_signatures_give_the_most_telling_result(kinds: list[str], result: str) -> None:
    report = _mixed(kinds)
    # dkim1_sign puts each new signature on top: index 1 is the last kind.
    assert [s.result for s in report.signatures] == list(reversed(kinds))
    assert report.result == result


def test_the_summary_of_several_signatures_counts_them() -> None:
    assert _mixed(["fail", "pass"]).summary == (
        "DKIM1: pass — the signature of example.com verifies; 1 other signature did not."
    )
    assert _mixed(["permerror", "temperror"]).summary == (
        "DKIM1: temperror — the key could not be fetched: the name servers answered SERVFAIL "
        "for temperror._domainkey.example.com; the resolver said: simulated servfail (static "
        "zone marker); its body hash matches; checking again later may succeed; if it persists, "
        "the DNS administrator of example.com must fix its name servers (2 signatures, none "
        "verifies)."
    )


def test_the_report_lists_every_signatures_findings_in_order() -> None:
    report = _mixed(["fail", "policy"])
    assert [f.code for f in report.findings] == ["dkim1.sha1", "dkim1.signature-mismatch"]
    assert [f.data["signature"] for f in report.findings] == [1, 2]
    assert {f.step for f in report.findings} == {Step.DKIM1}


# -- the two steps ---------------------------------------------------------------------------------


def test_prepare_names_each_distinct_key_once_and_none_for_broken_signatures() -> None:
    raw = signed_rsa()
    raw = dkim1_sign(raw, rsa_key(), domain=D, selector=S)
    raw = dkim1_sign(raw, ed25519_key(), domain="Example.COM", selector="Ed")
    raw = b"DKIM-Signature: v=1; a=rsa-sha256; d=broken.example; s=x\r\n" + raw
    prepared = dkim1.prepare(parse_message(raw))
    assert prepared.key_queries == [KeyQuery("ed", "example.com"), KeyQuery("sel", "example.com")]


def test_analyze_asks_the_lookup_once_for_all_keys() -> None:
    calls: list[list[KeyQuery]] = []
    zone = publish(rsa_zone(), D, "ed", ed25519_key())
    inner = resolver(zone)

    class Counting:
        def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
            calls.append(list(queries))
            return inner.lookup_many(queries)

    raw = dkim1_sign(signed_rsa(), ed25519_key(), domain=D, selector="ed")
    report = dkim1.analyze(parse_message(raw), lookup=Counting(), now=NOW)
    assert report.result == "pass"
    assert calls == [[KeyQuery("ed", D), KeyQuery("sel", D)]]


def test_the_report_is_json() -> None:
    report = _mixed(["fail", "pass", "neutral"])
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) == {"result", "summary", "signatures", "findings"}
    assert [s["result"] for s in data["signatures"]] == ["neutral", "pass", "fail"]
    assert data["findings"][0]["code"] == "dkim1.missing-tag"


# -- the signature limit ---------------------------------------------------------------------------


def _many(n: int) -> bytes:
    raw = message()
    for k in range(n):
        raw = dkim1_sign(raw, ed25519_key(), domain=D, selector="ed", timestamp=SIGN_TIME + k)
    return raw


def test_signatures_up_to_the_limit_are_all_verified() -> None:
    limit = limits.MAX_DKIM1_SIGNATURES
    report = check(_many(limit), publish({}, D, "ed", ed25519_key()))
    assert [s.result for s in report.signatures] == ["pass"] * limit
    assert report.findings == []


def test_signatures_over_the_limit_are_listed_unverified_with_a_finding() -> None:
    limit = limits.MAX_DKIM1_SIGNATURES
    report = check(_many(limit + 2), publish({}, D, "ed", ed25519_key()))
    assert [s.verified for s in report.signatures] == [True] * limit + [False, False]
    extra = report.signatures[limit]
    assert (extra.index, extra.result, extra.failed_step, extra.domain, extra.findings) == (
        limit + 1,
        "neutral",
        "policy",
        "example.com",
        [],
    )
    assert extra.reason == (
        "Not verified: only the first 20 DKIM-Signature fields of a message are verified."
    )
    [finding] = report.findings
    assert (finding.code, finding.state, finding.severity) == (
        "dkim1.too-many-signatures",
        State.NONE,
        Severity.WARNING,
    )
    assert finding.detail == (
        "22 DKIM-Signature fields: the topmost 20 were verified, the next 2 are listed as not "
        "verified; the analyser's limit is 20 (RFC 6376 §6.1 lets a verifier limit the "
        "signatures it checks)."
    )
    assert report.result == "pass"
    assert report.summary == (
        "DKIM1: pass — 20 signatures verify (example.com) (only the first 20 of 22 signatures "
        "were verified)."
    )


def test_signatures_far_over_the_limit_are_only_counted() -> None:
    limit = limits.MAX_DKIM1_SIGNATURES
    listed = limit + limits.MAX_DKIM1_UNVERIFIED_LISTED
    field = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=; b=\r\n"
    raw = field * (listed + 3) + message()
    report = check(raw, {})
    assert len(report.signatures) == listed
    assert report.findings[0].detail.startswith(
        f"{listed + 3} DKIM-Signature fields: the topmost 20 were verified, the next 20 are "
        "listed as not verified and 3 more are only counted;"
    )
    assert report.result == "neutral"


def test_now_zero_checks_neither_expiry_nor_future_timestamps() -> None:
    raw = signed_rsa(timestamp=NOW + 10_000, expires=NOW + 20_000)
    assert check(raw, rsa_zone(), now=NOW + 30_000).result == "policy"
    assert check(raw, rsa_zone(), now=0).result == "pass"


# -- dkimpy's own verifier agrees where it can tell ------------------------------------------------


def _dkimpy_verifies(raw: bytes, zone: Zone) -> bool:
    import dkim  # type: ignore[import-untyped]

    answers = resolver(zone)

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        selector, _, domain = name.decode().rstrip(".").partition("._domainkey.")
        answer = answers.lookup_many([KeyQuery(selector, domain)])[KeyQuery(selector, domain)]
        return answer.records[0].encode() if answer.records else None

    return bool(dkim.verify(raw, dnsfunc=dnsfunc))


@pytest.mark.parametrize(
    ("raw", "zone", "result"),
    [
        pytest.param(signed_rsa(), rsa_zone(), "pass", id="pass"),
        pytest.param(signed_rsa().replace(b"noon", b"one"), rsa_zone(), "fail", id="body"),
        pytest.param(
            replace_field(signed_rsa(), "Subject", b" x"), rsa_zone(), "fail", id="header"
        ),
        pytest.param(signed_rsa(), publish({}, D, S, rsa_key("other")), "fail", id="wrong-key"),
        pytest.param(signed_rsa(), {}, "permerror", id="no-key"),
    ],
)
def test_dkimpys_verify_agrees_on_pass_and_not_pass(raw: bytes, zone: Zone, result: str) -> None:
    assert check(raw, zone).result == result
    assert _dkimpy_verifies(raw, zone) is (result == "pass")


def test_verifying_one_preparation_twice_gives_independent_reports() -> None:
    prepared = dkim1.prepare(parse_message(signed_rsa()))
    first = dkim1.verify(prepared, {}, now=NOW)
    second = dkim1.verify(prepared, resolver(rsa_zone()).lookup_many([KeyQuery(S, D)]), now=NOW)
    assert (first.result, second.result) == ("temperror", "pass")
    assert first.signatures[0] is not second.signatures[0]
    assert codes(first.signatures[0]) == ["dkim1.key-temperror"]


def test_key_record_values_are_case_insensitive() -> None:
    record = f"v=DKIM1; k=RSA; h=SHA256; s=Email; p={rsa_key().public}"
    assert check(signed_rsa(), publish({}, D, S, record)).result == "pass"


def test_a_key_with_a_huge_public_exponent_is_not_used() -> None:
    """dkimpy's RSA is pure Python: a modulus-sized exponent would cost a second a check."""
    modulus = rsa_key().private.public_key().public_numbers().n
    hostile = rsa.RSAPublicNumbers((1 << 80) + 1, modulus).public_key()
    der = hostile.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    [sig] = check(signed_rsa(), publish({}, D, S, record)).signatures
    assert (sig.result, sig.failed_step, codes(sig)) == (
        "permerror",
        "key",
        ["dkim1.key-too-large"],
    )
    assert sig.findings[0].detail == (
        "the key record at sel._domainkey.example.com holds an RSA key whose public exponent "
        "has 81 bits; exponents over 64 bits are not used here, to bound the work"
    )
