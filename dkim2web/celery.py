"""The Celery app: configured from Django settings (``CELERY_*``), tasks from each app."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dkim2web.settings")

app = Celery("dkim2web")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _database_connections_as_for_a_request(task: Any = None, **_: Any) -> None:
    """Before and after each task, what Django does around each request.

    A connection past CONN_MAX_AGE, or one that saw an error and no longer answers (a
    restarted PostgreSQL), is closed, and the next query opens a fresh one; a healthy one
    is kept and checked again before its next use (CONN_HEALTH_CHECKS). Celery's own fixup
    is told by CELERY_DB_REUSE_MAX not to close every connection around every task.
    Eager (in-process) tasks run inside a request or a command: theirs is left alone.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_process_init.connect
def _demo_keys_before_the_first_message(**_: Any) -> None:
    """Derive the demo zone's keys when a worker process starts (its RSA keys come from a
    seeded prime search, about half a second), not while the first message waits; then
    freeze everything the process holds so far (Django, the engine, the keys:
    :func:`gc.freeze`), which its garbage collections then never walk again (issue #13)."""
    import gc

    from dkim2web.samples.keys import demo_zone

    demo_zone()
    gc.collect()
    gc.freeze()
