"""Throttling on the cache production uses: Django's RedisCache (CACHE_URL), where axes'
counts and the rate windows must live for every web process to share them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from axes.handlers.proxy import AxesProxyHandler
from django.test import Client, override_settings
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def redis_cache(require_redis: str) -> Iterator[redis.Redis]:
    """The default cache on the test Redis database, as settings.py builds it for CACHE_URL;
    the database is emptied before and after."""
    server = redis.Redis.from_url(require_redis)
    server.flushdb()
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": require_redis,
            "KEY_PREFIX": "dkim2web",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=caches):
        AxesProxyHandler.get_implementation(force=True)  # it keeps its cache object
        try:
            yield server
        finally:
            server.flushdb()
    AxesProxyHandler.get_implementation(force=True)


def test_the_log_in_lockout_is_kept_in_redis(
    redis_cache: redis.Redis, alice: Any, settings: Any
) -> None:
    settings.DKIM2WEB_LOGIN_FAILURE_LIMIT = 3
    url = reverse("accounts:login")
    answers = [
        Client().post(url, {"username": "alice", "password": p})
        for p in ("nope", "nope", "nope", "alice-pw-1")
    ]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    keys = sorted(redis_cache.scan_iter(match="dkim2web:*:axes-*"))
    assert len(keys) == 2  # the account's count and the address's
    assert all(0 < redis_cache.ttl(key) <= 900 for key in keys)
    assert [int(redis_cache.get(key) or 0) for key in keys] == [4, 4]

    for key in keys:  # what docs/operations.md says to do to lift it early
        redis_cache.delete(key)
    assert Client().post(url, {"username": "alice", "password": "alice-pw-1"}).status_code == 302


def test_a_rate_limit_is_kept_in_redis(redis_cache: redis.Redis, settings: Any) -> None:
    settings.DKIM2WEB_RATE_SIGNUP = "2/h"
    strong = "wide-Quartz-ledger-42"
    statuses = [
        Client()
        .post(
            reverse("accounts:signup"),
            {"username": f"user{n}", "password1": strong, "password2": strong},
        )
        .status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]
    keys = list(redis_cache.scan_iter(match="dkim2web:*:rl:*"))
    assert len(keys) == 1
    assert int(redis_cache.get(keys[0]) or 0) == 3
