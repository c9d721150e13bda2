"""Fault 3: Redis is down while a message is uploaded, then comes back.

The upload through the API (gunicorn) is stored and answered 201 with its id although
the task cannot be published; /healthz says 503 meanwhile. Redis is started again (empty:
it kept nothing), the workers and beat reconnect by themselves, and the sweep, which beat
runs every second here (every minute in production), publishes the waiting analysis; it
is run. The SMTP intake's half of this fault (250 only once the message is stored) is the
intake's own test.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from fault_cluster import Cluster

from dkim2web.samples.gallery import get_sample

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def _call(url: str, *, token: str = "", data: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data:
        request.add_header("Content-Type", "message/rfc822")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_an_upload_while_redis_is_down_is_kept_and_runs_once_it_is_back(
    cluster: Cluster,
) -> None:
    cluster.env.update(DKIM2WEB_SWEEP_EVERY_SECONDS="1", DKIM2WEB_SWEEP_AFTER_SECONDS="2")
    token = cluster.api_token()
    web, base = cluster.web()
    cluster.worker("worker")
    cluster.beat()
    assert _call(f"{base}/healthz")[1]["broker"] == "ok"

    cluster.redis.stop()
    status, health = _call(f"{base}/healthz")
    assert (status, health["status"], health["database"]) == (503, "error", "ok")
    assert health["broker"].startswith("error: ")

    built = get_sample("clean-list").sign_now()
    query = urlencode({"mail_from": built.mail_from, "rcpt_to": built.rcpt_to}, doseq=True)
    started = time.monotonic()
    status, created = _call(f"{base}/api/analyses?{query}", token=token, data=built.raw)
    assert (status, created["status"]) == (201, "queued")
    assert time.monotonic() - started < 10  # the publish gives up quickly
    analysis_id = created["id"]
    not_queued = [r for r in web.records() if "stored but not queued" in r["message"]]
    assert [r.get("analysis_id") for r in not_queued] == [analysis_id]

    cluster.redis.start()
    rows = cluster.wait_finished([analysis_id], timeout=60)
    assert rows[analysis_id] == ("done", 1, "")
    assert cluster.runs(analysis_id) == ["pass"]
    status, health = _call(f"{base}/healthz")
    assert (status, health["broker"]) == (200, "ok")
    status, detail = _call(f"{base}/api/analyses/{analysis_id}", token=token)
    assert (status, detail["status"], detail["result"]) == (200, "done", "pass")
    cluster.assert_nothing_lost()
