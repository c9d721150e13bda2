"""DKIM1 signature fields that break the rules (RFC 6376 §3.2, §3.5), and hostile ones.

A field with a syntax error gets result ``neutral`` (RFC 8601 §2.7.1: "the signature ...
contained syntax errors"), failed step ``syntax``, no key lookup, and a finding whose
detail names the exact problem.  Hostile fields (huge, NUL, non-UTF-8, thousands of tags,
bad base64) give findings too, never an exception, and cost bounded work.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest

from analysis import dkim1, limits
from analysis.findings import State
from analysis.message import parse_message
from tests.support.mailauth import NOW, message

BH = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
B = base64.b64encode(b"\x01" * 256).decode()
GOOD = f"v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=sel; h=from:to; bh={BH}; b={B}"


def with_field(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return b"DKIM-Signature: " + raw + b"\r\n" + message()


def verify(raw: bytes) -> dkim1.Dkim1Report:
    prepared = dkim1.prepare(parse_message(raw))
    return dkim1.verify(prepared, {}, now=NOW)


def swap(tag: str, value: str | None) -> str:
    """GOOD with ``tag`` set to ``value`` (None removes it)."""
    parts = [p for p in GOOD.split("; ") if not p.startswith(f"{tag}=")]
    if value is not None:
        parts.insert(1, f"{tag}={value}")
    return "; ".join(parts)


def test_the_base_field_is_well_formed() -> None:
    prepared = dkim1.prepare(parse_message(with_field(GOOD)))
    assert [p.syntax for p in prepared.parsed] == [[]]
    assert [(q.selector, q.domain) for q in prepared.key_queries] == [("sel", "example.com")]


SYNTAX_CASES = [
    (swap("bh", None), "dkim1.missing-tag", "the required tag bh= is missing"),
    (
        swap("b", None).replace(f"; bh={BH}", ""),
        "dkim1.missing-tag",
        "the required tags b=, bh= are missing",
    ),
    ("V=1; " + swap("v", None), "dkim1.missing-tag", "the required tag v= is missing"),
    (swap("v", "2"), "dkim1.syntax", "v='2'; a DKIM-Signature must have v=1"),
    (
        swap("a", "rsa-sha512"),
        "dkim1.unknown-algorithm",
        "a='rsa-sha512' is not rsa-sha256, ed25519-sha256 or rsa-sha1",
    ),
    (
        swap("c", "fancy/simple"),
        "dkim1.syntax",
        "c='fancy/simple' is not simple or relaxed for header/body",
    ),
    (swap("d", "exa mple.com"), "dkim1.syntax", "d= 'exa mple.com' is not a domain name"),
    (swap("d", "localhost"), "dkim1.syntax", "d= 'localhost' is not a domain name"),
    (swap("d", "exämple.com"), "dkim1.syntax", "d= 'exämple.com' is not a domain name"),
    (
        swap("d", "legitimate.com(.attacker.com"),
        "dkim1.syntax",
        "d= 'legitimate.com(.attacker.com' is not a domain name",
    ),
    (swap("s", "bad selector!"), "dkim1.syntax", "s= 'bad selector!' is not a valid selector"),
    (swap("h", "from::to"), "dkim1.syntax", "h= holds '', which is not a header field name"),
    (
        swap("i", "@other.example"),
        "dkim1.identity-mismatch",
        "i='@other.example' is not in d=example.com or one of its subdomains",
    ),
    (
        swap("i", "@badexample.com"),
        "dkim1.identity-mismatch",
        "i='@badexample.com' is not in d=example.com or one of its subdomains",
    ),
    (swap("i", "alice"), "dkim1.syntax", "i='alice' has no '@'"),
    (swap("l", "12a"), "dkim1.syntax", "l= '12a' is not a number of 1 to 76 digits"),
    (
        swap("t", "1234567890123"),
        "dkim1.syntax",
        "t= '1234567890123' is not a number of 1 to 12 digits",
    ),
    (
        swap("t", "1700000000").replace("t=", "x=1700000000; t="),
        "dkim1.syntax",
        "x=1700000000 is not after t=1700000000; RFC 6376 §3.5 requires x= to be greater than t=",
    ),
    (
        swap("q", "dns/other"),
        "dkim1.syntax",
        "q='dns/other' does not include dns/txt, the only key query method",
    ),
    (
        GOOD + "; d=example.org",
        "dkim1.syntax",
        "tag d= appears twice (RFC 6376 §3.2: the list is invalid)",
    ),
    (
        GOOD.replace("; s=", ";; s="),
        "dkim1.syntax",
        "an empty tag (two ';' in a row, or a leading ';')",
    ),
    (GOOD + "; novalue", "dkim1.syntax", "'novalue' is not of the form tag=value"),
    (GOOD + "; 1a=x", "dkim1.syntax", "'1a' is not a valid tag name"),
    (swap("b", "AAAA!AAA"), "dkim1.syntax", "b= contains '!', which is not a base64 character"),
    (swap("bh", "AAAAA"), "dkim1.syntax", "bh= is not valid base64 (its length 5 is impossible)"),
    (swap("bh", "AA==="), "dkim1.syntax", "bh= contains '=', which is not a base64 character"),
    (swap("b", ""), "dkim1.syntax", "b= is empty"),
]


@pytest.mark.parametrize(("value", "code", "detail"), SYNTAX_CASES)
def test_a_syntax_error_gives_neutral_with_the_exact_problem(
    value: str, code: str, detail: str
) -> None:
    prepared = dkim1.prepare(parse_message(with_field(value)))
    assert prepared.key_queries == []
    report = dkim1.verify(prepared, {}, now=NOW)
    [sig] = report.signatures
    assert (report.result, sig.result, sig.failed_step) == ("neutral", "neutral", "syntax")
    first = sig.findings[0]
    assert (first.code, first.state, first.detail) == (code, State.PERMERROR, detail)


def test_a_syntax_error_is_explained_in_the_reason_and_summary() -> None:
    report = verify(with_field(swap("v", "2")))
    assert report.signatures[0].reason == (
        "The DKIM-Signature field of example.com cannot be used: v='2'; a DKIM-Signature must "
        "have v=1."
    )
    assert report.summary == (
        "DKIM1: neutral — the DKIM-Signature field of example.com cannot be used: v='2'; a "
        "DKIM-Signature must have v=1; the mail operator of example.com must fix the software "
        "that writes its signatures."
    )
    assert report.findings[0].message == (
        "DKIM-Signature 1 d=example.com s=sel: PERMFAIL (incompatible version)"
    )


def test_several_problems_of_one_field_are_all_reported() -> None:
    value = swap("v", "2").replace("a=rsa-sha256", "a=rsa-md5").replace("h=from:to", "h=to")
    [sig] = verify(with_field(value)).signatures
    assert [f.code for f in sig.findings] == [
        "dkim1.syntax",
        "dkim1.unknown-algorithm",
        "dkim1.from-not-signed",
    ]
    assert sig.failed_step == "syntax"


def test_the_body_hash_is_computed_even_for_a_field_with_a_syntax_error() -> None:
    body = b"Shall we meet at noon?\r\n\r\nAlice\r\n"
    bh = base64.b64encode(hashlib.sha256(body).digest()).decode()
    value = swap("v", "2").replace(f"bh={BH}", f"bh={bh}")
    [sig] = verify(with_field(value)).signatures
    assert (sig.result, sig.body_hash_matches, sig.signature_valid) == ("neutral", True, None)


def test_tag_names_are_case_sensitive_and_unknown_tags_are_ignored() -> None:
    [sig] = verify(with_field(GOOD + "; Z=ignored; zz=also")).signatures
    assert sig.failed_step == "key"  # well formed: only the key is missing


# -- hostile fields --------------------------------------------------------------------------------


def test_a_huge_field_is_reported_not_parsed() -> None:
    value = GOOD + "; z=" + "A" * 40_000
    started = time.monotonic()
    report = verify(with_field(value))
    assert time.monotonic() - started < 2
    [sig] = report.signatures
    assert (sig.result, sig.failed_step, sig.domain) == ("neutral", "syntax", None)
    [finding] = sig.findings
    assert (finding.code, finding.detail) == (
        "dkim1.field-too-large",
        f"the field value is {len(value) + 1} octets long; values longer than 32768 octets are "
        "not parsed",
    )
    assert len(sig.raw) == 2000 and sig.raw.endswith("…")


def test_ten_thousand_tags_are_refused_by_size() -> None:
    [sig] = verify(with_field("; ".join(f"x{k}=1" for k in range(10_000)))).signatures
    assert [f.code for f in sig.findings] == ["dkim1.field-too-large"]


def test_more_tags_than_the_limit_are_refused() -> None:
    value = GOOD + "".join(f"; x{k}=1" for k in range(limits.MAX_DKIM1_TAGS))
    [sig] = verify(with_field(value)).signatures
    assert [(f.code, f.detail) for f in sig.findings] == [
        ("dkim1.field-too-large", "more than 64 tags; longer tag lists are not parsed")
    ]


def test_the_tag_limit_itself_is_accepted() -> None:
    extra = limits.MAX_DKIM1_TAGS - len(GOOD.split("; "))
    value = GOOD + "".join(f"; x{k}=1" for k in range(extra))
    [sig] = verify(with_field(value + ";")).signatures
    assert sig.failed_step == "key"


def test_an_overlong_h_list_is_refused() -> None:
    value = swap("h", ":".join(["from"] + ["x-a"] * limits.MAX_DKIM1_SIGNED_FIELDS))
    [sig] = verify(with_field(value)).signatures
    assert [(f.code, f.detail.split(",")[0]) for f in sig.findings] == [
        (
            "dkim1.field-too-large",
            "h= lists more than 256 field names; longer lists are not processed",
        ),
        (
            "dkim1.body-hash-mismatch",
            "the simple body hashes to MAmGnVmnYtIiFcsGBktqAcuFIbpsqfdSduukpOAGKAU=",
        ),
    ]


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        # positions count from the space after "DKIM-Signature:"
        (GOOD.encode() + b"\x00", f"the value contains a NUL octet at position {len(GOOD) + 1}"),
        (GOOD.encode() + b"; z=\xff\xfe", f"octet 0xff at position {len(GOOD) + 5} is not UTF-8"),
        (GOOD.encode() + b"; z=a\rb", f"the value contains a bare CR at position {len(GOOD) + 6}"),
        (
            GOOD.encode() + b"; z=\x1b[31m",
            f"the value contains control character 0x1b at position {len(GOOD) + 5}",
        ),
    ],
)
def test_control_characters_and_non_utf8_are_syntax_errors(value: bytes, detail: str) -> None:
    [sig] = verify(with_field(value)).signatures
    assert [(f.code, f.detail) for f in sig.findings] == [("dkim1.syntax", detail)]
    assert "\x00" not in sig.raw and "\x1b" not in sig.to_json()["findings"][0]["detail"]


def test_utf8_in_an_unknown_tag_is_accepted() -> None:
    [sig] = verify(with_field(GOOD + "; z=Grüße")).signatures
    assert sig.failed_step == "key"


def test_a_non_ascii_value_is_shown_escaped_in_details() -> None:
    [sig] = verify(with_field(swap("a", "rsa\u202esha256"))).signatures
    assert sig.findings[0].detail == (
        "a='rsa\\u202esha256' is not rsa-sha256, ed25519-sha256 or rsa-sha1"
    )


def test_a_large_body_of_empty_lines_is_hashed_quickly() -> None:
    raw = with_field(GOOD)[: -len(b"Shall we meet at noon?\r\n\r\nAlice\r\n")]
    raw += b"\r\n" * 5_000_000 + b" \t \r\n" * 1000
    started = time.monotonic()
    for c in ("simple/simple", "relaxed/relaxed"):
        [sig] = verify(raw.replace(b"c=relaxed/simple", f"c={c}".encode())).signatures
        assert sig.body_hash_matches is False
    assert time.monotonic() - started < 5


def test_thousands_of_signature_fields_give_a_bounded_report_quickly() -> None:
    field = with_field(GOOD).split(b"\r\nFrom:")[0] + b"\r\n"
    raw = field * 2000 + message()
    started = time.monotonic()
    report = verify(raw)
    assert time.monotonic() - started < 5
    assert len(report.signatures) == 40
    assert len(json.dumps(report.to_json())) < 400_000
    assert report.findings[0].code == "dkim1.too-many-signatures"


def test_a_field_name_longer_than_a_line_is_refused() -> None:
    [sig] = verify(with_field(swap("h", "from:" + "x" * 999))).signatures
    assert (sig.findings[0].code, sig.findings[0].detail) == (
        "dkim1.syntax",
        "h= holds a field name of 999 characters; no field name can be longer than a line "
        "(998 octets, RFC 5322 §2.1.1)",
    )
