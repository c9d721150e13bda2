"""docker-compose.yml and the Dockerfile describe the stack (docker cannot run here).

The file is read with PyYAML (the dev extra) and its structure asserted; `docker compose
config` (or the older `docker-compose config`), which validates it against the Compose
schema without an engine, runs when a client is installed; without one it is skipped
loudly, or fails under DKIM2WEB_REQUIRE_SERVICES=1 (.ci/run installs Debian's client).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent.parent
COMPOSE = REPO / "docker-compose.yml"
APP_SERVICES = ("migrate", "web", "worker", "worker-large", "beat", "intake")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", *APP_SERVICES}
    assert set(compose["volumes"]) == {"pgdata", "redisdata"}


def test_postgres_and_redis_have_health_checks_and_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert services["redis"]["volumes"] == ["redisdata:/data"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "--appendonly" in services["redis"]["command"]


def test_every_process_runs_the_one_image_after_the_migration(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in APP_SERVICES:
        assert services[name]["build"] == ".", name
        assert services[name]["image"] == "dkim2web:latest", name
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://"), name
        assert services[name]["environment"]["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        # Workers send the intake's answers, so every process gets the mail settings.
        for variable in ("DKIM2WEB_INTAKE_DOMAIN", "DKIM2WEB_SITE_URL", "DJANGO_EMAIL_HOST"):
            assert services[name]["environment"][variable].startswith(f"${{{variable}:-"), name
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("web", "worker", "worker-large", "beat", "intake"):
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name


def test_the_intake_has_no_per_ip_limit_behind_dockers_port_publishing(
    compose: dict[str, Any],
) -> None:
    intake = compose["services"]["intake"]
    assert intake["environment"]["DKIM2WEB_INTAKE_RATE_PER_MINUTE"] == (
        "${DKIM2WEB_INTAKE_RATE_PER_MINUTE:-0}"
    )
    assert intake["environment"]["DATABASE_URL"].startswith("postgres://")  # the rest kept
    assert intake["stop_grace_period"] == "30s"


def test_the_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["web"]["command"] == [
        "gunicorn",
        "-c",
        "scripts/gunicorn.conf.py",
        "dkim2web.wsgi:application",
    ]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    worker = services["worker"]["command"]
    large = services["worker-large"]["command"]
    assert worker[:5] == large[:5] == ["celery", "-A", "dkim2web", "--quiet", "worker"]
    assert worker[worker.index("-Q") + 1] == "analyses"
    assert large[large.index("-Q") + 1] == "analyses-large"
    assert "ports" not in services["worker"]  # so `--scale worker=N` has no port clash
    assert services["beat"]["command"][:5] == ["celery", "-A", "dkim2web", "--quiet", "beat"]
    assert services["intake"]["command"] == [
        "python",
        "manage.py",
        "run_intake",
        "--host",
        "0.0.0.0",
        "--port",
        "2525",
    ]


def test_the_dockerfile_builds_static_files_and_runs_unprivileged() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "pip install '.[prod]'" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert "\nUSER dkim2web\n" in dockerfile
    assert 'CMD ["gunicorn", "-c", "scripts/gunicorn.conf.py"' in dockerfile
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".git", ".venv", "db.sqlite3", "tests"} <= set(ignored)
    assert {".env", ".env.*"} <= set(ignored)  # operators' secrets stay out of the image


def test_docker_compose_config_accepts_the_file(require_compose_client: list[str]) -> None:
    env = dict(os.environ, DJANGO_SECRET_KEY="compose-config-check")
    result = subprocess.run(
        [*require_compose_client, "-f", str(COMPOSE), "config", "--services"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"postgres", "redis", *APP_SERVICES}
