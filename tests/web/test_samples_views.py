"""The "Try a sample" gallery: the page, and analysing a sample as a visitor or a user."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from dkim2web.reports.models import Analysis
from dkim2web.reports.selectors import ANON_SESSION_KEY
from dkim2web.samples.gallery import SAMPLES


def test_the_gallery_lists_every_sample_with_a_post_button(client: Client) -> None:
    response = client.get(reverse("samples:gallery"))
    assert response.status_code == 200
    assert "samples/gallery.html" in [t.name for t in response.templates]
    body = response.content.decode()
    for sample in SAMPLES:
        assert sample.title in body
        assert f'action="{reverse("samples:run", args=[sample.slug])}"' in body
    assert body.count('method="post"') == len(SAMPLES)
    assert body.count("Analyse this sample") == len(SAMPLES)
    assert body.count("csrfmiddlewaretoken") == len(SAMPLES)


@pytest.mark.django_db
def test_an_anonymous_visitor_gets_the_analysis_in_their_session(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("samples:run", args=["replayed"]))
    analysis = Analysis.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:detail", args=[analysis.id])
    assert client.session[ANON_SESSION_KEY] == [str(analysis.id)]
    assert analysis.owner is None
    assert (analysis.filename, analysis.mail_from, analysis.rcpt_to) == (
        "sample-replayed.eml",
        "<bob@forwarder.example>",
        ["<carol@inbox.example>"],
    )
    assert analysis.envelope_source == Analysis.EnvelopeSource.USER
    # make run has no broker: the task ran in-process after the commit.
    assert analysis.status == Analysis.Status.DONE, analysis.error
    run = analysis.runs.get()
    assert (run.result, run.document["dkim2"]["result"]) == ("fail", "fail")


@pytest.mark.django_db
def test_a_second_sample_is_added_to_the_session_list(client: Client) -> None:
    client.post(reverse("samples:run", args=["clean-list"]))
    client.post(reverse("samples:run", args=["expired"]))
    ids = [str(pk) for pk in Analysis.objects.order_by("created_at").values_list("pk", flat=True)]
    assert client.session[ANON_SESSION_KEY] == ids


@pytest.mark.django_db
def test_a_logged_in_user_owns_the_analysis(alice: Any, alice_client: Client) -> None:
    response = alice_client.post(reverse("samples:run", args=["clean-list"]))
    analysis = Analysis.objects.get()
    assert response["Location"] == reverse("reports:detail", args=[analysis.id])
    assert analysis.owner == alice
    assert ANON_SESSION_KEY not in alice_client.session


@pytest.mark.django_db
def test_every_kind_of_result_within_seconds(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    started = time.monotonic()
    for sample in SAMPLES:
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(reverse("samples:run", args=[sample.slug])).status_code == 302
    elapsed = time.monotonic() - started
    runs = {a.filename: a.runs.get() for a in Analysis.objects.all()}
    assert {name: run.document["dkim2"]["result"] for name, run in runs.items()} == {
        "sample-clean-list.eml": "pass",
        "sample-list-without-recipe.eml": "fail",
        "sample-replayed.eml": "fail",
        "sample-tampered.eml": "fail",
        "sample-expired.eml": "fail",
        "sample-broken-custody.eml": "fail",
        "sample-real-mail.eml": "pass",
        "sample-groups-mldsa44.eml": "pass",
        "sample-mixed-revisions.eml": "fail",
    }
    # The whole message: DMARC passes through the DKIM2 chain, or fails with it.
    assert {name: run.result for name, run in runs.items()} == {
        "sample-clean-list.eml": "pass",
        "sample-list-without-recipe.eml": "fail",
        "sample-replayed.eml": "fail",
        "sample-tampered.eml": "fail",
        "sample-expired.eml": "fail",
        "sample-broken-custody.eml": "fail",
        "sample-real-mail.eml": "pass",
        "sample-groups-mldsa44.eml": "pass",
        "sample-mixed-revisions.eml": "fail",
    }
    assert elapsed < 10


@pytest.mark.django_db
def test_running_a_sample_needs_post(client: Client) -> None:
    assert client.get(reverse("samples:run", args=["clean-list"])).status_code == 405
    assert not Analysis.objects.exists()


@pytest.mark.django_db
def test_an_unknown_sample_is_404(client: Client) -> None:
    assert client.post(reverse("samples:run", args=["no-such-sample"])).status_code == 404
    assert not Analysis.objects.exists()


@pytest.mark.django_db
def test_the_form_needs_its_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("samples:run", args=["clean-list"])).status_code == 403
    assert not Analysis.objects.exists()


@pytest.mark.django_db
@override_settings(DKIM2WEB_SAMPLES_ENABLED=False)
def test_the_gallery_can_be_turned_off(client: Client) -> None:
    assert client.get(reverse("samples:gallery")).status_code == 404
    assert client.post(reverse("samples:run", args=["clean-list"])).status_code == 404
    assert not Analysis.objects.exists()


@pytest.mark.django_db
def test_the_visitor_opens_the_report_and_nobody_else_can(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        location = client.post(reverse("samples:run", args=["replayed"]))["Location"]
    page = client.get(location)
    assert page.status_code == 200
    assert "RCPT TO &lt;carol@inbox.example&gt; did not match" in page.content.decode()
    assert Client().get(location).status_code == 404
