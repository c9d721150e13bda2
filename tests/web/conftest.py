"""Personas for the Django tests: alice owns things, bob is another user, anon is logged out.

Every test starts with the key lookup's process-local answer cache empty, as a new worker
process does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client


@pytest.fixture(autouse=True)
def _fresh_near_key_cache() -> None:
    from dkim2web.reports.lookup import clear_near_cache

    clear_near_cache()


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


@pytest.fixture
def not_eager() -> Iterator[None]:
    """Celery as in production: tasks are published, not run in-process."""
    from dkim2web.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = saved
