"""API authentication: a bearer token in the Authorization header, and nothing else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dkim2web.accounts import services

pytestmark = pytest.mark.django_db

MESSAGE = b"From: carol@example.com\r\nSubject: hello\r\n\r\nbody\r\n"
PROTECTED = [
    ("get", "api:analyses", ()),
    ("post", "api:analyses", ()),
    ("get", "api:analysis", ("00000000-0000-0000-0000-000000000000",)),
    ("delete", "api:analysis", ("00000000-0000-0000-0000-000000000000",)),
    ("get", "api:raw", ("00000000-0000-0000-0000-000000000000",)),
]


def error_code(response: Any) -> str:
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]["code"]


@pytest.mark.parametrize(("method", "name", "args"), PROTECTED)
def test_no_token_is_401_with_a_bearer_challenge(method: str, name: str, args: Any) -> None:
    response = getattr(Client(), method)(reverse(name, args=args))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="dkim2web"'
    assert error_code(response) == "not_authenticated"


@pytest.mark.parametrize(("method", "name", "args"), PROTECTED)
def test_a_wrong_token_is_401_invalid_token(method: str, name: str, args: Any) -> None:
    response = getattr(Client(), method)(
        reverse(name, args=args), HTTP_AUTHORIZATION="Bearer not-a-token"
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert error_code(response) == "invalid_token"


def test_bearer_and_token_schemes_both_work(alice: Any) -> None:
    _, key = services.api_token_create(user=alice, name="t")
    for header in (f"Bearer {key}", f"Token {key}", f"bearer {key}", f"  Bearer   {key} "):
        response = Client().get(reverse("api:analyses"), HTTP_AUTHORIZATION=header)
        assert response.status_code == 200, header


def test_another_scheme_counts_as_no_token(alice: Any) -> None:
    _, key = services.api_token_create(user=alice, name="t")
    response = Client().get(reverse("api:analyses"), HTTP_AUTHORIZATION=f"Basic {key}")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_a_revoked_token_stops_working(alice: Any) -> None:
    token, key = services.api_token_create(user=alice, name="t")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(reverse("api:analyses")).status_code == 200
    services.api_token_revoke(token=token)
    response = client.get(reverse("api:analyses"))
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


def test_a_token_revoked_on_the_account_page_stops_working(alice: Any) -> None:
    token, key = services.api_token_create(user=alice, name="t")
    browser = Client()
    browser.force_login(alice)
    browser.post(reverse("accounts:token_revoke", args=[token.pk]))
    response = Client().get(reverse("api:analyses"), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401


def test_an_expired_token_is_refused(alice: Any) -> None:
    _, key = services.api_token_create(
        user=alice, name="t", expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = Client().get(reverse("api:analyses"), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


def test_a_token_of_a_deactivated_user_is_refused(alice: Any) -> None:
    _, key = services.api_token_create(user=alice, name="t")
    alice.is_active = False
    alice.save()
    response = Client().get(reverse("api:analyses"), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401


def test_using_a_token_records_when(alice: Any) -> None:
    token, key = services.api_token_create(user=alice, name="t")
    assert token.last_used_at is None
    Client().get(reverse("api:analyses"), HTTP_AUTHORIZATION=f"Bearer {key}")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_session_cookie_is_not_a_credential(alice_client: Client) -> None:
    # The API is CSRF-exempt because it ignores cookies; a logged-in browser gets nothing.
    response = alice_client.get(reverse("api:analyses"))
    assert response.status_code == 401
    response = alice_client.post(
        reverse("api:analyses"), data=MESSAGE, content_type="message/rfc822"
    )
    assert response.status_code == 401


def test_a_token_request_needs_no_csrf_token(alice: Any) -> None:
    _, key = services.api_token_create(user=alice, name="t")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("api:analyses"),
        data=MESSAGE,
        content_type="message/rfc822",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 201


def test_the_schema_needs_no_token() -> None:
    response = Client().get(reverse("api:schema"))
    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"


def test_a_wrong_method_is_405_after_authentication(alice: Any) -> None:
    _, key = services.api_token_create(user=alice, name="t")
    response = Client().put(reverse("api:analyses"), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert error_code(response) == "method_not_allowed"


def test_an_unknown_api_path_is_a_json_404() -> None:
    response = Client().get("/api/nothing-here")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
