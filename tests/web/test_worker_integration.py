"""The pipeline for real: PostgreSQL, the Redis broker and Celery worker processes.

A throwaway database is created on the local PostgreSQL and migrated; two solo-pool
workers (concurrency 1 each) consume a queue of this test's own on a spare Redis
database. The submitting side runs as manage.py subprocesses, configured the way
production is (DATABASE_URL, CELERY_BROKER_URL), so nothing in this process has to be
reconfigured. Keys come from the demo zone (DKIM2_KEY_LOOKUP), so no DNS is used.
Workers, the database and the queue's Redis keys are removed even when the test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent.parent
# The celery script of the environment running the tests (.venv under make test).
CELERY = Path(sys.executable).parent / "celery"
REDIS_DB = 13  # spare: the other Redis tests use 15
DEADLINE_SECONDS = 60

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

EXPECTED = {
    "clean-list": ("pass", None),
    "list-without-recipe": ("fail", "FAIL: Message Instance m=1 body hash sha256 mismatch"),
    # Judged by -09 rules: from -08 custody and expiry failures are FAIL (Stalwart 0.15).
    "replayed": (
        "fail",
        "FAIL: DKIM2-Signature i=3 RCPT TO <carol@inbox.example> did not match",
    ),
    "tampered": ("fail", "FAIL: Message Instance m=1 body hash sha256 mismatch"),
    "expired": ("fail", "FAIL: DKIM2-Signature i=1 signature expired"),
    "broken-custody": (
        "fail",
        "FAIL: DKIM2-Signature i=2 custody MAIL FROM <bounces@relay.example> does not follow "
        "from i=1",
    ),
    "real-mail": ("pass", None),
    "groups-mldsa44": ("pass", None),
    "mixed-revisions": ("fail", "FAIL: Message Instance m=1 header hash sha256 mismatch"),
}

# One analysis, then its task published twice at once: two deliveries of one message.
DUPLICATE = """
from dkim2web.reports import services
from dkim2web.reports.tasks import run_analysis
from dkim2web.samples.gallery import get_sample
built = get_sample("clean-list").sign_now()
a = services.analysis_submit(
    raw=built.raw, mail_from=built.mail_from, rcpt_to=built.rcpt_to, enqueue=False
)
run_analysis.delay(str(a.pk))
run_analysis.delay(str(a.pk))
print(a.pk)
"""

SWEEP = """
from dkim2web.reports.tasks import sweep_analyses
print(json.dumps(sweep_analyses()))
"""


@pytest.fixture
def database(throwaway_database: str) -> str:
    return throwaway_database


@pytest.fixture
def broker(require_redis: str) -> Iterator[tuple[str, str]]:
    """A broker URL on a spare Redis database, and a queue name no one else uses."""
    import redis

    url = urlunsplit(urlsplit(require_redis)._replace(path=f"/{REDIS_DB}"))
    queue = f"dkim2web-it-{secrets.token_hex(6)}"
    try:
        yield url, queue
    finally:
        client: Any = redis.Redis.from_url(url)
        try:
            keys = list(client.scan_iter(match=f"*{queue}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def _environment(database_url: str, broker_url: str, queue: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CELERY_", "DJANGO_", "DKIM2", "DATABASE_"))
    }
    env.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        DKIM2WEB_TASK_QUEUE=queue,
        DKIM2_KEY_LOOKUP="dkim2web.samples.keys.DemoDnsLookup",
        DJANGO_DEBUG="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stderr}"
    return result.stdout


@pytest.fixture
def workers(
    database: str, broker: tuple[str, str], tmp_path: Path
) -> Iterator[tuple[dict[str, str], list[Path]]]:
    """Migrate the database, start two worker processes; stop them whatever happens."""
    broker_url, queue = broker
    env = _environment(database, broker_url, queue)
    _manage(env, "migrate", "--noinput")
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    try:
        for n in (1, 2):
            log = tmp_path / f"worker{n}.log"
            logs.append(log)
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [
                            str(CELERY),
                            "-A",
                            "dkim2web",
                            "worker",
                            "--pool=solo",
                            "--concurrency=1",
                            "-Q",
                            queue,
                            "-n",
                            f"it{n}-{queue}@%h",
                            "--without-gossip",
                            "--without-mingle",
                            "--without-heartbeat",
                            "--loglevel=INFO",
                        ],
                        cwd=REPO,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group, killed as one
                    )
                )
        yield env, logs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _wait_until_finished(database: str, ids: list[str], logs: list[Path]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        with psycopg.connect(database) as conn:
            states = dict(
                conn.execute(
                    "SELECT id::text, status FROM reports_analysis WHERE id::text = ANY(%s)",
                    [ids],
                ).fetchall()
            )
        if len(states) == len(ids) and all(s in ("done", "failed") for s in states.values()):
            return
        time.sleep(0.2)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)
    pytest.fail(f"not finished within {DEADLINE_SECONDS} s: {states}\n{tails}")


def _runs(database: str, analysis_id: str) -> list[tuple[str, dict[str, Any]]]:
    with psycopg.connect(database) as conn:
        return [
            (result, report if isinstance(report, dict) else json.loads(report))
            for result, report in conn.execute(
                "SELECT result, report FROM reports_analysisrun WHERE analysis_id::text = %s",
                [analysis_id],
            ).fetchall()
        ]


def _closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_workers_verify_every_sample_and_a_duplicate_delivery_runs_once(
    workers: tuple[dict[str, str], list[Path]], database: str
) -> None:
    started = time.monotonic()
    env, logs = workers

    submitted = dict(
        line.split() for line in _manage(env, "analyze_sample", "--enqueue").splitlines()
    )
    assert sorted(submitted) == sorted(EXPECTED)
    duplicate = _manage(env, "shell", "--no-imports", "-c", DUPLICATE).strip()

    # Stored while the broker is unreachable: the upload succeeds and the row stays queued;
    # the sweep publishes it once the broker is back, and a worker runs it.
    down = dict(env, CELERY_BROKER_URL=f"redis://127.0.0.1:{_closed_loopback_port()}/0")
    (lost_line,) = _manage(down, "analyze_sample", "--enqueue", "tampered").splitlines()
    lost = lost_line.split()[1]
    with psycopg.connect(database) as conn:
        (status,) = conn.execute(
            "SELECT status FROM reports_analysis WHERE id::text = %s", [lost]
        ).fetchone() or ("missing",)
    assert status == "queued"
    sweep_env = dict(env, DKIM2WEB_SWEEP_AFTER_SECONDS="0")
    swept = json.loads(
        _manage(sweep_env, "shell", "--no-imports", "-c", "import json\n" + SWEEP).splitlines()[-1]
    )
    assert swept["requeued"] >= 1

    ids = [*submitted.values(), duplicate, lost]
    _wait_until_finished(database, ids, logs)

    for slug, analysis_id in submitted.items():
        runs = _runs(database, analysis_id)
        assert len(runs) == 1, (slug, runs)
        result, report = runs[0]
        chain = report["dkim2"]
        failures = [f["message"] for f in chain["findings"] if f["state"] != "none"]
        assert (chain["result"], failures[0] if failures else None) == EXPECTED[slug], slug
        # The whole message: DMARC (demo zone: p=reject and friends) passes only through a
        # verified DKIM2 chain.
        trusted = ("clean-list", "real-mail", "groups-mldsa44")
        assert result == ("pass" if slug in trusted else "fail"), slug
        assert {a["transport"] for a in report["dns"]} == {"static"}

    runs = _runs(database, duplicate)
    assert [r for r, _ in runs] == ["pass"]  # two deliveries, one run
    with psycopg.connect(database) as conn:
        (status, attempts) = conn.execute(
            "SELECT status, attempts FROM reports_analysis WHERE id::text = %s", [duplicate]
        ).fetchone() or ("missing", -1)
    assert (status, attempts) == ("done", 1)

    assert [r for r, _ in _runs(database, lost)] == ["fail"]

    assert time.monotonic() - started < DEADLINE_SECONDS
