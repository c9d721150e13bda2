"""The admin site (issue #11, finding 4): at DKIM2WEB_ADMIN_PATH only; admin/ under make run
(DEBUG on), nowhere with DEBUG off unless set. Before: /admin/ answered with DEBUG off too."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import clear_url_caches

import dkim2web.urls
from tests.web.throttling_support import empty_cache, load_settings

pytestmark = pytest.mark.django_db


def _reload_urls() -> None:
    importlib.reload(dkim2web.urls)
    clear_url_caches()


@pytest.fixture
def admin_at() -> Iterator[Any]:
    """Serve the URLs as a process started with DKIM2WEB_ADMIN_PATH=<path> would."""
    overrides: list[Any] = []

    def serve(path: str) -> None:
        override = override_settings(DKIM2WEB_ADMIN_PATH=path)
        override.enable()
        overrides.append(override)
        _reload_urls()

    yield serve
    for override in reversed(overrides):
        override.disable()
    _reload_urls()


def test_with_debug_off_there_is_no_admin_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Client().get("/admin/").status_code == 404  # was a 302 to the admin's log-in
    assert Client().get("/admin/login/").status_code == 404
    assert load_settings(monkeypatch).DKIM2WEB_ADMIN_PATH == ""


def test_make_run_has_the_admin_at_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(monkeypatch, DJANGO_DEBUG="1").DKIM2WEB_ADMIN_PATH == "admin/"
    off = load_settings(monkeypatch, DJANGO_DEBUG="1", DKIM2WEB_ADMIN_PATH="off")
    assert off.DKIM2WEB_ADMIN_PATH == ""


@pytest.mark.parametrize(
    ("given", "path"),
    [("staff-7f3a", "staff-7f3a/"), ("/ops/staff-7f3a/", "ops/staff-7f3a/"), ("", ""), ("OFF", "")],
)
def test_the_admin_path_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, given: str, path: str
) -> None:
    loaded = load_settings(monkeypatch, DKIM2WEB_ADMIN_PATH=given)
    assert path == loaded.DKIM2WEB_ADMIN_PATH


@pytest.mark.parametrize("given", ["staff area", "../admin", "a//b", "x?y", "admin/<id>"])
def test_an_admin_path_that_is_not_a_plain_path_stops_the_settings(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match="DKIM2WEB_ADMIN_PATH="):
        load_settings(monkeypatch, DKIM2WEB_ADMIN_PATH=given)


def test_the_admin_answers_at_its_path_and_nowhere_else(admin_at: Any) -> None:
    admin_at("staff-7f3a/")
    response = Client().get("/staff-7f3a/")
    assert response.status_code == 302
    assert response["Location"] == "/staff-7f3a/login/?next=/staff-7f3a/"
    assert Client().get("/admin/").status_code == 404


def test_the_admin_log_in_is_locked_out_like_the_site_log_in(
    admin_at: Any, django_user_model: Any, settings: Any
) -> None:
    settings.DKIM2WEB_LOGIN_FAILURE_LIMIT = 2
    django_user_model.objects.create_superuser("root", "root@example.org", "root-pw-1")
    admin_at("staff-7f3a/")
    empty_cache()
    try:
        login = "/staff-7f3a/login/"
        answers = [
            Client().post(login, {"username": "root", "password": p})
            for p in ("nope", "nope", "root-pw-1")
        ]
    finally:
        empty_cache()
    assert [a.status_code for a in answers] == [200, 429, 429]
    assert answers[2]["Retry-After"] == "900"
