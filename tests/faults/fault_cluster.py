"""The fault tests' cluster: real PostgreSQL, a private Redis server, real processes.

The fixtures that hand these out are in conftest.py.

* One throwaway database is migrated per session and cloned (``CREATE DATABASE ... TEMPLATE``)
  for each test, so a test may break its database as it likes.
* Each test gets a Redis server of its own (``redis-server`` on a free loopback port, no
  persistence), which it may stop and start again; nothing else on the machine notices.
* :class:`Cluster` starts workers, gunicorn and beat as production does, with JSON logs and
  the demo key lookup (plus the hold of ``fault_slowkeys``), submits analyses, waits for
  them and checks that nothing was lost.

Processes, databases and Redis servers are removed even when a test fails. The tests are
marked ``postgres`` and ``redis``: without those services they are skipped loudly, or fail
under DKIM2WEB_REQUIRE_SERVICES=1 (the check in tests/conftest.py runs before any fixture).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get(
    "DKIM2WEB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
FINISHED = ("done", "failed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}"))


def admin(statement: sql.Composable, params: list[Any] | None = None) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(statement, params)


def base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CELERY_", "DJANGO_", "DKIM2", "DATABASE_", "CACHE_URL", "REDIS_"))
    }
    env.update(
        DJANGO_SECRET_KEY="fault-tests-only-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        DJANGO_LOG_FORMAT="json",
        DKIM2WEB_SECURE="0",
        DKIM2_KEY_LOOKUP="fault_slowkeys.HeldDemoDnsLookup",
        PYTHONPATH=os.pathsep.join([str(HERE), str(REPO)]),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}"
    return result.stdout


class RedisServer:
    """``redis-server`` on a free loopback port, without persistence; stop() and start()."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir),
            ],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.05)
        pytest.fail(f"redis-server did not answer on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def records(self) -> list[dict[str, Any]]:
        """The JSON log lines (every line is one, in production)."""
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]


