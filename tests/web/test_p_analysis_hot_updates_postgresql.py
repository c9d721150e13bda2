"""reports_analysis's indexes on a real PostgreSQL (migration 0009, models.Analysis.Meta).

* The worker's claim of an analysis is a heap-only (HOT) update: no index reads a column it
  changes. The store changes finished_at, which the sweep's index reads, so it is not; back
  at migration 0008 (status indexed) neither is, and the eight indexes are back. Migrating
  forward again clears the finished_at of any queued analysis, which the index needs.
* The sweep's queries, the list of a user's analyses, the look-up by SHA-256 and the purge's
  selection are planned on an index, on a table ANALYZEd with 50,000 finished analyses.

A throwaway database, migrated by the project's manage.py through DATABASE_URL; the scripts
run in ``manage.py shell`` on it, with the engine replaced by a stub that answers at once.
PostgreSQL 15 writes a backend's table counters to pg_stat_user_tables at most once a
second; the scripts force it (pg_stat_force_next_flush) before reading them.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from tests.support.postgres import manage_on

pytestmark = pytest.mark.postgres

PRELUDE = """
import json
from django.db import connection
from dkim2web.reports import services

REPORT = {"schema_version": 2, "summary": "ok"}
OUTCOME = services.EngineOutcome("pass", REPORT, "9.9", "draft-00", json.dumps(REPORT))
RAW = b"From: a@example.org\\r\\nSubject: hi\\r\\n\\r\\nbody\\r\\n"


def counters():
    with connection.cursor() as cursor:
        # Written when this statement's transaction ends; the next one reads them.
        cursor.execute("SELECT pg_stat_force_next_flush()")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relname = 'reports_analysis'"
        )
        return cursor.fetchone()
"""

# An upload, its claim and its store: what each changed in the table's counters.
CLAIM_AND_STORE = """
between = []

def engine(analysis, *, lookup=None, now=None):
    between.append(counters())  # after the claim, before the store
    return OUTCOME

services._run_engine = engine
start = counters()
analysis = services.analysis_submit(raw=RAW, enqueue=False)
submitted = counters()
assert services.analysis_run(analysis_id=analysis.pk) is not None
stored = counters()
[claimed] = between
names = ("inserted", "updated", "hot")
print(json.dumps({
    step: dict(zip(names, (b - a for a, b in zip(before, after))))
    for step, before, after in (
        ("insert", start, submitted), ("claim", submitted, claimed), ("store", claimed, stored)
    )
}))
"""

INSERTED = {"inserted": 1, "updated": 0, "hot": 0}
HEAP_ONLY = {"inserted": 0, "updated": 1, "hot": 1}
INDEXED = {"inserted": 0, "updated": 1, "hot": 0}

SHAPE = (
    "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'reports_analysis'::regclass"
)
FILLFACTOR = "SELECT reloptions FROM pg_class WHERE oid = 'reports_analysis'::regclass"


def _shape(database_url: str) -> tuple[list[str], Any]:
    """The table's indexes (what follows USING in each definition) and storage options."""
    with psycopg.connect(database_url) as conn:
        indexes = sorted(d.split(" USING ", 1)[1] for (d,) in conn.execute(SHAPE).fetchall())
        [(options,)] = conn.execute(FILLFACTOR).fetchall()
    return indexes, options


@pytest.fixture
def database_url(throwaway_database: str) -> str:
    _manage(throwaway_database, "migrate", "--noinput")
    return throwaway_database


def _manage(database_url: str, *args: str) -> str:
    return manage_on(database_url, *args, python_flags=("-W", "error"))


def _run(database_url: str, script: str) -> Any:
    return json.loads(_manage(database_url, "shell", "--no-imports", "-c", PRELUDE + script))


