"""The stored report, the result page and the full diff of a message built to be large
(issue #11, finding 1).

A valid 16-hop chain whose body has eight lines of 2.2 MB made a report of hundreds of
megabytes, a result page as large, and past PostgreSQL's jsonb limit a task retried three
times that ended "the database could not be reached".  Now the report is checked against
its stored-size budget before it is written, a report that cannot be stored fails with its
real reason and is not retried, the page renders a fixed number of bytes of diff, and the
full diff is a download recomputed from the stored message.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from analysis import limits
from analysis.dkim2.history import full_body_diff
from analysis.report_budget import size_of
from analysis.resolvers import StaticResolver
from dkim2web.celery import app
from dkim2web.reports import presenters, services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.tasks import run_analysis
from tests.analysis.hostile_chains import LONG_LINE, long_line_chain

MARKER = " … [2,199,000 more octets cut]"


def _analysed(owner: Any) -> Analysis:
    chain = long_line_chain()
    stored = services.analysis_submit(raw=chain.message, filename="long.eml", owner=owner)
    services.analysis_run(analysis_id=stored.pk, lookup=StaticResolver(chain.zone), now=chain.now)
    stored.refresh_from_db()
    return stored


@pytest.mark.django_db
def test_the_long_line_chain_is_stored_with_a_report_within_its_budget(
    alice: Any, alice_client: Client
) -> None:
    analysis = _analysed(alice)
    assert analysis.status == Analysis.Status.DONE, analysis.error
    run = AnalysisRun.objects.get(analysis=analysis)
    assert size_of(run.report) <= limits.MAX_REPORT_BYTES
    assert run.report["dkim2"]["result"] == "pass"

    page = alice_client.get(reverse("reports:detail", args=[analysis.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert len(page.content) < 1024 * 1024
    assert MARKER.strip() in html
    assert "4 lines longer than 1,000 octets were cut (each says how much)." in html


@pytest.mark.django_db
def test_the_full_diff_is_streamed_from_the_stored_message(
    alice: Any, alice_client: Client, bob: Any
) -> None:
    analysis = _analysed(alice)
    url = reverse("reports:diff", args=[analysis.pk, 3])
    answer = alice_client.get(url)
    assert answer.status_code == 200
    assert answer.streaming is True
    assert answer["Content-Type"] == "text/x-diff"
    assert answer["Content-Disposition"] == f'attachment; filename="{analysis.pk}-m2-m3.diff"'
    data = b"".join(answer.streaming_content)
    chunks = full_body_diff(long_line_chain().message, 3)
    assert chunks is not None
    assert data == b"".join(chunks)
    assert b"\n " + LONG_LINE + b"\n-short line 2\n+hop 2 was here\n " in data

    assert alice_client.get(reverse("reports:diff", args=[analysis.pk, 17])).status_code == 404
    other = Client()
    other.force_login(bob)
    assert other.get(url).status_code == 404


@pytest.mark.django_db
def test_the_page_offers_the_full_diff_where_a_diff_was_cut(
    alice: Any, alice_client: Client
) -> None:
    analysis = services.analysis_submit(raw=b"From: a@example.org\r\n\r\nx\r\n", owner=alice)
    diff = {
        "before": 1,
        "after": 2,
        "hop": 2,
        "hop_domain": "h1.example",
        "header_changes": [],
        "body_changed": True,
        "body_diff": ["--- before", "+++ after", "@@ -1 +1 @@", "-a", "+b"],
        "body_diff_truncated": True,
        "body_diff_note": "Cut short at 5,000 lines.",
        "explained": True,
    }
    _stored_run(analysis, [diff])
    html = alice_client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()
    link = reverse("reports:diff", args=[analysis.pk, 2])
    assert f'<a href="{link}">download the full diff</a>' in html
    assert "Cut short at 5,000 lines." in html


def _stored_run(analysis: Analysis, diffs: list[dict[str, Any]]) -> AnalysisRun:
    Analysis.objects.filter(pk=analysis.pk).update(status=Analysis.Status.DONE)
    return AnalysisRun.objects.create(
        analysis=analysis,
        result="pass",
        report={"schema_version": 2, "result": "pass", "dkim2": {"diffs": diffs}},
        engine_version="0.3.0",
        draft="draft-ietf-dkim-dkim2-spec-09",
        revision="auto",
    )


@pytest.mark.django_db
def test_a_report_stored_before_the_bounds_renders_a_fixed_number_of_bytes_of_diff(
    alice: Any, alice_client: Client
) -> None:
    """Reports stored before the engine bounded its diffs can hold megabytes of them."""
    analysis = services.analysis_submit(raw=b"From: a@example.org\r\n\r\nx\r\n", owner=alice)
    lines = [" " + "y" * 4999] * 1000
    diffs = [
        {"before": m, "after": m + 1, "hop": m + 1, "body_changed": True, "body_diff": lines}
        for m in range(1, 4)
    ]
    _stored_run(analysis, diffs)
    page = alice_client.get(reverse("reports:detail", args=[analysis.pk]))
    assert page.status_code == 200
    assert len(page.content) < presenters.INLINE_DIFF_BYTES + 100 * 1024
    html = page.content.decode()
    # Each line cut to 2,000 characters (2,039 octets with its marker): 128 fit in 256 KB.
    assert html.count(" … [3,000 more characters not shown]") == 128
    note = " more lines of this diff are not shown: this page shows at most 256.0 KB of diffs."
    assert (html.count("872" + note), html.count("1,000" + note)) == (1, 2)


# -- a report that cannot be stored: its real reason, and no retry ------------------------------


@pytest.mark.django_db
def test_a_report_over_its_stored_size_budget_fails_with_that_reason_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain = long_line_chain()
    analysis = services.analysis_submit(raw=chain.message, enqueue=False)
    monkeypatch.setattr(limits, "MAX_REPORT_BYTES", 20_000)
    monkeypatch.setattr(services, "key_lookup_from_settings", lambda: StaticResolver(chain.zone))
    calls: list[str] = []
    engine = services._run_engine

    def counted(a: Analysis, **kwargs: Any) -> services.EngineOutcome:
        calls.append(str(a.pk))
        return engine(a, **kwargs)

    monkeypatch.setattr(services, "_run_engine", counted)
    run_analysis.apply(args=[str(analysis.pk)])
    analysis.refresh_from_db()
    assert len(calls) == 1
    assert (analysis.status, analysis.attempts) == (Analysis.Status.FAILED, 1)
    assert analysis.error.startswith(
        "the report could not be stored: the report of this message is "
    )
    assert analysis.error.endswith(
        " octets even with its derived parts trimmed; at most 20,000 can be stored. The same "
        "message would give the same report, so the analysis was not retried; the message is "
        "kept and can be downloaded from this analysis."
    )
    assert not AnalysisRun.objects.filter(analysis=analysis).exists()


class ProgramLimitExceeded(Exception):
    """What psycopg raises for a jsonb value over 256 MB (SQLSTATE 54000)."""

    sqlstate = "54000"


@pytest.mark.django_db
def test_a_report_the_database_refuses_fails_with_that_reason_and_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    analysis = services.analysis_submit(raw=b"From: a@example.org\r\n\r\nx\r\n", enqueue=False)
    outcome = services.EngineOutcome("none", {"schema_version": 2}, "0.3.0", "draft")
    monkeypatch.setattr(services, "_run_engine", lambda a, lookup=None, now=None: outcome)
    tries: list[int] = []

    def refuse(**_: Any) -> AnalysisRun:
        tries.append(1)
        try:
            raise ProgramLimitExceeded("total size of jsonb object elements exceeds the maximum")
        except ProgramLimitExceeded as exc:
            raise OperationalError(str(exc)) from exc

    monkeypatch.setattr(AnalysisRun.objects, "create", refuse)
    saved = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    try:
        result = run_analysis.apply(args=[str(analysis.pk)])
    finally:
        app.conf.task_eager_propagates = saved
    assert result.successful()
    assert tries == [1]
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.FAILED
    assert analysis.error == (
        "the report could not be stored: the database refused it (ProgramLimitExceeded), and it "
        "would refuse it again, so the analysis was not retried. The message is kept and can be "
        "downloaded from this analysis; tell the operators (the worker's log has the details)."
    )


@pytest.mark.django_db
def test_a_database_that_goes_away_while_storing_is_still_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    analysis = services.analysis_submit(raw=b"From: a@example.org\r\n\r\nx\r\n", enqueue=False)
    outcome = services.EngineOutcome("none", {"schema_version": 2}, "0.3.0", "draft")
    monkeypatch.setattr(services, "_run_engine", lambda a, lookup=None, now=None: outcome)
    tries: list[int] = []

    def away(**_: Any) -> AnalysisRun:
        tries.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(AnalysisRun.objects, "create", away)
    saved = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    try:
        result = run_analysis.apply(args=[str(analysis.pk)])
    finally:
        app.conf.task_eager_propagates = saved
    assert result.failed()
    assert len(tries) == 1 + 3
    analysis.refresh_from_db()
    assert analysis.error.startswith("gave up after 3 retries: the database could not be reached")


def test_only_data_and_limit_errors_count_as_refusals_of_the_content() -> None:
    def caused(state: str) -> OperationalError:
        cause = ProgramLimitExceeded()
        cause.sqlstate = state
        exc = OperationalError("x")
        exc.__cause__ = cause
        return exc

    assert services.refused_for_its_content(caused("54000")) is True
    assert services.refused_for_its_content(caused("22021")) is True
    assert services.refused_for_its_content(caused("08006")) is False
    assert services.refused_for_its_content(OperationalError("no cause")) is False
