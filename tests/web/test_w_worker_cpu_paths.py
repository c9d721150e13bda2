"""The worker's per-analysis path, made cheaper for issue #13, still reads and logs the same.

* A claimed row reads as a query set reads it, on every connection: its columns'
  converters are worked out once per connection and row shape (``services._read_row``).
* The JSON logs leave out Celery's per-message "received" line and keep the outcome line
  (tests/faults/test_w_worker_log_lines.py checks a real worker's lines).
* ``run_analysis`` keeps the name Celery derives for it, which the log hooks compare with.
* A JSON log line is what ``json.dumps(..., ensure_ascii=False, default=str)`` writes.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid

import pytest
from django.db import connection, connections
from django.db.backends.base.operations import BaseDatabaseOperations

from dkim2web.celery import app
from dkim2web.logs import JsonFormatter, analysis_context
from dkim2web.reports import services, tasks
from dkim2web.reports.models import Analysis
from tests.web.test_prod_settings import load

RAW = b"From: Alice <alice@example.org>\r\nSubject: caf\xc3\xa9\r\n\r\nbody\r\n"


def _claimed_columns_of(analysis: Analysis, db_connection: object) -> tuple[list[str], tuple]:
    """The columns the claim returns (names, and the row as the database gives it)."""
    names = services._run_statements(db_connection).claimed_fields
    quote = db_connection.ops.quote_name  # type: ignore[attr-defined]
    meta = Analysis._meta
    columns = ", ".join(quote(meta.get_field(name).column) for name in names)
    with db_connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s",
            [meta.pk.get_db_prep_value(analysis.pk, db_connection)],
        )
        return names, cursor.fetchone()


@pytest.mark.django_db
def test_a_claimed_row_reads_as_a_query_set_reads_it_on_each_connection() -> None:
    analysis = services.analysis_submit(
        raw=RAW,
        mail_from="<bob@forwarder.example>",
        rcpt_to=["<x@inbox.example>", "<y@inbox.example>"],
        enqueue=False,
    )
    Analysis.objects.filter(pk=analysis.pk).update(
        status="running", started_at=analysis.created_at, compat=True, verify_at=1700000000
    )
    names, row = _claimed_columns_of(analysis, connection)
    expected = list(Analysis.objects.filter(pk=analysis.pk).values_list(*names).get())
    assert expected[names.index("rcpt_to")] == ["<x@inbox.example>", "<y@inbox.example>"]

    first = services._read_row(Analysis, names, row, connections["default"])
    again = services._read_row(Analysis, names, row, connections["default"])
    assert first == again == expected

    # Another connection of the alias (another thread's) has converters of its own.
    other = connections.create_connection("default")
    try:
        assert services._read_row(Analysis, names, row, other) == expected
        mine = services._row_converters(connections["default"], Analysis, tuple(names))
        theirs = services._row_converters(other, Analysis, tuple(names))
        assert [(i, column.target) for i, column, _ in mine] == [
            (i, column.target) for i, column, _ in theirs
        ]
        for entries, db in ((mine, connections["default"]), (theirs, other)):
            ops_of_converters = [
                getattr(convert, "__self__", None)
                for _, _, converters in entries
                for convert in converters
                if isinstance(getattr(convert, "__self__", None), BaseDatabaseOperations)
            ]
            assert all(ops is db.ops for ops in ops_of_converters)
            if db.vendor == "sqlite":  # dates, UUIDs and booleans are converted by its ops
                assert ops_of_converters
        assert "rcpt_to" in {names[i] for i, _, _ in mine}  # JSON read back as a list
    finally:
        other.close()

    with pytest.raises(ValueError):
        services._read_row(Analysis, names, row[:-1], connections["default"])


def test_json_logs_keep_the_outcome_line_and_leave_out_the_received_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loggers = load(monkeypatch, testing=True, DJANGO_LOG_FORMAT="json").LOGGING["loggers"]
    level = logging.getLevelName
    # The worker's main process wrote "Task ... received" for every message.
    assert level(loggers["celery.worker.strategy"]["level"]) == logging.WARNING
    # "Task ... succeeded in ...s" (celery.app.trace), retries and errors: still at INFO.
    assert level(loggers["celery"]["level"]) == logging.INFO
    assert not any(
        name.startswith("celery.") and name != "celery.worker.strategy" for name in loggers
    )
    # Text mode (make run) is left as it was.
    text = load(monkeypatch, testing=True).LOGGING["loggers"]
    assert "celery.worker.strategy" not in text


def test_run_analysis_keeps_the_name_celery_derives() -> None:
    derived = app.gen_task_name("run_analysis", "dkim2web.reports.tasks")
    assert tasks.RUN_ANALYSIS == derived == tasks.run_analysis.name
    assert app.tasks[derived].run.__name__ == "run_analysis"


def test_json_lines_are_json_dumps_of_the_fields() -> None:
    formatter = JsonFormatter()
    try:
        raise KeyError("caf\u00e9")
    except KeyError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "celery.app.trace", logging.INFO, __file__, 1, 'said "%s"\t\u2713\n', ("x\x00y",), exc_info
    )
    record.analysis_id = uuid.UUID("5f0c7e2e-0000-4000-8000-000000000000")  # an explicit extra
    line = formatter.format(record)
    payload = json.loads(line)
    assert payload["analysis_id"] == "5f0c7e2e-0000-4000-8000-000000000000"
    assert payload["message"] == 'said "x\x00y"\t\u2713\n'
    assert line == json.dumps(payload, ensure_ascii=False, default=str)
    assert "\u2713" in line and "\n" not in line

    plain = logging.LogRecord("dkim2web.x", logging.WARNING, __file__, 1, "idle", (), None)
    with analysis_context("abc"):
        inside = formatter.format(plain)
    assert inside == json.dumps(json.loads(inside), ensure_ascii=False)
    fields = ["time", "level", "logger", "message", "analysis_id", "process"]
    assert list(json.loads(inside)) == fields
