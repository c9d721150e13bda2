"""What changed a message whose hash fails, in real headless Chromium (issue #12, point 2):
the "list-without-recipe" sample, run from the gallery, shows the footer the list appended
without recording it, as a found change with its diff; the "tampered" sample says its body
changed in a way that could not be identified, never "no changes". No script error and no
Content-Security-Policy violation. The screenshot goes to docs/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.support.browser import RECORD_CSP_VIOLATIONS, SCREENSHOTS, browser  # noqa: F401

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def sample_page(chromium: Any, base_url: str, slug: str) -> Any:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"error: {exc}"))
    page.goto(base_url + reverse("samples:gallery"))
    page.locator(f"form[action='{reverse('samples:run', args=[slug])}'] button").click()
    page.wait_for_url("**/analyses/*/")
    page.locator("#changes .change-search").first.wait_for(timeout=20_000)
    return page


def test_the_footer_a_list_appended_without_a_recipe_is_found_and_shown(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
) -> None:
    page = sample_page(browser, live_server.url, "list-without-recipe")
    try:
        card = page.locator("#changes .change-search").first
        assert card.locator("h3").inner_text() == (
            "m=1: body, recorded by hop 1: changed without a recipe"
        )
        text = card.inner_text()
        assert "Found what changed." in text
        assert 'a footer of 3 lines was appended at the end of the body, beginning "-- "' in text
        added = card.locator("pre.udiff .l-add").all_inner_texts()
        assert added == [
            "+-- ",
            "+ops-talk mailing list",
            "+unsubscribe: ops-talk-leave@lists.example",
        ]
        assert "No changes" not in page.locator("#changes").inner_text()
        assert page.evaluate("() => window.__csp") == []
        assert page.problems == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        card.screenshot(path=str(SCREENSHOTS / "result-change-search.png"))
    finally:
        page.context.close()


def test_a_change_nothing_explains_is_said_to_be_unidentified(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
) -> None:
    page = sample_page(browser, live_server.url, "tampered")
    try:
        card = page.locator("#changes .change-search").first
        assert card.locator("h3").inner_text() == (
            "m=1: body, recorded by hop 1: changed in a way that could not be identified"
        )
        assert "Not identified." in card.inner_text()
        assert "No changes" not in page.locator("#changes").inner_text()
        assert page.evaluate("() => window.__csp") == []
        assert page.problems == []
    finally:
        page.context.close()
