"""GET /healthz: 200 when the database (and the broker, when configured) answer, else 503."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

from dkim2web import health

REPO = Path(__file__).resolve().parent.parent.parent


def _closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db
def test_healthy_without_a_broker() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("status", "database", "broker", "cache")} == {
        "status": "ok",
        "database": "ok",
        "broker": "not configured",
        "cache": "local",
    }
    assert isinstance(body["took_ms"], float)


@pytest.mark.django_db
def test_no_session_no_cookie_never_cached_get_and_head_only() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.get("/healthz")
    assert response.cookies == {}
    assert "no-store" in response["Cache-Control"]
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_503_when_the_database_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    class DeadCursor:
        def __enter__(self) -> DeadCursor:
            raise OperationalError('connection to server at "127.0.0.1", port 1 failed')

        def __exit__(self, *exc: Any) -> None:
            return None

    monkeypatch.setattr(health.connection, "cursor", lambda: DeadCursor())
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == ("error", "error: OperationalError")
    assert "127.0.0.1" not in response.content.decode()  # details go to the log only


@pytest.mark.redis
@pytest.mark.django_db
def test_the_broker_is_pinged_when_configured(require_redis: str) -> None:
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=require_redis):
        response = Client().get("/healthz")
    assert (response.status_code, response.json()["broker"]) == (200, "ok")


@pytest.mark.django_db
def test_a_broker_that_is_down_fails_the_check_unless_told_otherwise() -> None:
    down = f"redis://127.0.0.1:{_closed_loopback_port()}/0"
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=down):
        response = Client().get("/healthz")
        assert response.status_code == 503
        assert response.json()["broker"] == "error: ConnectionError"
        with override_settings(DKIM2WEB_HEALTHZ_REQUIRES_BROKER=False):
            informational = Client().get("/healthz")
    assert informational.status_code == 200
    assert informational.json()["broker"] == "error: ConnectionError"


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=[r"^healthz$"])
def test_the_https_redirect_spares_the_load_balancer() -> None:
    client = Client()
    assert client.get("/").status_code == 301
    assert client.get("/healthz").status_code == 200


PROBE = """
import json
from django.test import Client
response = Client().get("/healthz")
print(response.status_code, json.dumps(response.json()))
"""


def test_503_from_a_process_whose_database_is_a_closed_port() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DATABASE_URL=f"postgres://dkim2web@127.0.0.1:{_closed_loopback_port()}/dkim2web",
        DJANGO_DEBUG="1",
        DJANGO_ALLOWED_HOSTS="testserver",
        CELERY_BROKER_URL="",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    status, _, body = result.stdout.strip().splitlines()[-1].partition(" ")
    assert (status, json.loads(body)["database"]) == ("503", "error: OperationalError")
    assert json.loads(body)["broker"] == "not configured"
