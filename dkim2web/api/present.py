"""The API's JSON shapes, one function per schema in schema.py (keep the two in step)."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse

from dkim2web.reports.models import Analysis, AnalysisRun


def _absolute(request: HttpRequest, name: str, *args: object) -> str:
    return request.build_absolute_uri(reverse(name, args=args))


# An analysis's URLs differ only by its id: each is reversed once (per URLconf and script
# prefix) with this id in its place, which is then replaced by the analysis's. Reversing
# both for every analysis cost an upload 0.03 ms of the web process's CPU (about 1%), and
# a page of the list twenty times that.
_ANY_ID = uuid.UUID(int=0)


@lru_cache(maxsize=32)
def _path_template(name: str, urlconf: object, prefix: str) -> tuple[str, str]:
    head, found, tail = reverse(name, urlconf=urlconf, args=[_ANY_ID]).partition(str(_ANY_ID))
    assert found and str(_ANY_ID) not in tail, name
    return head, tail


def _analysis_path(name: str, analysis_id: uuid.UUID) -> str:
    head, tail = _path_template(name, get_urlconf(), get_script_prefix())
    return f"{head}{analysis_id}{tail}"


def analysis_urls(request: HttpRequest, analysis: Analysis) -> dict[str, str]:
    if not isinstance(analysis.pk, uuid.UUID):  # never, for a row read or saved
        return {
            "url": _absolute(request, "api:analysis", analysis.pk),
            "html_url": _absolute(request, "reports:detail", analysis.pk),
        }
    return {
        "url": request.build_absolute_uri(_analysis_path("api:analysis", analysis.pk)),
        "html_url": request.build_absolute_uri(_analysis_path("reports:detail", analysis.pk)),
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
