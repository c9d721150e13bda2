"""Downloads: the raw message (exact bytes), each rebuilt instance, the JSON report, and the
Authentication-Results field (draft-gondwana-dkim2-authres-00, checked against the draft's
own examples)."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

import analysis.dkim2.verify
from analysis.resolvers import StaticResolver
from dkim2web.reports import services
from dkim2web.reports.authres import (
    authentication_results_for_report,
    escape_comment,
    format_authentication_results,
)
from dkim2web.reports.models import Analysis

CLOCK = 1790000180.0
EXAMPLE = "vectors/worked-example"


@pytest.fixture
def done(alice: Any, shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Analysis:
    monkeypatch.setattr(analysis.dkim2.verify, "time", types.SimpleNamespace(time=lambda: CLOCK))
    zone = {}
    for line in (shared_dir / EXAMPLE / "dns-records.txt").read_text().splitlines():
        name, record = re.fullmatch(r'(\S+?)\.? IN TXT "(.*)"', line).groups()
        zone[name] = record
    raw = (shared_dir / EXAMPLE / "hop2-list-final.eml").read_bytes()
    stored = services.analysis_submit(raw=raw, filename="list mail.eml", owner=alice, enqueue=False)
    services.analysis_run(analysis_id=stored.pk, lookup=StaticResolver(zone, clock=lambda: CLOCK))
    stored.refresh_from_db()
    assert stored.status == Analysis.Status.DONE, stored.error
    return stored


# --- the raw message and the instances --------------------------------------------------------


@pytest.mark.django_db
def test_the_raw_message_downloads_as_the_exact_bytes(
    done: Analysis, alice_client: Client, shared_dir: Path
) -> None:
    response = alice_client.get(reverse("reports:raw", args=[done.pk]))
    assert response.status_code == 200
    assert response.content == (shared_dir / EXAMPLE / "hop2-list-final.eml").read_bytes()
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == 'attachment; filename="list mail.eml"'
    assert response["Content-Length"] == str(len(response.content))


@pytest.mark.django_db
def test_bytes_that_are_not_utf8_and_lf_line_ends_come_back_unchanged(
    alice: Any, alice_client: Client
) -> None:
    raw = b"Subject: \xff\xfe caf\xe9\n\nbody without final newline"
    stored = services.analysis_submit(raw=raw, filename="", owner=alice, enqueue=False)
    response = alice_client.get(reverse("reports:raw", args=[stored.pk]))
    assert response.content == raw
    assert response["Content-Disposition"] == f'attachment; filename="{stored.pk}.eml"'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filename", "disposition"),
    [
        ("../../etc/passwd", 'attachment; filename="passwd.eml"'),
        ('a"b.eml', 'attachment; filename="ab.eml"'),
        ("C:\\mail\\x.EML", 'attachment; filename="x.EML"'),
        ("café.eml", "attachment; filename*=utf-8''caf%C3%A9.eml"),
    ],
)
def test_the_download_name_is_the_uploaded_name_made_safe(
    alice: Any, alice_client: Client, filename: str, disposition: str
) -> None:
    stored = services.analysis_submit(
        raw=b"A: b\r\n\r\n", filename=filename, owner=alice, enqueue=False
    )
    response = alice_client.get(reverse("reports:raw", args=[stored.pk]))
    assert response["Content-Disposition"] == disposition


@pytest.mark.django_db
def test_instance_1_is_what_the_originator_signed(
    done: Analysis, alice_client: Client, shared_dir: Path
) -> None:
    response = alice_client.get(reverse("reports:instance", args=[done.pk, 1]))
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == f'attachment; filename="{done.pk}-m1.eml"'
    # The rebuilt m=1 carries every DKIM2 field of the received message (recipes leave them
    # alone); the rest is the originator's message, byte for byte.
    final = (shared_dir / EXAMPLE / "hop2-list-final.eml").read_bytes()
    original = (shared_dir / EXAMPLE / "hop1-originator.eml").read_bytes()
    dkim2_fields = final[: final.index(b"List-Id:")]
    assert response.content == dkim2_fields + original[original.index(b"From:") :]


@pytest.mark.django_db
def test_instance_2_is_the_message_as_received(
    done: Analysis, alice_client: Client, shared_dir: Path
) -> None:
    response = alice_client.get(reverse("reports:instance", args=[done.pk, 2]))
    assert response.content == (shared_dir / EXAMPLE / "hop2-list-final.eml").read_bytes()


@pytest.mark.django_db
def test_an_instance_that_does_not_exist_is_404(done: Analysis, alice_client: Client) -> None:
    assert alice_client.get(reverse("reports:instance", args=[done.pk, 3])).status_code == 404


# --- the JSON report ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_json_report_is_the_stored_report(done: Analysis, alice_client: Client) -> None:
    response = alice_client.get(reverse("reports:report_json", args=[done.pk]))
    run = done.runs.get()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{done.pk}.json"'
    assert json.loads(response.content) == run.report
    assert (
        response.content == (json.dumps(run.report, indent=2, ensure_ascii=False) + "\n").encode()
    )


@pytest.mark.django_db
def test_no_report_before_the_first_run(alice: Any, alice_client: Client) -> None:
    stored = services.analysis_submit(raw=b"A: b\r\n\r\n", owner=alice, enqueue=False)
    assert alice_client.get(reverse("reports:report_json", args=[stored.pk])).status_code == 404
    assert alice_client.get(reverse("reports:authres", args=[stored.pk])).status_code == 404


# --- Authentication-Results -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_ar_download_is_the_field_for_the_run(done: Analysis, alice_client: Client) -> None:
    response = alice_client.get(reverse("reports:authres", args=[done.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{done.pk}-authentication-results.txt"'
    )
    assert response.content == (
        b"Authentication-Results: testserver;\r\n"
        b"  dkim2=pass (i=1 example.com pass,\r\n"
        b"   i=2 lists.example.org pass) header.d=example.com\r\n"
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
