"""dkim2web settings: one module, read from the environment.

Nothing needs configuring to run locally: SQLite at the repo root and Celery tasks run
in-process. Production is opt-in through the variables listed in README.md.
"""

from __future__ import annotations

import importlib.util
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
        # Connecting costs PostgreSQL a process fork: keep connections (the health checks
        # below drop dead ones). Celery tasks get the same treatment (dkim2web/celery.py).
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
    }


DEBUG = env_bool("DJANGO_DEBUG", False)

# pytest-django imports this module before any conftest can set variables, and tests run
# with DEBUG off like production does; they get the development key rather than a secret.
_TESTING = "pytest" in sys.modules
_DEV_SECRET_KEY = "insecure-dev-only-key-dkim2web-never-use-in-production"
# Management commands that serve nothing and sign nothing that outlives them: they run
# without a secret key (`manage.py analyze FILE` on a fresh checkout), with a random one of
# their own. Everything that serves (runserver, gunicorn, celery, run_intake) still needs it.
_KEYLESS_COMMANDS = frozenset({"analyze"})


def _keyless_command(argv: list[str]) -> bool:
    """``argv`` runs one of _KEYLESS_COMMANDS through manage.py or django-admin."""
    return (
        len(argv) > 1
        and Path(argv[0]).name in {"manage.py", "django-admin"}
        and argv[1] in _KEYLESS_COMMANDS
    )


SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if _keyless_command(sys.argv) and not DEBUG:
        import secrets

        SECRET_KEY = secrets.token_urlsafe(50)
    elif not (DEBUG or _TESTING):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (make run turns DEBUG on)"
        )
    else:
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
# Celery's own defaults, written out: Celery looks these up on every publish, and a name
# missing from these settings is looked for under each of its spellings, every miss raising
# and catching AttributeError (a tenth of a publish's CPU in the web process).
CELERY_TASK_REPR_MAXLEVELS = 3
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_BROKER_POOL_ACQUIRE_TIMEOUT = None
# Celery's Django fixup closes every database connection around every task unless this is
# set, which made each analysis pay for a new PostgreSQL connection (a third of a worker's
# time). It then closes them only every this many tasks; in between, dkim2web/celery.py
# keeps or drops them as Django does around a request (CONN_MAX_AGE, health checks).
CELERY_DB_REUSE_MAX = 1000

# The key lookup the engine is handed, chosen by dotted path like Django's EMAIL_BACKEND.
DKIM2_KEY_LOOKUP = env_str("DKIM2_KEY_LOOKUP", "dkim2web.reports.lookup.AppDnsLookup")
# DNS for the default lookup: the resolvers to ask (comma-separated addresses; empty: the
# system's, /etc/resolv.conf), their port, seconds per query and per message in all.
DKIM2WEB_DNS_SERVERS = env_list("DKIM2WEB_DNS_SERVERS")
DKIM2WEB_DNS_PORT = env_int("DKIM2WEB_DNS_PORT", 53)
DKIM2WEB_DNS_TIMEOUT_SECONDS = env_int("DKIM2WEB_DNS_TIMEOUT_SECONDS", 3)
DKIM2WEB_DNS_BUDGET_SECONDS = env_int("DKIM2WEB_DNS_BUDGET_SECONDS", 10)

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
CELERY_TASK_DEFAULT_QUEUE = env_str("DKIM2WEB_TASK_QUEUE", "analyses")
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
# `manage.py run_intake` listens here (SMTP, or LMTP with --lmtp) and accepts mail only for
# a-<token>@DKIM2WEB_INTAKE_DOMAIN. Keep it on loopback unless an MTA in front relays to it.
DKIM2WEB_INTAKE_HOST = env_str("DKIM2WEB_INTAKE_HOST", "127.0.0.1")
DKIM2WEB_INTAKE_PORT = env_int("DKIM2WEB_INTAKE_PORT", 2525)
DKIM2WEB_INTAKE_DOMAIN = env_str("DKIM2WEB_INTAKE_DOMAIN", "intake.localhost").strip().lower()
# Limits: recipients per transaction (452 past it), connections open at once (421 past it),
# messages per client IP address per minute (451 past it; 0: no limit), idle seconds.
DKIM2WEB_INTAKE_MAX_RECIPIENTS = env_int("DKIM2WEB_INTAKE_MAX_RECIPIENTS", 20)
DKIM2WEB_INTAKE_MAX_CONNECTIONS = env_int("DKIM2WEB_INTAKE_MAX_CONNECTIONS", 50)
DKIM2WEB_INTAKE_RATE_PER_MINUTE = env_int("DKIM2WEB_INTAKE_RATE_PER_MINUTE", 60)
DKIM2WEB_INTAKE_TIMEOUT_SECONDS = env_int("DKIM2WEB_INTAKE_TIMEOUT_SECONDS", 300)

