"""The JSON API: plain Django views, token-authenticated, JSON in errors as in answers.

Every id-taking route answers 404 ``not_found`` for an analysis that is not the token
owner's, exactly as for one that does not exist (or an id that is not a UUID).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.core.paginator import EmptyPage, Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from dkim2web import throttling
from dkim2web.reports import input_check
from dkim2web.reports import selectors as report_selectors
from dkim2web.reports import services as report_services
from dkim2web.reports.filenames import filename_problem
from dkim2web.reports.models import Analysis, Revision, revision_or_error

from . import present, selectors
from .auth import authenticate
from .errors import ErrorCode, error_response, not_found, too_many_requests
from .schema import SCHEMA

RAW_TYPES = frozenset({"message/rfc822", "application/octet-stream"})
# A multipart body is a little larger than the file in it; past this it is refused unread.
MULTIPART_OVERHEAD = 64 * 1024
# RFC 5321 §4.5.3.1.8: servers must accept at least 100 recipients; we accept no more.
MAX_RECIPIENTS = 100
MAX_ADDRESS_LENGTH = 998

View = Callable[..., HttpResponse]


def api_view(*methods: str, authenticated: bool = True) -> Callable[[View], View]:
    """CSRF-exempt (the API ignores cookies); the client address's count, the token, the
    token's count, then the method."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refusal = throttling.API_ADDRESS.hit(request)
            if refusal is not None:
                return too_many_requests(refusal)
            if authenticated:
                token = authenticate(request)
                if isinstance(token, JsonResponse):
                    return token
                refusal = throttling.API_TOKEN.hit(request, token=token)
                if refusal is not None:
                    return too_many_requests(refusal)
                kwargs["user"] = token.user
            if request.method not in methods:
                return error_response(
                    405,
                    ErrorCode.METHOD_NOT_ALLOWED,
                    f"{request.method} is not allowed here; use {', '.join(methods)}.",
                    headers={"Allow": ", ".join(methods)},
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


@api_view("GET", "POST")
def analyses(request: HttpRequest, *, user: AbstractBaseUser) -> HttpResponse:
    if request.method == "POST":
        return _analysis_create(request, user)
    return _analysis_list(request, user)


@api_view("GET", "DELETE")
def analysis(request: HttpRequest, analysis_id: str, *, user: AbstractBaseUser) -> HttpResponse:
    found = _own_analysis(analysis_id, user)
    if found is None:
        return not_found()
    if request.method == "DELETE":
        report_services.analysis_delete(analysis=found)
        return HttpResponse(status=204)
    latest = None
    if found.status == Analysis.Status.DONE:
        latest = report_selectors.analysis_latest_run(analysis=found)
    runs = report_selectors.analysis_runs(analysis=found)
    if latest is not None:
        runs = runs.exclude(pk=latest.pk)
    earlier = list(runs.values(*present.RUN_FIELDS))
    return JsonResponse(present.analysis_detail(request, found, latest=latest, earlier=earlier))


@api_view("GET")
def raw(request: HttpRequest, analysis_id: str, *, user: AbstractBaseUser) -> HttpResponse:
    found = _own_analysis(analysis_id, user)
    if found is None:
        return not_found()
    response = HttpResponse(found.raw_bytes, content_type="message/rfc822")
    response.headers["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=found.filename or f"{found.pk}.eml"
    )
    return response


@api_view("GET", authenticated=False)
def schema(request: HttpRequest) -> HttpResponse:
    return JsonResponse(SCHEMA)


@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    """The API page for people: the schema above, rendered (api/docs.py)."""
    from .docs import api_docs

    site = request.build_absolute_uri("/").rstrip("/")
    return render(request, "api/docs.html", {"docs": api_docs(), "site": site})


@csrf_exempt
def unknown(request: HttpRequest, path: str = "") -> HttpResponse:
    return not_found("No such API endpoint; see /api/schema.")


# --- helpers ----------------------------------------------------------------------------


def _own_analysis(analysis_id: str, user: AbstractBaseUser) -> Analysis | None:
    try:
        key = uuid.UUID(analysis_id)
    except ValueError:
        return None
    try:
        return report_selectors.analysis_get_for_user(analysis_id=key, user=user)
    except Analysis.DoesNotExist:
        return None


def _analysis_list(request: HttpRequest, user: AbstractBaseUser) -> HttpResponse:
    raw_page = request.GET.get("page", "1")
    if not raw_page.isdigit() or int(raw_page) < 1:
        return error_response(400, ErrorCode.INVALID_PAGE, "page must be a positive integer.")
    paginator = Paginator(
        selectors.analysis_list_with_latest_run(user=user), settings.DKIM2WEB_API_PAGE_SIZE
    )
    try:
        page = paginator.page(int(raw_page))
    except EmptyPage:
        return error_response(
            404, ErrorCode.PAGE_NOT_FOUND, f"There are {paginator.num_pages} page(s)."
        )

    def page_url(number: int) -> str:
        return request.build_absolute_uri(f"{request.path}?page={number}")

    return JsonResponse(
        {
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "page_size": paginator.per_page,
            "next": page_url(page.next_page_number()) if page.has_next() else None,
            "previous": page_url(page.previous_page_number()) if page.has_previous() else None,
            "results": [present.analysis_list_item(request, a) for a in page.object_list],
        }
    )


def _too_large(limit: int) -> JsonResponse:
    return error_response(
        413, ErrorCode.MESSAGE_TOO_LARGE, f"The message is larger than the limit of {limit} bytes."
    )


def _analysis_create(request: HttpRequest, user: AbstractBaseUser) -> HttpResponse:
    limit: int = settings.DKIM2WEB_MAX_MESSAGE_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    content_type = (request.content_type or "").lower()

    if content_type == "multipart/form-data":
        if length > limit + MULTIPART_OVERHEAD:
            return _too_large(limit)
        try:
            files = request.FILES.getlist("message")
            fields = request.POST
        except RequestDataTooBig:
            return _too_large(limit)
        except (MultiPartParserError, TooManyFilesSent) as exc:
            return error_response(400, ErrorCode.INVALID_MULTIPART, f"Bad multipart body: {exc}")
        if not files:
            if "message" in fields:
                # A text field has been decoded as text: its bytes are no longer exact.
                return error_response(
                    400,
                    ErrorCode.MESSAGE_NOT_A_FILE,
                    'Send "message" as a file part (curl -F message=@file.eml).',
                )
            return error_response(
                400, ErrorCode.MISSING_MESSAGE, 'The multipart body has no "message" file.'
            )
        if len(files) > 1:
            return error_response(400, ErrorCode.TOO_MANY_MESSAGES, "Send one message per request.")
        upload = files[0]
        if upload.size is not None and upload.size > limit:
            return _too_large(limit)
        raw = b"".join(upload.chunks())
        filename = upload.name or ""
        mail_from = fields.get("mail_from", request.GET.get("mail_from", ""))
        rcpt_to = fields.getlist("rcpt_to") or request.GET.getlist("rcpt_to")
        filename = fields.get("filename", filename)
        revision = fields.get("revision", request.GET.get("revision", Revision.AUTO))
    elif content_type in RAW_TYPES:
        if length > limit:
            return _too_large(limit)
        try:
            raw = request.body
        except RequestDataTooBig:
            return _too_large(limit)
        mail_from = request.GET.get("mail_from", "")
        rcpt_to = request.GET.getlist("rcpt_to")
        filename = request.GET.get("filename", "")
        revision = request.GET.get("revision", Revision.AUTO)
    else:
        return error_response(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "Send the message as message/rfc822 or application/octet-stream, "
            'or as the file part "message" of multipart/form-data.',
        )

    if len(raw) > limit:
        return _too_large(limit)
    if not raw:
        return error_response(400, ErrorCode.EMPTY_MESSAGE, "The message is empty.")
    refused = input_check.header_refusal(raw)
    if refused is not None:
        return error_response(400, ErrorCode.NO_HEADER_FIELDS, refused)
    problem = filename_problem(filename)
    if problem is not None:
        return error_response(400, ErrorCode.INVALID_FILENAME, problem)
    envelope = _clean_envelope(mail_from, rcpt_to)
    if isinstance(envelope, JsonResponse):
        return envelope
    mail_from, rcpt_to = envelope
    try:
        revision = revision_or_error(revision)
    except ValueError:
        return error_response(
            400,
            ErrorCode.INVALID_REVISION,
            f"revision must be one of {', '.join(Revision.values)} (auto: judged by the "
            "newest draft revision's rules, the older ones compared).",
        )

    created = report_services.analysis_submit(
        raw=raw,
        filename=_basename(filename),
        mail_from=mail_from,
        rcpt_to=rcpt_to,
        owner=user,
        revision=revision,
    )
    # A bounce's returned message becomes an analysis of its own, as for an upload.
    report_services.analysis_submit_returned(analysis=created)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # Without a broker the run has already happened (after the commit, in-process).
        created.refresh_from_db(fields=["status"])
    body = present.analysis_created(request, created)
    response = JsonResponse(body, status=201)
    response.headers["Location"] = body["url"]
    return response


def _clean_envelope(mail_from: str, rcpt_to: list[str]) -> tuple[str, list[str]] | JsonResponse:
    mail_from = mail_from.strip()
    recipients = [r.strip() for r in rcpt_to if r.strip()]
    if len(recipients) > MAX_RECIPIENTS:
        return error_response(
            400, ErrorCode.INVALID_ENVELOPE, f"At most {MAX_RECIPIENTS} rcpt_to values."
        )
    for value in (mail_from, *recipients):
        if len(value) > MAX_ADDRESS_LENGTH or any(c in value for c in "\r\n\0"):
            return error_response(
                400,
                ErrorCode.INVALID_ENVELOPE,
                f"Envelope addresses are single lines of at most {MAX_ADDRESS_LENGTH} characters.",
            )
    return mail_from, recipients


def _basename(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]
