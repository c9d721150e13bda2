"""Accessibility as a test: axe-core, in real headless Chromium, on every kind of page; and
the page controls a keyboard, a phone, a printer and a dark screen rely on.

axe-core's own file comes from the axe-playwright-python package (a dev dependency); the
test injects it with Playwright (``page.add_script_tag``), so the app never serves it and
nothing is fetched at test time. The page's Content-Security-Policy forbids inline script,
which is what an injected script tag is, so the scanned pages are opened with Playwright's
``bypass_csp``; the policy itself is tested by test_csp_headers and the other browser tests
(which record every violation), and the copy-button tests below run under it.

Each page (upload, samples, a result page of each verdict, the list, the share page and the
shared view, the mailbox, the profile, the API docs) is scanned three times: light and dark
colour scheme at 1366 px (Playwright's ``color_scheme``; the stylesheet follows
``prefers-color-scheme``) and light at 390 px. A scan fails on any violation axe rates
serious or critical, listing them: rule id, impact, what it means and where on the page.
Folded parts (<details>) are opened first, so what they hold is scanned too.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from analysis.resolvers import StaticResolver
from dkim2web.intake.testing import bounce, message
from dkim2web.reports import services
from dkim2web.reports.models import Analysis
from dkim2web.samples.gallery import get_sample
from dkim2web.samples.keys import demo_zone
from dkim2web.sharing.services import share_link_create
from tests.support.browser import RECORD_CSP_VIOLATIONS, SCREENSHOTS, browser  # noqa: F401 (a fixture)
from tests.support.delivery_traces import long_trace

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

BLOCKING = ("serious", "critical")


def axe_file() -> Path:
    import axe_playwright_python

    return Path(axe_playwright_python.__file__).parent / "axe.min.js"


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on ``page``, one line per rule."""
    # Folded parts (findings, the signed field as received) are scanned opened too.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.add_script_tag(path=str(axe_file()))
    found = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
        "v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' '))})))"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -- {len(v['targets'])} node(s): "
        + "; ".join(v["targets"][:5])
        for v in found
        if v["impact"] in BLOCKING
    ]


# -- the messages behind each verdict ------------------------------------------------------------

NOW = int(time.time())


def dns_down() -> StaticResolver:
    """temperror: the From domain's DMARC record cannot be fetched (SERVFAIL)."""
    return StaticResolver({"dns-down.example": {"_dmarc": [["servfail", ""]]}})


def _plain(sender: str, subject: str) -> bytes:
    return message(
        sender=sender,
        to="bob@inbox.example",
        subject=subject,
        body="See you on Saturday.\r\n",
        when=NOW - 60,
    )


def _without_from() -> bytes:
    # permerror: DMARC cannot be evaluated for a message without a From field.
    return b"".join(
        line + b"\r\n"
        for line in _plain("alice@origin.example", "No From").split(b"\r\n")
        if not line.startswith(b"From:")
    )


def analysed(owner: Any, raw: bytes, filename: str, lookup: Any, **envelope: Any) -> Analysis:
    analysis = services.analysis_submit(
        raw=raw, filename=filename, owner=owner, enqueue=False, **envelope
    )
    services.analysis_run(analysis_id=analysis.pk, lookup=lookup)
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    return analysis


def sample(owner: Any, slug: str) -> Analysis:
    built = get_sample(slug).sign_now()
    return analysed(
        owner,
        built.raw,
        built.filename,
        demo_zone(),
        mail_from=built.mail_from,
        rcpt_to=built.rcpt_to,
    )


#: How to make a result page of each verdict, for the user given.
RESULTS: dict[str, Callable[[Any], Analysis]] = {
    "pass": lambda u: sample(u, "clean-list"),
    "fail": lambda u: sample(u, "tampered"),
    "permerror": lambda u: analysed(u, _without_from(), "no-from.eml", StaticResolver()),
    "temperror": lambda u: analysed(
        u, _plain("alice@dns-down.example", "DNS down"), "dns-down.eml", dns_down()
    ),
    "none": lambda u: analysed(
        u, _plain("alice@nowhere.example", "Unsigned"), "unsigned.eml", StaticResolver()
    ),
}


# -- a logged-in browser ------------------------------------------------------------------------


@contextlib.contextmanager
def logged_in(
    chromium: Any, user: Any, base_url: str, *, width: int = 1366, **options: Any
) -> Iterator[Any]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context = chromium.new_context(viewport={"width": width, "height": 900}, **options)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}])
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"error: {exc}"))
    page.problems = problems
    try:
        yield page
    finally:
        context.close()


