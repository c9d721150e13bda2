"""The "Try a sample" gallery: list the samples, and analyse one on request."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dkim2web import throttling
from dkim2web.reports import services

from .gallery import SAMPLES, get_sample


def _ensure_enabled() -> None:
    if not settings.DKIM2WEB_SAMPLES_ENABLED:
        raise Http404("the sample gallery is turned off")


@require_GET
def gallery(request: HttpRequest) -> HttpResponse:
    _ensure_enabled()
    return render(request, "samples/gallery.html", {"samples": SAMPLES})


@require_POST
def run(request: HttpRequest, slug: str) -> HttpResponse:
    _ensure_enabled()
    try:
        sample = get_sample(slug)
    except KeyError:
        raise Http404("no such sample") from None
    refusal = throttling.analysis_rule(request).hit(request)
    if refusal is not None:
        return throttling.too_many_requests(request, refusal, back_url=reverse("samples:gallery"))
    built = sample.sign_now()  # signed now, so its timestamps are fresh
    user = request.user if request.user.is_authenticated else None
    analysis = services.analysis_submit(
        raw=built.raw,
        filename=built.filename,
        mail_from=built.mail_from,
        rcpt_to=built.rcpt_to,
        owner=user,
    )
    if user is None:
        services.analysis_remember_in_session(session=request.session, analysis=analysis)
    return redirect(reverse("reports:detail", args=[analysis.id]))
