"""What a postmaster does, in real headless Chromium (Debian's package, driven by Playwright).

Each journey runs against Django's live server: try a sample and watch its analysis finish,
read the verdict, open a diff and a failure explanation, share the result and open the link
logged out, and upload a hostile message whose Subject and HTML part carry script that must
never run.  Screenshots of the result pages are written to docs/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from dkim2web.reports import services
from dkim2web.reports.models import Analysis
from tests.support.browser import SCREENSHOTS, browser  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811 (the fixture)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.js_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def run_sample(page: Any, live_server: Any, slug: str) -> None:
    page.goto(live_server.url + reverse("samples:gallery"))
    page.locator(f"form[action='{reverse('samples:run', args=[slug])}'] button").click()
    page.wait_for_url("**/analyses/*/")


def test_a_sample_is_analysed_while_the_page_watches(
    page: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hold the task back so the page shows the queued state and its live progress.
    monkeypatch.setattr(services, "analysis_enqueue", lambda **kwargs: True)
    run_sample(page, live_server, "clean-list")
    status = page.locator("#analysis-status")
    assert status.get_attribute("data-status") == "queued"
    assert "Queued" in status.inner_text()
    analysis = Analysis.objects.get()
    services.analysis_run(analysis_id=analysis.pk)  # a worker picks it up
    verdict = page.locator("#verdict-summary")
    verdict.wait_for(timeout=20_000)  # progress.js polls and reloads when done
    assert verdict.inner_text() == (
        "Trusted: a DKIM2 signature by origin.example vouches for origin.example, so DMARC "
        "passes; origin.example should keep signing with DKIM1 too, for receivers that do not "
        "count DKIM2 yet."
    )
    assert page.locator(".verdict-points li").first.inner_text() == (
        "DKIM2: 3 hops verified; lists.example changed Subject, added List-Id and added 3 body "
        "lines (-09 rules)."
    )
    hops = page.locator("article.hop")
    assert hops.count() == 3
    for n, domain in enumerate(["origin.example", "lists.example", "forwarder.example"], 1):
        assert domain in page.locator(f"#hop-{n} h3, #hop-{n} h2").first.inner_text()
    diff = page.locator("#changes article.diff").first
    diff.scroll_into_view_if_needed()
    assert "m=1 → m=2: changed by hop 2 (lists.example)" in diff.inner_text()
    assert (
        "[ops-talk] Relay certificates change on Saturday" in diff.locator("ins").first.inner_text()
    )
    added = diff.locator(".udiff .l-add")
    assert added.count() == 3
    assert page.js_errors == []
    shot(page, "result-pass-3-hops.png")


def test_a_failure_explains_itself(page: Any, live_server: Any) -> None:
    run_sample(page, live_server, "replayed")
    assert page.locator("#verdict-summary").inner_text() == (
        "Not trusted: it was delivered to a recipient that forwarder.example, the last signer, "
        "never sent it to, so receivers are asked to reject it; a forwarder that changed the "
        "recipients must sign again after doing so, otherwise treat the message as replayed."
    )
    assert page.locator(".verdict-action").inner_text().startswith("What to do:")
    finding = page.locator("#hop-3 details.finding").first
    assert not finding.evaluate("el => el.open")
    finding.locator("summary").click()
    assert finding.evaluate("el => el.open")
    text = finding.inner_text()
    # -09 rules (auto): a broken envelope binding is FAIL from -08 (Stalwart 0.15).
    assert "FAIL: DKIM2-Signature i=3 RCPT TO <carol@inbox.example> did not match" in text
    for part in ("checked", "found", "cause", "fix"):
        assert part in text.lower(), part
    assert page.js_errors == []
    shot(page, "result-replayed.png")


def test_a_sample_is_rerun_under_another_draft_revision_and_kept_as_another_run(
    page: Any, live_server: Any
) -> None:
    run_sample(page, live_server, "clean-list")
    page.locator("#verdict-summary").wait_for()
    assert (
        page.locator(".verdict-revision")
        .inner_text()
        .startswith("DKIM2 judged by -09 rules (auto); -06, -07 and -08 compared.")
    )
    rows = page.locator("#revisions table.revisions tbody tr th")
    assert [rows.nth(k).inner_text() for k in range(rows.count())] == [
        "-06 public draft text",
        "-07 second-hand",
        "-08 second-hand",
        "-09 second-hand, gives the verdict",
    ]
    # The select is found by its label, as assistive technology finds it.
    select = page.get_by_label("Draft revision", exact=True)
    assert select.input_value() == "auto"
    select.select_option("06")
    page.get_by_role("button", name="Re-run under this revision").click()
    page.wait_for_url("**/analyses/*/")
    page.locator("#runs td.run-revision").nth(1).wait_for(timeout=20_000)
    revisions = page.locator("#runs td.run-revision")
    assert [revisions.nth(k).inner_text() for k in range(revisions.count())] == ["-06", "auto"]
    assert page.locator(".verdict-revision").inner_text() == (
        "DKIM2 judged by -06 rules (chosen for this run). The -06 rules are the public text of "
        "draft-ietf-dkim-dkim2-spec-06."
    )
    assert page.locator("#revisions").count() == 0
    assert page.get_by_label("Draft revision", exact=True).input_value() == "06"
    assert page.locator("ul.flash li").inner_text() == (
        "Analysis queued again, DKIM2 judged by -06 rules; the earlier runs are kept."
    )
    assert page.js_errors == []


def test_a_mixed_chain_says_which_signer_needs_upgrading(page: Any, live_server: Any) -> None:
    """The -06 originator and the -09 forwarder: -09 fails the chain, -06 and -07 pass it,
    and the page names the rule and the software that needs upgrading."""
    run_sample(page, live_server, "mixed-revisions")
    page.locator("#revisions").wait_for()
    text = page.locator("#revisions").inner_text()
    assert "the rule that splits them is which header fields the header hash leaves out" in text
    assert (
        "billing.example (hop 1) signed by -06 or -07 rules (left Auto-Submitted unsigned); an "
        "-08 or later receiver fails this hop"
    ) in text
    assert "billing.example's DKIM2 software needs upgrading." in text
    assert page.js_errors == []
    shot(page, "result-mixed-revisions.png")


def test_a_shared_link_opens_logged_out_without_owner_data(
    browser: Any,  # noqa: F811 (the fixture from tests.support.browser)
    page: Any,
    live_server: Any,
    django_user_model: Any,
) -> None:
    django_user_model.objects.create_user("alice", "alice@example.org", "alice-pw-1")
    page.goto(live_server.url + reverse("accounts:login"))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-pw-1")
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    run_sample(page, live_server, "tampered")
    page.get_by_role("link", name="Share…").click()
    page.locator("main form button[type=submit]").first.click()
    link = page.locator("#new-link").input_value()
    assert link.startswith(live_server.url + "/shared/")

    stranger = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        shared = stranger.new_page()
        shared.goto(link)
        assert (
            shared.locator("#verdict-summary")
            .inner_text()
            .startswith("Not trusted: the body was changed after billing.example signed it")
        )
        body = shared.content()
        assert "alice" not in body
        assert "Delete" not in shared.locator("main").inner_text()
        assert shared.get_by_role("link", name="Log in").count() == 1
        shot(shared, "result-shared-tampered.png")
    finally:
        stranger.close()


HOSTILE = (
    b"From: \"<script>window.__pwned='from'</script>\" <evil@attacker.example>\r\n"
    b"To: victim@example.net\r\n"
    b"Subject: <script>window.__pwned='subject'</script><img src=x onerror=alert(1)>\r\n"
    b"X-Note: </pre><script>window.__pwned='header'</script>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\nContent-Type: text/plain\r\n\r\nplain part\r\n"
    b"--b1\r\nContent-Type: text/html\r\n\r\n"
    b"<html><body onload=\"window.__pwned='onload'\"><script>window.__pwned='html'</script>"
    b'<iframe src="javascript:alert(2)"></iframe></body></html>\r\n'
    b"--b1--\r\n"
)


def test_a_hostile_message_runs_no_script(page: Any, live_server: Any, tmp_path: Path) -> None:
    path = tmp_path / "<img src=x onerror=alert(3)>.eml"
    path.write_bytes(HOSTILE)
    page.goto(live_server.url + reverse("reports:new"))
    page.set_input_files("input[type=file]", str(path))
    page.locator("button[value=analyse]").click()
    page.wait_for_url("**/analyses/*/")
    page.locator("#verdict-summary").wait_for()
    assert page.locator("#verdict-summary").inner_text() == (
        "No authentication at all: the message carries no DKIM1, DKIM2 or ARC signature, and "
        "neither SPF nor DMARC could vouch for attacker.example; if it is genuine, the mail "
        "administrator of attacker.example should set up DKIM, SPF and DMARC."
    )
    raw = page.locator("#raw").inner_text()
    assert "<script>window.__pwned='html'</script>" in raw  # shown as text
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.locator("main script, main iframe, main img[onerror]").count() == 0
    assert page.js_errors == []
    shot(page, "result-hostile-message.png")


def test_a_real_message_shows_every_mechanism_and_the_receivers_testimony(
    page: Any, live_server: Any, settings: Any, shared_dir: Path
) -> None:
    """brong-final.eml is real mail: IETF list traffic delivered to Fastmail, carrying four
    DKIM1 signatures, an ARC set and Fastmail's Authentication-Results. Offline (an empty
    zone), its keys cannot be fetched; the page still shows each mechanism beside what the
    receiver recorded, and the envelope it reads back from the Received fields."""
    settings.DKIM2_KEY_LOOKUP = "analysis.resolvers.StaticResolver"
    page.goto(live_server.url + reverse("reports:new"))
    page.set_input_files("input[type=file]", str(shared_dir / "interop/brong/brong-final.eml"))
    page.locator("button[value=analyse]").click()
    page.wait_for_url("**/analyses/*/")
    page.locator("#verdict-summary").wait_for()
    assert page.locator("#verdict-summary").inner_text() == (
        "Not trusted: no usable DKIM1 key is published for the signature of ietf.org, and "
        "nothing else vouches for dmarc.ietf.org; the DNS administrator of ietf.org must "
        "publish it."
    )
    rows = page.locator("#glance table.glance tbody tr")
    assert [rows.nth(k).locator("th").inner_text() for k in range(rows.count())] == [
        "DKIM2",
        "DKIM1",
        "ARC",
        "SPF",
        "DMARC",
    ]
    found = [rows.nth(k).locator("td").nth(0).inner_text() for k in range(rows.count())]
    claimed = [rows.nth(k).locator("td").nth(1).inner_text() for k in range(rows.count())]
    # DKIM1: today, two of the signatures have expired (x=), which ranks above no key.
    assert found == ["Permanent error", "Policy", "Fail", "None", "None"]
    assert claimed == [
        "nothing recorded",
        "Pass differs",
        "None",  # the receiver's own seal came after its arc= check: not comparable
        "Pass differs",
        "Pass differs",
    ]
    assert page.locator("#dkim1 article.mech").count() == 4
    assert page.locator("#arc article.mech").count() == 1
    assert "50.223.129.194" in page.locator("#spf").inner_text()
    assert "Reconstructed envelope." in page.locator("#spf").inner_text()
    receivers = page.locator("#receivers article.authres")
    assert receivers.count() >= 6
    assert "mx6.messagingengine.com" in receivers.first.inner_text()
    border = page.locator("#received tr.received-border")
    assert border.count() == 1 and "mail.ietf.org" in border.inner_text()
    assert page.js_errors == []
    shot(page, "result-real-message-every-mechanism.png")


def test_the_real_mail_sample_explains_why_the_receiver_and_dkim2web_differ(
    page: Any, live_server: Any
) -> None:
    run_sample(page, live_server, "real-mail")
    assert page.locator("#verdict-summary").inner_text() == (
        "Trusted: a DKIM2 signature by origin.example vouches for origin.example, so DMARC "
        "passes; origin.example should keep signing with DKIM1 too, for receivers that do not "
        "count DKIM2 yet."
    )
    points = page.locator(".verdict-points li")
    texts = [points.nth(k).inner_text() for k in range(points.count())]
    assert any(
        t.startswith("The final receiver mx.inbox.example reports dmarc=fail") for t in texts
    )
    dmarc = page.locator("#glance tr", has_text="DMARC")
    assert "differs" in dmarc.inner_text()
    disagreement = page.locator("#glance .disagreements li").first.inner_text()
    assert disagreement.startswith("DMARC: recorded fail, found now pass.")
    assert "does not count DKIM2 yet" in disagreement
    testimony = page.locator("#arc-1").inner_text()
    assert "what mx.lists.example recorded when it received the message" in testimony
    assert "dkim=pass" in testimony
    assert page.locator("#dkim1-1 .badge").first.inner_text() == "Fail"
    assert page.js_errors == []
    shot(page, "result-real-mail.png")
