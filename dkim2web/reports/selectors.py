"""Reads of stored analyses (HackSoft selectors: keyword-only, typed, no side effects)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from .models import Analysis, AnalysisRun

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# The session key listing the analyses an anonymous visitor made (a list of str ids): the
# only thing that lets them, and nobody else, see those analyses.
ANON_SESSION_KEY = "anon_analyses"


def analysis_list_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Analysis]:
    """The user's own analyses, newest first; none for an anonymous visitor."""
    if not user.is_authenticated:
        return Analysis.objects.none()
    return Analysis.objects.filter(owner=user).defer("raw_message")


def analysis_get_for_user(
    *, analysis_id: uuid.UUID | str, user: AbstractBaseUser | AnonymousUser
) -> Analysis:
    """One of the user's analyses; raises Analysis.DoesNotExist for anyone else's.

    Views turn that into a 404, so another user cannot even learn that the id exists.
    """
    return analysis_list_for_user(user=user).get(pk=analysis_id)


def analysis_latest_run(*, analysis: Analysis) -> AnalysisRun | None:
    return analysis.runs.order_by("-created_at", "-pk").first()


def analysis_runs(*, analysis: Analysis) -> QuerySet[AnalysisRun]:
    """Every run of an analysis, newest first."""
    return analysis.runs.order_by("-created_at", "-pk")


def analysis_ids_in_session(*, session: Any) -> list[str]:
    """Ids of the analyses an anonymous visitor made in this session, oldest first."""
    ids = session.get(ANON_SESSION_KEY, [])
    return [str(x) for x in ids] if isinstance(ids, list) else []


def analysis_visible_by_sha256(
    *, sha256: str, user: AbstractBaseUser | AnonymousUser, session: Any
) -> Analysis | None:
    """The newest analysis of exactly these bytes that this visitor may see (their own, or
    one they made anonymously in this session), or None."""
    if user.is_authenticated:
        found = analysis_list_for_user(user=user)
    else:
        ids = analysis_ids_in_session(session=session)
        found = Analysis.objects.filter(pk__in=ids, owner__isnull=True).defer("raw_message")
    return found.filter(sha256=sha256).order_by("-created_at").first()


def analyses_matching(
    analyses: QuerySet[Analysis], *, text: str = "", verdict: str = ""
) -> QuerySet[Analysis]:
    """``analyses`` whose From, Subject or file name contains ``text`` (any case; the
    database escapes ``%`` and ``_``), and whose latest run's verdict is ``verdict`` (the
    queryset must be annotated with ``latest_result``). Empty arguments filter nothing."""
    if text:
        analyses = analyses.filter(
            Q(header_from__icontains=text)
            | Q(header_subject__icontains=text)
            | Q(filename__icontains=text)
        )
    if verdict:
        analyses = analyses.filter(latest_result=verdict)
    return analyses
