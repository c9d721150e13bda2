"""A worker keeps its PostgreSQL connection from one analysis to the next.

Celery's Django fixup would close every connection around every task; each analysis then
paid for a new connection (a process fork on the server), a third of a worker's time.
dkim2web/celery.py handles connections as Django does around a request instead: kept
within CONN_MAX_AGE, dropped when they fail. That the dropping still works is the
PostgreSQL fault test's business (tests/faults/test_fault_postgres.py).
"""

from __future__ import annotations

import pytest
from fault_cluster import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_one_pool_child_runs_every_analysis_over_one_connection(cluster: Cluster) -> None:
    cluster.env.update(DATABASE_CONN_MAX_AGE="60")
    ids = [cluster.submit() for _ in range(5)]  # waiting in Redis: no worker yet
    cluster.worker("worker", concurrency=1)
    rows = cluster.wait_finished(ids)
    assert {rows[i] for i in ids} == {("done", 1, "")}

    # The child's connection outlives the tasks, and the first analysis opened it: it is
    # older than the start of the second (the claim opens it just after the first starts).
    backends = cluster.sql(
        "SELECT backend_start FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        [cluster.database],
    )
    started = sorted(
        row[0]
        for row in cluster.sql(
            "SELECT started_at FROM reports_analysis WHERE id::text = ANY(%s)", [ids]
        )
    )
    assert len(backends) == 1, backends
    assert started[0] < backends[0][0] < started[1]
    cluster.assert_nothing_lost()