# --- intake: per client and STARTTLS (issue #11, findings 5 and 8) -----------------------
# The idle timeout above restarts only on progress (an accepted MAIL or RCPT, DATA and its
# bytes); NOOP, RSET, HELP, VRFY and EHLO do not. Past it: 421 and the connection closes.
# Connections open at once from one client address (an IPv6 client counts by its /64): 421
# past it, well below the global cap. Behind your own MTA every connection comes from its
# address: raise it to the MTA's connection limit there, or 0 (no per-client cap).
DKIM2WEB_INTAKE_MAX_CONNECTIONS_PER_CLIENT = env_int(
    "DKIM2WEB_INTAKE_MAX_CONNECTIONS_PER_CLIENT", 5
)
# Recipients refused (5xx: unknown or rotated mailbox, relaying, malformed) in one session;
# the next RCPT is answered 421 without a database lookup and the connection closed. 0: no cap.
DKIM2WEB_INTAKE_MAX_REJECTED_RECIPIENTS = env_int("DKIM2WEB_INTAKE_MAX_REJECTED_RECIPIENTS", 20)
# STARTTLS is offered (and advertised in EHLO) only when both PEM files are set; they are
# read when run_intake starts. DKIM2WEB_INTAKE_REQUIRE_STARTTLS refuses mail commands before
# TLS (SMTP only; RFC 3207 forbids it on a publicly referenced MX: only for private relays).
DKIM2WEB_INTAKE_TLS_CERT_FILE = env_str("DKIM2WEB_INTAKE_TLS_CERT_FILE").strip()
DKIM2WEB_INTAKE_TLS_KEY_FILE = env_str("DKIM2WEB_INTAKE_TLS_KEY_FILE").strip()
DKIM2WEB_INTAKE_REQUIRE_STARTTLS = env_bool("DKIM2WEB_INTAKE_REQUIRE_STARTTLS", False)
if bool(DKIM2WEB_INTAKE_TLS_CERT_FILE) != bool(DKIM2WEB_INTAKE_TLS_KEY_FILE):
    raise ImproperlyConfigured(
        "DKIM2WEB_INTAKE_TLS_CERT_FILE and DKIM2WEB_INTAKE_TLS_KEY_FILE: set both (STARTTLS "
        "on) or neither (off)"
    )
if DKIM2WEB_INTAKE_MAX_CONNECTIONS_PER_CLIENT < 0 or DKIM2WEB_INTAKE_MAX_REJECTED_RECIPIENTS < 0:
    raise ImproperlyConfigured(
        "DKIM2WEB_INTAKE_MAX_CONNECTIONS_PER_CLIENT and DKIM2WEB_INTAKE_MAX_REJECTED_RECIPIENTS "
        "must not be negative (0 turns the cap off)"
    )
# --- end of intake: per client and STARTTLS ------------------------------------------------

