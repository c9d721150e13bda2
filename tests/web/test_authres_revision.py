"""The Authentication-Results download names the DKIM2 draft revision that judged the chain,
as an RFC 8601 comment, and stays a field an independent RFC 8601 parser reads back."""

from __future__ import annotations

from typing import Any

import authres  # type: ignore[import-untyped]
import pytest
from django.test import Client
from django.urls import reverse

from analysis.authres_field import authentication_results, format_authentication_results
from dkim2web.reports.models import Analysis, AnalysisRun
from tests.web.revision_chains import analysed, auto_submitted_chain

pytestmark = pytest.mark.django_db

OTHER_METHODS = [
    "Authentication-Results: testserver;",
    "  spf=none (no client address known)",
    "   smtp.mailfrom=alice@example.com;",
    "  dkim=none;",
    "  arc=none;",
    "  dmarc=none header.from=example.com;",
]


def download(client: Client, analysis: Analysis) -> str:
    response = client.get(reverse("reports:authres", args=[analysis.pk]))
    assert response.status_code == 200
    return response.content.decode()


def parsed_dkim2(field: str) -> tuple[str, list[tuple[str, str, str]]]:
    result = authres.AuthenticationResultsHeader.parse(field.rstrip("\r\n")).results[-1]
    assert result.method == "dkim2"
    return result.result, [(p.type, p.name, p.value) for p in result.properties]


def test_an_auto_run_names_the_rules_that_judged_it(alice: Any, alice_client: Client) -> None:
    field = download(alice_client, analysed(auto_submitted_chain(), owner=alice))
    assert field.split("\r\n") == [
        *OTHER_METHODS,
        "  dkim2=fail (-09 rules) (i=1 example.com fail;",
        "   FAIL: Message Instance m=1 header hash sha256 mismatch)",
        "   header.d=example.com header.i=1",
        "",
    ]
    assert parsed_dkim2(field) == (
        "fail",
        [("header", "d", "example.com"), ("header", "i", "1")],
    )


def test_a_run_under_06_names_the_06_rules(alice: Any, alice_client: Client) -> None:
    field = download(alice_client, analysed(auto_submitted_chain(), owner=alice, revision="06"))
    assert field.split("\r\n")[-3:] == [
        "  dkim2=pass (-06 rules) (i=1 example.com pass)",
        "   header.d=example.com",
        "",
    ]
    assert parsed_dkim2(field) == ("pass", [("header", "d", "example.com")])


def test_a_run_stored_before_revisions_reads_as_06(alice: Any, alice_client: Client) -> None:
    analysis = analysed(auto_submitted_chain(), owner=alice)
    run = analysis.runs.get()
    old = {**run.report, "dkim2": {k: v for k, v in run.report["dkim2"].items() if k != "revision"}}
    AnalysisRun.objects.filter(pk=run.pk).update(report=old)
    assert "  dkim2=fail (-06 rules) (i=1 example.com fail;" in download(alice_client, analysis)


def test_without_dkim2_no_rules_are_named() -> None:
    document = {"dkim2": {"result": "none", "revision": "09", "hops": []}}
    assert authentication_results(document, authserv_id="mx", newline="\n") == (
        "Authentication-Results: mx; dkim2=none"
    )


def test_a_lone_result_with_the_rules_goes_on_a_line_of_its_own() -> None:
    # The draft's folding: only a comment-less dkim2 result stays on the first line.
    assert format_authentication_results(
        authserv_id="mx", result="pass", revision="09", newline="\n"
    ) == ("Authentication-Results: mx;\n  dkim2=pass (-09 rules)")


def test_a_hostile_revision_in_a_stored_report_stays_inside_its_comment() -> None:
    document = {
        "dkim2": {
            "result": "pass",
            "revision": "09) header.d=evil.example (",
            "hops": [{"i": 1, "d": "example.com", "result": "pass"}],
        }
    }
    field = authentication_results(document, authserv_id="mx")
    assert "(-09\\) header.d=evil.example \\( rules)" in field
    assert parsed_dkim2(field) == ("pass", [("header", "d", "example.com")])
