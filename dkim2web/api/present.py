"""The API's JSON shapes, one function per schema in schema.py (keep the two in step)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from dkim2web.reports.models import Analysis, AnalysisRun


def _absolute(request: HttpRequest, name: str, *args: object) -> str:
    return request.build_absolute_uri(reverse(name, args=args))


def analysis_urls(request: HttpRequest, analysis: Analysis) -> dict[str, str]:
    return {
        "url": _absolute(request, "api:analysis", analysis.pk),
        "html_url": _absolute(request, "reports:detail", analysis.pk),
    }


def analysis_created(request: HttpRequest, analysis: Analysis) -> dict[str, Any]:
    """AnalysisCreated."""
    return {
        "id": str(analysis.pk),
        "status": analysis.status,
        "revision": analysis.revision,
        **analysis_urls(request, analysis),
    }


def analysis_list_item(request: HttpRequest, analysis: Analysis) -> dict[str, Any]:
    """AnalysisListItem; ``analysis`` comes from selectors.analysis_list_with_latest_run."""
    return {
        "id": str(analysis.pk),
        "status": analysis.status,
        "result": analysis.latest_result,  # type: ignore[attr-defined]
        "created_at": analysis.created_at,
        "subject": analysis.latest_subject,  # type: ignore[attr-defined]
        "filename": analysis.filename,
        "revision": analysis.revision,
        **analysis_urls(request, analysis),
    }


RUN_FIELDS = ("id", "created_at", "result", "engine_version", "draft", "revision")


def run_summary(run: AnalysisRun | dict[str, Any]) -> dict[str, Any]:
    """RunSummary, from a run or from its ``values(*RUN_FIELDS)`` row."""
    if isinstance(run, AnalysisRun):
        return {name: getattr(run, name) for name in RUN_FIELDS}
    return {name: run[name] for name in RUN_FIELDS}


def analysis_detail(
    request: HttpRequest,
    analysis: Analysis,
    *,
    latest: AnalysisRun | None,
    earlier: list[dict[str, Any]],
) -> dict[str, Any]:
    """AnalysisDetail. ``latest`` is the run whose report is shown (only once the analysis
    is done); ``earlier`` are the other runs' values() rows, newest first."""
    urls = analysis_urls(request, analysis)
    return {
        "id": str(analysis.pk),
        "status": analysis.status,
        "result": latest.result if latest else (earlier[0]["result"] if earlier else None),
        "created_at": analysis.created_at,
        "finished_at": analysis.finished_at,
        "filename": analysis.filename,
        "size": analysis.size,
        "sha256": analysis.sha256,
        "revision": analysis.revision,
        "envelope": {
            "mail_from": analysis.mail_from,
            "rcpt_to": list(analysis.rcpt_to),
            "source": analysis.envelope_source,
        },
        "error": analysis.error or None,
        **urls,
        "links": {
            "html": urls["html_url"],
            "raw": _absolute(request, "api:raw", analysis.pk),
            "json": urls["url"],
        },
        "run": run_summary(latest) if latest else None,
        # The whole-message report (schema 2; earlier runs upgraded on reading).
        "report": latest.document if latest else None,
        "runs": [run_summary(row) for row in earlier],
    }