@dataclass
class Cluster:
    database: str  # database name
    redis: RedisServer
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return database_url(self.database)

    # -- processes -----------------------------------------------------------------

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv, cwd=REPO, env=env or self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped, or killed, as one
            )  # fmt: skip
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def worker(self, name: str, *, queue: str = "analyses", concurrency: int = 1) -> Proc:
        proc = self._start(
            name,
            [
                str(BIN / "celery"), "-A", "dkim2web", "--quiet", "worker", "-Q", queue,
                "-n", f"{name}-{secrets.token_hex(3)}@%h", f"--concurrency={concurrency}",
                "--loglevel=INFO", "--without-gossip", "--without-mingle",
            ],
        )  # fmt: skip
        self.wait_for_log(proc, " ready.")
        return proc

    def beat(self) -> Proc:
        proc = self._start(
            "beat",
            [
                str(BIN / "celery"), "-A", "dkim2web", "--quiet", "beat", "--loglevel=INFO",
                f"--schedule={self.tmp / 'celerybeat-schedule'}",
            ],
        )  # fmt: skip
        self.wait_for_log(proc, "beat: Starting")
        return proc

    def web(self) -> tuple[Proc, str]:
        port = free_port()
        env = dict(self.env, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
        proc = self._start(
            "web",
            [str(BIN / "gunicorn"), "-c", "scripts/gunicorn.conf.py", "dkim2web.wsgi:application"],
            env,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    return proc, base
            except urllib.error.HTTPError:
                return proc, base  # it answers (a 503 is an answer)
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"gunicorn did not answer:\n{proc.text()[-3000:]}")

    def intake(self) -> tuple[Proc, tuple[str, int]]:
        """``manage.py run_intake`` (SMTP) on a free loopback port, as production runs it
        (scripts/stack.py), against this cluster's database and broker; it and its address,
        once it listens."""
        host, port = "127.0.0.1", free_port()
        proc = self._start(
            "intake",
            [sys.executable, "manage.py", "run_intake", "--host", host, "--port", str(port)],
        )
        # Its banner is logged only after the socket listens (run_intake._serve).
        self.wait_for_log(proc, f"intake: SMTP on {host}:{port}")
        return proc, (host, port)

    def wait_for_log(self, proc: Proc, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in proc.text():
                return
            if proc.popen.poll() is not None:
                pytest.fail(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.text()}")
            time.sleep(0.1)
        pytest.fail(f"{proc.name}: no {text!r} within {timeout} s:\n{proc.text()[-3000:]}")

    def kill(self, proc: Proc, sig: int = signal.SIGKILL) -> None:
        """Kill the process and its children (its process group), and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.popen.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=15)
            # Whatever is left in its group (a pool child), by the group's id.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            if proc.popen.poll() is None:
                proc.popen.wait(timeout=10)

    # -- the app ---------------------------------------------------------------------

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def submit(self, slug: str = "clean-list", *, env: dict[str, str] | None = None) -> str:
        """Store a freshly signed gallery sample as an analysis and queue it; its id."""
        code = (
            "from dkim2web.reports import services\n"
            "from dkim2web.samples.gallery import get_sample\n"
            f"built = get_sample({slug!r}).sign_now()\n"
            "a = services.analysis_submit(raw=built.raw, mail_from=built.mail_from,"
            " rcpt_to=built.rcpt_to)\n"
            "print('ID', a.pk)\n"
        )
        out = manage(env or self.env, "shell", "--no-imports", "-c", code)
        return next(line.split()[1] for line in out.splitlines() if line.startswith("ID "))

    def api_token(self) -> str:
        self.manage(
            "shell",
            "--no-imports",
            "-c",
            "from django.contrib.auth import get_user_model\n"
            "get_user_model().objects.create_user('ops', 'ops@example.org', 'ops-pw-1234')",
        )
        return self.manage("create_api_token", "ops").strip()

    def intake_address(self, username: str = "ops") -> str:
        """A user's mail-in address (the user is made if need be)."""
        self.manage(
            "shell",
            "--no-imports",
            "-c",
            "from django.contrib.auth import get_user_model\n"
            f"get_user_model().objects.get_or_create(username={username!r})",
        )
        return self.manage("intake_address", username).strip()

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description is not None else []

    def rows(self, ids: list[str]) -> dict[str, tuple[str, int, str]]:
        found = self.sql(
            "SELECT id::text, status, attempts, error FROM reports_analysis"
            " WHERE id::text = ANY(%s)",
            [ids],
        )
        return {i: (s, a, e) for i, s, a, e in found}

    def runs(self, analysis_id: str) -> list[str]:
        return [
            r
            for (r,) in self.sql(
                "SELECT result FROM reports_analysisrun WHERE analysis_id::text = %s",
                [analysis_id],
            )
        ]

    def wait_finished(self, ids: list[str], timeout: float = 45) -> dict[str, tuple[str, int, str]]:
        deadline = time.monotonic() + timeout
        rows: dict[str, tuple[str, int, str]] = {}
        while time.monotonic() < deadline:
            rows = self.rows(ids)
            if len(rows) == len(ids) and all(r[0] in FINISHED for r in rows.values()):
                return rows
            time.sleep(0.2)
        tails = "\n".join(f"--- {p.name}\n{p.text()[-4000:]}" for p in self.procs)
        pytest.fail(f"not finished within {timeout} s: {rows}\n{tails}")

    def assert_nothing_lost(self) -> None:
        """Every stored analysis is done with exactly one run, or failed saying why."""
        rows = self.sql(
            "SELECT a.id::text, a.status, a.error, count(r.id) FROM reports_analysis a"
            " LEFT JOIN reports_analysisrun r ON r.analysis_id = a.id GROUP BY a.id"
        )
        assert rows, "no analysis was stored"
        for analysis_id, status, error, runs in rows:
            if status == "done":
                assert runs == 1, (analysis_id, runs)
            else:
                assert (status, runs) == ("failed", 0), (analysis_id, status, runs)
                assert error, analysis_id

    def hold(self) -> Path:
        """Arm fault_slowkeys: the next run to look up keys waits at ``<path>.go``."""
        token = self.tmp / "hold"
        token.touch()
        return token

    def held_pid(self, token: Path, timeout: float = 30) -> int:
        pid_file = Path(f"{token}.pid")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pid_file.exists():
                return int(pid_file.read_text())
            time.sleep(0.05)
        tails = "\n".join(f"--- {p.name}\n{p.text()[-3000:]}" for p in self.procs)
        pytest.fail(f"no run reached the key lookup within {timeout} s\n{tails}")
