"""Production settings from the environment: check --deploy passes, and each switch works."""

from __future__ import annotations

import importlib.util
import os
import secrets
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured

from dkim2web import settings as live_settings

REPO = Path(__file__).resolve().parent.parent.parent
SETTINGS_FILE = Path(live_settings.__file__)
PREFIXES = ("DJANGO_", "DKIM2WEB_", "DATABASE_", "CELERY_", "CACHE_URL", "REDIS_URL")


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="dkim2.example.org",
        **extra,
    )
    return env


def load(monkeypatch: pytest.MonkeyPatch, *, testing: bool = False, **env: str) -> ModuleType:
    """A fresh copy of the settings module, as a process with exactly ``env`` would see it."""
    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with monkeypatch.context() as patch:
        if not testing:
            patch.delitem(sys.modules, "pytest")
        spec = importlib.util.spec_from_file_location("settings_under_test", SETTINGS_FILE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="tls-at-the-web-process"),
        pytest.param(
            {"DKIM2WEB_BEHIND_PROXY": "1", "DKIM2WEB_SSL_REDIRECT": "0"},
            id="behind-a-tls-proxy-that-redirects",
        ),
    ],
)
def test_check_deploy_passes_without_a_warning(extra: dict[str, str]) -> None:
    result = check_deploy(production_env(**extra))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_fails_when_https_is_turned_off() -> None:
    result = check_deploy(production_env(DKIM2WEB_SECURE="0"))
    assert result.returncode != 0
    assert "security.W008" in result.stderr
    assert "security.W012" in result.stderr


def test_debug_off_outside_tests_means_https_and_secure_cookies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = load(monkeypatch, DJANGO_SECRET_KEY="x" * 60)
    assert s.DEBUG is False
    assert s.SECURE_SSL_REDIRECT is True
    assert s.SECURE_REDIRECT_EXEMPT == [r"^healthz$"]
    assert s.SECURE_HSTS_SECONDS == 365 * 24 * 3600
    assert s.SECURE_HSTS_INCLUDE_SUBDOMAINS is True
    assert (s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY) == (
        True,
        True,
        True,
    )
    assert (s.X_FRAME_OPTIONS, s.SECURE_REFERRER_POLICY) == ("DENY", "same-origin")
    assert s.SECURE_CONTENT_TYPE_NOSNIFF is True
    assert not hasattr(s, "SECURE_PROXY_SSL_HEADER")


def test_make_run_and_the_tests_stay_on_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    debug = load(monkeypatch, DJANGO_DEBUG="1")
    tests = load(monkeypatch, testing=True)
    for s in (debug, tests):
        assert s.DKIM2WEB_SECURE is False
        assert not hasattr(s, "SECURE_SSL_REDIRECT")
        assert s.DKIM2WEB_WHITENOISE is False
        assert "whitenoise.middleware.WhiteNoiseMiddleware" not in s.MIDDLEWARE


def test_behind_a_proxy_the_forwarded_proto_is_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load(monkeypatch, DJANGO_SECRET_KEY="x" * 60, DKIM2WEB_BEHIND_PROXY="1")
    assert s.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    assert s.SECURE_SSL_REDIRECT is True  # the proxy says https: no redirect loop


def test_whitenoise_serves_static_files_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load(monkeypatch, DJANGO_SECRET_KEY="x" * 60)
    assert s.DKIM2WEB_WHITENOISE is True
    security = s.MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
    assert s.MIDDLEWARE[security + 1] == "whitenoise.middleware.WhiteNoiseMiddleware"
    assert s.STORAGES["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    off = load(monkeypatch, DJANGO_SECRET_KEY="x" * 60, DKIM2WEB_WHITENOISE="0")
    assert "whitenoise.middleware.WhiteNoiseMiddleware" not in off.MIDDLEWARE


def test_the_cache_is_redis_when_a_url_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    local = load(monkeypatch, testing=True)
    assert local.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    for variable in ("CACHE_URL", "REDIS_URL"):
        s = load(monkeypatch, testing=True, **{variable: "redis://127.0.0.1:6379/1"})
        default = s.CACHES["default"]
        assert default["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
        assert default["LOCATION"] == "redis://127.0.0.1:6379/1"
        assert default["OPTIONS"]["socket_connect_timeout"] == 1


def test_postgres_connections_are_checked_and_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load(monkeypatch, testing=True, DATABASE_URL="postgres://u@127.0.0.1/d")
    default = s.DATABASES["default"]
    assert default["CONN_HEALTH_CHECKS"] is True
    assert default["OPTIONS"]["connect_timeout"] == 5
    given = load(monkeypatch, testing=True, DATABASE_URL="postgres://u@h/d?connect_timeout=2")
    assert given.DATABASES["default"]["OPTIONS"]["connect_timeout"] == "2"


def test_the_queues_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = load(
        monkeypatch,
        testing=True,
        DKIM2WEB_TASK_QUEUE="mail",
        DKIM2WEB_LARGE_MESSAGE_BYTES="5000",
    )
    assert (s.CELERY_TASK_DEFAULT_QUEUE, s.DKIM2WEB_LARGE_TASK_QUEUE) == ("mail", "mail-large")
    assert s.DKIM2WEB_LARGE_MESSAGE_BYTES == 5000


def test_log_format_json_or_text_only(monkeypatch: pytest.MonkeyPatch) -> None:
    text = load(monkeypatch, testing=True)
    json_ = load(monkeypatch, testing=True, DJANGO_LOG_FORMAT="json")
    assert text.LOGGING["handlers"]["console"]["formatter"] == "text"
    assert json_.LOGGING["handlers"]["console"]["formatter"] == "json"
    assert json_.LOGGING["loggers"]["django"]["handlers"] == ["console"]
    # JSON: everything through the one handler; text (make run): Django prints as it does.
    assert json_.LOGGING["root"]["handlers"] == ["console"]
    assert json_.LOGGING["loggers"]["multiprocessing"]["handlers"] == ["console"]
    assert "root" not in text.LOGGING and "django" not in text.LOGGING["loggers"]
    with pytest.raises(ImproperlyConfigured, match="DJANGO_LOG_FORMAT"):
        load(monkeypatch, testing=True, DJANGO_LOG_FORMAT="xml")
