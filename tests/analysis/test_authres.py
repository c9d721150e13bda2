"""Reading Authentication-Results and ARC-Authentication-Results fields: the real ones of
the interop messages, the shapes the big receivers write, the RFC 8601 appendix examples,
and hostile fields that must give findings, never an exception or a hang."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from analysis import limits
from analysis.authres import (
    AuthResField,
    parse_authres_field,
    read_receivers,
)
from analysis.message import HeaderField, parse_message
from analysis.received import read_received

AR = "Authentication-Results"
AAR = "ARC-Authentication-Results"


def field(value: str, name: str = AR, position: int = 0) -> AuthResField:
    return parse_authres_field(HeaderField.build(name, " " + value), position)


def results(f: AuthResField) -> list[tuple[str, str]]:
    return [(m.method, m.result) for m in f.methods]


# -- the interop messages ----------------------------------------------------------------------

FASTMAIL_ALL = [
    ("x-csa", "none"),
    ("x-me-sender", "fail"),
    ("x-ptr", "pass"),
    ("bimi", "skipped"),
    ("arc", "none"),
    ("dkim", "fail"),
    ("dkim", "fail"),
    ("dkim", "fail"),
    ("dkim", "pass"),
    ("dmarc", "pass"),
    ("iprev", "pass"),
    ("spf", "pass"),
]


def test_every_field_of_brong_final(shared_dir: Path) -> None:
    msg = parse_message((shared_dir / "interop/brong/brong-final.eml").read_bytes())
    claims = read_receivers(msg, read_received(msg))
    assert [
        (f.position, f.kind, f.instance, f.authserv_id, f.version, f.parsed_by, f.parse_error)
        for f in claims.fields
    ] == [
        (21, AAR, 1, "mx6.messagingengine.com", None, "authres", None),
        (23, AR, None, "mx6.messagingengine.com", None, "authres", None),
        (24, AR, None, "mx6.messagingengine.com", None, "authres", None),
        (25, AR, None, "mx6.messagingengine.com", None, "authres", None),
        (26, AR, None, "mx6.messagingengine.com", None, "authres", None),
        (52, AR, None, "ietfa.amsl.com", None, "authres", None),
    ]
    aar, xfields, bimi, arc, main, ietf = claims.fields
    assert results(aar) == FASTMAIL_ALL
    assert results(xfields) == FASTMAIL_ALL[:3]
    assert results(bimi) == [("bimi", "skipped")]
    assert results(arc) == [("arc", "none")]
    assert results(main) == FASTMAIL_ALL[5:]
    assert results(ietf) == [("dkim", "pass"), ("dkim", "pass")]

    assert xfields.methods[2].properties == {
        "smtp.helo": "mail.ietf.org",
        "policy.ptr": "mail.ietf.org",
    }
    assert bimi.methods[0].comment == "DMARC Policy is not at enforcement"
    assert arc.methods[0].comment == "no signatures found"
    first_dkim = main.methods[0]
    assert first_dkim.comment == "message has been altered, 1024-bit rsa key sha256"
    assert first_dkim.properties == {
        "header.d": "ietf.org",
        "header.i": "@ietf.org",
        "header.b": "yBBUCVc8",
        "header.a": "rsa-sha256",
        "header.s": "ietf1",
    }
    dmarc = main.methods[4]
    assert dmarc.comment == "p=none,has-list-id=yes,d=none,d.eval=none"
    assert dmarc.properties == {
        "policy.published-domain-policy": "none",
        "policy.applied-disposition": "none",
        "policy.evaluated-disposition": "none",
        "policy.policy-from": "p",
        "header.from": "dmarc.ietf.org",
    }
    iprev = main.methods[5]
    assert (iprev.comment, iprev.properties) == (
        "mail.ietf.org",
        {"smtp.remote-ip": "50.223.129.194"},
    )
    assert main.methods[6].properties == {
        "smtp.mailfrom": "forwardingalgorithm@ietf.org",
        "smtp.helo": "mail.ietf.org",
    }
    # amavisd-new's field: a comment after the authserv-id, a quoted header.b
    assert ietf.methods[0].comment == "2048-bit key"
    assert ietf.methods[0].properties == {"header.d": "fastmailteam.com", "header.b": "BegZuiNO"}
    assert ietf.raw.startswith("Authentication-Results: ietfa.amsl.com (amavisd-new); dkim=pass")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "interop/brong/brong-mm.eml",
            [(15, AR, "ietfa.amsl.com", "authres", [("dkim", "pass"), ("dkim", "pass")])],
        ),
        (
            "interop/brong/brong-mm2.eml",
            [(17, AR, "ietfa.amsl.com", "authres", [("dkim", "pass"), ("dkim", "pass")])],
        ),
        (
            "interop/brong/brong-mm3.eml",
            [(17, AR, "ietfa.amsl.com", "authres", [("dkim", "pass"), ("dkim", "pass")])],
        ),
        (
            "interop/brong/spam.eml",
            [
                (
                    21,
                    AAR,
                    "phl-mx-08.messagingengine.com",
                    "authres",
                    [
                        ("x-csa", "none"),
                        ("x-me-sender", "none"),
                        ("x-ptr", "fail"),
                        ("bimi", "skipped"),
                        ("arc", "none"),
                        ("dkim", "none"),
                        ("dmarc", "none"),
                        ("iprev", "pass"),
                        ("spf", "pass"),
                    ],
                ),
                (
                    23,
                    AR,
                    "phl-mx-08.messagingengine.com",
                    "authres",
                    [("x-csa", "none"), ("x-me-sender", "none"), ("x-ptr", "fail")],
                ),
                (24, AR, "phl-mx-08.messagingengine.com", "authres", [("bimi", "skipped")]),
                (25, AR, "phl-mx-08.messagingengine.com", "authres", [("arc", "none")]),
                (
                    26,
                    AR,
                    "phl-mx-08.messagingengine.com",
                    "authres",
                    [("dkim", "none"), ("dmarc", "none"), ("iprev", "pass"), ("spf", "pass")],
                ),
            ],
        ),
        ("interop/brong/brong-orig.eml", []),
        ("interop/brong/empty.eml", []),
        (
            "interop/rnc1/mail-20251102-193051.txt",
            [
                (
                    4,
                    AR,
                    "atlas202.free.mail.bf1.yahoo.com",
                    "fallback",
                    [("dkim", "pass"), ("spf", "fail"), ("dmarc", "pass")],
                )
            ],
        ),
    ],
)
def test_the_other_interop_messages(shared_dir: Path, path: str, expected: list[object]) -> None:
    msg = parse_message((shared_dir / path).read_bytes())
    claims = read_receivers(msg, read_received(msg))
    assert [
        (f.position, f.kind, f.authserv_id, f.parsed_by, results(f)) for f in claims.fields
    ] == expected
    json.dumps(claims.to_json())


def test_yahoo_field_of_rnc1_is_read_by_the_tolerant_reader(shared_dir: Path) -> None:
    msg = parse_message((shared_dir / "interop/rnc1/mail-20251102-193051.txt").read_bytes())
    (f,) = read_receivers(msg, read_received(msg)).fields
    assert f.parse_error == (
        "It does not follow the RFC 8601 grammar (authres: Syntax error: Expected method); it "
        "has an empty clause (a trailing or doubled semicolon); property "
        '"arc_overridden_status" has no ptype.'
    )
    assert [m.properties for m in f.methods] == [
        {"header.i": "@dkim2.org", "header.s": "rnc1", "arc_overridden_status": "NOT_OVERRIDDEN"},
        {"smtp.mailfrom": "highwayman.com", "arc_overridden_status": "NOT_OVERRIDDEN"},
        {"header.from": "dkim2.org", "arc_overridden_status": "NOT_OVERRIDDEN"},
    ]
    assert f.methods[2].comment == "p=NONE"  # "dmarc=pass(p=NONE)": no space before it


# -- the shapes receivers write ------------------------------------------------------------------


def test_gmail() -> None:
    f = field(
        "mx.google.com;\r\n"
        "       dkim=pass header.i=@example.com header.s=s1 header.b=AbCdEf12;\r\n"
        "       spf=pass (google.com: domain of bounce@mail.example.com designates 192.0.2.10 "
        "as permitted sender) smtp.mailfrom=bounce@mail.example.com;\r\n"
        "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com"
    )
    assert (f.authserv_id, f.parsed_by, f.parse_error) == ("mx.google.com", "authres", None)
    assert [m.to_json() for m in f.methods] == [
        {
            "method": "dkim",
            "result": "pass",
            "reason": None,
            "comment": None,
            "properties": {"header.i": "@example.com", "header.s": "s1", "header.b": "AbCdEf12"},
        },
        {
            "method": "spf",
            "result": "pass",
            "reason": None,
            "comment": "google.com: domain of bounce@mail.example.com designates 192.0.2.10 as "
            "permitted sender",
            "properties": {"smtp.mailfrom": "bounce@mail.example.com"},
        },
        {
            "method": "dmarc",
            "result": "pass",
            "reason": None,
            "comment": "p=NONE sp=NONE dis=NONE",
            "properties": {"header.from": "example.com"},
        },
    ]


def test_gmail_arc_authentication_results_with_an_override() -> None:
    f = field(
        "i=2; mx.google.com;\r\n"
        "       dkim=pass header.i=@list.example header.s=l1 header.b=XyZ;\r\n"
        "       arc=pass (i=1 spf=pass spfdomain=example.org dkim=pass dkdomain=example.org "
        "dmarc=pass fromdomain=example.org);\r\n"
        "       dmarc=fail (p=REJECT sp=REJECT dis=NONE) arc=pass (as.1.example.org=pass "
        "ams.1.example.org=pass) header.from=example.org",
        AAR,
    )
    assert (f.kind, f.instance, f.authserv_id, f.parsed_by) == (AAR, 2, "mx.google.com", "authres")
    assert results(f) == [("dkim", "pass"), ("arc", "pass"), ("dmarc", "fail")]
    assert f.methods[1].comment == (
        "i=1 spf=pass spfdomain=example.org dkim=pass dkdomain=example.org dmarc=pass "
        "fromdomain=example.org"
    )
    # authres drops the "arc=pass" property (an unknown ptype); the tolerant reading keeps it
    assert f.methods[2].properties == {"header.from": "example.org", "arc": "pass"}
    assert f.methods[2].comment == (
        "p=REJECT sp=REJECT dis=NONE as.1.example.org=pass ams.1.example.org=pass"
    )


def test_microsoft_365_without_authserv_id() -> None:
    f = field(
        "spf=pass (sender IP is 40.107.1.1)\r\n smtp.mailfrom=example.com; dkim=pass "
        "(signature was verified)\r\n header.d=example.com;dmarc=pass action=none\r\n "
        "header.from=example.com;compauth=pass reason=100"
    )
    assert (f.authserv_id, f.version, f.parsed_by) == ("", None, "fallback")
    assert f.parse_error == (
        'It does not follow the RFC 8601 grammar (authres: Syntax error: Expected "none" or at '
        "least one resinfo at: smtp.mailfrom=example.com; dkim=pass (si...); the field names no "
        'authserv-id; property "action" has no ptype.'
    )
    assert [m.to_json() for m in f.methods] == [
        {
            "method": "spf",
            "result": "pass",
            "reason": None,
            "comment": "sender IP is 40.107.1.1",
            "properties": {"smtp.mailfrom": "example.com"},
        },
        {
            "method": "dkim",
            "result": "pass",
            "reason": None,
            "comment": "signature was verified",
            "properties": {"header.d": "example.com"},
        },
        {
            "method": "dmarc",
            "result": "pass",
            "reason": None,
            "comment": None,
            "properties": {"action": "none", "header.from": "example.com"},
        },
        {
            "method": "compauth",
            "result": "pass",
            "reason": "100",
            "comment": None,
            "properties": {},
        },
    ]


def test_microsoft_arc_authentication_results_with_a_version() -> None:
    f = field(
        "i=1; mx.microsoft.com 1; spf=pass\r\n smtp.mailfrom=example.com; dmarc=pass action=none "
        "header.from=example.com;\r\n dkim=pass header.d=example.com; arc=none",
        AAR,
    )
    assert (f.instance, f.authserv_id, f.version, f.parsed_by) == (
        1,
        "mx.microsoft.com",
        "1",
        "authres",
    )
    assert results(f) == [("spf", "pass"), ("dmarc", "pass"), ("dkim", "pass"), ("arc", "none")]
    assert f.methods[1].properties == {"header.from": "example.com", "action": "none"}


def test_yahoo_with_a_trailing_semicolon() -> None:
    f = field(
        "atlas-production.v2-mail-prod1-gq1.omega.yahoo.com;\r\n dkim=pass "
        "header.i=@example.com header.s=s2048;\r\n spf=pass smtp.mailfrom=example.com;\r\n "
        "dmarc=pass(p=REJECT) header.from=example.com;"
    )
    assert (f.authserv_id, f.parsed_by) == (
        "atlas-production.v2-mail-prod1-gq1.omega.yahoo.com",
        "fallback",
    )
    assert results(f) == [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert f.methods[2].comment == "p=REJECT"


def test_proofpoint_style() -> None:
    f = field(
        "mx0a-00123456.pphosted.com;\r\n dkim=pass header.d=example.com header.s=s1 "
        'header.b="AbCdEf12";\r\n spf=pass (mx0a-00123456.pphosted.com: domain of '
        "x@example.com designates 192.0.2.9 as permitted sender) smtp.mailfrom=x@example.com;\r\n"
        " dmarc=pass (policy=reject) header.from=example.com"
    )
    assert (f.authserv_id, f.parsed_by) == ("mx0a-00123456.pphosted.com", "authres")
    assert results(f) == [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert f.methods[0].properties["header.b"] == "AbCdEf12"
    assert f.methods[2].comment == "policy=reject"


@pytest.mark.parametrize(
    ("value", "authserv_id", "version", "parsed_by", "none"),
    [
        ("mx.example.org; none", "mx.example.org", None, "authres", True),
        ("example.org 1; none", "example.org", "1", "authres", True),
        ("mx.example.org; none;", "mx.example.org", None, "fallback", True),
        (
            "mx.example.org; spf=none smtp.mailfrom=x.example",
            "mx.example.org",
            None,
            "authres",
            False,
        ),
    ],
)
def test_none_results_and_versions(
    value: str, authserv_id: str, version: str | None, parsed_by: str, none: bool
) -> None:
    f = field(value)
    assert (f.authserv_id, f.version, f.parsed_by, f.none_result) == (
        authserv_id,
        version,
        parsed_by,
        none,
    )


def test_a_field_saying_none_has_no_methods() -> None:
    assert field("mx.example.org; none").methods == []


# RFC 8601 Appendix B: the examples' fields, as the RFC folds them.
@pytest.mark.parametrize(
    ("value", "authserv_id", "version", "expected"),
    [
        ("example.org 1; none", "example.org", "1", []),
        (
            "example.com;\r\n          spf=pass smtp.mailfrom=example.net",
            "example.com",
            None,
            [("spf", "pass", None, None, {"smtp.mailfrom": "example.net"})],
        ),
        (
            "example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
            "          spf=pass smtp.mailfrom=example.net",
            "example.com",
            None,
            [
                ("auth", "pass", None, "cram-md5", {"smtp.auth": "sender@example.net"}),
                ("spf", "pass", None, None, {"smtp.mailfrom": "example.net"}),
            ],
        ),
        (
            "example.com;\r\n          iprev=pass\r\n            policy.iprev=192.0.2.200",
            "example.com",
            None,
            [("iprev", "pass", None, None, {"policy.iprev": "192.0.2.200"})],
        ),
        (
            "example.com;\r\n          dkim=pass (good signature) header.d=example.com",
            "example.com",
            None,
            [("dkim", "pass", None, "good signature", {"header.d": "example.com"})],
        ),
        (
            'example.com;\r\n          dkim=pass reason="good signature"\r\n'
            "            header.i=@mail-router.example.net;\r\n"
            '          dkim=fail reason="bad signature"\r\n'
            "            header.i=@newyork.example.com",
            "example.com",
            None,
            [
                ("dkim", "pass", "good signature", None, {"header.i": "@mail-router.example.net"}),
                ("dkim", "fail", "bad signature", None, {"header.i": "@newyork.example.com"}),
            ],
        ),
    ],
)
def test_rfc8601_appendix_b(
    value: str, authserv_id: str, version: str | None, expected: list[object]
) -> None:
    f = field(value)
    assert (f.authserv_id, f.version, f.parsed_by, f.parse_error) == (
        authserv_id,
        version,
        "authres",
        None,
    )
    assert [(m.method, m.result, m.reason, m.comment, m.properties) for m in f.methods] == expected


def test_rfc8601_comment_heavy_example_b7() -> None:
    """The authres package refuses B.7 (its CFWS rule stops after "comment FWS" and leaves
    the FWS before "="), so the tolerant reader reads it."""
    f = field(
        "foo.example.net (foobar) 1 (baz);\r\n"
        "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\r\n"
        "      policy (A dot can go here) . (like that) expired\r\n"
        "      (this surprised me) = (as I wasn't expecting it) 1362471462"
    )
    assert (f.authserv_id, f.version, f.parsed_by) == ("foo.example.net", "1", "fallback")
    assert f.parse_error == (
        'It does not follow the RFC 8601 grammar (authres: Syntax error: Expected "=" at: = '
        "(wait for it) fail policy (A dot...)."
    )
    assert [m.to_json() for m in f.methods] == [
        {
            "method": "dkim",
            "result": "fail",
            "reason": None,
            "comment": "Because I like it One yay wait for it A dot can go here like that this "
            "surprised me as I wasn't expecting it",
            "properties": {"policy.expired": "1362471462"},
        }
    ]


def test_the_dkim2_draft_example() -> None:
    f = field(
        "mx.example.net;\r\n  dkim2=fail (i=1 sender.example.com pass,\r\n"
        "   i=2 fwd.example.org fail;\r\n"
        "   FAIL: Message Instance m=2 body hash sha256 mismatch)\r\n"
        "   header.d=sender.example.com header.i=2"
    )
    assert results(f) == [("dkim2", "fail")]
    assert f.methods[0].comment == (
        "i=1 sender.example.com pass, i=2 fwd.example.org fail; FAIL: Message Instance m=2 "
        "body hash sha256 mismatch"
    )
    assert f.methods[0].properties == {"header.d": "sender.example.com", "header.i": "2"}


def test_unknown_methods_and_ptypes_are_kept() -> None:
    f = field("mx.example.com; x-custom=ok x-foo.bar=baz; dkim/1=pass header.d=a.example")
    assert f.parsed_by == "authres"
    assert [(m.method, m.result, m.properties) for m in f.methods] == [
        ("x-custom", "ok", {"x-foo.bar": "baz"}),
        ("dkim", "pass", {"header.d": "a.example"}),
    ]


def test_a_quoted_local_part_stays_whole() -> None:
    f = field('mx.example.com; dkim=pass header.i="john smith"@example.com')
    assert f.methods[0].properties == {"header.i": '"john smith"@example.com'}


def test_a_method_starting_with_none_is_read() -> None:
    """authres matches "none" as a prefix and then refuses "none-x=pass"."""
    f = field("mx.example.com; none-x=pass")
    assert (f.parsed_by, results(f)) == ("fallback", [("none-x", "pass")])


# -- ARC-Authentication-Results framing ----------------------------------------------------------


def test_an_aar_without_instance_is_reported() -> None:
    f = field("mx.example.com; dkim=pass header.d=a.example", AAR)
    assert (f.instance, f.authserv_id, f.parsed_by) == (None, "mx.example.com", "authres")
    assert f.parse_error == ("It does not start with the instance tag i=N; (RFC 8617 §4.1.1).")


def test_an_aar_instance_may_carry_comments() -> None:
    f = field("i=3 (third); mx.example.com; arc=pass", AAR)
    assert (f.instance, f.authserv_id, results(f)) == (3, "mx.example.com", [("arc", "pass")])


# -- hostile fields --------------------------------------------------------------------------------


def hostile(value: str) -> tuple[AuthResField, list[str], float]:
    raw = (
        "Received: from mx.example.org ([10.0.0.1]) by store.example.org with LMTP; "
        "Mon, 4 Mar 2024 14:00:01 +0000\r\n"
        f"Authentication-Results: {value}\r\n"
        "Received: from a.example (a.example [192.0.2.1]) by mx.example.org with ESMTP; "
        "Mon, 4 Mar 2024 14:00:00 +0000\r\n"
        "Subject: x\r\n\r\nbody\r\n"
    ).encode("utf-8", "surrogateescape")
    start = time.monotonic()
    msg = parse_message(raw)
    claims = read_receivers(msg, read_received(msg))
    elapsed = time.monotonic() - start
    json.dumps(claims.to_json())
    (f,) = claims.fields
    assert len(f.raw) <= limits.MAX_REPORT_TEXT_CHARS
    return f, [x.code for x in claims.findings], elapsed


def test_a_100_kb_field_is_shown_not_parsed() -> None:
    value = "mx.example.org; dkim=pass (" + "a" * 100_000 + ")"
    f, codes, elapsed = hostile(value)
    assert (f.authserv_id, f.methods, f.parsed_by) == ("mx.example.org", [], "fallback")
    assert f.parse_error == (
        f"The field is {len(AR) + 2 + len(value) + 2} octets long; fields longer than "
        f"{limits.MAX_AUTHRES_FIELD_BYTES} octets are shown, not parsed."
    )
    assert f.raw.endswith("…")
    assert codes == ["receivers.unparsable"]
    assert elapsed < 1


def test_ten_thousand_methods_are_not_read() -> None:
    value = "mx.example.org; " + "; ".join(["dkim=pass"] * 10_000)
    f, codes, elapsed = hostile(value)
    assert f.methods == []
    assert f.parse_error == (
        f"The field is {len(AR) + 2 + len(value) + 2} octets long; fields longer than "
        f"{limits.MAX_AUTHRES_FIELD_BYTES} octets are shown, not parsed."
    )
    assert codes == ["receivers.unparsable"]
    assert elapsed < 1


def test_methods_past_the_per_field_limit_are_counted() -> None:
    f, codes, elapsed = hostile("mx.example.org; " + "; ".join(["a=b"] * 3000))
    assert len(f.methods) == limits.MAX_AUTHRES_METHODS_PER_FIELD
    assert f.methods_not_read == 3000 - limits.MAX_AUTHRES_METHODS_PER_FIELD
    assert codes == ["receivers.too-many-methods"]
    assert elapsed < 2


@pytest.mark.parametrize(
    ("value", "parse_error", "expected"),
    [
        (
            "mx.example.org; dkim=pass (unbalanced (comment) header.d=a.example",
            "It does not follow the RFC 8601 grammar (authres: Syntax error: comment: expected "
            'FWS or ccontent or ")"); a comment or quoted string is not closed.',
            [("dkim", "pass")],
        ),
        (
            "mx.example.org; dkim=pass ) header.d=a.example",
            "It does not follow the RFC 8601 grammar (authres: Syntax error: Expected end of "
            'text at: ) header.d=a.example); stray text ")".',
            [("dkim", "pass")],
        ),
        (
            "mx.example.org; dkim=pass header.d=caf\u00e9.example",
            "It does not follow the RFC 8601 grammar (authres: it contains characters outside "
            "printable ASCII).",
            [("dkim", "pass")],
        ),
        (
            "mx.example.org; dkim=pass\x00 header.d=a.example",
            "It does not follow the RFC 8601 grammar (authres: it contains characters outside "
            "printable ASCII).",
            [("dkim", "pass\x00")],
        ),
        (
            "mx.example.org; dkim=pass " + "(" * 5000 + ")" * 5000,
            "It does not follow the RFC 8601 grammar (authres: its comments are nested more than "
            "8 deep).",
            [("dkim", "pass")],
        ),
    ],
)
def test_hostile_fields_give_findings(
    value: str, parse_error: str, expected: list[tuple[str, str]]
) -> None:
    f, codes, elapsed = hostile(value)
    assert f.parse_error == parse_error
    assert results(f) == expected
    assert codes == ["receivers.lenient-parse"]
    assert elapsed < 1


@pytest.mark.parametrize(
    ("value", "parse_error"),
    [
        (
            "mx.example.org; (just a comment); garbage words",
            "It does not follow the RFC 8601 grammar (authres: Syntax error: Expected method at: "
            '; garbage words); "(comment only)" is no result; "garbage words" is no result.',
        ),
        (
            "mx.example.org; =pass; dkim; ;;",
            "It does not follow the RFC 8601 grammar (authres: Syntax error: Expected method at: "
            '=pass; dkim; ;;); it has an empty clause (a trailing or doubled semicolon); "= pass" '
            'is no result; "dkim" is no result.',
        ),
    ],
)
def test_a_field_with_nothing_readable_is_unparsable(value: str, parse_error: str) -> None:
    f, codes, _ = hostile(value)
    assert (f.methods, f.parsed_by, f.parse_error) == ([], "fallback", parse_error)
    assert codes == ["receivers.unparsable"]


def test_too_many_fields_are_cut_keeping_the_topmost() -> None:
    many = "".join(
        f"Authentication-Results: mx{i}.example.org; spf=pass smtp.mailfrom=a.example\r\n"
        for i in range(limits.MAX_AUTHRES_FIELDS + 20)
    )
    raw = (
        "Received: from a.example (a.example [192.0.2.1]) by mx0.example.org; "
        "Mon, 4 Mar 2024 14:00:00 +0000\r\n" + many + "Subject: x\r\n\r\nb\r\n"
    ).encode()
    msg = parse_message(raw)
    claims = read_receivers(msg, read_received(msg))
    assert len(claims.fields) == limits.MAX_AUTHRES_FIELDS
    assert claims.fields[0].authserv_id == "mx0.example.org"
    assert claims.findings[0].code == "receivers.too-many-fields"
    assert claims.findings[0].detail == (
        f"the message has {limits.MAX_AUTHRES_FIELDS + 20} Authentication-Results and "
        f"ARC-Authentication-Results fields; the analyser reads the topmost "
        f"{limits.MAX_AUTHRES_FIELDS}"
    )


def test_the_strict_parser_has_a_budget_per_message() -> None:
    value = "mx.example.org; " + "; ".join(["spf=pass smtp.mailfrom=a.example"] * 300)
    many = "".join(f"Authentication-Results: {value}\r\n" for _ in range(8))
    raw = (
        "Received: from a.example (a.example [192.0.2.1]) by mx.example.org; "
        "Mon, 4 Mar 2024 14:00:00 +0000\r\n" + many + "Subject: x\r\n\r\nb\r\n"
    ).encode()
    msg = parse_message(raw)
    start = time.monotonic()
    claims = read_receivers(msg, read_received(msg))
    assert time.monotonic() - start < 2
    assert [f.parsed_by for f in claims.fields] == ["authres"] * 3 + ["fallback"] * 5
    assert claims.fields[3].parse_error == (
        "It does not follow the RFC 8601 grammar (authres: not run: the message's fields "
        "exceed 32768 octets)."
    )
    assert all(len(f.methods) == limits.MAX_AUTHRES_METHODS_PER_FIELD for f in claims.fields)
