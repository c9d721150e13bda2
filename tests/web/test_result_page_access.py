"""Every route that takes an analysis id answers 404 to anyone but its owner, and an
anonymous visitor's analysis belongs to their session alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analysis.resolvers import StaticResolver
from dkim2web.reports import services
from dkim2web.reports.models import Analysis
from dkim2web.reports.selectors import ANON_SESSION_KEY

# (route name, method, extra args); every id-taking route of reports.urls.
ROUTES = [
    ("reports:detail", "get", ()),
    ("reports:status", "get", ()),
    ("reports:raw", "get", ()),
    ("reports:instance", "get", (1,)),
    ("reports:diff", "get", (2,)),
    ("reports:report_json", "get", ()),
    ("reports:authres", "get", ()),
    ("reports:delete", "get", ()),
    ("reports:rerun", "post", ()),
    ("reports:envelope", "post", ()),
    ("reports:returned", "post", ()),
    ("reports:delete", "post", ()),
]
ENVELOPE = {"mail_from": "<a@example.org>", "rcpt_to": "<b@example.net>"}


def finished(raw: bytes, owner: Any) -> Analysis:
    analysis = services.analysis_submit(raw=raw, filename="x.eml", owner=owner, enqueue=False)
    services.analysis_run(analysis_id=analysis.pk, lookup=StaticResolver({}))
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    return analysis


@pytest.fixture
def raw(shared_dir: Path) -> bytes:
    return (shared_dir / "vectors/worked-example/hop2-list-final.eml").read_bytes()


def call(
    client: Client, route: str, method: str, analysis: Analysis, extra: tuple[Any, ...]
) -> int:
    url = reverse(route, args=[analysis.pk, *extra])
    if method == "get":
        return client.get(url).status_code
    return client.post(url, ENVELOPE).status_code


def test_every_id_route_is_listed() -> None:
    from dkim2web.reports.urls import urlpatterns

    with_id = {p.name for p in urlpatterns if "analysis_id" in str(p.pattern)}
    assert with_id == {name.split(":")[1] for name, _, _ in ROUTES}


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "extra"), ROUTES)
def test_another_user_gets_404(
    route: str, method: str, extra: tuple[Any, ...], alice: Any, bob: Any, raw: bytes
) -> None:
    analysis = finished(raw, alice)
    client = Client()
    client.force_login(bob)
    assert call(client, route, method, analysis, extra) == 404
    assert Analysis.objects.filter(pk=analysis.pk, status=Analysis.Status.DONE).exists()
    assert Analysis.objects.count() == 1  # no copy made for bob either


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "extra"), ROUTES)
def test_a_logged_out_visitor_gets_404(
    route: str, method: str, extra: tuple[Any, ...], alice: Any, raw: bytes
) -> None:
    analysis = finished(raw, alice)
    assert call(Client(), route, method, analysis, extra) == 404
    assert Analysis.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "extra"), ROUTES)
def test_an_anonymous_analysis_is_404_outside_its_session(
    route: str, method: str, extra: tuple[Any, ...], alice: Any, raw: bytes
) -> None:
    analysis = finished(raw, None)
    logged_in = Client()
    logged_in.force_login(alice)
    assert call(logged_in, route, method, analysis, extra) == 404
    assert call(Client(), route, method, analysis, extra) == 404


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "extra"), ROUTES)
def test_the_owner_reaches_every_route(
    route: str, method: str, extra: tuple[Any, ...], alice: Any, alice_client: Client, raw: bytes
) -> None:
    analysis = finished(raw, alice)
    assert call(alice_client, route, method, analysis, extra) in (200, 302)


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "extra"), ROUTES)
def test_the_anonymous_session_reaches_every_route(
    route: str, method: str, extra: tuple[Any, ...], raw: bytes
) -> None:
    analysis = finished(raw, None)
    visitor = Client()
    session = visitor.session
    session[ANON_SESSION_KEY] = [str(analysis.pk)]
    session.save()
    assert call(visitor, route, method, analysis, extra) in (200, 302)


@pytest.mark.django_db
def test_a_session_cannot_claim_someone_elses_analysis(alice: Any, raw: bytes) -> None:
    analysis = finished(raw, alice)
    visitor = Client()
    session = visitor.session
    session[ANON_SESSION_KEY] = [str(analysis.pk)]  # a guessed or leaked id
    session.save()
    assert visitor.get(reverse("reports:detail", args=[analysis.pk])).status_code == 404


@pytest.mark.django_db
def test_an_unknown_id_is_404(alice_client: Client) -> None:
    url = reverse("reports:detail", args=["00000000-0000-0000-0000-000000000000"])
    assert alice_client.get(url).status_code == 404
    assert alice_client.get("/analyses/not-a-uuid/").status_code == 404


@pytest.mark.django_db
def test_reanalysing_with_an_envelope_makes_a_new_analysis_for_the_same_owner(
    alice: Any, alice_client: Client, raw: bytes
) -> None:
    analysis = finished(raw, alice)
    response = alice_client.post(reverse("reports:envelope", args=[analysis.pk]), ENVELOPE)
    copy = Analysis.objects.exclude(pk=analysis.pk).get()
    assert response["Location"] == reverse("reports:detail", args=[copy.pk])
    assert (copy.owner, copy.raw_bytes, copy.filename) == (alice, raw, "x.eml")
    assert (copy.mail_from, copy.rcpt_to, copy.envelope_source) == (
        "<a@example.org>",
        ["<b@example.net>"],
        "user",
    )
    assert analysis.runs.count() == 1  # the first analysis is kept as it was


@pytest.mark.django_db
def test_an_anonymous_copy_joins_the_session(raw: bytes) -> None:
    visitor = Client()
    visitor.post(reverse("reports:new"), {"raw_text": "From: a@example.org\r\n\r\nx\r\n"})
    original = Analysis.objects.get()
    Analysis.objects.filter(pk=original.pk).update(status=Analysis.Status.DONE)
    response = visitor.post(reverse("reports:envelope", args=[original.pk]), ENVELOPE)
    copy = Analysis.objects.exclude(pk=original.pk).get()
    assert copy.owner is None
    assert visitor.session[ANON_SESSION_KEY] == [str(original.pk), str(copy.pk)]
    assert visitor.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_an_envelope_without_rcpt_to_is_refused(
    alice: Any, alice_client: Client, raw: bytes
) -> None:
    analysis = finished(raw, alice)
    response = alice_client.post(
        reverse("reports:envelope", args=[analysis.pk]),
        {"mail_from": "<a@example.org>"},
        follow=True,
    )
    assert Analysis.objects.count() == 1
    assert "Give both MAIL FROM and RCPT TO (write &lt;&gt; for a null MAIL FROM)." in (
        response.content.decode()
    )
