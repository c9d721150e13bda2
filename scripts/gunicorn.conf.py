"""gunicorn settings for the web process: ``gunicorn -c scripts/gunicorn.conf.py dkim2web.wsgi``.

Read from the environment, like the Django settings (docs/operations.md):

* ``GUNICORN_BIND`` (default ``0.0.0.0:8000``), ``WEB_CONCURRENCY`` worker processes
  (default 2), ``GUNICORN_THREADS`` threads each (default 4): gthread workers, so a slow
  25 MB upload holds one thread, not a whole process;
* ``GUNICORN_TIMEOUT`` (default 60 s) before a stuck worker is replaced;
* ``GUNICORN_ACCESS_LOG=1`` writes access lines to stderr;
* ``DJANGO_LOG_FORMAT=json`` makes gunicorn's own lines JSON too.
"""

from __future__ import annotations

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Replace each worker after this many requests: bounds any slow growth of memory.
max_requests = 2000
max_requests_jitter = 200
# The app is imported once, in the master, and every worker starts as a fork of it (see
# when_ready): a worker that imported Django, the views and the engine for itself spent about
# 0.75 s of CPU doing so, which replacing a worker every 2,000 requests turned into a tenth
# of an upload's CPU. Restart the master (not HUP) to load new code.
preload_app = True
# Docker: heartbeat files on a tmpfs, not on the container's overlay disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
_ACCESS_LOG = os.environ.get("GUNICORN_ACCESS_LOG", "") in {"1", "true", "yes"}
accesslog = "-" if _ACCESS_LOG else None
errorlog = "-"
# gunicorn >= 24's control socket lives in $HOME, shared by every master on the machine
# (and unwritable for the image's user); nothing here uses it.
control_socket_disable = True

if os.environ.get("DJANGO_LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "dkim2web.logs.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # Access lines only when asked for, as in text mode (a JSON line per request
            # cost the web process about 3% of an upload).
            "gunicorn.access": {
                "handlers": ["console"],
                "level": "INFO" if _ACCESS_LOG else "WARNING",
                "propagate": False,
            },
        },
    }


def when_ready(server: object) -> None:
    """In the master, before the first worker is forked: import every view (the URLconf),
    which Django would otherwise do in each worker at its first request; then freeze what
    the master holds (:func:`gc.freeze`), so that the workers' garbage collections never
    walk the imported code and settings again (issue #13) and leave their forked pages
    unwritten."""
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the import is the point)
    gc.collect()
    gc.freeze()