# Threads that look up mailboxes and store messages, each with its own connection: several
# sessions store at once on PostgreSQL; SQLite takes one writer at a time anyway.
DKIM2WEB_INTAKE_DB_THREADS = env_int(
    "DKIM2WEB_INTAKE_DB_THREADS",
    1 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 4,
)
# Without a broker the intake runs the analyses itself, on this many threads, after the
# message is committed and 250 answered.
DKIM2WEB_INTAKE_ANALYSIS_THREADS = env_int("DKIM2WEB_INTAKE_ANALYSIS_THREADS", 1)
# Answer an authenticated sender with the link to the report (never the null sender).
DKIM2WEB_INTAKE_REPLY = env_bool("DKIM2WEB_INTAKE_REPLY", True)
DKIM2WEB_INTAKE_REPLY_FROM = env_str(
    "DKIM2WEB_INTAKE_REPLY_FROM", f"dkim2web <noreply@{DKIM2WEB_INTAKE_DOMAIN}>"
)
# Answers to one address per UTC day, and at most one per Message-ID (intake ReplyLog);
# 0: no answers at all. Who gets an answer at all: docs/operations.md, "Who the mailbox answers".
DKIM2WEB_INTAKE_REPLIES_PER_DAY = env_int("DKIM2WEB_INTAKE_REPLIES_PER_DAY", 3)
if DKIM2WEB_INTAKE_REPLIES_PER_DAY < 0:
    raise ImproperlyConfigured("DKIM2WEB_INTAKE_REPLIES_PER_DAY must not be negative")
# The MTA in front of the intake (addresses or networks, comma-separated): mail from it is
# judged at the client its newest Received field records (SPF there, for the verdict and for
# deciding an answer). Empty: the connecting client is the one judged.
DKIM2WEB_INTAKE_TRUSTED_RELAYS = env_list("DKIM2WEB_INTAKE_TRUSTED_RELAYS")
for _relay in DKIM2WEB_INTAKE_TRUSTED_RELAYS:
    try:
        import ipaddress as _ipaddress

        _ipaddress.ip_network(_relay, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"DKIM2WEB_INTAKE_TRUSTED_RELAYS: {_relay!r} is not an IP address or network"
        ) from None
# How often run_intake looks for finished analyses still owed a reply (a worker ran them).
DKIM2WEB_INTAKE_REPLY_POLL_SECONDS = env_int("DKIM2WEB_INTAKE_REPLY_POLL_SECONDS", 10)
# Links in replies point here.
DKIM2WEB_SITE_URL = env_str("DKIM2WEB_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Outbound mail (the replies): printed to the console while DEBUG is on (make run).
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
# A smarthost that wants a login and TLS (STARTTLS on 587, or TLS from the start on 465).
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("DJANGO_EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("DJANGO_EMAIL_USE_TLS and DJANGO_EMAIL_USE_SSL: set one, not both")
EMAIL_TIMEOUT = 30

# Django's DEFAULT_LOGGING already prints its own loggers (and the runserver request lines);
# this adds the project's and the engine's messages without printing Django's twice.
# DJANGO_LOG_FORMAT=json (production): one JSON object per line, and Django's and Celery's
# records go through the same handler. Every record emitted while an analysis is being
# worked on carries its id (dkim2web/logs.py).
_LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
_LOG_FORMAT = env_str("DJANGO_LOG_FORMAT", "text").strip().lower()
if _LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT={_LOG_FORMAT!r}: use text or json")
# Commands that talk to an operator (run_intake's banner) log instead when lines are JSON.
DKIM2WEB_LOG_JSON = _LOG_FORMAT == "json"
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"analysis_id": {"()": "dkim2web.logs.AnalysisIdFilter"}},
    "formatters": {
        "text": {"()": "dkim2web.logs.TextFormatter"},
        "json": {"()": "dkim2web.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": _LOG_FORMAT,
            "filters": ["analysis_id"],
        }
    },
    "loggers": {
        name: {"handlers": ["console"], "level": _LOG_LEVEL, "propagate": False}
        for name in ("dkim2web", "analysis")
    },
}
if _LOG_FORMAT == "json":
    # Every record through the one handler: Celery's loggers propagate to the root (with
    # CELERY_WORKER_HIJACK_ROOT_LOGGER off), Django's default handlers would print plain
    # text, and billiard's (a pool child that died) would get a handler of Celery's.
    LOGGING["root"] = {"handlers": ["console"], "level": "WARNING"}
    LOGGING["loggers"]["celery"] = {"level": "INFO"}
    # Not Celery's "Task ... received" line, which the worker's main process wrote for every
    # message (a tenth of a millisecond of its CPU each): the task's "succeeded" line, its
    # errors and retries carry its id with the analysis id and the outcome.
    LOGGING["loggers"]["celery.worker.strategy"] = {"level": "WARNING"}
    for _name in ("django", "django.server", "multiprocessing"):
        LOGGING["loggers"][_name] = {"handlers": ["console"], "level": "INFO", "propagate": False}
    LOGGING_CONFIG = "dkim2web.logs.configure_json"  # Python's warnings become records too

