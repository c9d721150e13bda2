"""Fault 1: the pool child running an analysis is killed (SIGKILL) mid-run.

The worker's main process sees the child die (WorkerLostError); the task is acks_late and
reject_on_worker_lost, so the message goes back to the queue, and AnalysisRequest puts
the row's claim back too, so the redelivery runs it at once (not after the claim went
stale). The run is held in the key lookup (fault_slowkeys) so the kill lands mid-run.
"""

from __future__ import annotations

import os
import signal

import pytest
from fault_cluster import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_a_killed_child_is_replaced_and_the_analysis_runs_again(cluster: Cluster) -> None:
    worker = cluster.worker("worker")
    hold = cluster.hold()
    analysis_id = cluster.submit("clean-list")
    child = cluster.held_pid(hold)
    assert child != worker.pid  # the prefork child, not the worker

    os.kill(child, signal.SIGKILL)

    rows = cluster.wait_finished([analysis_id], timeout=30)
    assert rows[analysis_id] == ("done", 2, "")  # claimed twice: the killed run and the rerun
    assert cluster.runs(analysis_id) == ["pass"]
    records = worker.records()
    assert any("exited prematurely: signal 9" in r["message"] for r in records)
    released = [r for r in records if "worker process died; queued again" in r["message"]]
    assert [r.get("analysis_id") for r in released] == [analysis_id]
    cluster.assert_nothing_lost()
