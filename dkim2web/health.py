"""``GET /healthz`` for the load balancer: can this web process reach what it needs?

200 ``{"status": "ok", "database": "ok", "broker": "ok" | "not configured", "cache": ...}``
when the database answers ``SELECT 1`` and the broker (when one is configured) answers a
PING; 503 with ``"status": "error"`` otherwise. The broker may be made informational
(``DKIM2WEB_HEALTHZ_REQUIRES_BROKER=0``): uploads are stored while Redis is down, and the
sweep publishes them later. The cache never fails the check (a cache that is down costs
DNS queries, not correctness).

Cheap on purpose: no migration check, no session, no authentication, no CSRF (GET and
HEAD only), never cached. Errors name the exception class only; the detail goes to the
log, not to whoever can reach the endpoint. Exempt from the HTTPS redirect (settings), but
not from ALLOWED_HOSTS: the load balancer's Host header must be listed there.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

OK = "ok"
NOT_CONFIGURED = "not configured"
# Seconds a broker or cache check may take before it counts as down.
CHECK_TIMEOUT = 2.0


def _error(what: str, exc: BaseException) -> str:
    logger.warning("healthz: %s check failed: %s: %s", what, type(exc).__name__, exc)
    return f"error: {type(exc).__name__}"


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _error("database", exc)
    return OK


@functools.cache
def _redis_client(url: str) -> Any:
    # One client (and connection pool) per process, reconnecting by itself after an outage.
    import redis

    return redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
    )


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return NOT_CONFIGURED
    url: str = settings.CELERY_BROKER_URL
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            _redis_client(url).ping()
        else:  # another kombu transport: connect once through Celery
            from dkim2web.celery import app

            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)
    except Exception as exc:
        return _error("broker", exc)
    return OK


def check_cache() -> str:
    cache = caches["default"]
    if not type(cache).__name__.startswith("Redis"):
        return "local"
    try:
        cache.get("healthz")
    except Exception as exc:
        return _error("cache", exc)
    return OK


@csrf_exempt  # nothing to protect; a stray POST gets 405, not a CSRF page
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    database = check_database()
    broker = check_broker()
    healthy = database == OK and (
        broker in (OK, NOT_CONFIGURED) or not settings.DKIM2WEB_HEALTHZ_REQUIRES_BROKER
    )
    body = {
        "status": OK if healthy else "error",
        "database": database,
        "broker": broker,
        "cache": check_cache(),
        "took_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if healthy else 503)
