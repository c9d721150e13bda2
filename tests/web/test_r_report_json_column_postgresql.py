"""The stored report's PostgreSQL column is ``json`` (migration 0010): the text the engine
wrote is kept as written (jsonb re-parsed and re-printed it, 0.17 ms of the server's CPU per
21 KB report), read back equal through Django, LZ4-compressed, and the migration goes back to
``jsonb`` with its LZ4 setting. Run through manage.py on a throwaway database."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.postgres import manage_on

pytestmark = pytest.mark.postgres

SCRIPT = """
import json
from django.db import connection
from dkim2web.reports import services
from dkim2web.reports.models import AnalysisRun

REPORT = {"schema_version": 2, "z": 1, "a": [1.5, "caf\\u00e9 \\u2713", None], "m": {"b": True}}
TEXT = json.dumps(REPORT, separators=(",", ":"))
services._run_engine = lambda analysis, *, lookup=None, now=None: services.EngineOutcome(
    "pass", REPORT, "9.9", "draft-00", TEXT
)
a = services.analysis_submit(raw=b"From: a@example.org\\r\\n\\r\\nx\\r\\n", enqueue=False)
run = services.analysis_run(analysis_id=a.pk)
assert AnalysisRun.objects.get(pk=run.pk).report == REPORT
assert list(AnalysisRun.objects.get(pk=run.pk).report) == ["schema_version", "z", "a", "m"]
with connection.cursor() as cursor:
    cursor.execute("SELECT report::text, pg_typeof(report)::text FROM reports_analysisrun")
    print(cursor.fetchall() == [(TEXT, "json")])
"""

COLUMN = (
    "SELECT format_type(atttypid, atttypmod), attcompression FROM pg_attribute"
    " WHERE attrelid = 'reports_analysisrun'::regclass AND attname = 'report'"
)


def test_the_report_is_kept_as_written_in_a_json_column(throwaway_database: str) -> None:
    manage_on(throwaway_database, "migrate", "--noinput")
    printed = manage_on(throwaway_database, "shell", "--no-imports", "-c", SCRIPT)
    # Kept as written: jsonb would have reordered the keys ("a", "m", "z", ...).
    assert printed.strip() == "True"
    with psycopg.connect(throwaway_database) as conn:
        [(has_lz4,)] = conn.execute(
            "SELECT coalesce(bool_or('lz4' = ANY(enumvals)), false) FROM pg_settings"
            " WHERE name = 'default_toast_compression'"
        ).fetchall()
        method = "l" if has_lz4 else ""
        assert conn.execute(COLUMN).fetchall() == [("json", method)]
    manage_on(throwaway_database, "migrate", "reports", "0009")  # and back
    with psycopg.connect(throwaway_database) as conn:
        assert conn.execute(COLUMN).fetchall() == [("jsonb", method)]
        [(report,)] = conn.execute("SELECT report FROM reports_analysisrun").fetchall()
        assert report["m"] == {"b": True}


def test_a_value_the_driver_parsed_already_is_kept_as_it_is() -> None:
    # Behind Django's own PostgreSQL backend (which registers no text loader for json),
    # psycopg hands the field a parsed value: kept, not decoded a second time.
    from django.db import connection

    from dkim2web.reports.fields import ReportJSONField

    field = ReportJSONField()
    parsed = {"schema_version": 2, "hops": [1, 2]}
    assert field.from_db_value(parsed, None, connection) is parsed
    assert field.from_db_value('{"a": [1, "\\u2713"]}', None, connection) == {"a": [1, "\u2713"]}
    assert field.from_db_value(None, None, connection) is None
