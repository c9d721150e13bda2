"""The delivery-time chart in real headless Chromium (Debian's package, driven by Playwright):
the server-drawn SVG is there with one bar per stamp, the long wait is the widest bar and
coloured as long, nothing breaks the Content-Security-Policy, and the section fits a 390 px
phone.  Screenshots of the section go to docs/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from tests.support.browser import RECORD_CSP_VIOLATIONS, SCREENSHOTS, browser  # noqa: F401
from tests.support.delivery_traces import THROUGH_THE_LIST

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def open_result(chromium: Any, live_server: Any, tmp_path: Path, width: int) -> tuple[Any, Any]:
    """Upload the list trace and open its result page at ``width`` px; the page records its
    script errors and console errors in ``page.problems``."""
    context = chromium.new_context(viewport={"width": width, "height": 900})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"error: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    page.problems = problems  # type: ignore[attr-defined]
    path = tmp_path / "through-the-list.eml"
    path.write_bytes(THROUGH_THE_LIST)
    page.goto(live_server.url + reverse("reports:new"))
    page.set_input_files("input[type=file]", str(path))
    page.locator("button[value=analyse]").click()
    page.wait_for_url("**/analyses/*/")
    page.locator("#delivery-time").wait_for()
    return context, page


def shoot(page: Any, section: Any, name: str) -> None:
    """The section alone, from a full-page capture (the sticky section list would cover an
    element screenshot taken scrolled)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    box = section.bounding_box()
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True, clip=box)


def test_the_chart_renders_without_script_or_inline_style(
    browser: Any,  # noqa: F811 (the fixture from tests.support.browser)
    live_server: Any,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.DKIM2_KEY_LOOKUP = "analysis.resolvers.StaticResolver"
    context, page = open_result(browser, live_server, tmp_path, 1280)
    try:
        section = page.locator("#delivery-time")
        assert section.locator("h2").inner_text() == "Delivery time"
        assert section.locator(".dt-summary").inner_text() == (
            "Delivered 4 min 29 s after it was written (from the Date field to the last "
            "Received field); the longest wait was 4 min 12 s, before hop 4 "
            "(mx.inbox.example.net)."
        )
        svg = section.locator("svg.dt-svg")
        assert svg.count() == 1
        assert svg.get_attribute("role") == "img"
        bars = svg.locator("g.dt-row")
        assert bars.count() == 6
        assert [bars.nth(k).get_attribute("data-hop") for k in range(6)] == [
            "0",
            "1",
            "2",
            "3",
            "4",
            "5",
        ]
        # The long wait is the widest bar, and its colour comes from report.css.
        widths = [
            bars.nth(k).locator("rect:not(.dt-track)").bounding_box()["width"] for k in range(6)
        ]
        assert max(widths) == widths[4] and widths[4] > 10 * max(widths[:4] + widths[5:])
        long_bar = svg.locator("rect.dt-bar-long")
        assert long_bar.count() == 1
        assert long_bar.evaluate("r => getComputedStyle(r).fill") == "rgb(207, 34, 46)"
        assert svg.locator("text.dt-label").nth(4).text_content() == (
            "Hop 4 · mx.inbox.example.net · +4 min 12 s"
        )
        assert section.locator("li.dt-long").count() == 1
        assert "long delay" in section.locator("#dt-hop-4").inner_text()
        # Each signature links to its own section of the page.
        section.locator("#dt-hop-4 a[href='#arc-2']").click()
        assert page.evaluate("() => location.hash") == "#arc-2"
        assert page.evaluate("() => window.__csp") == []
        assert page.problems == []
        shoot(page, section, "result-delivery-time.png")
    finally:
        context.close()


def test_the_section_fits_a_phone(
    browser: Any,  # noqa: F811 (the fixture from tests.support.browser)
    live_server: Any,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.DKIM2_KEY_LOOKUP = "analysis.resolvers.StaticResolver"
    context, page = open_result(browser, live_server, tmp_path, 390)
    try:
        section = page.locator("#delivery-time")
        box = section.locator("svg.dt-svg").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        # Nothing in the section is wider than the screen (no sideways scrolling within it,
        # nothing sticking out of it).
        assert section.evaluate("s => s.scrollWidth <= s.clientWidth")
        widest = section.evaluate(
            "s => Math.max(...[s, ...s.querySelectorAll('*')].map("
            "e => e.getBoundingClientRect().right))"
        )
        assert widest <= 390
        # The chart's text keeps its size: 12 px, as on a wide screen.
        label = section.locator("text.dt-label").first
        assert label.evaluate("t => getComputedStyle(t).fontSize") == "12px"
        assert page.evaluate("() => window.__csp") == []
        assert page.problems == []
        shoot(page, section, "result-delivery-time-390.png")
    finally:
        context.close()
