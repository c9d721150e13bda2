"""Fault 4: PostgreSQL goes away mid-request and mid-task, then comes back.

"Goes away" is done to this test's database only, from another connection: its backends
are terminated (what a server restart looks like to a client) and, for the request, new
connections refused (``ALLOW_CONNECTIONS false``) until it "comes back".

* mid-request: the answer is the site's 500 page, no traceback; /healthz says 503; once
  the database is back the same web process answers again (CONN_HEALTH_CHECKS).
* mid-task: the run's connection dies while it verifies (held in the key lookup); storing
  the run fails, the task retries, the retry puts its own claim back and runs it: one run,
  no half-written row.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fault_cluster import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def _get(url: str, token: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _cut_off(cluster: Cluster, *, refuse_new: bool) -> None:
    from fault_cluster import admin
    from psycopg import sql

    if refuse_new:
        admin(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(
                sql.Identifier(cluster.database)
            )
        )
    admin(
        sql.SQL(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = {} AND pid <> pg_backend_pid()"
        ).format(sql.Literal(cluster.database))
    )


def _restore(cluster: Cluster) -> None:
    from fault_cluster import admin
    from psycopg import sql

    admin(
        sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(
            sql.Identifier(cluster.database)
        )
    )


def test_database_down_mid_request_shows_the_error_page_then_recovers(
    cluster: Cluster,
) -> None:
    analysis_id = cluster.submit("clean-list")  # stays queued: no worker here
    token = cluster.api_token()
    web, base = cluster.web()
    listing = f"{base}/api/analyses"  # authenticating the token reads the database
    assert _get(listing, token)[0] == 200
    assert _get(f"{base}/healthz")[0] == 200

    _cut_off(cluster, refuse_new=True)
    try:
        status, body = _get(listing, token)
        assert status == 500
        assert "Something went wrong on our side" in body
        for leak in ("Traceback", "OperationalError", "psycopg", cluster.database):
            assert leak not in body
        status, body = _get(f"{base}/healthz")
        assert (status, json.loads(body)["database"]) == (503, "error: OperationalError")
        errors = [r for r in web.records() if r["level"] == "ERROR"]
        assert errors and all("exc" in r or "healthz" in r["message"] for r in errors)
    finally:
        _restore(cluster)

    assert _get(f"{base}/healthz")[0] == 200
    assert _get(listing, token)[0] == 200
    assert cluster.rows([analysis_id])[analysis_id][0] == "queued"  # nothing half-done


def test_database_down_mid_task_the_task_retries_and_stores_one_run(cluster: Cluster) -> None:
    worker = cluster.worker("worker")
    hold = cluster.hold()
    analysis_id = cluster.submit("clean-list")
    cluster.held_pid(hold)
    assert cluster.rows([analysis_id])[analysis_id][:2] == ("running", 1)

    _cut_off(cluster, refuse_new=False)  # the run's connection dies while it verifies
    Path(f"{hold}.go").touch()  # let the run go on: storing it fails

    rows = cluster.wait_finished([analysis_id], timeout=30)
    assert rows[analysis_id] == ("done", 2, "")
    assert cluster.runs(analysis_id) == ["pass"]
    retried = [r for r in worker.records() if "database error, retrying" in r["message"]]
    assert [r.get("analysis_id") for r in retried] == [analysis_id]
    cluster.assert_nothing_lost()