# --- production ---------------------------------------------------------------------------
# Opt-in by environment like the rest; docs/operations.md explains every variable. Nothing
# here changes `make run` (DEBUG on) or the tests, except where it says so.

# Cache: Redis when CACHE_URL (or REDIS_URL) is set, shared by every process; the key lookup
# keeps DNS answers there for their TTL. Without it, a per-process LocMem cache. Short socket
# timeouts: a cache that is down costs a miss (DnsResolver asks DNS), never a hung request.
CACHE_URL = env_str("CACHE_URL") or env_str("REDIS_URL")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "dkim2web",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# PostgreSQL: a dead connection kept by DATABASE_CONN_MAX_AGE is noticed before a request
# uses it (a restarted server costs no error page), and connecting gives up in seconds. The
# backend is Django's, except that it checks a kept connection without asking the server
# when the server has said nothing since (dkim2web/postgresql/base.py).
_DEFAULT_DB: dict[str, Any] = DATABASES["default"]
if _DEFAULT_DB["ENGINE"] == "django.db.backends.postgresql":
    _DEFAULT_DB["ENGINE"] = "dkim2web.postgresql"
    _DEFAULT_DB["CONN_HEALTH_CHECKS"] = True
    _DEFAULT_DB["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
    # The statements of the hot paths (reports.services.bound_cursor: the upload's INSERT and
    # API token look-up, the worker's claim and store, the intake's) are bound by the server;
    # psycopg prepares one once it has run DATABASE_PREPARE_THRESHOLD times on a connection,
    # so the server stops parsing and planning it again for every analysis: 0.4 ms less
    # PostgreSQL CPU an analysis, and 0.2 ms less of the client's (issue #13, alternated in
    # one process: 1.71 against 1.29 ms of the server's). Django leaves it off unless told,
    # for proxies that pool by transaction: behind PgBouncer before 1.21 (or without
    # max_prepared_statements) set it to "off". A URL's ?prepare_threshold=N says the same.
    _prepare = str(
        _DEFAULT_DB["OPTIONS"].get("prepare_threshold")
        or env_str("DATABASE_PREPARE_THRESHOLD", "5")
    ).strip()
    if _prepare.lower() in ("", "off", "none"):
        _DEFAULT_DB["OPTIONS"]["prepare_threshold"] = None
    elif _prepare.isdigit():
        _DEFAULT_DB["OPTIONS"]["prepare_threshold"] = int(_prepare)
    else:
        raise ImproperlyConfigured(
            f"DATABASE_PREPARE_THRESHOLD must be a number of runs or 'off', not {_prepare!r}"
        )

# Queues: small messages and the periodic tasks on one queue, large messages on their own,
# so one 25 MB message never waits in front of (or behind) a thousand small ones. A worker
# is started per queue: celery -A dkim2web worker -Q analyses / -Q analyses-large.
DKIM2WEB_LARGE_TASK_QUEUE = env_str(
    "DKIM2WEB_LARGE_TASK_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-large"
)
DKIM2WEB_LARGE_MESSAGE_BYTES = env_int("DKIM2WEB_LARGE_MESSAGE_BYTES", 1024 * 1024)
# The database, not the broker, remembers what is still to run: a worker takes a message
# from Redis for good (no "ack emulation"), and a message lost with its worker (killed
# whole, the machine gone, Redis restarted) is found by the sweep (services.
# analyses_requeue_stale: a queued row after DKIM2WEB_SWEEP_AFTER_SECONDS, a running one
# once its claim is stale, 120 s), which is what brought such an analysis back first
# anyway (kombu's unacked hash gave it back after a 300 s visibility timeout). The
# emulation kept every message in a Redis hash while it ran, with a MULTI/EXEC to put it
# there and another to take it out: a third of the worker's main process's CPU (issue #13:
# 0.43 ms an analysis, measured alternately). Without it the prefetch limit still holds
# (kombu's in-memory QoS), a pool child that dies still has its message put back in the
# queue (reject_on_worker_lost), and a worker that stops gracefully puts back what it took.
_BROKER_SOCKET_TIMEOUT = env_int("DKIM2WEB_BROKER_SOCKET_TIMEOUT", 3)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "ack_emulation": False,
    # A broker that does not answer (paused, overloaded, packets dropped) must fail a
    # publish within seconds, not hold an upload or an SMTP session for ever: the upload
    # is stored either way and the sweep publishes it later. Longer than the 1 s BRPOP
    # the workers wait in, so idle workers are not disturbed.
    "socket_connect_timeout": _BROKER_SOCKET_TIMEOUT,
    "socket_timeout": _BROKER_SOCKET_TIMEOUT,
}
# Celery leaves the root logger to LOGGING above (JSON lines in production).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Worker memory (issue #11). A pool child whose resident memory is above
# DKIM2WEB_WORKER_MAX_MEMORY_MB after a task is replaced by a fresh one (Celery's
# worker_max_memory_per_child, in KiB), so a leak or one large message cannot keep the memory
# it took; and each child's data may not grow past DKIM2WEB_WORKER_MEMORY_LIMIT_MB (a soft
# RLIMIT_DATA set when it starts, reports/tasks.py): an analysis that would need more fails
# with MemoryError, saying so, instead of the machine's OOM killer taking the worker. 0 turns
# either off. The engine needs about 4 times the message at most (docs/operations.md).
DKIM2WEB_WORKER_MAX_MEMORY_MB = env_int("DKIM2WEB_WORKER_MAX_MEMORY_MB", 512)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = DKIM2WEB_WORKER_MAX_MEMORY_MB * 1024 or None
DKIM2WEB_WORKER_MEMORY_LIMIT_MB = env_int("DKIM2WEB_WORKER_MEMORY_LIMIT_MB", 1024)
# When the broker connection drops, a running analysis finishes and stores its result (its
# acknowledgement goes nowhere; nothing is sent again). (Celery 6 will
# cancel such tasks by default instead; Celery warns about it at every reconnection.)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False

