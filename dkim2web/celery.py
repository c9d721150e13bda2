"""The Celery app: configured from Django settings (``CELERY_*``), tasks from each app."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dkim2web.settings")

app = Celery("dkim2web")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
