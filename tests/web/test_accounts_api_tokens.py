"""API tokens on the account page: created once-visible, stored hashed, revoked by POST."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dkim2web.accounts import services
from dkim2web.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_the_account_page_lists_only_the_users_tokens(alice: Any, bob: Any) -> None:
    services.api_token_create(user=alice, name="alice laptop")
    services.api_token_create(user=bob, name="bob server")
    client = Client()
    client.force_login(alice)
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "alice laptop" in html
    assert "bob server" not in html
    # The only script is the project's own static file (copy buttons), never inline.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/dkim2web/page.js" defer>']
    assert "style=" not in html


def test_creating_a_token_shows_it_once_and_stores_only_its_hash(
    alice_client: Client, alice: Any
) -> None:
    response = alice_client.post(reverse("accounts:token_create"), {"name": "ci", "expires_in": ""})
    assert response.status_code == 200
    key = response.context["new_key"]
    assert len(key) == 43  # secrets.token_urlsafe(32)
    assert key in response.content.decode()
    assert "no-store" in response.headers["Cache-Control"]

    token = ApiToken.objects.get(user=alice)
    assert token.name == "ci"
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    assert token.expires_at is None
    assert not ApiToken.objects.filter(key_hash=key).exists()

    # The next visit shows the prefix, never the token again.
    html = alice_client.get(reverse("accounts:profile")).content.decode()
    assert token.prefix in html
    assert key not in html


def test_a_token_can_be_made_to_expire(alice_client: Client, alice: Any) -> None:
    alice_client.post(reverse("accounts:token_create"), {"name": "short", "expires_in": "30"})
    token = ApiToken.objects.get(user=alice)
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)


def test_a_token_needs_a_name(alice_client: Client, alice: Any) -> None:
    response = alice_client.post(reverse("accounts:token_create"), {"name": ""})
    assert response.status_code == 400
    assert response.context["token_form"].errors["name"]
    assert not ApiToken.objects.filter(user=alice).exists()


def test_creating_a_token_takes_a_post(alice_client: Client) -> None:
    assert alice_client.get(reverse("accounts:token_create")).status_code == 405


def test_revoking_a_token(alice_client: Client, alice: Any) -> None:
    token, _ = services.api_token_create(user=alice, name="old")
    response = alice_client.post(reverse("accounts:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.state == "revoked"
    assert "revoked" in alice_client.get(reverse("accounts:profile")).content.decode()


def test_revoking_twice_keeps_the_first_time(alice_client: Client, alice: Any) -> None:
    token, _ = services.api_token_create(user=alice, name="old")
    alice_client.post(reverse("accounts:token_revoke", args=[token.pk]))
    token.refresh_from_db()
    first = token.revoked_at
    alice_client.post(reverse("accounts:token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at == first


def test_revoking_takes_a_post(alice_client: Client, alice: Any) -> None:
    token, _ = services.api_token_create(user=alice, name="old")
    assert alice_client.get(reverse("accounts:token_revoke", args=[token.pk])).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_another_user_cannot_revoke_alices_token(alice: Any, bob: Any) -> None:
    token, _ = services.api_token_create(user=alice, name="alice's")
    client = Client()
    client.force_login(bob)
    response = client.post(reverse("accounts:token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_anon_cannot_revoke(alice: Any) -> None:
    token, _ = services.api_token_create(user=alice, name="alice's")
    response = Client().post(reverse("accounts:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_states(alice: Any) -> None:
    active, _ = services.api_token_create(user=alice, name="a")
    expired, _ = services.api_token_create(
        user=alice, name="b", expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoked, _ = services.api_token_create(user=alice, name="c")
    services.api_token_revoke(token=revoked)
    assert [active.state, expired.state, revoked.state] == ["active", "expired", "revoked"]


def test_authenticate_accepts_only_usable_tokens(alice: Any) -> None:
    _, key = services.api_token_create(user=alice, name="a")
    token = services.api_token_authenticate(key=key)
    assert token is not None
    assert token.user == alice
    assert token.last_used_at is not None

    assert services.api_token_authenticate(key=key + "x") is None
    assert services.api_token_authenticate(key="") is None

    _, expired_key = services.api_token_create(
        user=alice, name="b", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.api_token_authenticate(key=expired_key) is None

    alice.is_active = False
    alice.save()
    assert services.api_token_authenticate(key=key) is None
