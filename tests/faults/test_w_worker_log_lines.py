"""What a production worker logs about each analysis (JSON lines; issue #13 trimmed them).

Celery's "Task ... received" line, which the worker's main process wrote for every message
before handing it to a pool process, is no longer written: it cost a tenth of a millisecond
of CPU per analysis and said nothing the run's own line does not. That line, Celery's
"Task ... succeeded in ...s", names the task, the outcome and the time, and carries the
analysis id and the task id; a failed analysis still gets its error line with the id.
"""

from __future__ import annotations

import pytest
from fault_cluster import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_each_analysis_gets_one_line_with_its_id_and_outcome(cluster: Cluster) -> None:
    worker = cluster.worker("worker", concurrency=2)
    passing = cluster.submit("clean-list")
    failing = cluster.submit("tampered")
    rows = cluster.wait_finished([passing, failing])
    assert {rows[passing][0], rows[failing][0]} == {"done"}
    assert cluster.runs(passing) == ["pass"] and cluster.runs(failing) == ["fail"]

    records = worker.records()  # every line is one JSON object
    about_tasks = [r for r in records if "dkim2web.reports.tasks.run_analysis[" in r["message"]]
    assert not [r for r in about_tasks if r["message"].endswith("] received")], about_tasks
    assert all(r["logger"] == "celery.app.trace" for r in about_tasks), about_tasks
    assert sorted(r["analysis_id"] for r in about_tasks) == sorted([passing, failing])
    for record in about_tasks:
        assert record["level"] == "INFO"
        assert f"run_analysis[{record['task_id']}] succeeded in " in record["message"]
    cluster.assert_nothing_lost()
