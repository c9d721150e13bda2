"""analysis_run on a real PostgreSQL: the claim (one UPDATE ... RETURNING, read in binary) and
the store (one statement that marks the analysis done and inserts its run, or does neither).

The Django tests run on SQLite, which takes another path for the store; this runs the
PostgreSQL statements themselves. A throwaway database is created on the local server, the
project's manage.py is run against it through DATABASE_URL (as production does), and the
database is dropped afterwards. The engine is replaced by a stub that records what the run
gave it and answers a fixed outcome, except where the test says otherwise.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.support.postgres import manage_on

pytestmark = pytest.mark.postgres

# Shared by every script: a stub engine and a listener of analysis_finished.
PRELUDE = """
import json
from datetime import timedelta
from django.db import transaction
from django.utils import timezone
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from dkim2web.reports.signals import analysis_finished

RAW = bytes(range(256)) * 200 + b"\\r\\nFrom: a@example.org\\r\\n\\r\\nbody\\r\\n"
REPORT = {"schema_version": 2, "summary": "caf\\u00e9 \\u2713", "hops": [{"i": 1, "ok": True}]}
seen = []
announced = []

def stub(analysis, *, lookup=None, now=None):
    seen.append(analysis)
    return services.EngineOutcome("pass", REPORT, "9.9", "draft-00", json.dumps(REPORT))

engine = services._run_engine
services._run_engine = stub
analysis_finished.connect(
    lambda sender, **kw: announced.append((kw["analysis_id"], kw["envelope_source"])),
    weak=False,
)

def submit(**fields):
    fields.setdefault("enqueue", False)
    return services.analysis_submit(raw=RAW, **fields)
"""

CLAIM_AND_STORE = """
a = submit(
    mail_from="<bob@forwarder.example>", rcpt_to=["<x@inbox.example>", "<y@inbox.example>"],
    client_ip="192.0.2.7", helo="mx.forwarder.example", envelope_source="smtp",
    filename="kept.eml",
)
Analysis.objects.filter(pk=a.pk).update(compat=True, verify_at=1700000000, revision="08")
run = services.analysis_run(analysis_id=str(a.pk))
[given] = seen
assert given.pk == a.pk
assert given.raw_bytes == RAW
assert (given.mail_from, given.rcpt_to) == (
    "<bob@forwarder.example>", ["<x@inbox.example>", "<y@inbox.example>"]
), (given.mail_from, given.rcpt_to)
assert (given.client_ip, given.helo, given.envelope_source) == (
    "192.0.2.7", "mx.forwarder.example", "smtp"
)
assert (given.compat, given.verify_at, given.revision) == (True, 1700000000, "08")
assert (given.status, given.attempts) == ("running", 1)
assert given.filename == "kept.eml"  # not claimed: read when asked for

row = Analysis.objects.get(pk=a.pk)
assert (row.status, row.attempts, row.error) == ("done", 1, "")
assert given.started_at == row.started_at
assert row.finished_at is not None and row.finished_at >= row.started_at
stored = AnalysisRun.objects.get(analysis=a)
assert run is not None and run.pk == stored.pk
assert stored.report == REPORT, stored.report
assert (stored.result, stored.engine_version, stored.draft) == ("pass", "9.9", "draft-00")
assert (stored.revision, stored.compat, stored.verified_as_of) == ("08", True, 1700000000)
assert announced == [(str(a.pk), "smtp")], announced

# A second delivery of the same task does nothing.
assert services.analysis_run(analysis_id=str(a.pk)) is None
assert len(seen) == 1 and AnalysisRun.objects.filter(analysis=a).count() == 1
assert Analysis.objects.get(pk=a.pk).attempts == 1
assert len(announced) == 1