def test_the_claim_is_a_heap_only_update_and_migration_0008_had_none(database_url: str) -> None:
    assert _shape(database_url) == (
        [
            "btree (created_at)",
            "btree (id)",
            "btree (owner_id, created_at DESC, id DESC)",  # migration 0011
            "btree (queued_at) WHERE (finished_at IS NULL)",
            "btree (sha256)",
        ],
        ["fillfactor=85"],
    )
    assert _run(database_url, CLAIM_AND_STORE) == {
        "insert": INSERTED,
        "claim": HEAP_ONLY,
        "store": INDEXED,  # finished_at, which the sweep's index reads, changes
    }

    _manage(database_url, "migrate", "reports", "0008")
    assert _shape(database_url) == (
        [
            "btree (created_at)",
            "btree (id)",
            "btree (owner_id)",
            "btree (queued_at)",
            "btree (sha256 varchar_pattern_ops)",
            "btree (sha256)",
            "btree (status varchar_pattern_ops)",
            "btree (status)",
        ],
        None,
    )
    assert _run(database_url, CLAIM_AND_STORE) == {
        "insert": INSERTED,
        "claim": INDEXED,  # status is indexed
        "store": INDEXED,
    }

    # Queued analyses with a finished_at (none of today's code leaves one) would be missing
    # from the sweep's index: the migration clears it.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE reports_analysis SET status = 'queued', finished_at = now()")
    _manage(database_url, "migrate", "--noinput")
    with psycopg.connect(database_url) as conn:
        assert (
            conn.execute("SELECT status, finished_at FROM reports_analysis").fetchall()
            == [("queued", None)] * 2
        )


# 50,000 finished analyses over a week (half of them a user's), then what the sweep acts on:
# analyses queued too long (one a re-run of a finished one), claims gone stale (one out of
# attempts) and some it must leave alone. Every statement the sweep sends is explained after
# it ran (ANALYZE first, as autovacuum would have), with the list, look-up and purge queries.
PLANS = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from dkim2web.reports import selectors
from dkim2web.reports.models import Analysis

services._run_engine = lambda analysis, *, lookup=None, now=None: OUTCOME
published = []
services.analysis_enqueue = lambda *, analysis_id, **kw: published.append(str(analysis_id))
alice = get_user_model().objects.create_user("alice", password="alice-pw-1")
bob = get_user_model().objects.create_user("bob", password="bob-pw-1")  # 1% of the rows
now = timezone.now()
with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO reports_analysis (id, owner_id, created_at, raw_message, sha256, filename,"
        " size, header_from, header_subject, mail_from, rcpt_to, envelope_source, client_ip,"
        " helo, status, queued_at, attempts, error, started_at, finished_at, revision, compat)"
        " SELECT gen_random_uuid(), CASE WHEN i %% 2 = 0 THEN %s WHEN i %% 100 = 1 THEN %s END,"
        " t, 'x', md5(i::text) ||"
        " md5((-i)::text), 'm.eml', 1, '', '', '', '[]', 'none', '', '', 'done', t, 1, '',"
        " t + interval '10 ms', t + interval '50 ms', 'auto', false"
        " FROM (SELECT i, %s - i * interval '12 s' AS t FROM generate_series(1, 50000) i) s",
        [alice.pk, bob.pk, now],
    )

def submitted(**changes):
    analysis = services.analysis_submit(raw=RAW, enqueue=False)
    Analysis.objects.filter(pk=analysis.pk).update(**changes)
    return str(analysis.pk)

long_ago = now - services.STALE_AFTER - timedelta(seconds=1)
waited = now - timedelta(seconds=600)
queued_long = [submitted(queued_at=waited) for _ in range(3)]
submitted()  # queued just now: the broker may still deliver it
stale = [submitted(status="running", started_at=long_ago, attempts=1) for _ in range(2)]
spent = submitted(status="running", started_at=long_ago, attempts=services.MAX_ATTEMPTS)
submitted(status="running", started_at=now, attempts=1)  # its worker is at it
rerun = services.analysis_submit(raw=RAW, enqueue=False)
services.analysis_run(analysis_id=rerun.pk)
assert services.analysis_rerun(analysis=rerun)  # clears finished_at, as the index needs
Analysis.objects.filter(pk=rerun.pk).update(queued_at=waited)
published.clear()  # the re-run's own publication
with connection.cursor() as cursor:
    cursor.execute("ANALYZE reports_analysis")

with CaptureQueriesContext(connection) as captured:
    outcome = services.analyses_requeue_stale()
