"""In a browser: the verdict reads as one plain sentence, then what to do with the control
that does it, then the evidence; pressing the control re-runs the analysis as advised."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from dkim2web.reports.presenters import format_utc
from dkim2web.samples.gallery import get_sample

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from tests.conftest import require_chromium

    path = require_chromium()
    # Playwright's sync API keeps an asyncio loop in this thread (see test_browser_journeys).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def test_an_archived_copy_is_re_run_as_of_its_arrival_from_the_advice(
    browser: Any, live_server: Any, tmp_path: Path
) -> None:
    now = int(time.time())
    built = get_sample("expired").build(now)
    arrival = now - 20 * 86400 + 3600
    date = format_datetime(datetime.fromtimestamp(arrival, UTC))
    path = tmp_path / "archived-newsletter.eml"
    path.write_bytes(
        f"Received: from mail.news.example by mx.inbox.example; {date}\r\n".encode() + built.raw
    )

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(live_server.url + reverse("reports:new"))
        page.set_input_files("input[type=file]", str(path))
        page.locator("button[value=analyse]").click()
        page.wait_for_url("**/analyses/*/")
        page.locator("#verdict-summary").wait_for()
        verdict = page.locator("section.verdict")
        assert page.locator("#verdict-summary").inner_text() == (
            "Not trusted: the signature news.example added is more than 14 days old; nobody "
            "needs to act if this is simply an old copy."
        )
        assert verdict.locator(".verdict-evidence").inner_text() == (
            "Evidence: sig.expired FAIL: DKIM2-Signature i=1 signature expired (hop 1); "
            "dmarc.fail DMARC fail: no aligned identifier passed"
        )
        button = verdict.get_by_role(
            "button", name=f"Re-run as of its arrival, {format_utc(arrival)}"
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        verdict.screenshot(path=str(SCREENSHOTS / "result-headline-advice-control.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        verdict.screenshot(path=str(SCREENSHOTS / "result-headline-advice-control-390.png"))
        page.set_viewport_size({"width": 1280, "height": 1000})

        button.click()
        page.wait_for_url("**/analyses/*/")
        page.locator("#verdict-summary").wait_for()
        assert page.locator("#verdict-summary").inner_text().startswith("Trusted: ")
        rows = page.locator("#runs table tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).locator("td.run-how").inner_text() == (
            f"verified as of {format_utc(arrival)}, its arrival"
        )
        assert rows.nth(1).locator("td.run-how").inner_text() == "verified as of the time it ran"
        assert errors == []
    finally:
        context.close()
