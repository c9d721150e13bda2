"""Share links: the owner creates and revokes them; the token opens a read-only result page
that shows nothing about the owner. Unknown, expired and revoked tokens are all a 404."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analysis.resolvers import StaticResolver
from dkim2web.reports import services as report_services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.sharing import services
from dkim2web.sharing.models import ShareLink

pytestmark = pytest.mark.django_db

# Nothing in the message names alice, so any "alice" on a shared page is owner data.
MESSAGE = (
    b"From: carol@example.com\r\nTo: dave@example.net\r\nSubject: shared findings\r\n"
    b"Message-ID: <share@example.com>\r\n\r\nHello Dave.\r\n"
)


@pytest.fixture
def analysis(alice: Any) -> Analysis:
    created = report_services.analysis_submit(
        raw=MESSAGE,
        owner=alice,
        filename="alice-private-inbox.eml",
        mail_from="carol@example.com",
        rcpt_to=["dave@example.net"],
        enqueue=False,
    )
    report_services.analysis_run(analysis_id=created.pk, lookup=StaticResolver({}))
    created.refresh_from_db()
    assert created.status == Analysis.Status.DONE, created.error
    return created


@pytest.fixture
def bob_client(bob: Any) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def share(analysis: Analysis, days: int = 7) -> tuple[ShareLink, str]:
    return services.share_link_create(analysis=analysis, created_by=analysis.owner, days=days)


def shared_url(token: str) -> str:
    return reverse("sharing:view", args=[token])


# --- the owner's side ---------------------------------------------------------------------


def test_the_owner_sees_the_share_page(alice_client: Client, analysis: Analysis) -> None:
    link, _ = share(analysis)
    response = alice_client.get(reverse("sharing:manage", args=[analysis.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert link.prefix in html
    assert 'value="7" selected' in html  # DKIM2WEB_SHARE_DEFAULT_DAYS
    # No inline script: only the project's own static file (the copy button's).
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/dkim2web/page.js" defer>']
    assert "style=" not in html


@pytest.mark.parametrize("days", [1, 7, 30])
def test_creating_a_link_shows_it_once_and_stores_its_hash(
    alice_client: Client, alice: Any, analysis: Analysis, days: int
) -> None:
    response = alice_client.post(reverse("sharing:create", args=[analysis.pk]), {"days": days})
    assert response.status_code == 200
    new_url = response.context["new_url"]
    token = new_url.rstrip("/").rsplit("/", 1)[-1]
    assert new_url == f"http://testserver{shared_url(token)}"
    assert len(token) == 32  # secrets.token_urlsafe(24)
    assert new_url in response.content.decode()
    assert "no-store" in response["Cache-Control"]

    link = ShareLink.objects.get(analysis=analysis)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.prefix == token[:8]
    assert link.created_by == alice
    assert timedelta(days=days) - timedelta(minutes=1) < link.expires_at - timezone.now()
    assert link.expires_at - timezone.now() <= timedelta(days=days)
    assert not ShareLink.objects.filter(token_hash=token).exists()

    html = alice_client.get(reverse("sharing:manage", args=[analysis.pk])).content.decode()
    assert token not in html


def test_the_default_expiry_comes_from_the_setting(
    alice_client: Client, analysis: Analysis, settings: Any
) -> None:
    settings.DKIM2WEB_SHARE_DEFAULT_DAYS = 14
    html = alice_client.get(reverse("sharing:manage", args=[analysis.pk])).content.decode()
    assert 'value="14" selected' in html
    response = alice_client.post(reverse("sharing:create", args=[analysis.pk]), {"days": 14})
    assert response.status_code == 200


@pytest.mark.parametrize("days", ["2", "0", "365", "x", ""])
def test_only_the_offered_expiries_are_accepted(
    alice_client: Client, analysis: Analysis, days: str
) -> None:
    response = alice_client.post(reverse("sharing:create", args=[analysis.pk]), {"days": days})
    assert response.status_code == 400
    assert not ShareLink.objects.exists()


def test_creating_takes_a_post(alice_client: Client, analysis: Analysis) -> None:
    assert alice_client.get(reverse("sharing:create", args=[analysis.pk])).status_code == 405


def test_revoking_a_link(alice_client: Client, analysis: Analysis) -> None:
    link, token = share(analysis)
    assert Client().get(reverse("sharing:raw", args=[token])).status_code == 200
    response = alice_client.post(reverse("sharing:revoke", args=[link.pk]))
    assert response.status_code == 302
    assert response.url == reverse("sharing:manage", args=[analysis.pk])
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert link.state == "revoked"
    assert Client().get(reverse("sharing:raw", args=[token])).status_code == 404


def test_revoking_takes_a_post(alice_client: Client, analysis: Analysis) -> None:
    link, _ = share(analysis)
    assert alice_client.get(reverse("sharing:revoke", args=[link.pk])).status_code == 405
    link.refresh_from_db()
    assert link.revoked_at is None


def test_the_account_page_lists_live_links(alice_client: Client, analysis: Analysis) -> None:
    live, _ = share(analysis)
    gone, _ = share(analysis)
    services.share_link_revoke(link=gone)
    html = alice_client.get(reverse("accounts:profile")).content.decode()
    assert live.prefix in html
    assert gone.prefix not in html


# --- another user, and anon ----------------------------------------------------------------


def test_another_user_cannot_see_create_or_revoke_alices_links(
    bob_client: Client, analysis: Analysis
) -> None:
    link, token = share(analysis)
    assert bob_client.get(reverse("sharing:manage", args=[analysis.pk])).status_code == 404
    response = bob_client.post(reverse("sharing:create", args=[analysis.pk]), {"days": 7})
    assert response.status_code == 404
    assert ShareLink.objects.count() == 1
    assert bob_client.post(reverse("sharing:revoke", args=[link.pk])).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None
    assert Client().get(reverse("sharing:raw", args=[token])).status_code == 200


def test_anon_is_sent_to_log_in(analysis: Analysis) -> None:
    link, _ = share(analysis)
    client = Client()
    for response in (
        client.get(reverse("sharing:manage", args=[analysis.pk])),
        client.post(reverse("sharing:create", args=[analysis.pk]), {"days": 7}),
        client.post(reverse("sharing:revoke", args=[link.pk])),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    assert ShareLink.objects.count() == 1
    link.refresh_from_db()
    assert link.revoked_at is None


def test_an_unknown_analysis_is_404(alice_client: Client) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    assert alice_client.get(reverse("sharing:manage", args=[unknown])).status_code == 404
    assert alice_client.post(reverse("sharing:revoke", args=[999999])).status_code == 404


# --- the shared page ------------------------------------------------------------------------


def test_the_shared_page_opens_logged_out_and_shows_no_owner_data(
    analysis: Analysis, alice: Any
) -> None:
    _, token = share(analysis)
    response = Client().get(shared_url(token))
    assert response.status_code == 200
    html = response.content.decode()
    assert "shared findings" in html  # the result itself is there
    assert alice.username not in html
    assert alice.email not in html
    assert "alice-private-inbox" not in html  # the owner's filename is theirs
    # Read-only: no delete, re-run, share or envelope form.
    for name in ("reports:delete", "reports:rerun", "reports:envelope", "sharing:manage"):
        assert reverse(name, args=[analysis.pk]) not in html, name
    assert "<script>" not in html
    assert "style=" not in html


def test_the_shared_page_keeps_its_token_private(analysis: Analysis) -> None:
    _, token = share(analysis)
    response = Client().get(shared_url(token))
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]
    assert "no-store" in response["Cache-Control"]


def test_the_shared_page_is_read_only_for_the_owner_too(
    alice_client: Client, analysis: Analysis
) -> None:
    _, token = share(analysis)
    html = alice_client.get(shared_url(token)).content.decode()
    assert reverse("reports:delete", args=[analysis.pk]) not in html


def test_an_expired_link_is_404(analysis: Analysis) -> None:
    link, token = share(analysis, days=1)
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for name in ("sharing:view", "sharing:raw", "sharing:report"):
        assert Client().get(reverse(name, args=[token])).status_code == 404, name


def test_a_revoked_link_is_404(analysis: Analysis) -> None:
    link, token = share(analysis)
    services.share_link_revoke(link=link)
    for name in ("sharing:view", "sharing:raw", "sharing:report"):
        assert Client().get(reverse(name, args=[token])).status_code == 404, name


def test_an_unknown_token_is_404(analysis: Analysis) -> None:
    _, token = share(analysis)
    client = Client()
    assert (
        client.get(shared_url(token[:-1] + ("A" if token[-1] != "A" else "B"))).status_code == 404
    )
    assert client.get("/shared/short/").status_code == 404
    assert client.get("/shared/" + "a" * 100 + "/").status_code == 404


def test_deleting_the_analysis_deletes_its_links(analysis: Analysis) -> None:
    _, token = share(analysis)
    report_services.analysis_delete(analysis=analysis)
    assert not ShareLink.objects.exists()
    assert Client().get(shared_url(token)).status_code == 404


# --- downloads through the token ----------------------------------------------------------


def test_the_raw_message_downloads_with_the_token(analysis: Analysis) -> None:
    _, token = share(analysis)
    response = Client().get(reverse("sharing:raw", args=[token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response.content == MESSAGE
    disposition = response["Content-Disposition"]
    assert disposition == f'attachment; filename="message-{analysis.sha256[:12]}.eml"'
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_json_report_downloads_with_the_token(analysis: Analysis) -> None:
    _, token = share(analysis)
    response = Client().get(reverse("sharing:report", args=[token]))
    assert response.status_code == 200
    run = AnalysisRun.objects.get(analysis=analysis)
    assert response.json() == run.report
    assert "attachment" in response["Content-Disposition"]


def test_no_report_before_the_first_run(alice: Any) -> None:
    queued = report_services.analysis_submit(raw=MESSAGE, owner=alice, enqueue=False)
    _, token = share(queued)
    assert Client().get(reverse("sharing:report", args=[token])).status_code == 404
    assert Client().get(reverse("sharing:raw", args=[token])).status_code == 200


def test_links_of_one_analysis_do_not_open_another(alice: Any, analysis: Analysis) -> None:
    other = report_services.analysis_submit(
        raw=b"Subject: other\r\n\r\nx\r\n", owner=alice, enqueue=False
    )
    _, token = share(other)
    assert Client().get(reverse("sharing:raw", args=[token])).content != MESSAGE


def test_a_share_link_lasts_1_to_365_days(analysis: Analysis) -> None:
    for days in (0, 366):
        with pytest.raises(ValueError):
            share(analysis, days=days)