upload = submit()
services.analysis_run(analysis_id=upload.pk)
assert announced[-1] == (str(upload.pk), "none"), announced
print("claim and store ok")
"""

CLAIMS = """
# Taken by a worker that is still within its time: left alone.
busy = submit()
Analysis.objects.filter(pk=busy.pk).update(status="running", started_at=timezone.now(), attempts=1)
assert services.analysis_run(analysis_id=busy.pk) is None
# Abandoned by a dead worker: claimed again, counted.
stale = submit()
long_ago = timezone.now() - services.STALE_AFTER - timedelta(seconds=1)
Analysis.objects.filter(pk=stale.pk).update(status="running", started_at=long_ago, attempts=1)
assert services.analysis_run(analysis_id=stale.pk) is not None
assert Analysis.objects.filter(pk=stale.pk).values_list("status", "attempts").get() == ("done", 2)
# ...but not after the last attempt.
spent = submit()
Analysis.objects.filter(pk=spent.pk).update(
    status="running", started_at=long_ago, attempts=services.MAX_ATTEMPTS
)
assert services.analysis_run(analysis_id=spent.pk) is None
# Finished ones and unknown ids do nothing.
for status in ("done", "failed"):
    finished = submit()
    Analysis.objects.filter(pk=finished.pk).update(status=status)
    assert services.analysis_run(analysis_id=finished.pk) is None
assert services.analysis_run(analysis_id="00000000-0000-0000-0000-000000000000") is None
assert [a.pk for a in seen] == [stale.pk], seen
assert AnalysisRun.objects.count() == 1
print("claims ok")
"""

CLAIM_LOST = """
taken = submit()

def reclaimed_meanwhile(analysis, *, lookup=None, now=None):
    # Another worker reclaims the row while this one verifies (it overran STALE_AFTER).
    Analysis.objects.filter(pk=analysis.pk).update(started_at=timezone.now(), attempts=2)
    return stub(analysis)

services._run_engine = reclaimed_meanwhile
assert services.analysis_run(analysis_id=taken.pk) is None
row = Analysis.objects.get(pk=taken.pk)
assert (row.status, row.attempts, row.finished_at) == ("running", 2, None)
assert not AnalysisRun.objects.exists()
assert announced == []
print("claim lost ok")
"""

REFUSED = """
# A report PostgreSQL refuses (SQLSTATE class 22): text that is not JSON stands for anything
# the column cannot take (the engine's reports always are JSON; U+0000 is written U+2400,
# test_r_report_nul_postgresql.py).
BROKEN = {"schema_version": 2, "summary": "broken"}
services._run_engine = lambda analysis, *, lookup=None, now=None: services.EngineOutcome(
    "pass", BROKEN, "9.9", "draft-00", '{"schema_version": 2, "summary": '
)
alone = submit()
assert services.analysis_run(analysis_id=alone.pk) is None
expected = (
    "the report could not be stored: the database refused it (InvalidTextRepresentation), "
    "and it would refuse it again, so the analysis was not retried. The message is kept and "
    "can be downloaded from this analysis; tell the operators (the worker's log has the "
    "details)."
)
row = Analysis.objects.get(pk=alone.pk)
assert (row.status, row.error) == ("failed", expected), (row.status, row.error)
# Inside a caller's transaction (an in-process run) the refusal is recorded all the same,
# and the transaction goes on.
inside = submit()
with transaction.atomic():
    assert services.analysis_run(analysis_id=inside.pk) is None
    assert Analysis.objects.get(pk=inside.pk).status == "failed"
