"""Advice with a control: where the page advises re-running as of the arrival time, in
compatibility mode or under another draft revision, a small form next to the advice does it
(through the re-run view, counted like any re-run), and the run list says how each run was
made."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

import analysis.dkim2.sign as signing
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.presenters import format_utc
from dkim2web.reports.views import NO_ARRIVAL_TIME
from dkim2web.samples.gallery import get_sample
from tests.web.throttling_support import empty_cache

pytestmark = pytest.mark.django_db

DAY = 86400


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    empty_cache()
    yield
    empty_cache()


def stored(alice: Any, raw: bytes, mail_from: str, rcpt_to: list[str]) -> Analysis:
    analysis = services.analysis_submit(
        raw=raw, owner=alice, mail_from=mail_from, rcpt_to=rcpt_to, enqueue=False
    )
    services.analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    return analysis


def page(client: Client, analysis: Analysis) -> str:
    return client.get(reverse("reports:detail", args=[analysis.pk])).content.decode()


def verdict_section(body: str) -> str:
    start = body.index('<section class="verdict verdict-')
    return body[start : body.index("</section>", start)]


def run_rows(body: str) -> list[tuple[str, str, str]]:
    """Result, revision and how, per row of the run list (newest first)."""
    table = body[body.index('<table class="runs') : body.index("</table>", body.index('id="runs"'))]
    rows = re.findall(
        r'<span class="badge badge-\w+">([^<]+)</span></td>\s*<td class="run-revision"[^>]*>'
        r'([^<]+)</td>\s*<td class="run-how"[^>]*>([^<]+)</td>',
        table,
    )
    return [tuple(html.unescape(x) for x in row) for row in rows]  # type: ignore[misc]


def rerun(client: Client, analysis: Analysis, data: dict[str, str], capture: Any) -> Any:
    with capture(execute=True):  # the new run is queued after the commit, in-process here
        return client.post(reverse("reports:rerun", args=[analysis.pk]), data)


def form_for(section: str, field: str, value: str) -> str:
    """The advice form that posts ``field=value`` to the re-run view."""
    found = re.search(
        rf'<form class="advice-control[^"]*" method="post" action="([^"]+)">'
        rf'(?:(?!</form>).)*name="{field}" value="{value}"(?:(?!</form>).)*</form>',
        section,
        re.S,
    )
    assert found is not None, f"no {field}={value} form"
    return found.group(0)


# -- as of the arrival time ----------------------------------------------------------------


def archived_expired_copy(now: int) -> tuple[bytes, str, list[str], int]:
    """The expired sample, with the receiving server's Received field dated an hour after
    signing: it was valid when it arrived, and has expired since."""
    built = get_sample("expired").build(now)
    arrival = now - 20 * DAY + 3600
    date = format_datetime(datetime.fromtimestamp(arrival, UTC))
    received = f"Received: from mail.news.example by mx.inbox.example; {date}\r\n".encode()
    return received + built.raw, built.mail_from, built.rcpt_to, arrival


def test_an_expired_copy_is_re_run_as_of_its_arrival_and_the_run_list_says_so(
    alice: Any, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    raw, mail_from, rcpt_to, arrival = archived_expired_copy(int(time.time()))
    analysis = stored(alice, raw, mail_from, rcpt_to)
    when = format_utc(arrival)
    section = verdict_section(page(alice_client, analysis))
    form = form_for(section, "as_of", "arrival")
    assert f'action="{reverse("reports:rerun", args=[analysis.pk])}"' in form
    assert f"Re-run as of its arrival, {when}</button>" in form
    # The control sits next to the advice it carries out.
    assert section.index("What to do:") < section.index(form) < section.index("Why:")

    response = rerun(
        alice_client, analysis, {"as_of": "arrival"}, django_capture_on_commit_callbacks
    )
    assert response.status_code == 302
    followed = alice_client.get(response["Location"]).content.decode()
    assert (
        "Analysis queued again, DKIM2 judged by auto (the newest rules, others compared), as "
        f"of its arrival time ({when}); the earlier runs are kept."
    ) in html.unescape(followed)
    latest, first = AnalysisRun.objects.filter(analysis=analysis).order_by("-created_at", "-pk")
    assert (latest.verified_as_of, latest.compat, latest.result) == (arrival, False, "pass")
    assert latest.document["verified_at"] == arrival
    assert (first.verified_as_of, first.result) == (None, "fail")
    body = page(alice_client, analysis)
    assert run_rows(body) == [
        ("Pass", "auto", f"verified as of {when}, its arrival"),
        ("Fail", "auto", "verified as of the time it ran"),
    ]
    assert f"Verified as of {when}, its arrival.</span>" in body


def test_without_a_dated_received_field_there_is_no_arrival_to_re_run_as_of(
    alice: Any, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    built = get_sample("expired").sign_now()  # no Received field at all
    analysis = stored(alice, built.raw, built.mail_from, built.rcpt_to)
    section = verdict_section(page(alice_client, analysis))
    assert 'name="as_of"' not in section
    assert (
        '<p class="advice-control help">No dated Received field says when this message '
        "arrived, so it cannot be re-run as of then.</p>"
    ) in section
    response = rerun(
        alice_client, analysis, {"as_of": "arrival"}, django_capture_on_commit_callbacks
    )
    assert response["Location"] == reverse("reports:detail", args=[analysis.pk]) + "#runs"
    assert AnalysisRun.objects.filter(analysis=analysis).count() == 1
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE
    assert (
        NO_ARRIVAL_TIME.replace("'", "&#x27;")
        in alice_client.get(response["Location"]).content.decode()
    )


def test_only_now_and_the_arrival_time_are_offered(
    alice: Any, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    raw, mail_from, rcpt_to, _ = archived_expired_copy(int(time.time()))
    analysis = stored(alice, raw, mail_from, rcpt_to)
    response = rerun(alice_client, analysis, {"as_of": "1000"}, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert AnalysisRun.objects.filter(analysis=analysis).count() == 1
    assert (
        "A re-run verifies as of now or as of the message&#x27;s arrival time."
        in alice_client.get(response["Location"]).content.decode()
    )


# -- compatibility mode ----------------------------------------------------------------------


def test_bare_addresses_are_re_run_in_compatibility_mode(
    alice: Any,
    alice_client: Client,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Signed as the interop signers of the -02..-04 era did: mf=/rt= without angle brackets.
    with monkeypatch.context() as patch:
        patch.setattr(signing, "_path", lambda addr, allow_null: addr.strip().strip("<>"))
        built = get_sample("clean-list").sign_now()
    analysis = stored(alice, built.raw, built.mail_from, built.rcpt_to)
    section = verdict_section(page(alice_client, analysis))
    assert "<code>sig.syntax</code> PERMERROR DKIM2-Signature i=1 syntax error" in section
    assert (
        "What to do:</strong> The DKIM2 implementer of the hop that added this field: produce "
        "exactly the syntax the draft defines. For an archived message from an older signer, "
        "re-run the analysis in compatibility mode, which accepts bare addresses and reports "
        "them.</p>"
    ) in section
    form = form_for(section, "compat", "1")
    assert "Re-run in compatibility mode</button>" in form

    rerun(alice_client, analysis, {"compat": "1"}, django_capture_on_commit_callbacks)
    latest = AnalysisRun.objects.filter(analysis=analysis).order_by("-created_at", "-pk")[0]
    assert (latest.compat, latest.verified_as_of, latest.result) == (True, None, "pass")
    assert latest.document["dkim2"]["options"]["compat"] is True
    assert run_rows(page(alice_client, analysis)) == [
        ("Pass", "auto", "verified as of the time it ran; compatibility mode"),
        ("Fail", "auto", "verified as of the time it ran"),
    ]
    # The next plain re-run is no longer in compatibility mode.
    rerun(alice_client, analysis, {}, django_capture_on_commit_callbacks)
    newest = AnalysisRun.objects.filter(analysis=analysis).order_by("-created_at", "-pk")[0]
    assert (newest.compat, newest.result) == (False, "fail")


# -- another draft revision ------------------------------------------------------------------


def test_a_signer_of_older_rules_is_re_run_under_that_revision(
    alice: Any, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    built = get_sample("mixed-revisions").sign_now()
    analysis = stored(alice, built.raw, built.mail_from, built.rcpt_to)
    section = verdict_section(page(alice_client, analysis))
    start = section.index('<form class="advice-control rerun-revision"')
    form = section[start : section.index("</form>", start)]
    assert section.index("What to do:") < start < section.index("Why:")
    assert '<select name="revision">' in form
    assert '<option value="06">-06 (public draft text)</option>' in form
    assert "Re-run under this revision</button>" in form

    rerun(alice_client, analysis, {"revision": "06"}, django_capture_on_commit_callbacks)
    latest = AnalysisRun.objects.filter(analysis=analysis).order_by("-created_at", "-pk")[0]
    assert (latest.revision, latest.result) == ("06", "pass")
    assert run_rows(page(alice_client, analysis)) == [
        ("Pass", "-06", "verified as of the time it ran"),
        ("Fail", "auto", "verified as of the time it ran"),
    ]


# -- who sees the controls, and what they cost ------------------------------------------------


def test_the_controls_are_counted_like_any_re_run(
    alice: Any, alice_client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    raw, mail_from, rcpt_to, _ = archived_expired_copy(int(time.time()))
    analysis = stored(alice, raw, mail_from, rcpt_to)
    settings.DKIM2WEB_RATE_UPLOAD_ACCOUNT = "2/h"
    answers = [
        rerun(alice_client, analysis, data, django_capture_on_commit_callbacks).status_code
        for data in ({"as_of": "arrival"}, {"compat": "1"}, {"revision": "06"})
    ]
    assert answers == [302, 302, 429]
    assert AnalysisRun.objects.filter(analysis=analysis).count() == 3


def test_a_shared_page_shows_the_advice_without_its_controls(
    alice: Any, alice_client: Client
) -> None:
    from dkim2web.sharing import services as sharing

    raw, mail_from, rcpt_to, _ = archived_expired_copy(int(time.time()))
    analysis = stored(alice, raw, mail_from, rcpt_to)
    _, token = sharing.share_link_create(analysis=analysis, created_by=alice, days=1)
    body = Client().get(reverse("sharing:view", args=[token])).content.decode()
    assert "What to do:</strong> If this is an archived copy" in body
    assert "advice-control" not in body
    assert reverse("reports:rerun", args=[analysis.pk]) not in body
