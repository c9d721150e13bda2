"""Share links: the owner creates and revokes them; anyone with the token reads the result.

The shared page is the owner's result page rendered read-only (viewer_can_edit=False): all
the owner sees but the owner's data (the filename, the envelope form, the list of runs, how
the message reached the mailbox). Its downloads go through the token itself: the raw message,
each rebuilt instance, the full body diff of an instance, the JSON report and the
Authentication-Results field (``sharing:raw``, ``sharing:instance``, ``sharing:diff``,
``sharing:report``, ``sharing:authres``), each of the latest run, with neutral file names.

An unknown, expired or revoked token is a 404, never a 403, so the page never confirms
that a link existed. Likewise every owner view answers 404 for another user's analysis.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.request import split_domain_port
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from dkim2web import throttling
from dkim2web.reports import selectors as report_selectors
from dkim2web.reports.models import Analysis

from . import selectors, services
from .forms import ShareLinkForm
from .models import ShareLink


def _own_analysis(request: HttpRequest, analysis_id: uuid.UUID) -> Analysis:
    try:
        return report_selectors.analysis_get_for_user(analysis_id=analysis_id, user=request.user)
    except Analysis.DoesNotExist:
        raise Http404("No such analysis.") from None


def _usable_link(token: str) -> ShareLink:
    try:
        return selectors.share_link_get_usable(token=token)
    except ShareLink.DoesNotExist:
        raise Http404("No such shared analysis.") from None


def _throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Shared pages and downloads are counted per client address (DKIM2WEB_RATE_SHARE_LINKS),
    before the token is looked up: a known link and a guessed one cost the same."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, **kwargs: Any) -> HttpResponseBase:
        refusal = throttling.SHARE_LINKS.hit(request)
        if refusal is not None:
            return _private(throttling.too_many_requests(request, refusal))
        return view(request, token, **kwargs)

    return wrapper


_Response = TypeVar("_Response", bound=HttpResponseBase)


def _private(response: _Response) -> _Response:
    # The token is in the URL: keep it out of Referer headers, search engines and caches
    # (a revoked link must stop working at once).
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    add_never_cache_headers(response)
    return response


# --- the owner's side -----------------------------------------------------------------------


@login_required
@require_GET
def manage(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    analysis = _own_analysis(request, analysis_id)
    return _render_manage(request, analysis, ShareLinkForm())


@login_required
@require_POST
def create(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    analysis = _own_analysis(request, analysis_id)
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        return _render_manage(request, analysis, form, status=400)
    _, token = services.share_link_create(
        analysis=analysis, created_by=request.user, days=form.cleaned_data["days"]
    )
    # Shown in this answer only: the token is stored as a hash, not even in the session.
    new_url = request.build_absolute_uri(reverse("sharing:view", args=[token]))
    return _private(_render_manage(request, analysis, ShareLinkForm(), new_url=new_url))


@login_required
@require_POST
def revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    try:
        link = selectors.share_link_get_for_owner(link_id=link_id, user=request.user)
    except ShareLink.DoesNotExist:
        raise Http404("No such share link.") from None
    if services.share_link_revoke(link=link):
        messages.success(request, f"Share link {link.prefix}… revoked: it no longer opens.")
    return redirect("sharing:manage", analysis_id=link.analysis_id)


def _render_manage(
    request: HttpRequest,
    analysis: Analysis,
    form: ShareLinkForm,
    *,
    new_url: str | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "analysis": analysis,
        "links": selectors.share_link_list_for_analysis(analysis=analysis),
        "form": form,
        "new_url": new_url,
    }
    return render(request, "sharing/manage.html", context, status=status)


# --- the shared side (no login) ---------------------------------------------------------------


@require_GET
@_throttled
def view(request: HttpRequest, token: str) -> HttpResponse:
    link = _usable_link(token)
    # Imported here so the project's URLs load even while the presenter is being written.
    from dkim2web.reports.presenters import build_result_context

    analysis = link.analysis
    run = report_selectors.analysis_latest_run(analysis=analysis)
    context = build_result_context(
        analysis=analysis, run=run, viewer_can_edit=False, share_token=token
    )
    return _private(render(request, "reports/result.html", context))


def _neutral_name(analysis: Analysis, what: str) -> str:
    # The uploaded filename is the owner's, not the message's.
    return f"message-{analysis.sha256[:12]}{what}"


@require_GET
@_throttled
def raw(request: HttpRequest, token: str) -> HttpResponse:
    analysis = _usable_link(token).analysis
    response = HttpResponse(analysis.raw_bytes, content_type="message/rfc822")
    response.headers["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_neutral_name(analysis, ".eml")
    )
    return _private(response)


@require_GET
@_throttled
def report(request: HttpRequest, token: str) -> HttpResponse:
    analysis = _usable_link(token).analysis
    run = report_selectors.analysis_latest_run(analysis=analysis)
    if run is None:
        raise Http404("This analysis has no report yet.")
    response = JsonResponse(run.document)
    response.headers["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"dkim2-report-{analysis.sha256[:12]}.json"
    )
    return _private(response)


@require_GET
@_throttled
def instance(request: HttpRequest, token: str, m: str) -> HttpResponse:
    """Instance m of the shared message, rebuilt from its recipes."""
    from dkim2web.reports.presenters import reconstruct_instance

    analysis = _usable_link(token).analysis
    data = reconstruct_instance(analysis.raw_bytes, int(m))
    if data is None:
        raise Http404("This instance cannot be rebuilt.")
    response = HttpResponse(data, content_type="message/rfc822")
    response.headers["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_neutral_name(analysis, f"-m{int(m)}.eml")
    )
    return _private(response)


@require_GET
@_throttled
def diff(request: HttpRequest, token: str, m: str) -> StreamingHttpResponse:
    """The whole body diff between instances m-1 and m, by the rules of the latest run."""
    from analysis.dkim2.history import full_body_diff

    analysis = _usable_link(token).analysis
    run = report_selectors.analysis_latest_run(analysis=analysis)
    revision = run.revision if run is not None else analysis.revision
    chunks = full_body_diff(analysis.raw_bytes, int(m), revision)
    if chunks is None:
        raise Http404("The bodies of these instances cannot both be rebuilt.")
    response = StreamingHttpResponse(chunks, content_type="text/x-diff")
    response.headers["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_neutral_name(analysis, f"-m{int(m) - 1}-m{int(m)}.diff")
    )
    return _private(response)


@require_GET
@_throttled
def authentication_results(request: HttpRequest, token: str) -> HttpResponse:
    """The Authentication-Results field of the latest run, as the owner's page offers it."""
    from analysis.authres_field import authentication_results as field

    analysis = _usable_link(token).analysis
    run = report_selectors.analysis_latest_run(analysis=analysis)
    if run is None:
        raise Http404("This analysis has no report yet.")
    host = request.get_host()
    line = field(run.document, authserv_id=split_domain_port(host)[0] or host)
    content = (line + "\r\n").encode("utf-8")
    response = HttpResponse(content, content_type="text/plain; charset=utf-8")
    response.headers["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_neutral_name(analysis, "-authentication-results.txt")
    )
    return _private(response)
