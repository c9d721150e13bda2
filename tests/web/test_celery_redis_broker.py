"""With a real broker configured, run_analysis is published to it (not run in-process)."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
import redis

from dkim2web.celery import app
from dkim2web.reports.tasks import run_analysis


@pytest.mark.redis
@pytest.mark.usefixtures("not_eager")
def test_run_analysis_is_published_with_its_id(require_redis: str) -> None:
    queue = f"dkim2web-test-{secrets.token_hex(6)}"
    client: Any = redis.Redis.from_url(require_redis)
    try:
        with app.connection_for_write(require_redis) as connection:
            run_analysis.apply_async(
                args=["5f0c7e2e-0000-4000-8000-000000000000"], queue=queue, connection=connection
            )
        assert client.llen(queue) == 1
        envelope = json.loads(client.lpop(queue))
        assert envelope["headers"]["task"] == "dkim2web.reports.tasks.run_analysis"
        assert envelope["headers"]["argsrepr"] == "['5f0c7e2e-0000-4000-8000-000000000000']"
    finally:
        client.delete(queue)
        client.close()
