"""In real headless Chromium (Debian's package, driven by Playwright): "Guess the envelope"
keeps the chosen file and fills RCPT TO from the trace, then "Analyse" needs no file chosen
again; the list's search and verdict filter; the API page. Nothing breaks the
Content-Security-Policy. Screenshots of the list and the API page go to docs/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun, HeldUpload
from tests.support.browser import RECORD_CSP_VIOLATIONS, SCREENSHOTS, browser  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

# Demo domains only (*.example: the samples' static zone answers them, no DNS is asked).
TRACED = (
    b"Return-Path: <bounce@lists.example>\r\n"
    b"Received: from mail.lists.example (mail.lists.example [203.0.113.7])\r\n"
    b"\tby mx.inbox.example with ESMTPS id abc\r\n"
    b"\tfor <bob@inbox.example>; Sat, 28 Nov 2026 10:00:00 +0000\r\n"
    b"From: a@origin.example\r\nSubject: hi\r\n\r\nbody\r\n"
)


def _page(chromium: Any, *, width: int = 1366) -> Any:
    context = chromium.new_context(viewport={"width": width, "height": 900})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"error: {exc}"))
    page.problems = problems
    return page


def _clean(page: Any) -> None:
    assert page.evaluate("() => window.__csp") == []
    assert page.problems == []


def test_guess_the_envelope_keeps_the_file(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    tmp_path: Path,
) -> None:
    (tmp_path / "traced.eml").write_bytes(TRACED)
    page = _page(browser)
    try:
        page.goto(live_server.url + reverse("reports:new"))
        page.set_input_files("input[type=file]", str(tmp_path / "traced.eml"))
        page.click("button[value=hints]")
        page.wait_for_selector("[data-held]")
        assert page.input_value("textarea[name=rcpt_to]") == "<bob@inbox.example>"
        assert page.input_value("input[name=mail_from]") == "<bounce@lists.example>"
        assert "traced.eml" in (page.text_content("[data-held]") or "")
        assert HeldUpload.objects.count() == 1 and not Analysis.objects.exists()
        # No file is chosen now: the kept one is analysed.
        assert page.evaluate("() => document.querySelector('input[type=file]').files.length") == 0
        page.click("button[value=analyse]")
        page.wait_for_url("**/analyses/*/")
        analysis = Analysis.objects.get()
        assert (analysis.raw_bytes, analysis.filename) == (TRACED, "traced.eml")
        assert (analysis.mail_from, analysis.rcpt_to) == (
            "<bounce@lists.example>",
            ["<bob@inbox.example>"],
        )
        assert not HeldUpload.objects.exists()
        _clean(page)
    finally:
        page.context.close()


def test_the_list_searches_and_filters(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    django_user_model: Any,
) -> None:
    user = django_user_model.objects.create_user("carol", password="carol-pw-1")
    for k, (subject, verdict) in enumerate(
        [
            (b"Invoice 2026-11", "fail"),
            (b"=?utf-8?q?R=C3=A9union_du_lundi?=", "pass"),
            (b"[list] Relay certificates", "fail"),
            (b"Invoice 2026-10", "pass"),
        ]
    ):
        raw = b"From: Sender %d <s%d@origin.example>\r\nSubject: " % (k, k) + subject + b"\r\n\r\nx"
        analysis = services.analysis_submit(
            raw=raw, filename=f"m{k}.eml", owner=user, enqueue=False
        )
        Analysis.objects.filter(pk=analysis.pk).update(status="done")
        AnalysisRun.objects.create(
            analysis=analysis, result=verdict, report={}, engine_version="0", draft="d"
        )
    page = _page(browser)
    try:
        page.goto(live_server.url + reverse("accounts:login"))
        page.fill("input[name=username]", "carol")
        page.fill("input[name=password]", "carol-pw-1")
        page.click("main button[type=submit]")
        page.goto(live_server.url + reverse("reports:list"))
        assert page.locator("table.analyses tbody tr").count() == 4
        page.fill("input[name=q]", "invoice")
        page.select_option("select[name=verdict]", "fail")
        page.click("form[role=search] button[type=submit]")
        page.wait_for_url("**/analyses/?q=invoice&verdict=fail")
        rows = page.locator("table.analyses tbody tr")
        assert rows.count() == 1
        assert "Invoice 2026-11" in (rows.first.text_content() or "")
        page.goto(live_server.url + reverse("reports:list"))
        page.screenshot(path=str(SCREENSHOTS / "analyses-list.png"))
        _clean(page)
    finally:
        page.context.close()


def test_the_api_page(browser: Any, live_server: Any) -> None:  # noqa: F811 (the fixture)
    page = _page(browser)
    try:
        page.goto(live_server.url + reverse("home"))
        page.click("footer a:text('API')")
        page.wait_for_url("**/api/docs")
        assert page.locator("section.api-operation").count() == 6
        assert page.locator("h1").text_content() == "The dkim2web API"
        page.screenshot(path=str(SCREENSHOTS / "api-page.png"))
        page.click("a[href='#op-createAnalysis']")
        assert page.locator("#op-createAnalysis").is_visible()
        _clean(page)
    finally:
        page.context.close()