def _page_url(name: str, user: Any) -> str:
    if name == "upload":
        return reverse("reports:new")
    if name == "samples":
        return reverse("samples:gallery")
    if name == "mailbox":
        return reverse("intake:addresses")
    if name == "profile":
        return reverse("accounts:profile")
    if name == "api-docs":
        return reverse("api:docs")
    if name == "list":
        for make in RESULTS.values():
            make(user)
        return reverse("reports:list")
    if name == "real-mail":
        return reverse("reports:detail", args=[sample(user, "real-mail").pk])
    if name == "bounce":
        returned = _plain("alice@origin.example", "Quarterly figures")
        dsn = bounce(returned, signer=None, to="<alice@origin.example>")
        return reverse("reports:detail", args=[analysed(user, dsn, "bounce.eml", demo_zone()).pk])
    if name == "shared":
        analysis = sample(user, "tampered")
        _, token = share_link_create(analysis=analysis, created_by=user, days=7)
        return reverse("sharing:view", args=[token])
    analysis = RESULTS[name.removeprefix("result-")](user)
    return reverse("reports:detail", args=[analysis.pk])


PAGES = [
    "upload",
    "samples",
    *(f"result-{verdict}" for verdict in RESULTS),
    "real-mail",
    "bounce",
    "list",
    "share",
    "shared",
    "mailbox",
    "profile",
    "api-docs",
]


@pytest.mark.parametrize(("scheme", "width"), [("light", 1366), ("dark", 1366), ("light", 390)])
@pytest.mark.parametrize("name", PAGES)
def test_no_page_has_a_serious_or_critical_axe_violation(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    alice: Any,
    name: str,
    scheme: str,
    width: int,
) -> None:
    with logged_in(
        browser, alice, live_server.url, width=width, bypass_csp=True, color_scheme=scheme
    ) as page:
        if name == "share":
            analysis = sample(alice, "tampered")
            page.goto(live_server.url + reverse("sharing:manage", args=[analysis.pk]))
            page.get_by_role("button", name="Create a share link").click()
            page.locator("#new-link").wait_for()
        else:
            page.goto(live_server.url + _page_url(name, alice))
        page.locator("main").wait_for()
        if name.startswith("result-"):  # the page of the verdict it is meant to show
            verdict = name.removeprefix("result-")
            assert page.locator(f"section.verdict.verdict-{verdict}").count() == 1
        if name == "bounce":
            assert page.locator("#bounce article.dsn-recipient").count() == 1
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (
            scheme == "dark"
        )
        violations = serious_violations(page)
        assert violations == [], f"{name} ({scheme}, {width} px):\n" + "\n".join(violations)
        assert page.problems == []


# -- a 390 px phone ---------------------------------------------------------------------------

#: Every element whose right edge passes the viewport's, innermost first (for the failure).
OVERFLOWING = """() => {
  const wide = e => e.getBoundingClientRect().right > window.innerWidth + 0.5;
  return [...document.querySelectorAll('body *')]
    .filter(e => wide(e) && ![...e.children].some(wide))
    .slice(0, 8)
    .map(e => e.tagName.toLowerCase() + '.' + String(e.className).split(' ').join('.')
         + ' right=' + Math.round(e.getBoundingClientRect().right));
}"""


@pytest.mark.parametrize("which", ["real-mail", "long-trace"])
def test_a_result_page_fits_a_390_px_phone(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    alice: Any,
    which: str,
) -> None:
    if which == "real-mail":
        analysis = sample(alice, "real-mail")
    else:
        analysis = analysed(alice, long_trace(30), "long-trace.eml", StaticResolver())
    with logged_in(browser, alice, live_server.url, width=390, bypass_csp=True) as page:
        page.goto(live_server.url + reverse("reports:detail", args=[analysis.pk]))
        page.locator("#verdict-summary").wait_for()
        width = page.evaluate("() => document.scrollingElement.scrollWidth")
        assert width <= 390, page.evaluate(OVERFLOWING)
        # Each Received field is a card of labelled lines, and nothing scrolls sideways.
        first = page.locator("#received table.received tbody tr").first
        assert (
            first.locator("td").nth(1).evaluate("e => getComputedStyle(e, '::before').content")
            == '"From"'
        )
        violations = serious_violations(page)
        assert violations == [], f"{which} at 390 px:\n" + "\n".join(violations)


