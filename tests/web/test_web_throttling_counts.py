"""The rate limits' counts in Redis: a check only reads, each request counted adds one, and the
counts are django-ratelimit's own (its window and key), so that its get_usage() reads them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.test import RequestFactory, override_settings
from django_ratelimit.core import get_usage

from dkim2web import throttling

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_cache(require_redis: str) -> Iterator[redis.Redis]:
    """The default cache on the test Redis database, as settings.py builds it for CACHE_URL."""
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
        try:
            yield server
        finally:
            server.flushdb()


def counts(server: redis.Redis) -> list[int]:
    return [int(server.get(key) or 0) for key in server.scan_iter(match="dkim2web:*:rl:*")]


def test_a_check_reads_and_writes_nothing(redis_cache: redis.Redis, settings: Any) -> None:
    settings.DKIM2WEB_RATE_API_INVALID_TOKENS = "3/h"
    request = RequestFactory().get("/api/analyses", REMOTE_ADDR="192.0.2.7")
    assert [throttling.API_INVALID_TOKENS.check(request) for _ in range(5)] == [None] * 5
    assert counts(redis_cache) == []


def test_each_request_counted_adds_one_where_django_ratelimit_reads_it(
    redis_cache: redis.Redis, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = float(int(time.time()))
    monkeypatch.setattr(time, "time", lambda: now)  # the windows' clock stands still
    settings.DKIM2WEB_RATE_API_INVALID_TOKENS = "3/h"
    rule = throttling.API_INVALID_TOKENS
    request = RequestFactory().get("/api/analyses", REMOTE_ADDR="192.0.2.7")
    assert [rule.hit(request) for _ in range(3)] == [None, None, None]
    assert counts(redis_cache) == [3]
    usage = get_usage(
        request, group=rule.group, key=throttling._address_key, rate="3/h", increment=False
    )
    assert usage is not None and usage["count"] == 3
    assert rule.check(request) is not None  # used up: refused before counting
    refusal = rule.hit(request)
    assert refusal is not None
    assert (refusal.limit, refusal.period) == (3, 3600)
    assert refusal.retry_after == usage["time_left"] + 1
    assert counts(redis_cache) == [4]
    other = RequestFactory().get("/api/analyses", REMOTE_ADDR="192.0.2.8")
    assert rule.check(other) is None
    assert sorted(counts(redis_cache)) == [4]
