"""An uploaded bounce in real headless Chromium: the page says what happened to each
recipient in words, links the returned message's own analysis, breaks no Content-Security-
Policy rule and fits a 390 px phone. The screenshot goes to docs/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from dkim2web.intake.testing import bounce, message
from dkim2web.reports.models import Analysis
from tests.support.browser import SCREENSHOTS, browser, uploaded  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

ORIGINAL = message(
    sender="Alice <alice@origin.example>",
    to="bob@forwarder.example, dave@example.com",
    subject="Quarterly figures",
    body="The figures are on the portal.\r\n",
    when=1_733_217_000,
    msgid="figures.1@origin.example",
)
TWO_RECIPIENTS = (
    b"Final-Recipient: rfc822; bob@forwarder.example\r\n"
    b"Action: failed\r\nStatus: 5.1.1\r\n"
    b"Remote-MTA: dns; mx.forwarder.example\r\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 <bob@forwarder.example>: Recipient address rejected:\r\n"
    b" User unknown in virtual mailbox table\r\n\r\n"
    b"Final-Recipient: rfc822; dave@example.com\r\n"
    b"Action: failed\r\nStatus: 5.0.0\r\n"
    b"Remote-MTA: dns; gmail-smtp-in.l.google.com\r\n"
    b"Diagnostic-Code: smtp; 550-5.7.26 Unauthenticated email from origin.example is not\r\n"
    b" accepted due to domain's DMARC policy.\r\n"
    b"Last-Attempt-Date: Tue, 03 Dec 2024 10:15:02 +0000\r\n"
)
BOUNCE = bounce(ORIGINAL, signer=None, to="<alice@origin.example>", when=1_733_217_300).replace(
    b"Final-Recipient: rfc822; bob@forwarder.example\r\n"
    b"Action: failed\r\nStatus: 5.1.1\r\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n",
    TWO_RECIPIENTS,
)


@pytest.fixture
def bounce_file(tmp_path: Path, settings: Any) -> Path:
    settings.DKIM2_KEY_LOOKUP = "analysis.resolvers.StaticResolver"
    path = tmp_path / "bounce.eml"
    path.write_bytes(BOUNCE)
    return path


def test_a_bounce_reads_in_words_and_leads_to_the_returned_message(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    bounce_file: Path,
) -> None:
    with uploaded(browser, live_server.url, bounce_file, width=1280, wait_for="#bounce") as page:
        section = page.locator("#bounce")
        assert section.locator(".dsn-summary").inner_text() == "Not delivered to 2 recipients."
        cards = section.locator("article.dsn-recipient")
        assert cards.count() == 2
        assert cards.nth(0).locator("h3").inner_text() == "bob@forwarder.example"
        assert "Permanent failure: the mailbox does not exist" in cards.nth(0).inner_text()
        # The relay said 5.0.0; the remote server's own reply said why.
        second = cards.nth(1).inner_text()
        assert "It carries 5.7.26 Multiple authentication checks failed" in second
        assert (
            "Who can act\nThe administrator of the sender's domain: fix the domain's "
            "authentication records (SPF, DKIM, DMARC) or the way the mail is sent."
        ) in second
        returned = Analysis.objects.get(filename="returned-Quarterly-figures.eml")
        link = section.locator(".dsn-returned a")
        assert link.inner_text() == "returned-Quarterly-figures.eml"
        assert page.evaluate("() => window.__csp") == []
        assert page.problems == []
        # The page from its headline down to the end of the bounce section.
        page.evaluate("() => window.scrollTo(0, 0)")
        box = section.bounding_box()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / "result-bounce.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": box["y"] + box["height"] + 16},
        )
        link.click()
        page.wait_for_url(f"**{reverse('reports:detail', args=[returned.pk])}")
        assert page.locator("#bounce").count() == 0


def test_the_bounce_section_fits_a_phone(
    browser: Any,  # noqa: F811 (the fixture)
    live_server: Any,
    bounce_file: Path,
) -> None:
    with uploaded(browser, live_server.url, bounce_file, width=390, wait_for="#bounce") as page:
        section = page.locator("#bounce")
        widest = section.evaluate(
            "s => Math.max(...[s, ...s.querySelectorAll('*')].map("
            "e => e.getBoundingClientRect().right))"
        )
        assert widest <= 390
        assert page.evaluate("() => window.__csp") == []
        assert page.problems == []
