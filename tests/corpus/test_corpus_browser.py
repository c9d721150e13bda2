"""The rendering cases in real headless Chromium (Debian's package, driven by Playwright).

Each case is uploaded through the form of Django's live server, and its result page and the
analysis list are opened.  On every page: no script of the message runs (``window.__pwned``
stays undefined, no dialog opens, no page error), no element the message carried is live
(script, iframe, object, base, meta, link, event-handler attributes), and no request leaves
the page: every request Chromium makes is recorded, only the live server's origin is let
through, and any other is refused and fails the case.  The text the case names must be shown
as text.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.support.browser import browser  # noqa: F401 (a fixture)

from . import catalogue, runner
from .conftest import corpus_params
from .lookup import DOTTED_PATH
from .model import Case

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

#: Elements a message must never bring to life on a page (the app's own pages put none of
#: them inside <main>), and the event-handler attributes the corpus uses.
LIVE = (
    "main script, main iframe, main object, main embed, main base, main meta, main link, "
    "main svg script, main [onload], main [onerror], main [onmouseover], main [onpageshow], "
    "main [onclick], main a[href^='javascript:'], main [srcdoc]"
)


class Watched:
    """A page whose script errors, dialogs and requests are recorded."""

    def __init__(self, chromium: Any, origin: str) -> None:
        self.origin = origin
        self.context = chromium.new_context(viewport={"width": 1280, "height": 1000})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.refused: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on(
            "dialog",
            lambda dialog: (self.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()),
        )
        self.page.on("request", lambda request: self.requests.append(request.url))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url == self.origin or url.startswith(self.origin + "/"):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()

    def check(self) -> list[str]:
        """What went wrong on the current page (empty: nothing)."""
        page = self.page
        problems = []
        if not page.evaluate("() => window.__pwned === undefined"):
            problems.append(f"script ran: window.__pwned = {page.evaluate('window.__pwned')!r}")
        live = page.locator(LIVE)
        if live.count():
            problems.append(
                "live elements in <main>: "
                + "; ".join(
                    live.nth(k).evaluate("e => e.outerHTML")[:120] for k in range(live.count())
                )
            )
        problems += [f"page error: {e}" for e in self.errors]
        outside = [u for u in self.requests if not u.startswith(self.origin + "/")]
        problems += [f"request left the page: {u}" for u in outside + self.refused]
        return problems


@pytest.mark.parametrize("case", corpus_params(catalogue.all_cases(), "browser"))
def test_a_hostile_message_runs_no_script_and_sends_no_request_in_chromium(
    case: Case,
    browser: Any,  # noqa: F811 (the fixture from tests.support.browser)
    live_server: Any,
    settings: Any,
) -> None:
    settings.DKIM2_KEY_LOOKUP = DOTTED_PATH
    settings.DKIM2WEB_CORPUS_ZONE = case.zone
    watched = Watched(browser, live_server.url)
    page = watched.page
    try:

        def upload_and_read() -> None:
            page.goto(live_server.url + reverse("reports:new"))
            page.set_input_files(
                "input[type=file]",
                files=[
                    {
                        "name": case.upload.filename,
                        "mimeType": "message/rfc822",
                        "buffer": case.raw,
                    }
                ],
            )
            if case.mail_from is not None:
                page.fill("input[name=mail_from]", case.mail_from)
                page.fill("textarea[name=rcpt_to]", "\n".join(case.rcpt_to))
            page.locator("button[value=analyse]").click()
            if case.upload.refusal is None:
                page.wait_for_url("**/analyses/*/")
                page.locator("#verdict-summary").wait_for()
            else:
                page.wait_for_load_state()

        runner.timed(case, "browser", upload_and_read)
        text = page.locator("body").text_content() or ""
        if case.upload.refusal is not None:
            assert case.upload.refusal.message in " ".join(text.split())
        missing = [s for s in case.browser.shown if s not in text]
        assert missing == [], "not shown as text"
        assert watched.check() == []
        page.goto(live_server.url + reverse("reports:list"))
        assert watched.check() == []
    finally:
        watched.context.close()


def test_the_watch_catches_a_script_an_element_and_a_request_leaving_the_page(
    browser: Any,  # noqa: F811 (the fixture from tests.support.browser)
    live_server: Any,
) -> None:
    """The checks above can fail: a page that runs a message's script, keeps its <img> live
    and asks another origin is reported on all three counts."""
    watched = Watched(browser, live_server.url)
    try:
        watched.page.goto(live_server.url + reverse("reports:new"))
        watched.page.evaluate(
            """() => {
                window.__pwned = 'test';
                const img = document.createElement('img');
                img.setAttribute('onerror', 'void 0');
                img.src = 'http://evil.example/pixel.png';
                document.querySelector('main').appendChild(img);
            }"""
        )
        watched.page.wait_for_timeout(200)
        problems = watched.check()
    finally:
        watched.context.close()
    assert problems[0] == "script ran: window.__pwned = 'test'"
    assert problems[1].startswith('live elements in <main>: <img onerror="void 0"')
    assert "request left the page: http://evil.example/pixel.png" in problems[2:]
