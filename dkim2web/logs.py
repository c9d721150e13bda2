"""Structured logs: one JSON object per line in production, the analysis id on every line.

``DJANGO_LOG_FORMAT=json`` (the Dockerfile and ``scripts/stack.py`` set it) makes every
record one JSON object; the default, ``text``, is for people reading ``make run``.

Whatever works on an analysis (the ``run_analysis`` task, ``services.analysis_run``,
``services.analysis_enqueue``) does it inside :func:`analysis_context`, which puts the id in
a context variable; :class:`AnalysisIdFilter`, attached to the handler, stamps it on every
record emitted meanwhile, from any logger: ours, the engine's, Celery's, Django's. So
``grep '"analysis_id": "<id>"'`` finds the whole story of one message across processes.

Nothing here imports Django settings, so gunicorn's master can use the formatters before
Django is set up (``scripts/gunicorn.conf.py``).
"""

from __future__ import annotations

import functools
import json
import logging
import logging.config
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, TypeVar

__all__ = [
    "AnalysisIdFilter",
    "JsonFormatter",
    "TextFormatter",
    "analysis_context",
    "configure_json",
    "current_analysis_id",
    "enter_analysis",
    "leave_analysis",
    "with_analysis_id",
]

_analysis_id: ContextVar[str | None] = ContextVar("dkim2web_analysis_id", default=None)

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def analysis_context(analysis_id: uuid.UUID | str | None) -> Iterator[None]:
    """Every record logged inside the block carries ``analysis_id``."""
    token = _analysis_id.set(None if analysis_id is None else str(analysis_id))
    try:
        yield
    finally:
        _analysis_id.reset(token)


def with_analysis_id(fn: F) -> F:
    """Decorate a function taking an ``analysis_id`` keyword: it runs in its context."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with analysis_context(kwargs.get("analysis_id")):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def configure_json(config: dict[str, Any]) -> None:
    """Django's LOGGING_CONFIG in JSON mode: LOGGING, and Python warnings as records too,
    so that not even a warning printed at start-up breaks the one-object-per-line rule."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def current_analysis_id() -> str | None:
    return _analysis_id.get()


def enter_analysis(analysis_id: uuid.UUID | str | None) -> Token[str | None]:
    """:func:`analysis_context` in two halves, for Celery's task_prerun/task_postrun."""
    return _analysis_id.set(None if analysis_id is None else str(analysis_id))


def leave_analysis(token: Token[str | None]) -> None:
    _analysis_id.reset(token)


class AnalysisIdFilter(logging.Filter):
    """Stamps ``record.analysis_id`` (None outside an analysis); an explicit extra wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "analysis_id", None) is None:
            record.analysis_id = _analysis_id.get()
        return True


def _task_id() -> str | None:
    # Celery is imported only where it already is (a worker); the web never pays for it.
    import sys

    state = sys.modules.get("celery._state")
    if state is None:
        return None
    task = state.get_current_task()
    request = getattr(task, "request", None) if task is not None else None
    task_id = getattr(request, "id", None)
    return str(task_id) if task_id else None


#: ``json.dumps(obj, ensure_ascii=False, default=str)``, with the encoder made once rather
#: than for every record (json.dumps makes one each call when given options).
_encode_json = json.JSONEncoder(ensure_ascii=False, default=str).encode


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ms), level, logger, message, analysis_id,
    task_id and process when known, and the traceback as ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        analysis_id = getattr(record, "analysis_id", None) or _analysis_id.get()
        if analysis_id:
            payload["analysis_id"] = analysis_id
        task_id = _task_id()
        if task_id:
            payload["task_id"] = task_id
        payload["process"] = record.process
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return _encode_json(payload)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [analysis <id>] message``, for people (``make run``)."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, **kwargs: Any) -> None:
        super().__init__(
            fmt or "%(asctime)s %(levelname)s %(name)s %(analysis_tag)s%(message)s", datefmt
        )

    def format(self, record: logging.LogRecord) -> str:
        analysis_id = getattr(record, "analysis_id", None) or _analysis_id.get()
        record.analysis_tag = f"[analysis {analysis_id}] " if analysis_id else ""
        return super().format(record)
