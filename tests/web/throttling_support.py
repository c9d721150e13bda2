"""Helpers for the throttling tests: a clock that stands still, the production limits, and an
empty cache around each test (the counts live in Django's cache, one LocMem for the suite)."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from dkim2web import settings as live_settings

SETTINGS_FILE = Path(live_settings.__file__)
PREFIXES = ("DJANGO_", "DKIM2WEB_", "DATABASE_", "CELERY_", "CACHE_URL", "REDIS_URL")
THROTTLING_SETTINGS = (
    "DKIM2WEB_TRUSTED_PROXIES",
    "DKIM2WEB_LOGIN_FAILURE_LIMIT",
    "DKIM2WEB_LOGIN_LOCKOUT_SECONDS",
    "DKIM2WEB_RATE_SIGNUP",
    "DKIM2WEB_RATE_UPLOAD_ANONYMOUS",
    "DKIM2WEB_RATE_UPLOAD_ACCOUNT",
    "DKIM2WEB_RATE_API_ADDRESS",
    "DKIM2WEB_RATE_API_TOKEN",
    "DKIM2WEB_RATE_API_INVALID_TOKENS",
    "DKIM2WEB_RATE_SHARE_LINKS",
)


def load_settings(monkeypatch: pytest.MonkeyPatch, *, testing: bool = False, **env: str) -> Any:
    """A fresh copy of the settings module as a process with exactly ``env`` sees it (outside
    pytest unless ``testing``)."""
    with monkeypatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(PREFIXES):
                patch.delenv(name)
        if not testing:
            env.setdefault("DJANGO_SECRET_KEY", "x" * 60)
        for name, value in env.items():
            patch.setenv(name, value)
        if not testing:
            patch.delitem(sys.modules, "pytest")
        spec = importlib.util.spec_from_file_location("settings_under_test", SETTINGS_FILE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def use_production_limits(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Give the running app the limits production has by default (DEBUG off, nothing set)."""
    production = load_settings(monkeypatch)
    for name in THROTTLING_SETTINGS:
        if hasattr(production, name):  # (code from before the limits has none of them)
            setattr(settings, name, getattr(production, name))
    return production


class StoppedClock:
    """``time.time`` stands still until moved: the cache's expiry and the rate windows
    both read it, so a test can step to just before and just after a limit ends."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = float(int(time.time()))
        monkeypatch.setattr(time, "time", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def empty_cache() -> None:
    cache.clear()
