"""The upload request's cheaper paths give what the general ones gave (issue #13).

* An API token found by its hand-written query is the row the ORM reads, field for field
  (dates converted as this database's converters do), with only its owner's id loaded.
* An analysis's API and page URLs, made from a template reversed once, are those reverse()
  makes, under a script prefix too.
* The Celery settings written out for speed are Celery's own defaults.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from dkim2web.accounts import services
from dkim2web.accounts.models import ApiToken
from dkim2web.api import present
from dkim2web.reports.models import Analysis

pytestmark = pytest.mark.django_db


def test_token_found_by_its_query_is_the_row_the_orm_reads(alice: Any) -> None:
    expires = timezone.now() + timedelta(days=3)
    created, key = services.api_token_create(user=alice, name="ci", expires_at=expires)
    token = services.api_token_authenticate(key=key)
    assert token is not None
    stored = ApiToken.objects.get(pk=created.pk)
    for field in ApiToken._meta.concrete_fields:
        assert getattr(token, field.attname) == getattr(stored, field.attname), field.name
    assert token.expires_at == expires and token.expires_at.tzinfo is not None
    assert token._state.db == "default" and not token._state.adding
    # The owner: its id and is_active only; anything else is read when used.
    assert token.user.pk == alice.pk
    assert token.user.get_deferred_fields() >= {"username", "password"}
    assert token.user.username == "alice"


def test_token_refusals_unchanged(alice: Any) -> None:
    _, key = services.api_token_create(user=alice, name="a")
    revoked, revoked_key = services.api_token_create(user=alice, name="r")
    services.api_token_revoke(token=revoked)
    _, expired_key = services.api_token_create(
        user=alice, name="e", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.api_token_authenticate(key=key) is not None
    for refused in (revoked_key, expired_key, key + "x", "", "x" * 201):
        assert services.api_token_authenticate(key=refused) is None


@pytest.mark.parametrize("prefix", ["/", "/dkim2web/"])
def test_analysis_urls_are_those_reverse_makes(prefix: str) -> None:
    request = RequestFactory().get("/api/analyses", HTTP_HOST="testserver")
    set_script_prefix(prefix)
    try:
        for pk in (uuid.uuid4(), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)):
            analysis = Analysis(pk=pk)
            urls = present.analysis_urls(request, analysis)
            assert urls == {
                "url": request.build_absolute_uri(reverse("api:analysis", args=[pk])),
                "html_url": request.build_absolute_uri(reverse("reports:detail", args=[pk])),
            }
            assert urls["url"].startswith(f"http://testserver{prefix}api/analyses/")
    finally:
        set_script_prefix("/")


def test_celery_settings_written_out_are_celerys_defaults() -> None:
    from celery.app.defaults import DEFAULTS

    from dkim2web.celery import app

    for name in ("task_repr_maxlevels", "task_send_sent_event", "broker_pool_acquire_timeout"):
        assert app.conf[name] == DEFAULTS[name], name
