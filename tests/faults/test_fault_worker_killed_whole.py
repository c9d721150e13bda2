"""Fault 2: the whole worker (main process and pool) is killed mid-run, then restarted.

Nobody is left to put the message back: it sits unacknowledged in Redis, and the row stays
"running" with a claim nobody will finish. Redis redelivers the message once it has been
unacknowledged for the visibility timeout (DKIM2WEB_BROKER_VISIBILITY_TIMEOUT: 300 s in
production, 2 s here), and by then the claim is stale (services.STALE_AFTER, 120 s), so
the redelivered task takes it over. This test does not wait two minutes for staleness: it
moves the dead claim's start back by that much, as the clock would have. The sweep
(services.analyses_requeue_stale) recovers the same row the same way, a minute later.
"""

from __future__ import annotations

import time

import pytest
from fault_cluster import Cluster

from dkim2web.reports import services

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_a_killed_worker_is_restarted_and_the_analysis_finishes(cluster: Cluster) -> None:
    cluster.env.update(DKIM2WEB_BROKER_VISIBILITY_TIMEOUT="2", DKIM2WEB_BROKER_RESTORE_INTERVAL="1")
    first = cluster.worker("first")
    hold = cluster.hold()
    analysis_id = cluster.submit("clean-list")
    cluster.held_pid(hold)

    cluster.kill(first)  # SIGKILL to its process group: the main process and the pool
    assert cluster.rows([analysis_id])[analysis_id][:2] == ("running", 1)
    import redis

    broker = redis.Redis.from_url(cluster.redis.url(0))
    try:
        assert broker.hlen("unacked") == 1  # the message is not lost, only unacknowledged
    finally:
        broker.close()

    stale = services.STALE_AFTER.total_seconds() + 1
    cluster.sql(
        "UPDATE reports_analysis SET started_at = started_at - make_interval(secs => %s)"
        " WHERE id::text = %s",
        [stale, analysis_id],
    )
    restarted_at = time.monotonic()
    second = cluster.worker("second")

    rows = cluster.wait_finished([analysis_id], timeout=30)
    assert rows[analysis_id] == ("done", 2, "")
    assert cluster.runs(analysis_id) == ["pass"]
    assert time.monotonic() - restarted_at < 15  # seconds here; minutes in production
    succeeded = [r for r in second.records() if "succeeded" in r["message"]]
    assert [r.get("analysis_id") for r in succeeded] == [analysis_id]
    cluster.assert_nothing_lost()