# -- screenshots: the result page on a desktop, on a phone, and in the dark scheme -----------


@pytest.mark.parametrize(
    ("name", "width", "scheme"),
    [
        ("result-page-desktop.png", 1366, "light"),
        ("result-page-390px.png", 390, "light"),
        ("result-page-dark.png", 1366, "dark"),
    ],
)
def test_screenshots_of_the_result_page(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    alice: Any,
    name: str,
    width: int,
    scheme: str,
) -> None:
    analysis = sample(alice, "real-mail")
    with logged_in(browser, alice, live_server.url, width=width, color_scheme=scheme) as page:
        page.goto(live_server.url + reverse("reports:detail", args=[analysis.pk]))
        page.locator("#verdict-summary").wait_for()
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(13, 17, 23)" if scheme == "dark" else "rgb(255, 255, 255)")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
        assert page.problems == []


# -- the controls: permalinks, copy buttons, the raw message by keyboard, print -------------

#: Every clipboard write fails, as where the permission is refused; the real reader is kept
#: so the test can see what the fallback copied.
CLIPBOARD_REFUSED = """
window.__readText = navigator.clipboard.readText.bind(navigator.clipboard);
window.__writeText = navigator.clipboard.writeText.bind(navigator.clipboard);
navigator.clipboard.writeText = () => Promise.reject(new DOMException('no', 'NotAllowedError'));
"""


def _opacity(locator: Any) -> str:
    return locator.evaluate("e => getComputedStyle(e).opacity")


def test_each_hop_has_a_permalink_shown_on_hover_and_focus(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    alice: Any,
) -> None:
    analysis = sample(alice, "clean-list")
    with logged_in(browser, alice, live_server.url) as page:
        page.goto(live_server.url + reverse("reports:detail", args=[analysis.pk]))
        links = page.locator("article.hop a.hop-link")
        assert [links.nth(k).get_attribute("href") for k in range(links.count())] == [
            "#hop-1",
            "#hop-2",
            "#hop-3",
        ]
        second = page.get_by_role("link", name="Link to hop 2", exact=True)
        assert second.inner_text() == "#"
        assert _opacity(second) == "0"
        page.locator("#hop-2 .hop-role").hover()
        assert _opacity(second) == "1"
        page.mouse.move(0, 0)
        assert _opacity(second) == "0"
        second.focus()
        assert _opacity(second) == "1"
        second.click()
        assert page.url.endswith("#hop-2")
        page.mouse.move(0, 0)
        assert _opacity(second) == "1"  # the hop the address names keeps it
    # Where nothing can hover (a touch screen), every permalink is always shown.
    with logged_in(browser, alice, live_server.url, has_touch=True, is_mobile=True) as phone:
        phone.goto(live_server.url + reverse("reports:detail", args=[analysis.pk]))
        assert phone.evaluate("matchMedia('(hover: none)').matches")
        assert _opacity(phone.get_by_role("link", name="Link to hop 1", exact=True)) == "1"


def test_copy_buttons_copy_the_signature_field_and_the_authentication_results(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    alice: Any,
) -> None:
    analysis = sample(alice, "clean-list")
    url = live_server.url + reverse("reports:detail", args=[analysis.pk])
    with logged_in(browser, alice, live_server.url) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.context.add_init_script(RECORD_CSP_VIOLATIONS)
        page.goto(url)
        page.locator("#hop-2 details.raw-sig summary").click()
        field = page.locator("#hop-2 details.raw-sig pre").inner_text()
        assert field.startswith("DKIM2-Signature: i=2; m=2;")
        button = page.get_by_role("button", name="Copy the DKIM2-Signature field of hop 2")
        assert button.inner_text() == "Copy"
        button.click()
        page.wait_for_function("() => document.querySelector('[role=status]')")
        assert button.inner_text() == "Copied"
        assert page.evaluate("() => navigator.clipboard.readText()") == field.rstrip()
        page.get_by_role("button", name="Copy the Authentication-Results field").click()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == page.locator("#authres-text").inner_text().rstrip()
        assert copied.startswith("Authentication-Results: ")
        page.wait_for_function(
            "() => document.querySelector('[role=status]').textContent === 'Copied'"
        )
        assert page.evaluate("() => window.__csp") == []
        assert page.problems == []

    # The clipboard refused: the text is copied through the selection instead.
    with logged_in(browser, alice, live_server.url) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.context.add_init_script(CLIPBOARD_REFUSED)
        page.goto(url)
        page.evaluate("() => window.__writeText('before')")
        assert page.evaluate("() => window.__readText()") == "before"
        button = page.get_by_role("button", name="Copy the Authentication-Results field")
        button.click()
        page.wait_for_function("() => document.querySelector('[role=status]')")
        assert button.inner_text() == "Copied"
        copied = page.evaluate("() => window.__readText()")
        assert copied.startswith("Authentication-Results: ")
        assert page.problems == []

    # Without JavaScript there is nothing to press, and the page says nothing of it.
    with logged_in(browser, alice, live_server.url, java_script_enabled=False) as page:
        page.goto(url)
        page.locator("#verdict-summary").wait_for()
        assert page.locator("button.copy").count() == 4  # three hops, one field
        assert page.get_by_role("button", name="Copy the Authentication-Results field").count() == 0
        assert page.locator("#hop-1 a.hop-link").count() == 1


