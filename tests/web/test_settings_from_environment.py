"""dkim2web.settings reads the environment through small typed helpers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured

from dkim2web import settings as live_settings
from dkim2web.settings import env_bool, env_int, env_list, parse_database_url

SETTINGS_FILE = Path(live_settings.__file__)
VARIABLES = (
    "DATABASE_URL",
    "DATABASE_CONN_MAX_AGE",
    "DKIM2WEB_INTAKE_DB_THREADS",
    "DJANGO_EMAIL_HOST_USER",
    "DJANGO_EMAIL_HOST_PASSWORD",
    "DJANGO_EMAIL_USE_TLS",
    "DJANGO_EMAIL_USE_SSL",
    "CELERY_BROKER_URL",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DKIM2_KEY_LOOKUP",
    "DKIM2WEB_SHARED_DIR",
)


def load_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """Execute a fresh copy of the settings module with exactly these variables set."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("settings_under_test", SETTINGS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("1", True), ("true", True), ("Yes", True), (" on ", True)],
        *[("0", False), ("false", False), ("NO", False), ("off", False), ("", False)],
    ],
)
def test_env_bool_reads_the_usual_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("DKIM2WEB_X", raw)
    assert env_bool("DKIM2WEB_X", not expected) is expected


def test_env_bool_rejects_anything_else_and_defaults_when_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DKIM2WEB_X", raising=False)
    assert env_bool("DKIM2WEB_X", True) is True
    monkeypatch.setenv("DKIM2WEB_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DKIM2WEB_X"):
        env_bool("DKIM2WEB_X")


def test_env_int_and_env_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DKIM2WEB_N", "42")
    monkeypatch.setenv("DKIM2WEB_L", " a.example, ,b.example ,")
    assert env_int("DKIM2WEB_N", 1) == 42
    assert env_list("DKIM2WEB_L") == ["a.example", "b.example"]
    assert env_list("DKIM2WEB_UNSET", ["x"]) == ["x"]
    monkeypatch.setenv("DKIM2WEB_N", "forty-two")
    with pytest.raises(ImproperlyConfigured, match="DKIM2WEB_N"):
        env_int("DKIM2WEB_N", 1)


def test_a_postgres_url_with_port_and_password_becomes_a_psycopg_database() -> None:
    db = parse_database_url("postgres://dkim2:s%40cr%2Fet@db.internal:6543/dkim2web")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["NAME"] == "dkim2web"
    assert db["USER"] == "dkim2"
    assert db["PASSWORD"] == "s@cr/et"
    assert db["HOST"] == "db.internal"
    assert db["PORT"] == "6543"
    assert db["OPTIONS"] == {}


def test_a_postgresql_url_without_port_takes_options_from_the_query() -> None:
    db = parse_database_url("postgresql://app@[::1]/reports?sslmode=require&application_name=w")
    assert (db["HOST"], db["PORT"], db["PASSWORD"]) == ("::1", "", "")
    assert db["OPTIONS"] == {"sslmode": "require", "application_name": "w"}


def test_a_socket_directory_keeps_its_case() -> None:
    db = parse_database_url("postgres://%2FRun%2FPostgreSQL/dkim2web")
    assert db["HOST"] == "/Run/PostgreSQL"
    assert db["USER"] == ""


def test_other_schemes_are_refused_and_sqlite_urls_accepted() -> None:
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        parse_database_url("mysql://root@127.0.0.1/x")
    assert parse_database_url("sqlite:///tmp/x.sqlite3") == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/tmp/x.sqlite3",
    }


def test_without_database_url_the_database_is_sqlite_at_the_repo_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings(monkeypatch)
    default = settings.DATABASES["default"]
    assert default["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(default["NAME"]) == SETTINGS_FILE.parent.parent / "db.sqlite3"
    assert settings.DKIM2WEB_INTAKE_DB_THREADS == 1  # SQLite: one writer at a time


def test_database_url_selects_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(monkeypatch, DATABASE_URL="postgres://u:p@127.0.0.1:5432/d")
    # Django's PostgreSQL backend, with a cheaper check of kept connections.
    assert settings.DATABASES["default"]["ENGINE"] == "dkim2web.postgresql"
    assert settings.DATABASES["default"]["NAME"] == "d"
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 60
    assert settings.DKIM2WEB_INTAKE_DB_THREADS == 4  # sessions store in parallel


def test_without_a_broker_tasks_run_eagerly_and_propagate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings(monkeypatch)
    assert settings.CELERY_TASK_ALWAYS_EAGER is True
    assert settings.CELERY_TASK_EAGER_PROPAGATES is True
    assert settings.CELERY_BROKER_URL == "memory://"


def test_with_a_broker_tasks_go_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(monkeypatch, CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    assert settings.CELERY_BROKER_URL == "redis://127.0.0.1:6379/0"


def test_defaults_for_the_engine_and_shared_data(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(monkeypatch)
    assert settings.DEBUG is False
    assert settings.DKIM2_KEY_LOOKUP == "dkim2web.reports.lookup.AppDnsLookup"
    repo = SETTINGS_FILE.parent.parent
    shared_dir = settings.DKIM2WEB_SHARED_DIR
    assert shared_dir == repo.parent / "shared"
    assert settings.ALLOWED_HOSTS == []


def test_outside_tests_a_secret_key_is_required_unless_debug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patch:
        patch.delitem(sys.modules, "pytest")
        with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
            load_settings(patch)
        debug = load_settings(patch, DJANGO_DEBUG="1")
        production = load_settings(patch, DJANGO_SECRET_KEY="s3cret", DJANGO_ALLOWED_HOSTS="a,b")
    assert debug.DEBUG is True and debug.SECRET_KEY.startswith("insecure-dev-only")
    assert production.SECRET_KEY == "s3cret"
    assert production.ALLOWED_HOSTS == ["a", "b"]


def test_the_answers_can_go_through_a_smarthost_with_a_login_and_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings(monkeypatch)
    assert (settings.EMAIL_HOST_USER, settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL) == (
        "",
        False,
        False,
    )
    settings = load_settings(
        monkeypatch,
        DJANGO_EMAIL_HOST_USER="dkim2web",
        DJANGO_EMAIL_HOST_PASSWORD="s3cret",
        DJANGO_EMAIL_USE_TLS="1",
    )
    assert (settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD) == ("dkim2web", "s3cret")
    assert (settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL) == (True, False)
    with pytest.raises(ImproperlyConfigured, match="set one, not both"):
        load_settings(monkeypatch, DJANGO_EMAIL_USE_TLS="1", DJANGO_EMAIL_USE_SSL="1")