# HTTPS and security headers: on whenever DEBUG is off (outside the tests, which run with
# DEBUG off over plain HTTP). `manage.py check --deploy --fail-level WARNING` passes.
DKIM2WEB_SECURE = env_bool("DKIM2WEB_SECURE", not DEBUG and not _TESTING)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
DKIM2WEB_BEHIND_PROXY = env_bool("DKIM2WEB_BEHIND_PROXY", False)
if DKIM2WEB_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if DKIM2WEB_SECURE:
    SECURE_SSL_REDIRECT = env_bool("DKIM2WEB_SSL_REDIRECT", True)
    # The load balancer asks over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("DKIM2WEB_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DKIM2WEB_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DKIM2WEB_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SILENCED_SYSTEM_CHECKS = []
    if not SECURE_HSTS_PRELOAD:
        # Joining browsers' preload list is the domain owner's decision, not a default.
        SILENCED_SYSTEM_CHECKS.append("security.W021")
    if not SECURE_SSL_REDIRECT and DKIM2WEB_BEHIND_PROXY:
        # The proxy redirects plain HTTP itself; only then may Django leave it.
        SILENCED_SYSTEM_CHECKS.append("security.W008")

# Static files: whitenoise serves them from the web process when it is installed (the prod
# extra) and DEBUG is off; `manage.py collectstatic` must have run (the image does it).
_HAVE_WHITENOISE = importlib.util.find_spec("whitenoise") is not None
DKIM2WEB_WHITENOISE = env_bool(
    "DKIM2WEB_WHITENOISE", _HAVE_WHITENOISE and not DEBUG and not _TESTING
)
if DKIM2WEB_WHITENOISE:
    if not _HAVE_WHITENOISE:
        raise ImproperlyConfigured("DKIM2WEB_WHITENOISE is on but whitenoise is not installed")
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# /healthz answers 503 when the broker is down (the default), or only reports it ("0"):
# uploads keep working while Redis is away, and a load balancer that takes every web node
# out for it would stop them.
DKIM2WEB_HEALTHZ_REQUIRES_BROKER = env_bool("DKIM2WEB_HEALTHZ_REQUIRES_BROKER", True)

