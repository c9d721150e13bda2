"""Sign-up, log in and log out, with Django's forms and views."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

STRONG = "wide-Quartz-ledger-42"


def logged_in_user(client: Client) -> Any:
    return client.session.get("_auth_user_id")


def test_the_signup_page_shows_the_form() -> None:
    response = Client().get(reverse("accounts:signup"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password1"' in response.content
    assert b'name="password2"' in response.content


def test_signing_up_creates_the_user_and_logs_them_in() -> None:
    client = Client()
    response = client.post(
        reverse("accounts:signup"),
        {"username": "carol", "password1": STRONG, "password2": STRONG},
    )
    assert response.status_code == 302
    assert response.url == resolve_url(settings.LOGIN_REDIRECT_URL)
    user = get_user_model().objects.get(username="carol")
    assert user.check_password(STRONG)
    assert logged_in_user(client) == str(user.pk)


def test_signing_up_follows_a_local_next_but_not_another_site() -> None:
    client = Client()
    response = client.post(
        reverse("accounts:signup"),
        {"username": "carol", "password1": STRONG, "password2": STRONG, "next": "/accounts/"},
    )
    assert response.url == "/accounts/"

    other = Client()
    response = other.post(
        reverse("accounts:signup"),
        {
            "username": "dave",
            "password1": STRONG,
            "password2": STRONG,
            "next": "https://evil.example/",
        },
    )
    assert response.url == resolve_url(settings.LOGIN_REDIRECT_URL)


def test_mismatched_passwords_show_the_form_again() -> None:
    response = Client().post(
        reverse("accounts:signup"),
        {"username": "carol", "password1": STRONG, "password2": STRONG + "x"},
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="carol").exists()
    assert response.context["form"].errors


def test_a_weak_password_is_refused() -> None:
    response = Client().post(
        reverse("accounts:signup"),
        {"username": "carol", "password1": "password", "password2": "password"},
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="carol").exists()


def test_a_taken_username_is_refused(alice: Any) -> None:
    response = Client().post(
        reverse("accounts:signup"),
        {"username": "alice", "password1": STRONG, "password2": STRONG},
    )
    assert response.status_code == 200
    assert get_user_model().objects.filter(username="alice").count() == 1


def test_a_logged_in_user_is_sent_from_signup_to_the_account_page(alice_client: Client) -> None:
    response = alice_client.get(reverse("accounts:signup"))
    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")


def test_the_login_page_shows_the_form() -> None:
    response = Client().get(reverse("accounts:login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_logging_in_with_the_right_password(alice: Any) -> None:
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": "alice", "password": "alice-pw-1"}
    )
    assert response.status_code == 302
    assert response.url == resolve_url(settings.LOGIN_REDIRECT_URL)
    assert logged_in_user(client) == str(alice.pk)


def test_logging_in_follows_next(alice: Any) -> None:
    client = Client()
    response = client.post(
        reverse("accounts:login"),
        {"username": "alice", "password": "alice-pw-1", "next": reverse("accounts:profile")},
    )
    assert response.url == reverse("accounts:profile")


def test_logging_in_with_a_wrong_password_fails(alice: Any) -> None:
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert logged_in_user(client) is None
    assert response.context["form"].errors


def test_logging_out_takes_a_post(alice_client: Client) -> None:
    response = alice_client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response.url == resolve_url(settings.LOGOUT_REDIRECT_URL)
    assert logged_in_user(alice_client) is None


def test_a_get_does_not_log_out(alice_client: Client, alice: Any) -> None:
    response = alice_client.get(reverse("accounts:logout"))
    assert response.status_code == 405
    assert logged_in_user(alice_client) == str(alice.pk)


def test_the_account_pages_need_a_login() -> None:
    client = Client()
    for name in ("accounts:profile",):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    response = client.post(reverse("accounts:token_create"), {"name": "x"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_the_forms_carry_no_inline_script_or_style() -> None:
    client = Client()
    for name in ("accounts:signup", "accounts:login"):
        html = client.get(reverse(name)).content.decode()
        # The only script is the project's own static file (copy buttons), never inline.
        assert re.findall(r"<script[^>]*>", html) == [
            '<script src="/static/dkim2web/page.js" defer>'
        ]
        assert "style=" not in html
