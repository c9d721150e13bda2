"""Personas for the Django tests: alice owns things, bob is another user, anon is logged out."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", "alice@example.org", "alice-pw-1")


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", "bob@example.org", "bob-pw-1")


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client
