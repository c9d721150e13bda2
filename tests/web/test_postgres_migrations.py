"""The migrations run on a real PostgreSQL, and bytes survive its bytea round trip.

A throwaway database is created on the local server, the project's own manage.py is run
against it through DATABASE_URL (the same path production takes), and the database is
dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent.parent

ROUND_TRIP = """
import hashlib
from dkim2web.reports.services import analysis_submit
from dkim2web.reports.models import Analysis
raw = bytes(range(256)) + b"\\r\\nbare\\rcr\\x00"
a = analysis_submit(raw=raw, filename="all-bytes.eml", enqueue=False)
b = Analysis.objects.get(pk=a.pk)
assert b.raw_bytes == raw, b.raw_bytes
assert b.sha256 == hashlib.sha256(raw).hexdigest()
print("round-trip ok")
"""


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(DATABASE_URL=database_url, DJANGO_SECRET_KEY="test-only", DJANGO_DEBUG="0")
    result = subprocess.run(
        [sys.executable, "-W", "error", "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
    return result


@pytest.mark.postgres
def test_migrations_apply_on_postgresql(throwaway_database: str) -> None:
    manage(throwaway_database, "migrate", "--noinput")
    manage(throwaway_database, "migrate", "--check")  # nothing left unapplied

    with psycopg.connect(throwaway_database) as conn:
        columns: dict[str, str] = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = 'reports_analysis'"
            ).fetchall()
        )
    assert columns["raw_message"] == "bytea"
    assert columns["id"] == "uuid"
    assert columns["rcpt_to"] == "jsonb"

    out = manage(throwaway_database, "shell", "--no-imports", "-c", ROUND_TRIP).stdout
    assert "round-trip ok" in out