# --- throttling and the admin path (issue #11, finding 4) ---------------------------------
# docs/operations.md, "Throttling". Log-in lockout is django-axes, every other limit a count
# in Django's cache (dkim2web/throttling.py); both use the cache above: Redis, shared by every
# process, when CACHE_URL is set; otherwise each process counts on its own. Under pytest the
# defaults are generous (one LocMem cache serves the whole suite); the throttling tests set
# tight limits themselves.
import ipaddress  # noqa: E402 (this block's own imports, kept with it)
import re  # noqa: E402

_RATE_FORM = re.compile(r"^(\d+)/(\d*)([smhd])$")


def env_rate(name: str, default: str) -> str:
    """A rate such as ``20/h``, ``120/m`` or ``10/15m`` (s, m, h, d); ``off``: no limit."""
    raw = os.environ.get(name)
    value = (default if raw is None else raw).strip().lower().replace(" ", "")
    if value in {"", "off"}:
        return ""
    match = _RATE_FORM.match(value)
    if match is None or int(match.group(1)) == 0 or match.group(2) in {"0", "00"}:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate: write a count per period such as 20/h, 120/m or "
            "10/15m (s, m, h, d), or off"
        )
    return value


def _limit(value: str) -> str:
    return "1000000/d" if _TESTING else value


# The client's address: REMOTE_ADDR, unless it is one of these proxies (addresses or networks,
# comma-separated): then X-Forwarded-For, read from the right past them. Empty: no proxy is
# believed. Behind the TLS proxy of docker-compose.yml: the proxy's address as the web
# container sees it (e.g. the Docker network's gateway).
DKIM2WEB_TRUSTED_PROXIES = env_list("DKIM2WEB_TRUSTED_PROXIES")
for _proxy in DKIM2WEB_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"DKIM2WEB_TRUSTED_PROXIES: {_proxy!r} is not an IP address or network"
        ) from None