def test_the_share_page_has_a_copy_button_for_the_link_shown_once(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    alice: Any,
) -> None:
    analysis = sample(alice, "tampered")
    with logged_in(browser, alice, live_server.url) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.context.add_init_script(RECORD_CSP_VIOLATIONS)
        page.goto(live_server.url + reverse("sharing:manage", args=[analysis.pk]))
        assert page.get_by_role("button", name="Copy the link").count() == 0  # no link yet
        page.get_by_role("button", name="Create a share link").click()
        link = page.get_by_label("Link", exact=True).input_value()
        assert link.startswith(live_server.url + "/shared/")
        page.get_by_role("button", name="Copy the link").click()
        page.wait_for_function("() => document.querySelector('[role=status]')")
        assert page.evaluate("() => navigator.clipboard.readText()") == link
        # The column of Revoke buttons is named for assistive technology only.
        actions = page.locator("table th .visually-hidden")
        assert actions.inner_text() == "Actions"
        box = actions.bounding_box()
        assert (box["width"], box["height"]) == (1, 1)
        assert page.get_by_role("columnheader", name="Actions").count() == 1
        assert page.evaluate("() => window.__csp") == []
        assert page.problems == []


def test_the_raw_message_scrolls_from_the_keyboard(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    alice: Any,
) -> None:
    analysis = sample(alice, "real-mail")
    with logged_in(browser, alice, live_server.url) as page:
        page.goto(live_server.url + reverse("reports:detail", args=[analysis.pk]))
        raw = page.get_by_role("region", name="The raw message")
        assert raw.evaluate("e => e.scrollHeight > e.clientHeight")  # it does scroll
        # Reached with Tab from the control before it, like any other stop.
        page.locator("#runs").scroll_into_view_if_needed()
        page.locator("#envelope button[type=submit]").focus()
        page.keyboard.press("Tab")
        assert raw.evaluate("e => e === document.activeElement")
        assert raw.evaluate("e => e.scrollTop") == 0
        page.keyboard.press("PageDown")
        page.wait_for_function("() => document.querySelector('pre.raw').scrollTop > 0")


def test_the_result_page_prints_without_controls_and_with_folded_parts_open(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    alice: Any,
) -> None:
    analysis = sample(alice, "tampered")
    with logged_in(browser, alice, live_server.url) as page:
        page.goto(live_server.url + reverse("reports:detail", args=[analysis.pk]))
        page.emulate_media(media="print", color_scheme="dark")
        hidden = page.evaluate(
            "() => [...document.querySelectorAll('.site-nav, .section-nav, form, button')]"
            ".map(e => getComputedStyle(e).display)"
        )
        assert hidden and set(hidden) == {"none"}
        assert page.evaluate("() => getComputedStyle(document.querySelector('main')).maxWidth") == (
            "none"
        )
        raw = page.locator("pre.raw")
        limits = "e => [getComputedStyle(e).maxHeight, getComputedStyle(e).overflowY]"
        assert raw.evaluate(limits) == ["none", "visible"]
        # Paper stays light, whatever the screen's scheme.
        assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == (
            "rgb(255, 255, 255)"
        )
        details = page.locator("details")
        assert details.count() > 0 and page.locator("details[open]").count() == 0
        page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
        assert page.locator("details:not([open])").count() == 0
        page.evaluate("() => window.dispatchEvent(new Event('afterprint'))")
        assert page.locator("details[open]").count() == 0
        assert page.problems == []
