"""A shared page offers what the owner's page offers, owner data aside: every rebuilt
instance, the full body diff and the Authentication-Results field, downloaded through the
token (counted by the share-link limit), with neutral file names; without a live token, 404."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dkim2web.reports import services as report_services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.samples.gallery import get_sample
from dkim2web.sharing import services
from tests.web.throttling_support import empty_cache

pytestmark = pytest.mark.django_db

UNKNOWN = "A" * 32


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    empty_cache()
    yield
    empty_cache()


@pytest.fixture
def analysis(alice: Any) -> Analysis:
    """The clean list chain: instance m=1 rebuilt from the list's recipe, m=2 as received."""
    built = get_sample("clean-list").sign_now()
    created = report_services.analysis_submit(
        raw=built.raw,
        owner=alice,
        filename="alice-private-inbox.eml",
        mail_from=built.mail_from,
        rcpt_to=built.rcpt_to,
        enqueue=False,
    )
    report_services.analysis_run(analysis_id=created.pk)
    created.refresh_from_db()
    assert created.status == Analysis.Status.DONE, created.error
    return created


@pytest.fixture
def token(analysis: Analysis, alice: Any) -> str:
    return services.share_link_create(analysis=analysis, created_by=alice, days=7)[1]


def content(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def test_the_shared_page_lists_every_download_the_owner_has(analysis: Analysis, token: str) -> None:
    html = Client().get(reverse("sharing:view", args=[token])).content.decode()
    for m, words in ((1, "rebuilt from the recipes, made by hop 1"), (2, "the newest version")):
        link = reverse("sharing:instance", args=[token, m])
        assert f'<a href="{link}">Instance m={m}</a> <span class="muted">.eml, {words}' in html
    assert f'<a href="{reverse("sharing:authres", args=[token])}">' in html
    assert f'<a href="{reverse("sharing:raw", args=[token])}">' in html
    assert f'<a href="{reverse("sharing:report", args=[token])}">' in html
    # Nothing of the owner's: not their routes, not their filename; and no command lines.
    assert reverse("reports:instance", args=[analysis.pk, 1]) not in html
    assert reverse("reports:authres", args=[analysis.pk]) not in html
    assert "alice-private-inbox" not in html
    assert "dkim2 history" not in html and "manage.py" not in html


@pytest.mark.parametrize("m", [1, 2])
def test_each_instance_downloads_as_the_owner_gets_it(
    analysis: Analysis, token: str, alice_client: Client, m: int
) -> None:
    shared = Client().get(reverse("sharing:instance", args=[token, m]))
    owned = alice_client.get(reverse("reports:instance", args=[analysis.pk, m]))
    assert (shared.status_code, owned.status_code) == (200, 200)
    assert shared["Content-Type"] == "message/rfc822"
    assert content(shared) == content(owned)
    assert shared["Content-Disposition"] == (
        f'attachment; filename="message-{analysis.sha256[:12]}-m{m}.eml"'
    )
    assert shared["Referrer-Policy"] == "no-referrer"
    assert "no-store" in shared["Cache-Control"]


def test_the_authentication_results_field_downloads_as_the_owner_gets_it(
    analysis: Analysis, token: str, alice_client: Client
) -> None:
    shared = Client().get(reverse("sharing:authres", args=[token]))
    owned = alice_client.get(reverse("reports:authres", args=[analysis.pk]))
    assert shared.status_code == 200
    assert content(shared) == content(owned)
    assert content(shared).startswith(b"Authentication-Results: testserver;")
    assert shared["Content-Disposition"] == (
        f'attachment; filename="message-{analysis.sha256[:12]}-authentication-results.txt"'
    )


def test_the_full_diff_downloads_and_the_page_links_it_when_the_diff_was_cut(
    analysis: Analysis, token: str, alice_client: Client
) -> None:
    shared = Client().get(reverse("sharing:diff", args=[token, 2]))
    owned = alice_client.get(reverse("reports:diff", args=[analysis.pk, 2]))
    assert shared.status_code == 200
    diff = content(shared)
    assert diff == content(owned)
    assert diff.startswith(b"--- m=1\n+++ m=2\n")
    assert b"\n+-- \n" in diff  # the list's footer, added between m=1 and m=2
    assert shared["Content-Disposition"] == (
        f'attachment; filename="message-{analysis.sha256[:12]}-m1-m2.diff"'
    )
    link = reverse("sharing:diff", args=[token, 2])
    page = Client().get(reverse("sharing:view", args=[token])).content.decode()
    assert link not in page  # the diff on the page is whole
    run = AnalysisRun.objects.get(analysis=analysis)
    run.report["dkim2"]["diffs"][0]["body_diff_truncated"] = True
    run.save(update_fields=["report"])
    page = Client().get(reverse("sharing:view", args=[token])).content.decode()
    assert f'<a href="{link}">download the full diff</a>' in page


@pytest.mark.parametrize(
    ("name", "extra"), [("sharing:instance", [1]), ("sharing:diff", [2]), ("sharing:authres", [])]
)
def test_without_a_live_token_each_download_is_404(
    analysis: Analysis, token: str, name: str, extra: list[int]
) -> None:
    client = Client()
    assert client.get(reverse(name, args=[token, *extra])).status_code == 200
    assert client.get(reverse(name, args=[UNKNOWN, *extra])).status_code == 404
    link = services.share_link_create(analysis=analysis, created_by=analysis.owner, days=1)
    services.share_link_revoke(link=link[0])
    assert client.get(reverse(name, args=[link[1], *extra])).status_code == 404


def test_an_instance_that_does_not_exist_is_404(token: str) -> None:
    assert Client().get(reverse("sharing:instance", args=[token, 9])).status_code == 404
    assert Client().get(reverse("sharing:diff", args=[token, 9])).status_code == 404


def test_the_downloads_count_against_the_share_link_limit(token: str, settings: Any) -> None:
    settings.DKIM2WEB_RATE_SHARE_LINKS = "3/h"
    client = Client()
    answers = [
        client.get(reverse(name, args=[token, *extra])).status_code
        for name, extra in (
            ("sharing:instance", [1]),
            ("sharing:diff", [2]),
            ("sharing:authres", []),
            ("sharing:instance", [2]),
        )
    ]
    assert answers == [200, 200, 200, 429]
    # A guessed token costs the same as a known one.
    assert client.get(reverse("sharing:authres", args=[UNKNOWN])).status_code == 429