# Log-in: this many failures in a row for one account name, or from one client address,
# close the log-in for both for the lockout; every attempt during it starts it again, and a
# successful log-in clears the counts.
DKIM2WEB_LOGIN_FAILURE_LIMIT = env_int("DKIM2WEB_LOGIN_FAILURE_LIMIT", 1000 if _TESTING else 10)
DKIM2WEB_LOGIN_LOCKOUT_SECONDS = env_int("DKIM2WEB_LOGIN_LOCKOUT_SECONDS", 900)
if DKIM2WEB_LOGIN_FAILURE_LIMIT < 1 or DKIM2WEB_LOGIN_LOCKOUT_SECONDS < 1:
    raise ImproperlyConfigured(
        "DKIM2WEB_LOGIN_FAILURE_LIMIT and DKIM2WEB_LOGIN_LOCKOUT_SECONDS must be at least 1"
    )
# Rates: sign-ups per client address; uploads (one form sent, of up to
# DKIM2WEB_MAX_FILES_PER_UPLOAD messages) per address without an account, and per account;
# API requests per client address and per token; requests carrying an unknown, revoked or
# expired API token per address (past it, every request with a token from there is refused);
# shared-analysis pages and downloads per address.
DKIM2WEB_RATE_SIGNUP = env_rate("DKIM2WEB_RATE_SIGNUP", _limit("5/h"))
DKIM2WEB_RATE_UPLOAD_ANONYMOUS = env_rate("DKIM2WEB_RATE_UPLOAD_ANONYMOUS", _limit("20/h"))
DKIM2WEB_RATE_UPLOAD_ACCOUNT = env_rate("DKIM2WEB_RATE_UPLOAD_ACCOUNT", _limit("120/h"))
DKIM2WEB_RATE_API_ADDRESS = env_rate("DKIM2WEB_RATE_API_ADDRESS", _limit("600/m"))
DKIM2WEB_RATE_API_TOKEN = env_rate("DKIM2WEB_RATE_API_TOKEN", _limit("300/m"))
DKIM2WEB_RATE_API_INVALID_TOKENS = env_rate("DKIM2WEB_RATE_API_INVALID_TOKENS", _limit("10/h"))
DKIM2WEB_RATE_SHARE_LINKS = env_rate("DKIM2WEB_RATE_SHARE_LINKS", _limit("300/h"))

INSTALLED_APPS.append("axes")
# Last: it turns a log-in refused by the lockout into the lockout page.
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
# axes' backend first: it refuses a locked-out log-in before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "dkim2web.throttling.LoginAttempts"  # axes' cache handler, failing open
AXES_CACHE = "default"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each counted on its own
AXES_FAILURE_LIMIT = "dkim2web.throttling.login_failure_limit"
AXES_COOLOFF_TIME = "dkim2web.throttling.login_cool_off"
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "dkim2web.throttling.axes_client_address"
AXES_USERNAME_CALLABLE = "dkim2web.throttling.login_account"
AXES_LOCKOUT_CALLABLE = "dkim2web.throttling.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLE_ADMIN = False  # its admin pages list the database handler's rows: none here
# django-ratelimit is used for its counter only (not installed as an app, whose checks call
# Django's own RedisCache unsupported and LocMem broken). A cache that does not answer
# refuses nobody.
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True

# The admin site's path, e.g. "staff-7f3a/"; empty or "off": no admin. On at admin/ with
# DEBUG on (make run), off otherwise unless set.
_ADMIN_PATH = env_str("DKIM2WEB_ADMIN_PATH", "admin/" if DEBUG else "").strip().strip("/")
if _ADMIN_PATH.lower() == "off":
    _ADMIN_PATH = ""
if _ADMIN_PATH and (
    not re.fullmatch(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*", _ADMIN_PATH)
    or any(part in {".", ".."} for part in _ADMIN_PATH.split("/"))
):
    raise ImproperlyConfigured(
        f"DKIM2WEB_ADMIN_PATH={_ADMIN_PATH!r}: use letters, digits and . _ ~ - between "
        "slashes, e.g. staff-7f3a/, or off"
    )
DKIM2WEB_ADMIN_PATH = f"{_ADMIN_PATH}/" if _ADMIN_PATH else ""
# --- end of throttling and the admin path -------------------------------------------------
