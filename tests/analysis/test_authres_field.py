"""The Authentication-Results field a report becomes (RFC 8601; dkim2 per
draft-gondwana-dkim2-authres-00, checked against the draft's own examples)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import authres  # type: ignore[import-untyped]
import pytest

from analysis.authres_field import (
    authentication_results,
    authentication_results_for_report,
    escape_comment,
    format_authentication_results,
)


def draft_examples(shared_dir: Path) -> list[str]:
    text = (shared_dir / "vectors/from-drafts/authres-00-section5-examples.txt").read_text()
    blocks = re.split(r"(?m)^# ---$", text)
    return [
        "\n".join(line for line in block.splitlines() if line and not line.startswith("#"))
        for block in blocks
    ]


# The draft's section 5 examples, as the builder's arguments, in the file's order.
DRAFT_CASES: list[dict[str, Any]] = [
    {
        "result": "pass",
        "hops": [(1, "sender.example.com", "pass")],
        "header_d": "sender.example.com",
    },
    {
        "result": "pass",
        "hops": [(1, "sender.example.com", "pass"), (2, "list.example.org", "pass")],
        "header_d": "sender.example.com",
    },
    {
        "result": "fail",
        "hops": [
            (1, "sender.example.com", "skipped"),
            (2, "list.example.org", "skipped"),
            (3, "fwd.example.net", "fail"),
            (4, "relay.example.net", "pass"),
        ],
        "reason": "FAIL: DKIM2-Signature i=3 sel1 incorrect signature",
        "header_d": "sender.example.com",
        "header_i": 3,
    },
    {
        "result": "temperror",
        "hops": [(1, "sender.example.com", "temperror")],
        "reason": "TEMPERROR: DKIM2-Signature i=1 public key sel1 could not be fetched",
        "header_d": "sender.example.com",
        "header_i": 1,
    },
    {"result": "none"},
    {
        "result": "fail",
        "hops": [(1, "sender.example.com", "pass"), (2, "fwd.example.org", "pass")],
        "reason": "FAIL: Duplicate message with no exploded flag",
        "header_d": "sender.example.com",
    },
    {
        "result": "permerror",
        "hops": [(1, "sender.example.com", "pass"), (2, "fwd.example.org", "permerror")],
        "reason": (
            "PERMERROR: DKIM2-Signature i=2 MAIL FROM <alice(work)@example.com> did not match"
        ),
        "header_d": "sender.example.com",
        "header_i": 2,
    },
]


@pytest.mark.parametrize("index", range(len(DRAFT_CASES)))
def test_the_builder_reproduces_the_drafts_examples(shared_dir: Path, index: int) -> None:
    expected = draft_examples(shared_dir)[index]
    built = format_authentication_results(
        authserv_id="mx.example.net", newline="\n", **DRAFT_CASES[index]
    )
    assert built == expected


def test_the_builder_reproduces_the_dkim2_part_of_the_several_methods_example(
    shared_dir: Path,
) -> None:
    example = draft_examples(shared_dir)[7].splitlines()
    dkim2_part = example[example.index("  dkim2=fail (i=1 sender.example.com pass,") :]
    built = format_authentication_results(
        authserv_id="mx.example.net",
        result="fail",
        hops=[(1, "sender.example.com", "pass"), (2, "fwd.example.org", "fail")],
        reason="FAIL: Message Instance m=2 body hash sha256 mismatch",
        header_d="sender.example.com",
        header_i=2,
        newline="\n",
    )
    assert built.splitlines() == [example[0], *dkim2_part]


def test_the_drafts_file_has_the_eight_examples_we_test(shared_dir: Path) -> None:
    assert len(draft_examples(shared_dir)) == len(DRAFT_CASES) + 1


def test_comment_values_are_escaped_and_bounded() -> None:
    assert escape_comment("a(b)c\\d") == "a\\(b\\)c\\\\d"
    assert escape_comment("line\r\n  two") == "line two"
    assert len(escape_comment("x" * 500)) == 200


def report(
    result: str, hops: list[dict[str, Any]], findings: list[dict[str, Any]]
) -> dict[str, Any]:
    return {"result": result, "hops": hops, "findings": findings}


def hop(i: int, d: str, result: str, m: int | None = None, sel: str = "pass") -> dict[str, Any]:
    return {"i": i, "d": d, "m": m or i, "result": result, "selectors": [{"result": sel}]}


def test_header_i_names_the_signature_of_a_failing_instance() -> None:
    built = authentication_results_for_report(
        report(
            "fail",
            [
                hop(1, "a.example", "pass"),
                hop(2, "b.example", "fail"),
                hop(3, "c.example", "pass", m=2),
            ],
            [
                {
                    "code": "hash.body-mismatch",
                    "state": "fail",
                    "message": "FAIL: Message Instance m=2 body hash sha256 mismatch",
                    "hop": None,
                    "instance": 2,
                }
            ],
        ),
        authserv_id="mx.example.net",
        newline="\n",
    )
    assert built.endswith("header.d=a.example header.i=2")


def test_whole_message_failures_have_no_header_i() -> None:
    built = authentication_results_for_report(
        report(
            "fail",
            [hop(1, "a.example", "pass"), hop(2, "b.example", "pass")],
            [
                {
                    "code": "request.donotmodify",
                    "state": "fail",
                    "message": "FAIL: Message has been modified despite a donotmodify request",
                    "hop": 2,
                    "instance": 2,
                }
            ],
        ),
        authserv_id="mx.example.net",
        newline="\n",
    )
    assert "header.i" not in built
    assert built.endswith("header.d=a.example")


def test_no_header_d_without_a_first_signature_and_skipped_hops() -> None:
    built = authentication_results_for_report(
        report(
            "permerror",
            [hop(2, "b.example", "permerror", sel="skipped")],
            [{"code": "sig.missing", "state": "permerror", "message": "PERMERROR: gap", "hop": 2}],
        ),
        authserv_id="mx",
        newline="\n",
    )
    assert built == (
        "Authentication-Results: mx;\n  dkim2=permerror (i=2 b.example skipped;\n"
        "   PERMERROR: gap) header.i=2"
    )


# --- every method in one field ------------------------------------------------------------

DOCUMENT: dict[str, Any] = {
    "spf": {
        "result": "pass",
        "identity": "mailfrom",
        "domain": "sender.example.com",
        "mail_from": "<bounce@sender.example.com>",
        "ip": "192.0.2.1",
        "source": "smtp",
    },
    "dkim1": {
        "result": "pass",
        "signatures": [
            {
                "result": "pass",
                "domain": "sender.example.com",
                "identity": "@sender.example.com",
                "selector": "sel1",
                "raw": "DKIM-Signature: v=1; a=rsa-sha256; d=sender.example.com; s=sel1;"
                " b=AbCdEfGhIjKlMn; bh=xyz",
            },
            {
                "result": "fail",
                "domain": "esp.example",
                "selector": "s2",
                "reason": "the body hash did not match (the body changed)",
                "raw": "DKIM-Signature: v=1; d=esp.example; s=s2; b=Zz9+/Yy8",
            },
        ],
    },
    "arc": {
        "result": "pass",
        "oldest_pass": 0,
        "broken_at": None,
        "instances": [{"i": 1, "sealer": "lists.example"}, {"i": 2, "sealer": "fwd.example"}],
    },
    "dmarc": {"result": "pass", "author_domain": "sender.example.com", "tags": {"p": "reject"}},
    "dkim2": {"result": "none", "hops": []},
}


def test_every_method_gets_its_result_in_one_field() -> None:
    built = authentication_results(DOCUMENT, authserv_id="mx.example.net", newline="\n")
    assert built == (
        "Authentication-Results: mx.example.net;\n"
        "  spf=pass smtp.mailfrom=bounce@sender.example.com;\n"
        "  dkim=pass header.d=sender.example.com\n"
        "   header.i=@sender.example.com header.s=sel1\n"
        "   header.b=AbCdEfGh;\n"
        "  dkim=fail (the body hash did not match \\(the body\n"
        "   changed\\)) header.d=esp.example header.s=s2\n"
        '   header.b="Zz9+/Yy8";\n'
        "  arc=pass (i=2 sealed by fwd.example) header.oldest-pass=0;\n"
        "  dmarc=pass (p=reject) header.from=sender.example.com;\n"
        "  dkim2=none"
    )


def test_the_field_parses_back_with_an_independent_rfc_8601_parser() -> None:
    built = authentication_results(DOCUMENT, authserv_id="mx.example.net")
    parsed = authres.AuthenticationResultsHeader.parse(built)
    assert parsed.authserv_id == "mx.example.net"
    got = [(r.method, r.result) for r in parsed.results]
    assert got == [
        ("spf", "pass"),
        ("dkim", "pass"),
        ("dkim", "fail"),
        ("arc", "pass"),
        ("dmarc", "pass"),
        ("dkim2", "none"),
    ]
    spf, _, failed = parsed.results[:3]
    assert [(p.type, p.name, p.value) for p in spf.properties] == [
        ("smtp", "mailfrom", "bounce@sender.example.com")
    ]
    assert [(p.type, p.name, p.value) for p in failed.properties] == [
        ("header", "d", "esp.example"),
        ("header", "s", "s2"),
        ("header", "b", "Zz9+/Yy8"),
    ]


def test_a_section_not_checked_is_left_out_not_called_none() -> None:
    upgraded = {"dkim2": {"result": "pass", "hops": [{"i": 1, "d": "a.example", "result": "pass"}]}}
    assert authentication_results(upgraded, authserv_id="mx", newline="\n") == (
        "Authentication-Results: mx;\n  dkim2=pass (i=1 a.example pass) header.d=a.example"
    )


def test_the_helo_identity_and_a_reconstructed_envelope_are_said() -> None:
    doc = {
        "spf": {
            "result": "fail",
            "identity": "helo",
            "helo": "mail.example.org",
            "ip": "192.0.2.9",
            "source": "reconstructed",
        },
        "dkim2": {"result": "none"},
    }
    assert authentication_results(doc, authserv_id="mx", newline="\n") == (
        "Authentication-Results: mx;\n"
        "  spf=fail (envelope reconstructed from the Received fields)\n"
        "   smtp.helo=mail.example.org;\n"
        "  dkim2=none"
    )
