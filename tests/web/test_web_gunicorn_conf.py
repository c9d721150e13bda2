"""The web process's gunicorn settings: the app is loaded once in the master, and access
lines are written only when GUNICORN_ACCESS_LOG asks for them, JSON logs or not."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

CONF = Path(__file__).resolve().parent.parent.parent / "scripts" / "gunicorn.conf.py"


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    for name in ("GUNICORN_ACCESS_LOG", "DJANGO_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", CONF)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_app_is_loaded_once_and_its_views_before_the_workers_fork(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = load(monkeypatch)
    assert conf.preload_app is True
    conf.when_ready(None)  # imports the URLconf's views: no error, nothing returned


@pytest.mark.parametrize(
    ("env", "accesslog", "access_level"),
    [
        ({}, None, None),
        ({"GUNICORN_ACCESS_LOG": "1"}, "-", None),
        ({"DJANGO_LOG_FORMAT": "json"}, None, "WARNING"),
        ({"DJANGO_LOG_FORMAT": "json", "GUNICORN_ACCESS_LOG": "yes"}, "-", "INFO"),
    ],
)
def test_access_lines_only_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    accesslog: str | None,
    access_level: str | None,
) -> None:
    conf = load(monkeypatch, **env)
    assert conf.accesslog == accesslog
    loggers = getattr(conf, "logconfig_dict", {}).get("loggers", {})
    assert loggers.get("gunicorn.access", {}).get("level") == access_level