assert Analysis.objects.get(pk=inside.pk).error == expected
assert not AnalysisRun.objects.exists()
assert [i for i, _ in announced] == [str(alone.pk), str(inside.pk)]
print("refused ok")
"""

REAL_ENGINE = """
# The real engine, its report sent as the text it was measured as: read back equal.
from dkim2web.samples.gallery import get_sample
services._run_engine = engine
built = get_sample("clean-list").sign_now()
a = services.analysis_submit(
    raw=built.raw, mail_from=built.mail_from, rcpt_to=built.rcpt_to, enqueue=False
)
run = services.analysis_run(analysis_id=a.pk)
assert run is not None and run.result == "pass", run
assert AnalysisRun.objects.get(pk=run.pk).report == run.report
assert json.loads(json.dumps(run.report)) == AnalysisRun.objects.get(pk=run.pk).report
print("real engine ok")
"""


STORE_LARGE = """
BIG = {"schema_version": 2, "lines": [f"line {n} of a long report" for n in range(2000)]}
services._run_engine = lambda analysis, *, lookup=None, now=None: services.EngineOutcome(
    "pass", BIG, "9.9", "draft-00", json.dumps(BIG)
)
stored = services.analysis_run(analysis_id=submit().pk)
assert AnalysisRun.objects.get(pk=stored.pk).report == BIG
print("stored")
"""

COMPRESSION = (
    "SELECT attrelid::regclass::text, attname, attcompression FROM pg_attribute"
    " WHERE attname IN ('raw_message', 'report') AND attrelid IN"
    " ('reports_analysis'::regclass, 'reports_analysisrun'::regclass,"
    " 'reports_heldupload'::regclass) ORDER BY 1"
)


@pytest.fixture
def database_url(throwaway_database: str) -> str:
    _manage(throwaway_database, "migrate", "--noinput")
    return throwaway_database


def _manage(database_url: str, *args: str) -> str:
    return manage_on(
        database_url,
        *args,
        env={"DKIM2_KEY_LOOKUP": "dkim2web.samples.keys.DemoDnsLookup"},
        python_flags=("-W", "error"),
    )


def _run(database_url: str, script: str) -> str:
    return _manage(database_url, "shell", "--no-imports", "-c", PRELUDE + script).strip()


def test_the_claim_reads_what_the_run_needs_and_the_store_writes_it_once(
    database_url: str,
) -> None:
    assert _run(database_url, CLAIM_AND_STORE) == "claim and store ok"


def test_only_queued_and_stale_running_analyses_are_claimed(database_url: str) -> None:
    assert _run(database_url, CLAIMS) == "claims ok"


def test_a_claim_lost_while_verifying_stores_nothing(database_url: str) -> None:
    assert _run(database_url, CLAIM_LOST) == "claim lost ok"


def test_a_report_postgresql_refuses_fails_the_analysis_with_the_reason(
    database_url: str,
) -> None:
    assert _run(database_url, REFUSED) == "refused ok"


def test_the_real_engines_report_is_stored_as_measured(database_url: str) -> None:
    assert _run(database_url, REAL_ENGINE) == "real engine ok"


def test_messages_and_reports_are_compressed_with_lz4_where_the_server_has_it(
    database_url: str,
) -> None:
    assert _run(database_url, STORE_LARGE) == "stored"
    with psycopg.connect(database_url) as conn:
        [(has_lz4,)] = conn.execute(
            "SELECT coalesce(bool_or('lz4' = ANY(enumvals)), false) FROM pg_settings"
            " WHERE name = 'default_toast_compression'"
        ).fetchall()
        method = "l" if has_lz4 else ""  # "": the server's default (pglz)
        assert conn.execute(COMPRESSION).fetchall() == [
            ("reports_analysis", "raw_message", method),
            ("reports_analysisrun", "report", method),
            ("reports_heldupload", "raw_message", method),
        ]
        stored = conn.execute(
            "SELECT pg_column_compression(a.raw_message), pg_column_compression(r.report)"
            " FROM reports_analysisrun r JOIN reports_analysis a ON a.id = r.analysis_id"
        ).fetchall()
        assert stored == [("lz4", "lz4")] if has_lz4 else [("pglz", "pglz")]

    _manage(database_url, "migrate", "reports", "0007")  # and back
    with psycopg.connect(database_url) as conn:
        assert {row[2] for row in conn.execute(COMPRESSION).fetchall()} == {""}
