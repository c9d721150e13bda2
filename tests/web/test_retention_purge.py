"""Deleting an analysis, and the retention purge: old analyses go with all they derived."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.tasks import purge_expired_analyses

MESSAGE = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def _with_runs(*, age_days: float, runs: int = 2) -> Analysis:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    created = timezone.now() - timedelta(days=age_days)
    Analysis.objects.filter(pk=analysis.pk).update(created_at=created, status="done")
    for _ in range(runs):
        AnalysisRun.objects.create(
            analysis=analysis, result="pass", report={}, engine_version="9.9", draft="t"
        )
    return analysis


@pytest.mark.django_db
@override_settings(DKIM2WEB_RETENTION_DAYS=30)
def test_the_purge_deletes_only_analyses_older_than_the_retention_and_their_runs() -> None:
    old = _with_runs(age_days=30.01)
    older = _with_runs(age_days=400)
    young = _with_runs(age_days=29.9)

    assert services.analyses_purge_expired() == 2

    assert list(Analysis.objects.values_list("pk", flat=True)) == [young.pk]
    assert set(AnalysisRun.objects.values_list("analysis_id", flat=True)) == {young.pk}
    assert not AnalysisRun.objects.filter(analysis_id__in=[old.pk, older.pk]).exists()


@pytest.mark.django_db
@override_settings(DKIM2WEB_RETENTION_DAYS=7)
def test_the_purge_measures_from_the_given_time() -> None:
    analysis = _with_runs(age_days=0)
    assert services.analyses_purge_expired(now=timezone.now() + timedelta(days=6)) == 0
    assert services.analyses_purge_expired(now=timezone.now() + timedelta(days=8)) == 1
    assert not Analysis.objects.filter(pk=analysis.pk).exists()


@pytest.mark.django_db
@override_settings(DKIM2WEB_RETENTION_DAYS=0)
def test_a_retention_of_zero_keeps_everything() -> None:
    _with_runs(age_days=10_000)
    assert services.analyses_purge_expired() == 0
    assert Analysis.objects.count() == 1


@pytest.mark.django_db
@override_settings(DKIM2WEB_RETENTION_DAYS=30)
def test_the_periodic_task_purges() -> None:
    _with_runs(age_days=31)
    assert purge_expired_analyses.apply().get() == 1
    assert not Analysis.objects.exists()


@pytest.mark.django_db
def test_deleting_an_analysis_deletes_its_message_and_runs_only() -> None:
    doomed = _with_runs(age_days=0, runs=3)
    kept = _with_runs(age_days=0, runs=1)
    services.analysis_delete(analysis=doomed)
    assert list(Analysis.objects.values_list("pk", flat=True)) == [kept.pk]
    assert AnalysisRun.objects.count() == 1
    assert AnalysisRun.objects.get().analysis_id == kept.pk
