"""Fault 2: the whole worker (main process and pool) is killed mid-run, then restarted.

Nobody is left to put the message back, and the broker kept no copy of it once the worker
took it (no ack emulation: settings says why). The database remembers: the row stays
"running" with a claim nobody will finish, and once that claim is stale
(services.STALE_AFTER, 120 s) the sweep (services.analyses_requeue_stale, which beat runs
every DKIM2WEB_SWEEP_EVERY_SECONDS) queues it again and publishes it, and the restarted
worker runs it. This test does not wait two minutes for staleness: it moves the dead
claim's start back by that much, as the clock would have.

What a killed worker loses from the broker is only what it was running: it takes no more
messages than it has pool processes (acks_late, prefetch multiplier 1), which the second
test pins, so everything else waits in Redis for the next worker.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from fault_cluster import Cluster

from dkim2web.reports import services

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

QUEUE = "analyses"


def _broker(cluster: Cluster) -> tuple[int, int]:
    """The queue's length and how many of its messages Redis keeps as unacknowledged."""
    broker = redis.Redis.from_url(cluster.redis.url(0))
    try:
        return int(broker.llen(QUEUE)), int(broker.hlen("unacked"))
    finally:
        broker.close()


def test_a_killed_worker_is_restarted_and_the_sweep_brings_its_analysis_back(
    cluster: Cluster,
) -> None:
    cluster.env.update(DKIM2WEB_SWEEP_EVERY_SECONDS="1")
    first = cluster.worker("first")
    hold = cluster.hold()
    analysis_id = cluster.submit("clean-list")
    cluster.held_pid(hold)

    cluster.kill(first)  # SIGKILL to its process group: the main process and the pool
    assert cluster.rows([analysis_id])[analysis_id][:2] == ("running", 1)
    assert _broker(cluster) == (0, 0)  # the message is gone with the worker

    stale = services.STALE_AFTER.total_seconds() + 1
    cluster.sql(
        "UPDATE reports_analysis SET started_at = started_at - make_interval(secs => %s)"
        " WHERE id::text = %s",
        [stale, analysis_id],
    )
    restarted_at = time.monotonic()
    second = cluster.worker("second")
    cluster.beat()

    rows = cluster.wait_finished([analysis_id], timeout=30)
    assert rows[analysis_id] == ("done", 2, "")
    assert cluster.runs(analysis_id) == ["pass"]
    assert time.monotonic() - restarted_at < 15  # seconds here; minutes in production
    records = second.records()
    lost = [r for r in records if "its worker was lost; queued again" in r["message"]]
    assert [r.get("analysis_id") for r in lost] == [analysis_id]
    succeeded = [
        r.get("analysis_id")
        for r in records
        if "succeeded" in r["message"] and "run_analysis" in r["message"]
    ]
    assert succeeded == [analysis_id]
    cluster.assert_nothing_lost()


def test_a_worker_takes_from_the_broker_only_the_message_it_runs(cluster: Cluster) -> None:
    cluster.worker("worker")  # one pool process
    hold = cluster.hold()
    held = cluster.submit("clean-list")
    cluster.held_pid(hold)
    waiting = [cluster.submit("clean-list") for _ in range(3)]

    time.sleep(2)  # time enough for a worker that would take more to have done so
    assert _broker(cluster) == (3, 0)
    assert {i: row[0] for i, row in cluster.rows(waiting).items()} == dict.fromkeys(
        waiting, "queued"
    )

    Path(f"{hold}.go").touch()
    rows = cluster.wait_finished([held, *waiting], timeout=45)
    assert {row[:2] for row in rows.values()} == {("done", 1)}
    assert _broker(cluster) == (0, 0)
    cluster.assert_nothing_lost()
