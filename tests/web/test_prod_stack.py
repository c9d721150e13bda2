"""End to end: scripts/stack.py starts the production processes; an upload finishes.

The stack runs on a database of its own (which it creates and migrates) on the local
PostgreSQL and a spare Redis database, with the demo key lookup (no DNS). A token is
made with ``manage.py create_api_token`` against that database; a small and a "large"
message (the threshold is lowered to 20 KB) are uploaded through the API, each is run by
the worker of its queue, /healthz answers, static files are served by whitenoise and the
workers' logs are JSON lines carrying the analysis id. Everything is stopped, the
database dropped and the Redis database emptied, also when the test fails.
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
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent.parent
REDIS_DB = 12  # spare: other tests use 13 and 15
READY_SECONDS = 120
DONE_SECONDS = 30

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

CREATE_USER = """
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("ops", "ops@example.org", "ops-pw-12345")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningStack:
    base: str
    env: dict[str, str]
    log_dir: Path
    pids: dict[str, int]
    stdout: Path
    intake_port: int


def _wait_ready(proc: subprocess.Popen[bytes], stdout: Path) -> str:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        text = stdout.read_text(errors="replace")
        if "\nstack ready" in text:
            return text
        if proc.poll() is not None:
            pytest.fail(f"scripts/stack.py exited with {proc.returncode}:\n{text}")
        time.sleep(0.2)
    pytest.fail(f"the stack was not ready within {READY_SECONDS} s:\n{stdout.read_text()}")


@pytest.fixture
def stack(require_postgres: str, require_redis: str, tmp_path: Path) -> Iterator[RunningStack]:
    name = f"dkim2web_test_{secrets.token_hex(6)}"
    database = urlunsplit(urlsplit(require_postgres)._replace(path=f"/{name}"))
    redis_url = urlunsplit(urlsplit(require_redis)._replace(path=f"/{REDIS_DB}"))
    port = free_port()
    intake_port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CELERY_", "DJANGO_", "DKIM2", "DATABASE_", "CACHE_URL"))
    }
    env.update(
        DKIM2_KEY_LOOKUP="dkim2web.samples.keys.DemoDnsLookup",
        DKIM2WEB_LARGE_MESSAGE_BYTES="20000",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
    )
    log_dir = tmp_path / "logs"
    stdout = tmp_path / "stack.out"
    command = [
        sys.executable,
        "scripts/stack.py",
        f"--port={port}",
        f"--intake-port={intake_port}",
        f"--database-url={database}",
        f"--broker-url={redis_url}",
        f"--cache-url={redis_url}",
        f"--log-dir={log_dir}",
        "--web-workers=1",
        "--workers=1",
        "--large-workers=1",
    ]
    with stdout.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )  # fmt: skip
    pids: dict[str, int] = {}
    try:
        text = _wait_ready(proc, stdout)
        pids_line = next(line for line in text.splitlines() if line.strip().startswith("pids"))
        pids = {k: int(v) for k, v in (p.split("=") for p in pids_line.split()[1:])}
        yield RunningStack(
            f"http://127.0.0.1:{port}",
            dict(env, DATABASE_URL=database),
            log_dir,
            pids,
            stdout,
            intake_port,
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, stdout.read_text()
        # Stopped together: none of its processes is left.
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [name for name, pid in pids.items() if _alive(pid)]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        _drop(require_postgres, name)
        _flush(redis_url)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _drop(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _flush(url: str) -> None:
    import redis

    client: Any = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=dict(env, DJANGO_SECRET_KEY="test-only"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _request(url: str, *, token: str = "", data: bytes | None = None) -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data:
        request.add_header("Content-Type", "message/rfc822")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _chain(padding: int = 0) -> tuple[bytes, str, list[str]]:
    from dkim2web.samples.gallery import get_sample

    built = get_sample("clean-list").sign_now()
    raw = built.raw
    if padding:  # a longer body: the body hash no longer matches, the verdict is "fail"
        raw = raw + b"x" * 76 + b"\r\n" * 1 + (b"y" * 76 + b"\r\n") * (padding // 78)
    return raw, built.mail_from, built.rcpt_to


def test_the_stack_runs_an_upload_to_the_end(stack: RunningStack) -> None:
    _manage(stack.env, "shell", "--no-imports", "-c", CREATE_USER)
    token = _manage(stack.env, "create_api_token", "ops").strip()

    ids = {}
    for kind, padding in (("small", 0), ("large", 30_000)):
        raw, mail_from, rcpt_to = _chain(padding)
        query = urlencode({"mail_from": mail_from, "rcpt_to": rcpt_to}, doseq=True)
        status, _, body = _request(f"{stack.base}/api/analyses?{query}", token=token, data=raw)
        assert status == 201, body
        ids[kind] = json.loads(body)["id"]

    deadline = time.monotonic() + DONE_SECONDS
    results: dict[str, Any] = {}
    while time.monotonic() < deadline and len(results) < len(ids):
        for kind, analysis_id in ids.items():
            _, _, body = _request(f"{stack.base}/api/analyses/{analysis_id}", token=token)
            detail = json.loads(body)
            if detail["status"] in ("done", "failed"):
                results[kind] = detail
        time.sleep(0.2)
    assert set(results) == set(ids), f"not finished: {results}\n{stack.stdout.read_text()}"
    assert (results["small"]["status"], results["small"]["result"]) == ("done", "pass")
    assert (results["large"]["status"], results["large"]["result"]) == ("done", "fail")

    # Each ran on the worker of its queue, and said so with the id on the line.
    for kind, worker in (("small", "worker"), ("large", "worker-large")):
        text = (stack.log_dir / f"{worker}.log").read_text()
        lines = [json.loads(line) for line in text.splitlines()]
        stamped = [line for line in lines if line.get("analysis_id") == ids[kind]]
        assert any("succeeded" in line["message"] for line in stamped), (kind, lines)
        for line in lines:  # any line naming the analysis is stamped with it
            if ids[kind] in line["message"]:
                assert line.get("analysis_id") == ids[kind], line

    status, headers, body = _request(f"{stack.base}/healthz")
    assert status == 200
    assert json.loads(body) | {"took_ms": 0} == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "cache": "ok",
        "took_ms": 0,
    }

    status, headers, body = _request(f"{stack.base}/static/dkim2web/base.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    status, headers, body = _request(f"{stack.base}/")
    assert status == 200
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert b"/static/dkim2web/base." in body  # the hashed name from the manifest

    # The intake runs in the stack as soon as the command exists (issue #4).
    if (REPO / "dkim2web/intake/management/commands/run_intake.py").exists():
        assert "intake" in stack.pids
        with socket.create_connection(("127.0.0.1", stack.intake_port), timeout=10) as smtp:
            assert smtp.recv(512).startswith(b"220 ")
            smtp.sendall(b"QUIT\r\n")