assert (outcome.requeued, outcome.reclaimed, outcome.gave_up) == (4, 2, 1), outcome
assert sorted(published) == sorted(stale + queued_long + [str(rerun.pk)]), published
assert Analysis.objects.get(pk=spent).status == "failed"


def scans(sql, params=None):
    # [node type, index name] of each scan of reports_analysis in the plan of sql.
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        [(plan,)] = cursor.fetchall()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found, nodes = [], [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        below = node.get("Plans", [])
        nodes += below
        if node.get("Relation Name") == "reports_analysis" and "Scan" in node["Node Type"]:
            # A bitmap scan's index is named by the Bitmap Index Scan under it.
            index = node.get("Index Name") or ",".join(n.get("Index Name", "") for n in below)
            found.append([node["Node Type"], index])
    return found


def label(sql):
    if sql.startswith("UPDATE"):
        return "UPDATE"
    return "SELECT by " + ("started_at" if '"started_at" AS' in sql else "queued_at")


def queryset_scans(queryset):
    sql, params = queryset.query.sql_with_params()
    return scans(sql, params)


with connection.cursor() as cursor:
    cursor.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indrelid = 'reports_analysis'::regclass"
    )
    index_names = {name: d.split(" USING ", 1)[1] for name, d in cursor.fetchall()}
sweep = [q["sql"] for q in captured.captured_queries if "reports_analysis" in q["sql"]]
mine = selectors.analysis_list_for_user(user=alice)
sha256 = mine.order_by("created_at").values_list("sha256", flat=True)[5000]
plans = {
    "sweep": [[label(sql), scans(sql)] for sql in sweep],
    "list": queryset_scans(mine[:25]),
    "a small owner's list": queryset_scans(selectors.analysis_list_for_user(user=bob)[:25]),
    "by sha256": queryset_scans(mine.filter(sha256=sha256).order_by("-created_at")[:1]),
    "purge": queryset_scans(
        # The oldest 40 minutes of the week: what a purge run often finds past retention.
        Analysis.objects.filter(created_at__lt=now - timedelta(days=6, hours=22)).only("pk")
    ),
}
print(json.dumps({"plans": plans, "index_names": index_names}))
"""

SWEEP_INDEX = [["Index Scan", "analysis_unfinished_queued_at"]]
BY_PK = [["Index Scan", "reports_analysis_pkey"]]


def test_the_sweep_lists_and_purge_are_planned_on_indexes(database_url: str) -> None:
    found = _run(database_url, PLANS)
    plans, names = found["plans"], found["index_names"]
    # What the sweep sent: one UPDATE (those out of attempts failed), the stale claims, each
    # put back by its key, then those queued too long, each published again by its key.
    assert (
        plans["sweep"]
        == [
            ["UPDATE", SWEEP_INDEX],
            ["SELECT by started_at", SWEEP_INDEX],
            ["UPDATE", BY_PK],
            ["UPDATE", BY_PK],
            ["SELECT by queued_at", SWEEP_INDEX],
        ]
        + [["UPDATE", BY_PK]] * 4
    )
    assert plans["by sha256"] == [["Index Scan", "analysis_sha256"]]

    def columns(scans: list[list[str]]) -> list[list[str]]:
        return [[node, names[index]] for node, index in scans]

    # Newest first. Half the rows are alice's, every other one: walking created_at backwards
    # finds her 25 newest in 50 rows, as well as her own index does.
    assert columns(plans["list"]) in (
        [["Index Scan", "btree (created_at)"]],
        [["Index Scan", "btree (owner_id, created_at DESC, id DESC)"]],
    ), plans["list"]
    # An owner of 1% of the rows: her rows in the order of her index (migration 0011), not
    # every user's walked by created_at (99 of 100 discarded) nor all of hers sorted.
    assert columns(plans["a small owner's list"]) == [
        ["Index Scan", "btree (owner_id, created_at DESC, id DESC)"]
    ], plans["a small owner's list"]
    assert columns(plans["purge"]) in (
        [["Index Scan", "btree (created_at)"]],
        [["Bitmap Heap Scan", "btree (created_at)"]],
    ), plans["purge"]
