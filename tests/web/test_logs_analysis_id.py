"""Structured logs: every line logged while an analysis is worked on carries its id."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError

from dkim2web.celery import app
from dkim2web.logs import (
    AnalysisIdFilter,
    JsonFormatter,
    TextFormatter,
    analysis_context,
    current_analysis_id,
    with_analysis_id,
)
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.tasks import run_analysis
from dkim2web.samples.gallery import get_sample

# The loggers a run writes to: ours and the engine's do not propagate, Celery's do.
LOGGERS = ("", "dkim2web", "analysis")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(AnalysisIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[Collect]:
    handler = Collect()
    saved = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).setLevel(saved[name])


@pytest.fixture
def eager_retries_in_place() -> Iterator[None]:
    saved = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    try:
        yield
    finally:
        app.conf.task_eager_propagates = saved


def _submit() -> Analysis:
    built = get_sample("clean-list").sign_now()
    return services.analysis_submit(
        raw=built.raw, mail_from=built.mail_from, rcpt_to=built.rcpt_to, enqueue=False
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_retries_in_place")
def test_every_line_of_a_run_carries_its_id(
    collected: Collect, monkeypatch: pytest.MonkeyPatch
) -> None:
    analysis = _submit()
    other = _submit()
    real_create = AnalysisRun.objects.create
    calls: list[Any] = []

    def database_blinks_once(**fields: Any) -> AnalysisRun:
        # The connection is lost as the run is stored: the claim is made, nothing written.
        calls.append(fields)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_create(**fields)

    monkeypatch.setattr(AnalysisRun.objects, "create", database_blinks_once)
    monkeypatch.setattr(services, "key_lookup_from_settings", lambda: _demo())
    logging.getLogger("analysis").info("before: no analysis")
    run_analysis.apply(args=[str(analysis.pk)])  # fails once, is retried, finishes
    run_analysis.apply(args=[str(analysis.pk)])  # a duplicate delivery: "not claimable"
    services.analysis_enqueue(analysis_id=other.pk)  # eager: runs `other` right here
    logging.getLogger("analysis").info("after: no analysis")

    by_id: dict[str | None, list[str]] = {}
    for record in collected.records:
        by_id.setdefault(record.analysis_id, []).append(record.getMessage())  # type: ignore[attr-defined]
    assert by_id.pop(None) == ["before: no analysis", "after: no analysis"]
    mine = by_id[str(analysis.pk)]
    # The retry, Celery's line about it, the duplicate: all stamped with the id.
    assert any("database error, retrying" in m for m in mine), mine
    assert any("not claimable" in m for m in mine), mine
    assert len(mine) >= 3
    assert str(other.pk) in by_id
    assert set(by_id) == {str(analysis.pk), str(other.pk)}
    # No line about one analysis is stamped with the other's id.
    for stamped, messages in by_id.items():
        for message in messages:
            for foreign in {str(analysis.pk), str(other.pk)} - {stamped}:
                assert foreign not in message
    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts, analysis.runs.count()) == ("done", 2, 1)


def _demo() -> Any:
    from dkim2web.samples.keys import DemoDnsLookup

    return DemoDnsLookup()


def _record(message: str, *, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    record = logging.LogRecord("dkim2web.x", logging.WARNING, __file__, 1, message, (), exc_info)
    AnalysisIdFilter().filter(record)
    return record


def test_json_lines_have_the_fields_and_the_id_only_inside_the_context() -> None:
    with analysis_context("5f0c7e2e-0000-4000-8000-000000000000"):
        inside = json.loads(JsonFormatter().format(_record("claimed", exc=True)))
    outside = json.loads(JsonFormatter().format(_record("idle")))
    assert inside["analysis_id"] == "5f0c7e2e-0000-4000-8000-000000000000"
    assert (inside["level"], inside["logger"], inside["message"]) == (
        "WARNING",
        "dkim2web.x",
        "claimed",
    )
    assert inside["time"].endswith("+00:00")
    assert "ValueError: boom" in inside["exc"]
    assert "analysis_id" not in outside
    assert "\n" not in JsonFormatter().format(_record("multi\nline", exc=True))


def test_text_lines_name_the_analysis_for_people() -> None:
    with analysis_context("abc"):
        inside = TextFormatter().format(_record("claimed"))
    outside = TextFormatter().format(_record("idle"))
    assert inside.endswith("WARNING dkim2web.x [analysis abc] claimed")
    assert outside.endswith("WARNING dkim2web.x idle")


def test_contexts_nest_and_the_decorator_reads_the_keyword() -> None:
    @with_analysis_id
    def work(*, analysis_id: str) -> str | None:
        return current_analysis_id()

    with analysis_context("outer"):
        assert work(analysis_id="inner") == "inner"
        assert current_analysis_id() == "outer"
    assert current_analysis_id() is None


def test_the_console_handler_stamps_records_of_every_logger() -> None:
    from django.conf import settings

    assert settings.LOGGING["handlers"]["console"]["filters"] == ["analysis_id"]
    assert settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False


@pytest.mark.django_db
def test_the_sweeps_lines_carry_the_id_of_the_analysis_they_are_about(
    collected: Collect, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    monkeypatch.setattr(services, "analysis_enqueue", lambda **kwargs: True)
    lost = _submit()
    stale = _submit()
    long_ago = timezone.now() - timedelta(hours=1)
    Analysis.objects.filter(pk=lost.pk).update(queued_at=long_ago)
    Analysis.objects.filter(pk=stale.pk).update(status="running", started_at=long_ago)
    outcome = services.analyses_requeue_stale()
    assert (outcome.requeued, outcome.reclaimed) == (1, 1)
    about = {
        r.getMessage().split(":", 1)[1].strip(): getattr(r, "analysis_id", None)
        for r in collected.records
        if r.name == "dkim2web.reports.services"
    }
    assert about == {
        "its worker was lost; queued again": str(stale.pk),
        f"queued since {long_ago}; published again": str(lost.pk),
    }
