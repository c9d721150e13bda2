"""In real headless Chromium (Debian's package, driven by Playwright): a progress page whose
analysis waits for a worker asks for its status once, says "Queued" in its live region, and
shows the verdict as soon as the worker has stored it, without asking again in between
(static/reports/progress.js, dkim2web/reports/waiting.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.urls import reverse

from dkim2web.reports import services, waiting
from dkim2web.reports.models import Analysis
from tests.support.browser import RECORD_CSP_VIOLATIONS, browser  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def test_the_progress_page_hears_of_the_verdict_from_one_request(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    not_eager: None,
) -> None:
    # Published, as with a broker, to a worker that is busy until the test frees it: the
    # "worker" then runs the analysis between two of the server's looks at the status.
    monkeypatch.setattr(services, "analysis_enqueue", lambda **kwargs: True)
    worker_free = threading.Event()
    pause = waiting.sleep

    def sleep(seconds: float) -> None:
        pause(seconds)
        queued = Analysis.objects.filter(status=Analysis.Status.QUEUED).first()
        if worker_free.is_set() and queued is not None:
            services.analysis_run(analysis_id=queued.pk)

    monkeypatch.setattr(waiting, "sleep", sleep)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/status/" in r.url else None)
    try:
        page.goto(live_server.url + reverse("samples:gallery"))
        page.locator(f"form[action='{reverse('samples:run', args=['clean-list'])}'] button").click()
        page.wait_for_url("**/analyses/*/")
        analysis = Analysis.objects.get()
        status = page.locator("#analysis-status")
        # The page waited half a second for the verdict, then said what it waits for.
        assert status.get_attribute("data-status") == "queued"
        assert status.get_attribute("role") == "status"
        assert status.get_attribute("aria-live") == "polite"
        assert status.locator("h1").inner_text() == "Queued"

        worker_free.set()
        verdict = page.locator("#verdict-summary")
        verdict.wait_for(timeout=20_000)
        assert verdict.inner_text().startswith(
            "Trusted: a DKIM2 signature by origin.example vouches for origin.example"
        )
        assert page.locator("#analysis-status").count() == 0
        status_url = reverse("reports:status", args=[analysis.pk])
        assert asked == [f"{live_server.url}{status_url}?shown=queued"]
        assert errors == []
        assert page.evaluate("window.__csp") == []
    finally:
        context.close()
