"""dkim2web settings: one module, read from the environment.

Nothing needs configuring to run locally: SQLite at the repo root and Celery tasks run
in-process. Production is opt-in through the variables listed in README.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; blanks around items and empty items are dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_database_url(url: str) -> dict[str, Any]:
    """Turn ``postgres://user:password@host:port/name?option=value`` into a DATABASES entry.

    Also accepts ``sqlite:///absolute/path``. Percent-encoded user, password and host are
    decoded, so a password may contain ``@`` or ``/`` and the host may be a socket directory
    (``postgres://%2Fvar%2Frun%2Fpostgresql/name``). Query parameters go to OPTIONS, which
    Django hands to psycopg as libpq connection parameters (``sslmode=require``).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path) or ":memory:"}
    if scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {parts.scheme!r} is not supported (use postgres:// or sqlite://)"
        )
    # parts.hostname lower-cases, which would corrupt a socket directory: split by hand.
    hostport = parts.netloc.rpartition("@")[2]
    if hostport.startswith("["):
        host = hostport[1 : hostport.index("]")]
    else:
        host = hostport.partition(":")[0]
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("DATABASE_URL has an invalid port") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(host),
        "PORT": str(port) if port is not None else "",
        "OPTIONS": dict(parse_qsl(parts.query)),
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 0),
    }


DEBUG = env_bool("DJANGO_DEBUG", False)

# pytest-django imports this module before any conftest can set variables, and tests run
# with DEBUG off like production does; they get the development key rather than a secret.
_TESTING = "pytest" in sys.modules
_DEV_SECRET_KEY = "insecure-dev-only-key-dkim2web-never-use-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or _TESTING):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (make run turns DEBUG on)"
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "dkim2web.reports",
    "dkim2web.accounts",
    "dkim2web.sharing",
    "dkim2web.api",
    "dkim2web.samples",
    "dkim2web.intake",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dkim2web.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "dkim2web.urls"
WSGI_APPLICATION = "dkim2web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {
    "default": parse_database_url(_DATABASE_URL)
    if _DATABASE_URL
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))

# Celery: with no broker configured, tasks run in-process when enqueued (after the commit),
# and their exceptions reach the caller instead of vanishing.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_IGNORE_RESULT = True  # results live in the database, not a result backend
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # tasks are acks_late: hold one message at a time
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE

# The key lookup the engine is handed, chosen by dotted path like Django's EMAIL_BACKEND.
DKIM2_KEY_LOOKUP = env_str("DKIM2_KEY_LOOKUP", "dkim2web.reports.lookup.AppKeyLookup")

# Test vectors and interop samples shared between the repos (read-only).
DKIM2WEB_SHARED_DIR = Path(env_str("DKIM2WEB_SHARED_DIR", str(BASE_DIR.parent / "shared")))

# --- reports (upload, pipeline, result pages) -------------------------------------------
DKIM2WEB_MAX_MESSAGE_BYTES = env_int("DKIM2WEB_MAX_MESSAGE_BYTES", 25 * 1024 * 1024)
DKIM2WEB_MAX_FILES_PER_UPLOAD = env_int("DKIM2WEB_MAX_FILES_PER_UPLOAD", 20)
# Django refuses request bodies above this before any view runs: one full upload of
# DKIM2WEB_MAX_FILES_PER_UPLOAD messages is allowed through, the view enforces the rest.
DATA_UPLOAD_MAX_MEMORY_SIZE = DKIM2WEB_MAX_MESSAGE_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Twice the cap, so an upload a little over it reaches the form and gets its own message;
# beyond that Django refuses the request before any view runs (templates/400.html).
DATA_UPLOAD_MAX_NUMBER_FILES = DKIM2WEB_MAX_FILES_PER_UPLOAD * 2
# Analyses older than this many days are purged by the periodic task (0: keep forever).
DKIM2WEB_RETENTION_DAYS = env_int("DKIM2WEB_RETENTION_DAYS", 30)
# A queued analysis untouched this long is re-queued by the sweep (the broker lost it).
DKIM2WEB_SWEEP_AFTER_SECONDS = env_int("DKIM2WEB_SWEEP_AFTER_SECONDS", 120)
DKIM2WEB_SWEEP_EVERY_SECONDS = env_int("DKIM2WEB_SWEEP_EVERY_SECONDS", 60)
DKIM2WEB_PURGE_EVERY_SECONDS = env_int("DKIM2WEB_PURGE_EVERY_SECONDS", 3600)
# The queue the analysis tasks go to; a worker started without -Q consumes it.
CELERY_TASK_DEFAULT_QUEUE = env_str("DKIM2WEB_TASK_QUEUE", "celery")
# Periodic tasks, run by `celery -A dkim2web beat` (not by make run, which has no broker).
CELERY_BEAT_SCHEDULE = {
    "reports-sweep": {
        "task": "dkim2web.reports.tasks.sweep_analyses",
        "schedule": float(DKIM2WEB_SWEEP_EVERY_SECONDS),
    },
    "reports-purge-expired": {
        "task": "dkim2web.reports.tasks.purge_expired_analyses",
        "schedule": float(DKIM2WEB_PURGE_EVERY_SECONDS),
    },
}

# --- accounts ---------------------------------------------------------------------------
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "reports:list"
LOGOUT_REDIRECT_URL = "home"

# --- sharing ----------------------------------------------------------------------------
DKIM2WEB_SHARE_DEFAULT_DAYS = env_int("DKIM2WEB_SHARE_DEFAULT_DAYS", 7)

# --- api --------------------------------------------------------------------------------
# Analyses per page of GET /api/analyses.
DKIM2WEB_API_PAGE_SIZE = env_int("DKIM2WEB_API_PAGE_SIZE", 20)

# --- samples ----------------------------------------------------------------------------
# The "Try a sample" gallery: chains signed with public demo keys for .example domains.
DKIM2WEB_SAMPLES_ENABLED = env_bool("DKIM2WEB_SAMPLES_ENABLED", True)

# --- intake (the forward-to-analyze mailbox) ---------------------------------------------

# Django's DEFAULT_LOGGING already prints its own loggers (and the runserver request lines);
# this adds the project's and the engine's messages without printing Django's twice.
_LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        name: {"handlers": ["console"], "level": _LOG_LEVEL, "propagate": False}
        for name in ("dkim2web", "analysis")
    },
}
