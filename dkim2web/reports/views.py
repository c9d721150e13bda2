"""Pages of stored analyses: upload, list, result, progress, downloads, re-run and delete.

Each view finds the analysis the visitor may see (anyone else gets a 404, never a 403, so
an id reveals nothing), calls one service or selector, and renders.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.core.paginator import Paginator
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.request import split_domain_port
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analysis.authres_field import authentication_results
from dkim2web import throttling

from . import advice, dsn_views, held, mechanism_views, presenters, selectors, services, waiting
from .envelope_guess import envelope_guess
from .forms import (
    TOO_LARGE,
    TOO_MANY,
    AnalysisSearchForm,
    EnvelopeForm,
    RevisionForm,
    Submission,
    UploadForm,
    max_files,
    max_message_bytes,
)
from .models import Analysis, AnalysisRun, HeldUpload

PAGE_SIZE = 25


# -- access ---------------------------------------------------------------------------------


def _remember(request: HttpRequest, analysis: Analysis) -> None:
    """An anonymous visitor's analysis is theirs through their session, and only that."""
    if analysis.owner_id is None:
        services.analysis_remember_in_session(session=request.session, analysis=analysis)


def _get_analysis(request: HttpRequest, analysis_id: uuid.UUID) -> Analysis:
    """The analysis if this visitor owns it, or made it anonymously in this session; else 404."""
    try:
        return selectors.analysis_get_for_user(analysis_id=analysis_id, user=request.user)
    except Analysis.DoesNotExist:
        pass
    if str(analysis_id) in selectors.analysis_ids_in_session(session=request.session):
        try:
            return Analysis.objects.get(pk=analysis_id, owner__isnull=True)
        except Analysis.DoesNotExist:
            pass
    raise Http404("No such analysis")


def _visible_analyses(request: HttpRequest) -> QuerySet[Analysis]:
    if request.user.is_authenticated:
        qs = selectors.analysis_list_for_user(user=request.user)
    else:
        ids = selectors.analysis_ids_in_session(session=request.session)
        qs = Analysis.objects.filter(pk__in=ids, owner__isnull=True).defer("raw_message")
    latest = AnalysisRun.objects.filter(analysis=OuterRef("pk")).order_by("-created_at", "-pk")
    return qs.annotate(
        latest_result=Subquery(latest.values("result")[:1]),
        latest_revision=Subquery(latest.values("revision")[:1]),
    ).order_by("-created_at")


