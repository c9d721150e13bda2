"""The result page says what changed a message whose hash fails, or that it could not be
identified: never "no changes" (issue #12, point 2).  The samples are signed now and run
in-process, as a visitor running them from the gallery."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from dkim2web.reports.change_views import chain_change_views
from dkim2web.reports.models import Analysis

NO_CHANGES = "No changes: every hop passed the message on as it received it"


def _result_page(client: Client, slug: str, capture: Any) -> str:
    with capture(execute=True):
        assert client.post(reverse("samples:run", args=[slug])).status_code == 302
    analysis = Analysis.objects.get()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    response = client.get(reverse("reports:detail", args=[analysis.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_tampered_sample_says_the_body_changed_in_a_way_that_could_not_be_identified(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    page = _result_page(client, "tampered", django_capture_on_commit_callbacks)
    changes = page[page.index('<section id="changes"') : page.index('<section id="dkim1"')]
    assert NO_CHANGES not in changes
    assert (
        '<h3>m=1: body, recorded by <a href="#hop-1">hop 1</a>: changed in a way that could '
        "not be identified</h3>"
    ) in changes
    assert (
        "<strong>Not identified.</strong> The body changed in a way that could not be "
        "identified after hop 1 (billing.example) signed Message-Instance m=1: none of the 14 "
        "usual edits tried (footers, banners and MIME parts added, line ends, dot-stuffing, "
        "whitespace, wrapped lines and transfer encodings) makes the body hash "
        "Message-Instance m=1 records match, so something else rewrote it."
    ) in changes
    assert '<pre class="udiff mono">' not in changes


@pytest.mark.django_db
def test_the_list_without_recipe_sample_shows_the_footer_the_list_appended(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    page = _result_page(client, "list-without-recipe", django_capture_on_commit_callbacks)
    changes = page[page.index('<section id="changes"') : page.index('<section id="dkim1"')]
    assert NO_CHANGES not in changes
    assert (
        '<h3>m=1: body, recorded by <a href="#hop-1">hop 1</a>: changed without a recipe</h3>'
    ) in changes
    sentence = (
        "The body changed after hop 2 (lists.example), the last hop to vouch for "
        "Message-Instance m=1, signed it: a footer of 3 lines was appended at the end of the "
        'body, beginning "-- ". Undoing this makes the body hash Message-Instance m=1 records '
        "match. It was made by hop 2 (lists.example) after signing, or a mail system after "
        "it, without recording it (a hop that changes a message adds a Message-Instance whose "
        "recipe undoes the change)."
    )
    assert f"<strong>Found what changed.</strong> {escape(sentence)}" in changes
    assert (
        '<span class="l-context"> Alice</span><span class="l-add">+-- </span>'
        '<span class="l-add">+ops-talk mailing list</span>'
        '<span class="l-add">+unsubscribe: ops-talk-leave@lists.example</span></pre>'
    ) in changes


@pytest.mark.django_db
def test_the_real_mail_sample_shows_the_footer_that_broke_the_dkim1_body_hash(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    page = _result_page(client, "real-mail", django_capture_on_commit_callbacks)
    dkim1 = page[page.index('<section id="dkim1"') : page.index('<section id="arc"')]
    sentence = (
        "The body changed after DKIM-Signature 1 (d=origin.example) was made: a footer of 3 "
        'lines was appended at the end of the body, beginning "-- ". Undoing this makes its '
        "body hash (bh=) match. It was made by a mail system that handled the message after "
        "it was signed (a mailing list, a forwarder or a security gateway)."
    )
    assert f"<strong>Found what changed.</strong> {escape(sentence)}" in dkim1
    assert '<span class="l-add">+ops-talk mailing list</span>' in dkim1


def test_a_report_stored_before_the_search_still_does_not_say_no_changes() -> None:
    chain = {
        "instances": [
            {
                "m": 1,
                "introduced_by_hop": 1,
                "checks": [
                    {"part": "header", "match": True},
                    {"part": "body", "match": False},
                ],
            }
        ]
    }
    (view,) = chain_change_views(chain)
    assert (view.part, view.outcome, view.instance, view.hop) == ("body", "unsearched", 1, 1)
    assert view.sentence == (
        "The body of Message-Instance m=1 changed in a way that could not be identified: its "
        "body hash does not match, and this run was made before dkim2web searched for what "
        "changed. Re-run the analysis to search."
    )
    passing = {"instances": [{"m": 1, "checks": [{"part": "body", "match": True}]}]}
    assert chain_change_views(passing) == []
