"""Reads the API needs beyond the reports selectors (HackSoft selectors: keyword-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT

from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.selectors import analysis_list_for_user

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def analysis_list_with_latest_run(*, user: AbstractBaseUser) -> QuerySet[Analysis]:
    """The user's analyses, newest first, annotated with ``latest_result`` and
    ``latest_subject`` of their latest run (None before the first run ends).

    The subject is read inside the database from the stored report, so a page of the list
    loads neither raw messages nor whole reports.
    """
    latest = AnalysisRun.objects.filter(analysis=OuterRef("pk")).order_by("-created_at", "-pk")
    return (
        analysis_list_for_user(user=user)
        .annotate(
            latest_result=Subquery(latest.values("result")[:1]),
            latest_subject=Subquery(
                latest.annotate(subject=KT("report__message__subject")).values("subject")[:1]
            ),
        )
        .order_by("-created_at", "-pk")
    )
