"""Project-level pages. The analysis pages live in their apps."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from dkim2web.reports import views as report_views


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """The upload page: the first thing a visitor sees is where to put a message."""
    return report_views.upload(request, template="home.html")
