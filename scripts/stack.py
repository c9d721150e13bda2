#!/usr/bin/env python3
"""Start dkim2web's production processes on this machine, without containers (make stack).

The same processes as docker-compose.yml, on this machine's PostgreSQL and Redis:

1. create the database if it is missing, migrate it once, collect the static files;
2. start gunicorn (the web, with whitenoise) on a loopback port, a Celery worker per queue
   (``analyses`` for small messages and the periodic tasks, ``analyses-large``), beat, and
   the SMTP/LMTP intake when ``manage.py run_intake`` exists;
3. wait until each answers (``/healthz``, the workers' "ready" line, the intake's port),
   print the URLs and ``stack ready``;
4. stop them all together on Ctrl-C or SIGTERM, or as soon as any one of them exits.

Every process is a child of this one, in its process group, and is told to stop (SIGTERM)
if this process dies, however it dies. Each writes its log to ``<log dir>/<name>.log``.

Configuration is the app's own (docs/operations.md): the variables below get defaults fit
for a laptop on loopback (plain HTTP, so DKIM2WEB_SECURE=0), anything else set in the
environment passes through. Run with the project's virtualenv: ``.venv/bin/python
scripts/stack.py --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUN_INTAKE = REPO / "dkim2web" / "intake" / "management" / "commands" / "run_intake.py"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dkim2web"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/1"


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _die_with_parent() -> None:
    # prctl(PR_SET_PDEATHSIG, SIGTERM): the child is told to stop when the stack dies,
    # even by SIGKILL, so nothing outlives it.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class Process:
    name: str
    argv: list[str]
    log_path: Path
    ready: str  # "http:<url>", "log:<text>", "tcp:<port>"
    popen: subprocess.Popen[bytes] | None = None
    descendants: set[int] = field(default_factory=set)

    def start(self, env: dict[str, str]) -> None:
        with self.log_path.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # safe: this process runs no threads
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def is_ready(self) -> bool:
        kind, _, what = self.ready.partition(":")
        if kind == "http":
            try:
                with urllib.request.urlopen(what, timeout=2) as response:
                    return bool(response.status == 200)
            except (OSError, urllib.error.URLError):
                return False
        if kind == "log":
            try:
                return what in self.log_path.read_text(errors="replace")
            except OSError:
                return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", int(what)), 1):
            return True
        return False

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


def children_of(pid: int) -> set[int]:
    """Every descendant of ``pid`` (Linux /proc), so grandchildren can be stopped too."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                kids = {int(k) for k in (task / "children").read_text().split()}
            except OSError:
                continue
            new = kids - found
            found |= new
            todo.extend(new)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Stack:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.processes: list[Process] = []
        self.stopping = False
        self.log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="dkim2web-stack-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = self._environment()

    # -- configuration ---------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        a = self.args
        env = dict(os.environ)
        env.update(
            DATABASE_URL=a.database_url,
            CELERY_BROKER_URL=a.broker_url,
            CACHE_URL=a.cache_url,
            PYTHONUNBUFFERED="1",
        )
        defaults = {
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_LOG_FORMAT": "json",
            "DKIM2WEB_SECURE": "0",  # plain HTTP on loopback; behind TLS, leave it on
            "DATABASE_CONN_MAX_AGE": "60",
            "DJANGO_STATIC_ROOT": str(REPO / "staticfiles"),
        }
        for name, value in defaults.items():
            env.setdefault(name, value)
        env.pop("DJANGO_DEBUG", None)  # production: DEBUG off
        if not env.get("DJANGO_SECRET_KEY"):
            env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
            log("DJANGO_SECRET_KEY not set: using a random one (sessions end with the stack)")
        env["GUNICORN_BIND"] = f"127.0.0.1:{a.port}"
        env["WEB_CONCURRENCY"] = str(a.web_workers)
        return env

    def _queue(self, large: bool) -> str:
        small = self.env.get("DKIM2WEB_TASK_QUEUE") or "analyses"
        return (self.env.get("DKIM2WEB_LARGE_TASK_QUEUE") or f"{small}-large") if large else small

    # -- steps -----------------------------------------------------------------------

    def create_database(self) -> None:
        import psycopg
        from psycopg import sql

        target = urlsplit(self.args.database_url)
        name = target.path.lstrip("/")
        admin = urlunsplit(target._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log(f"created database {name}")

    def manage(self, *argv: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *argv],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise SystemExit(f"[stack] manage.py {' '.join(argv)} failed:\n{result.stderr}")

    def plan(self) -> None:
        a = self.args
        port = a.port

        def proc(name: str, argv: list[str], ready: str) -> None:
            self.processes.append(Process(name, argv, self.log_dir / f"{name}.log", ready))

        proc(
            "web",
            [str(BIN / "gunicorn"), "-c", "scripts/gunicorn.conf.py", "dkim2web.wsgi:application"],
            f"http:http://127.0.0.1:{port}/healthz",
        )
        # --quiet: no banner, so every line of the logs is JSON.
        celery = [str(BIN / "celery"), "-A", "dkim2web", "--quiet"]
        for name, large, concurrency in (
            ("worker", False, a.workers),
            ("worker-large", True, a.large_workers),
        ):
            if concurrency < 1:
                continue
            queue = self._queue(large)
            proc(
                name,
                [
                    *celery,
                    "worker",
                    "-Q",
                    queue,
                    "-n",
                    f"{queue}.{port}@%h",
                    f"--concurrency={concurrency}",
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                ],
                "log: ready.",
            )
        proc(
            "beat",
            [
                *celery,
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.log_dir / 'celerybeat-schedule'}",
            ],
            "log:beat: Starting",
        )
        if a.intake and RUN_INTAKE.exists():
            proc(
                "intake",
                [
                    sys.executable,
                    "manage.py",
                    "run_intake",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(a.intake_port),
                ],
                f"tcp:{a.intake_port}",
            )
        elif a.intake:
            log("no manage.py run_intake yet: the intake is not started")

    def start(self) -> None:
        for process in self.processes:
            process.start(self.env)
        deadline = time.monotonic() + self.args.ready_timeout
        waiting = list(self.processes)
        while waiting:
            if self.stopping:
                raise SystemExit(130)
            for process in list(waiting):
                assert process.popen is not None
                if process.popen.poll() is not None:
                    self.fail(f"{process.name} exited with {process.popen.returncode} at start")
                if process.is_ready():
                    waiting.remove(process)
            if waiting and time.monotonic() > deadline:
                names = ", ".join(p.name for p in waiting)
                self.fail(f"not ready within {self.args.ready_timeout:g} s: {names}")
            if waiting:
                time.sleep(0.2)

    def describe(self) -> None:
        a = self.args
        by_name = {p.name: p for p in self.processes}
        lines = [
            f"dkim2web stack is up: process group {os.getpgrp()}, stop it with Ctrl-C or "
            f"kill -TERM {os.getpid()}",
            f"  web       http://127.0.0.1:{a.port}/   (health: http://127.0.0.1:{a.port}/healthz)",
            f"  api       http://127.0.0.1:{a.port}/api/schema",
        ]
        if "intake" in by_name:
            lines.append(f"  intake    smtp://127.0.0.1:{a.intake_port}")
        for name in ("worker", "worker-large"):
            if name in by_name:
                queue = self._queue(name == "worker-large")
                concurrency = a.workers if name == "worker" else a.large_workers
                lines.append(f"  {name:<9} queue {queue}, {concurrency} process(es)")
        lines += [
            "  beat      sweep and retention purge",
            f"  database  {redact(a.database_url)}",
            f"  broker    {redact(a.broker_url)}   cache {redact(a.cache_url)}",
            f"  logs      {self.log_dir}/",
            "  pids      " + " ".join(f"{p.name}={p.pid}" for p in self.processes),
        ]
        print("\n".join(lines), flush=True)
        print("stack ready", flush=True)

    def supervise(self) -> int:
        while not self.stopping:
            for process in self.processes:
                assert process.popen is not None
                code = process.popen.poll()
                if code is not None and not self.stopping:
                    log(f"{process.name} exited with {code}; stopping the rest")
                    log(f"--- {process.name} log tail\n{process.tail()}")
                    self.stop()
                    return 1
            time.sleep(0.5)
        return 0

    def stop(self, *_: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        started = [p for p in self.processes if p.popen is not None]
        for process in started:
            process.descendants = children_of(process.pid)
        for process in started:
            assert process.popen is not None
            if process.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.args.stop_timeout
        for process in started:
            assert process.popen is not None
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{process.name} did not stop within {self.args.stop_timeout:g} s; killing it")
                process.popen.kill()
                process.popen.wait(timeout=10)
        # Whatever the masters left behind (a pool child, a gunicorn worker): by its pid.
        for process in started:
            for pid in process.descendants:
                if alive(pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
        log("stopped")

    def fail(self, reason: str) -> None:
        log(reason)
        for process in self.processes:
            if process.popen is not None:
                log(f"--- {process.name} log tail\n{process.tail()}")
        self.stop()
        raise SystemExit(1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument("--port", type=int, default=int(env("DKIM2WEB_STACK_PORT", "8000")))
    parser.add_argument("--database-url", default=env("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parser.add_argument("--broker-url", default=env("CELERY_BROKER_URL") or DEFAULT_BROKER_URL)
    parser.add_argument(
        "--cache-url", default=env("CACHE_URL") or env("REDIS_URL") or DEFAULT_CACHE_URL
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--workers", type=int, default=2, help="processes for small messages")
    parser.add_argument("--large-workers", type=int, default=1, help="0: no large worker")
    parser.add_argument("--intake-port", type=int, default=2525)
    parser.add_argument("--no-intake", dest="intake", action="store_false")
    parser.add_argument("--log-dir", default=None, help="default: a new temporary folder")
    parser.add_argument("--ready-timeout", type=float, default=90.0)
    parser.add_argument("--stop-timeout", type=float, default=30.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    stack = Stack(parse_args(argv))
    signal.signal(signal.SIGTERM, stack.stop)
    signal.signal(signal.SIGINT, stack.stop)
    try:
        stack.create_database()
        log("migrating")
        stack.manage("migrate", "--noinput")
        stack.manage("collectstatic", "--noinput", "-v0")
        stack.plan()
        stack.start()
        stack.describe()
        return stack.supervise()
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
