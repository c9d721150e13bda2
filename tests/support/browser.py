"""Headless Chromium for the browser tests (Debian's package, driven by Playwright).

``browser`` is a module-scoped pytest fixture: a test module imports it by name. Screenshots
go to docs/screenshots/ (``SCREENSHOTS``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from tests.conftest import require_chromium

    path = require_chromium()
    # Playwright's sync API keeps an asyncio loop in this thread; Django's ORM (the test's
    # own queries, not the server's) would refuse to run beside it. The loop is Playwright's
    # plumbing, not async Django code, so the guard is lifted for these tests only.
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


# Runs before the page's own code (Playwright's init script is not subject to the page's
# CSP): every policy violation the page causes is recorded in window.__csp.
RECORD_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


@contextlib.contextmanager
def uploaded(
    chromium: Any, base_url: str, path: Path, *, width: int, wait_for: str
) -> Iterator[Any]:
    """The result page of ``path`` uploaded through the upload form, at ``width`` px, once
    ``wait_for`` (a selector) is on it. ``page.problems`` collects script and console
    errors; ``window.__csp`` the Content-Security-Policy violations."""
    context = chromium.new_context(viewport={"width": width, "height": 900})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"error: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    page.problems = problems
    try:
        page.goto(base_url + "/analyses/new/")
        page.set_input_files("input[type=file]", str(path))
        page.locator("button[value=analyse]").click()
        page.wait_for_url("**/analyses/*/")
        page.locator(wait_for).wait_for()
        yield page
    finally:
        context.close()