def _owner(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


# -- upload ---------------------------------------------------------------------------------


def upload_context(
    form: UploadForm, *, request_errors: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "form": form,
        # Errors of the form, and of a request refused before the form could read it.
        "upload_errors": [str(e) for e in form.non_field_errors()] + (request_errors or []),
        "max_message_bytes": max_message_bytes(),
        "max_message_size": presenters.format_size(max_message_bytes()),
        "max_files": max_files(),
        **extra,
    }


def _render_upload(
    request: HttpRequest, form: UploadForm, *, template: str, status: int = 200, **extra: Any
) -> HttpResponse:
    return render(request, template, upload_context(form, **extra), status=status)


@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    return upload(request, template="reports/new.html")


def upload(request: HttpRequest, *, template: str) -> HttpResponse:
    """The upload form (GET) and its handling (POST); shared by the home page."""
    if request.method != "POST":
        return _render_upload(request, UploadForm(), template=template)
    # Counted before the form is read or anything stored: per account, or per client
    # address without one.
    refusal = throttling.upload_rule(request).hit(request)
    if refusal is not None:
        return throttling.too_many_requests(request, refusal, back_url=request.path)
    try:
        data, files = request.POST, request.FILES
    except TooManyFilesSent:
        error = (
            f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files were sent; at most "
            f"{max_files()} can be analysed "
            "at once. Nothing was stored: upload them in smaller groups."
        )
        return _render_upload(
            request, UploadForm(), template=template, status=400, request_errors=[error]
        )
    except RequestDataTooBig:
        error = (
            f"The pasted source is larger than {presenters.format_size(max_message_bytes())}, "
            "the limit per message. Nothing was stored."
        )
        return _render_upload(
            request, UploadForm(), template=template, status=413, request_errors=[error]
        )

    # Files "Guess the envelope" kept stand for the file input while no file is chosen.
    kept: list[HeldUpload] = []
    if data.get("held") and not files.getlist("files"):
        try:
            kept = held.held_uploads_for_token(token=data["held"], session=request.session)
        except held.HeldExpired:
            return _render_upload(
                request, UploadForm(), template=template, status=400, request_errors=[HELD_GONE]
            )
    form = UploadForm(
        data, files, kept=[Submission(raw=h.raw_bytes, filename=h.filename) for h in kept]
    )
    if not form.is_valid():
        status = 413 if form.has_code(TOO_LARGE) else 400
        if form.has_code(TOO_MANY):
            status = 400
        return _render_upload(
            request, form, template=template, status=status, held_files=_held_files(kept)
        )

    upload = form.cleaned_data["upload"]
    if data.get("action") == "hints":
        return _hints(request, form, template=template, kept=kept)

    created = [
        services.analysis_submit(
            raw=message.raw,
            filename=message.filename,
            mail_from=upload.mail_from,
            rcpt_to=upload.rcpt_to,
            owner=_owner(request),
        )
        for message in upload.messages
    ]
    # A bounce's returned message is analysed on its own, owned alike; its page links it.
    returned = [
        r for analysis in created for r in services.analysis_submit_returned(analysis=analysis)
    ]
    for analysis in created + returned:
        _remember(request, analysis)
    if kept:
        held.held_uploads_release(held=kept, session=request.session)
    if len(created) == 1:
        return redirect("reports:detail", analysis_id=created[0].pk)
    messages.success(request, f"{len(created)} messages stored; their analyses are under way.")
    return redirect("reports:list")


def _hints(
    request: HttpRequest, form: UploadForm, *, template: str, kept: list[HeldUpload]
) -> HttpResponse:
    """The form again, with the envelope guessed from the message's trace fields and the
    chosen files kept on the server (held.py), so "Analyse" needs nothing chosen again."""
    upload = form.cleaned_data["upload"]
    initial = {
        "raw_text": form.cleaned_data.get("raw_text") or "",
        "mail_from": upload.mail_from,
        "rcpt_to": "\n".join(upload.rcpt_to),
    }
    chosen = [(m.raw, m.filename) for m in upload.messages if m.filename and not kept]
    if chosen:
        kept_now = held.held_uploads_keep(
            messages=chosen, owner=_owner(request), session=request.session
        )
        initial["held"] = kept_now
        files = [
            {"filename": name, "size": presenters.format_size(len(raw))} for raw, name in chosen
        ]
    else:
        # The same kept files again (or none): the token they came with.
        initial["held"] = (form.cleaned_data.get("held") or "") if kept else ""
        files = _held_files(kept)
    hints = None
    if len(upload.messages) == 1:
        hints = envelope_guess(upload.messages[0].raw)
        if hints and not upload.mail_from and not upload.rcpt_to:
            initial["mail_from"] = hints.mail_from
            initial["rcpt_to"] = "\n".join(hints.rcpt_to)
    return _render_upload(
        request,
        UploadForm(initial=initial),
        template=template,
        hints=hints,
        hints_checked=True,
        hints_several=len(upload.messages) > 1,
        held_files=files,
    )


# The error when the files a form says were kept are gone.
HELD_GONE = (
    f"The file kept from the previous step is no longer here (files are kept for "
    f"{held.HOLD_SECONDS // 60} minutes, and only until they are analysed): choose it again. "
    "Nothing was stored."
)


def _held_files(kept: list[HeldUpload]) -> list[dict[str, str]]:
    return [{"filename": h.filename, "size": presenters.format_size(h.size)} for h in kept]


# -- list -----------------------------------------------------------------------------------


@require_GET
def analysis_list(request: HttpRequest) -> HttpResponse:
    search = AnalysisSearchForm(request.GET)
    found = _visible_analyses(request)
    text = verdict = ""
    if search.is_valid():
        text, verdict = search.cleaned_data["q"].strip(), search.cleaned_data["verdict"]
        found = selectors.analyses_matching(found, text=text, verdict=verdict)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    analyses = list(page.object_list)
    # The page links keep the search: "?q=…&verdict=…&page=2" (just "?page=2" without one).
    kept = urlencode([(k, v) for k, v in (("q", text), ("verdict", verdict)) if v])
    from .revision_views import run_revision_words

    for analysis in analyses:
        # The whole message's verdict (a run stored before then: DKIM2's), in neutral words,
        # and the DKIM2 revision that run judged by.
        analysis.result_label = mechanism_views.mechanism_label(analysis.latest_result)
        analysis.revision_words = (
            run_revision_words(analysis.latest_revision) if analysis.latest_revision else ""
        )
    return render(
        request,
        "reports/list.html",
        {
            "page": page,
            "analyses": analyses,
            "search": search,
            "searching": bool(text or verdict),
            "page_query": f"?{kept}&page=" if kept else "?page=",
        },
    )


# -- the result page ------------------------------------------------------------------------


def _selected_run(request: HttpRequest, analysis: Analysis) -> AnalysisRun | None:
    run_id = request.GET.get("run")
    if run_id:
        try:
            return selectors.analysis_runs(analysis=analysis).get(pk=int(run_id))
        except (ValueError, AnalysisRun.DoesNotExist):
            raise Http404("No such run") from None
    return selectors.analysis_latest_run(analysis=analysis)


@require_GET
def detail(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    analysis = _get_analysis(request, analysis_id)
    # The upload's redirect lands here while the analysis is queued or running; most are
    # done a few tens of milliseconds later, so the verdict is waited for (half a second at
    # most) rather than shown after a progress page and a reload (waiting.py).
    _wait_for_status_change(
        analysis, statuses=waiting.IN_PROGRESS, seconds=waiting.PAGE_WAIT_SECONDS
    )
    run = _selected_run(request, analysis)
    if run is not None and analysis.status in waiting.IN_PROGRESS:
        # The run may have been stored after the status was read (it is stored with the
        # status "done"): read the status again, so a finished run is never shown under
        # "Running" beside a poller that then reloads the page.
        previous = analysis.status
        analysis.refresh_from_db(fields=[*PROGRESS_FIELDS])
        if analysis.status != previous:
            run = _selected_run(request, analysis)
    context = presenters.build_result_context(
        analysis=analysis,
        run=run,
        runs=list(selectors.analysis_runs(analysis=analysis).defer("report")),
        viewer_can_edit=True,
        can_share=analysis.owner_id is not None and analysis.owner_id == request.user.pk,
        authserv_id=_authserv_id(request),
    )
    dsn_views.link_returned(context, request=request)
    return render(request, "reports/result.html", context)


@require_GET
def status(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    """The progress partial, polled by static/reports/progress.js.

    With ``?shown=<status>``, the status the page shows, it answers once the analysis's
    status is another, or after a few seconds (waiting.py): the poller hears of the change
    when it happens, and asks less often.
    """
    analysis = _get_analysis(request, analysis_id)
    shown = request.GET.get("shown")
    if shown == analysis.status:
        _wait_for_status_change(analysis, statuses=(shown,), seconds=waiting.STATUS_WAIT_SECONDS)
    response = render(request, "reports/_status.html", presenters.status_context(analysis))
    response["Cache-Control"] = "no-store"
    return response


def _wait_for_status_change(
    analysis: Analysis, *, statuses: tuple[str, ...], seconds: float
) -> None:
    """Wait (bounded) while ``analysis`` is in one of ``statuses`` of waiting.IN_PROGRESS,
    and bring what its status changed up to date."""
    if analysis.status not in waiting.IN_PROGRESS:
        return
    now = waiting.wait_while(
        analysis_id=analysis.pk, current=analysis.status, statuses=statuses, seconds=seconds
    )
    if now is not None and now != analysis.status:
        analysis.refresh_from_db(fields=[*PROGRESS_FIELDS])


# What a run's claim and its outcome change on the analysis (services.analysis_run).
PROGRESS_FIELDS = ("status", "started_at", "finished_at", "error", "attempts")


@require_POST
def rerun(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    """Run the analysis again, under the DKIM2 draft revision chosen (or its own), as of now
    or of the message's arrival time, in compatibility mode or not."""
    analysis = _get_analysis(request, analysis_id)
    refusal = throttling.analysis_rule(request).hit(request)
    if refusal is not None:
        return throttling.too_many_requests(
            request, refusal, back_url=reverse("reports:detail", args=[analysis.pk])
        )
    form = RevisionForm(request.POST)
    if not form.is_valid():
        for error in form.errors.values():
            for text in error:
                messages.error(request, text)
        return redirect(reverse("reports:detail", args=[analysis.pk]) + "#runs")
    revision = form.cleaned_data["revision"]
    verify_at = None
    if form.cleaned_data["as_of"] == "arrival":
        # Read from the stored report, never from the request.
        latest = selectors.analysis_latest_run(analysis=analysis)
        verify_at = advice.arrival_time(latest.document) if latest is not None else None
        if verify_at is None:
            messages.error(request, NO_ARRIVAL_TIME)
            return redirect(reverse("reports:detail", args=[analysis.pk]) + "#runs")
    compat = form.cleaned_data["compat"]
    if services.analysis_rerun(
        analysis=analysis, revision=revision, compat=compat, verify_at=verify_at
    ):
        from .revision_views import run_revision_words

        words = run_revision_words(analysis.revision)
        rules = f"{words} rules" if words != "auto" else "auto (the newest rules, others compared)"
        if verify_at is not None:
            rules += f", as of its arrival time ({presenters.format_utc(verify_at)})"
        if compat:
            rules += ", in compatibility mode"
        messages.success(
            request, f"Analysis queued again, DKIM2 judged by {rules}; the earlier runs are kept."
        )
    else:
        messages.info(request, "This analysis is already queued or running.")
    return redirect("reports:detail", analysis_id=analysis.pk)


# The re-run "as of the arrival time" asked of a message whose arrival is not recorded.
NO_ARRIVAL_TIME = (
    "No dated Received field says when this message arrived, so it cannot be verified as of "
    "its arrival time. Nothing was queued."
)


@require_POST
def analyse_returned(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    """Analyse the message a bounce returned on its own (a bounce stored before uploads did
    that, or whose returned message's analysis was deleted)."""
    analysis = _get_analysis(request, analysis_id)
    refusal = throttling.analysis_rule(request).hit(request)
    if refusal is not None:
        return throttling.too_many_requests(
            request, refusal, back_url=reverse("reports:detail", args=[analysis.pk])
        )
    created = services.analysis_submit_returned(analysis=analysis)
    if not created:
        messages.info(request, "This message is not a bounce that returned a whole message.")
        return redirect("reports:detail", analysis_id=analysis.pk)
    for copy in created:
        _remember(request, copy)
    messages.success(request, "The returned message is being analysed on its own.")
    return redirect("reports:detail", analysis_id=created[0].pk)


@require_POST
def reanalyse_with_envelope(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    """Analyse the same bytes again as a new analysis, with the envelope given."""
    analysis = _get_analysis(request, analysis_id)
    refusal = throttling.analysis_rule(request).hit(request)
    if refusal is not None:
        return throttling.too_many_requests(
            request, refusal, back_url=reverse("reports:detail", args=[analysis.pk])
        )
    form = EnvelopeForm(request.POST)
    if not form.is_valid():
        for error in form.errors.values():
            for text in error:
                messages.error(request, text)
        return redirect(reverse("reports:detail", args=[analysis.pk]) + "#envelope")
    copy = services.analysis_submit(
        raw=analysis.raw_bytes,
        filename=analysis.filename,
        mail_from=form.cleaned_data["mail_from"],
        rcpt_to=form.cleaned_data["rcpt_to"],
        owner=analysis.owner,
        revision=analysis.revision,
    )
    _remember(request, copy)
    messages.success(request, "A new analysis of the same message, with this envelope.")
    return redirect("reports:detail", analysis_id=copy.pk)


@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    analysis = _get_analysis(request, analysis_id)
    if request.method == "POST":
        services.analysis_delete(analysis=analysis)
        messages.success(request, "The analysis and its stored message were deleted.")
        return redirect("reports:list")
    return render(
        request,
        "reports/confirm_delete.html",
        {"analysis": analysis, "display_name": analysis.filename or "pasted source"},
    )


# -- downloads ------------------------------------------------------------------------------


def _attachment(content: bytes, *, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Content-Length"] = str(len(content))
    return response


def _safe_filename(name: str, *, default: str, suffix: str) -> str:
    # Keep the last path component and printable characters; the header is built by
    # Django (RFC 6266 quoting, RFC 5987 for non-ASCII).
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '"').strip(" .")
    if not base:
        base = default
    return base if base.lower().endswith(suffix) else base + suffix


@require_GET
def download_raw(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    analysis = _get_analysis(request, analysis_id)
    name = _safe_filename(analysis.filename, default=f"{analysis.pk}", suffix=".eml")
    return _attachment(analysis.raw_bytes, filename=name, content_type="message/rfc822")


@require_GET
def download_instance(request: HttpRequest, analysis_id: uuid.UUID, m: int) -> HttpResponse:
    analysis = _get_analysis(request, analysis_id)
    data = presenters.reconstruct_instance(analysis.raw_bytes, m)
    if data is None:
        raise Http404("This instance cannot be rebuilt")
    return _attachment(data, filename=f"{analysis.pk}-m{m}.eml", content_type="message/rfc822")


@require_GET
def download_diff(request: HttpRequest, analysis_id: uuid.UUID, m: int) -> StreamingHttpResponse:
    """The whole body diff between instances m-1 and m, recomputed from the stored message
    and streamed (the report keeps a bounded diff; this one has every line in full). The
    rules are those of the run shown (``?run=``), else the analysis's own."""
    analysis = _get_analysis(request, analysis_id)
    revision = analysis.revision
    if request.GET.get("run"):
        run = _selected_run(request, analysis)
        revision = run.revision if run is not None else revision
    from analysis.dkim2.history import full_body_diff

    chunks = full_body_diff(analysis.raw_bytes, m, revision)
    if chunks is None:
        raise Http404("The bodies of these instances cannot both be rebuilt")
    response = StreamingHttpResponse(chunks, content_type="text/x-diff")
    response["Content-Disposition"] = content_disposition_header(
        True, f"{analysis.pk}-m{m - 1}-m{m}.diff"
    )
    return response


@require_GET
def download_report(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    analysis = _get_analysis(request, analysis_id)
    run = _selected_run(request, analysis)
    if run is None:
        raise Http404("No report yet")
    content = (json.dumps(run.document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    suffix = "" if request.GET.get("run") is None else f"-run{run.pk}"
    return _attachment(
        content,
        filename=f"{analysis.pk}{suffix}.json",
        content_type="application/json",
    )


@require_GET
def download_authres(request: HttpRequest, analysis_id: uuid.UUID) -> HttpResponse:
    analysis = _get_analysis(request, analysis_id)
    run = _selected_run(request, analysis)
    if run is None:
        raise Http404("No report yet")
    line = authentication_results(run.document, authserv_id=_authserv_id(request))
    return _attachment(
        (line + "\r\n").encode("utf-8"),
        filename=f"{analysis.pk}-authentication-results.txt",
        content_type="text/plain; charset=utf-8",
    )


def _authserv_id(request: HttpRequest) -> str:
    """The host name this page was served under, as the authserv-id of the A-R field."""
    host = request.get_host()
    return split_domain_port(host)[0] or host
