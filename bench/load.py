"""Load on the production stack: concurrent API uploads until every analysis is finished.

Starts ``scripts/stack.py`` (gunicorn, a worker for the small-message queue with
``--workers`` processes, beat) on a throwaway PostgreSQL database and a spare Redis
database of this machine, with the demo key lookup (the keys are served from memory: DNS
answers as good as cached). Signs ``--messages`` distinct 3-hop chains of ``--size`` bytes
with the demo keys, uploads them through the API from ``--concurrency`` threads, and waits
until each is finished. Prints:

* uploads per second, and analyses per second from the first upload to the last finish;
* p50/p95/max seconds from sending an upload to its analysis finishing (finished_at);
* the workers' memory (RSS of the main processes and their pool children, peak);
* errors (uploads not answered 201, analyses failed) and lost messages (accepted but not
  finished by the deadline). The goals are 0 and 0.

Loopback only (127.0.0.1), bounded in count and time; everything it started is stopped,
the database dropped and the Redis database emptied, also on failure or Ctrl-C.

Usage: .venv/bin/python bench/load.py [--messages 1000] [--concurrency 50] [--size 50000]
       [--workers 2] [--redis-db 10] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

POSTGRES = os.environ.get("DKIM2WEB_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS = "redis://127.0.0.1:6379"
MAIL_FROM = "<bob@forwarder.example>"
RCPT_TO = ["<bob@inbox.example>"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chains(count: int, size: int) -> list[bytes]:
    """``count`` distinct 3-hop chains (origin, a list that edits with a recipe, a forwarder)."""
    from analysis.sign import sign
    from dkim2web.samples.keys import signing_key

    now = int(time.time())
    line = "A line of a long weekly report, repeated to make the body the size asked.\r\n"
    body = line * max(1, size // len(line))
    out = []
    for n in range(count):
        head = (
            "From: Alice <alice@origin.example>\r\nTo: ops-talk <ops-talk@lists.example>\r\n"
            f"Subject: Load {n}\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            f"Message-ID: <load-{n}-{secrets.token_hex(4)}@origin.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        )
        hop1 = sign(
            (head + f"Message {n}.\r\n" + body).encode(),
            domain="origin.example",
            keys=[signing_key("origin.example")],
            timestamp=now - 180,
            mail_from="<alice@origin.example>",
            rcpt_to=["<ops-talk@lists.example>"],
        ).message
        edited = hop1 + b"-- \r\nops-talk mailing list\r\n"
        hop2 = sign(
            edited,
            domain="lists.example",
            keys=[signing_key("lists.example")],
            timestamp=now - 120,
            mail_from="<ops-talk-bounces@lists.example>",
            rcpt_to=[MAIL_FROM],
            previous=hop1,
        ).message
        out.append(
            sign(
                hop2,
                domain="forwarder.example",
                keys=[signing_key("forwarder.example")],
                timestamp=now - 60,
                mail_from=MAIL_FROM,
                rcpt_to=RCPT_TO,
            ).message
        )
    return out


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(k) for k in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


@dataclass
class MemoryWatch:
    """Samples the RSS of the worker main processes and their children twice a second."""

    pids: list[int]
    peak_total_kib: int = 0
    peak_each_kib: dict[int, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            for main in self.pids:
                for pid in {main, *children(main)}:
                    kib = rss_kib(pid)
                    total += kib
                    self.peak_each_kib[pid] = max(self.peak_each_kib.get(pid, 0), kib)
            self.peak_total_kib = max(self.peak_total_kib, total)
            self.stop.wait(0.5)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--size", type=int, default=50_000, help="bytes per message (about)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--redis-db", type=int, default=10, help="a spare Redis database")
    parser.add_argument("--deadline", type=float, default=600, help="seconds for everything")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= 20_000 or not 1 <= args.concurrency <= 200:
        parser.error("--messages 1..20000 and --concurrency 1..200 (bounded on purpose)")

    import psycopg
    import redis
    from psycopg import sql

    name = f"dkim2web_bench_{secrets.token_hex(4)}"
    database = f"{POSTGRES}/{name}"
    redis_url = f"{REDIS}/{args.redis_db}"
    port = free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="dkim2web-load-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CELERY_", "DJANGO_", "DKIM2", "DATABASE_", "CACHE_URL"))
    }
    env.update(DKIM2_KEY_LOOKUP="dkim2web.samples.keys.DemoKeyLookup", DJANGO_SECRET_KEY="bench")
    env["DJANGO_STATIC_ROOT"] = str(log_dir / "static")
    stack_cmd = [
        sys.executable, "scripts/stack.py", f"--port={port}", f"--database-url={database}",
        f"--broker-url={redis_url}", f"--cache-url={redis_url}", f"--log-dir={log_dir}",
        f"--workers={args.workers}", "--large-workers=0", f"--web-workers={args.web_workers}",
        "--no-intake",
    ]  # fmt: skip
    redis.Redis.from_url(redis_url).flushdb()
    print(f"signing {args.messages} chains of about {args.size} bytes ...", flush=True)
    messages = chains(args.messages, args.size)
    stack_out = log_dir / "stack.out"
    stack = subprocess.Popen(
        stack_cmd, cwd=REPO, env=env, stdout=stack_out.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    watch: MemoryWatch | None = None
    try:
        deadline = time.monotonic() + 120
        while "\nstack ready" not in stack_out.read_text():
            if stack.poll() is not None or time.monotonic() > deadline:
                print(stack_out.read_text(), file=sys.stderr)
                return 1
            time.sleep(0.2)
        pids = dict(
            p.split("=")
            for line in stack_out.read_text().splitlines()
            if line.strip().startswith("pids")
            for p in line.split()[1:]
        )
        manage_env = dict(env, DATABASE_URL=database)
        subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c",
             "from django.contrib.auth import get_user_model\n"
             "get_user_model().objects.create_user('load', 'load@example.org', 'load-pw-123')"],
            cwd=REPO, env=manage_env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        token = subprocess.run(
            [sys.executable, "manage.py", "create_api_token", "load"],
            cwd=REPO, env=manage_env, check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()  # fmt: skip

        watch = MemoryWatch([int(pids["worker"])])
        threading.Thread(target=watch.run, daemon=True).start()
        query = urlencode({"mail_from": MAIL_FROM, "rcpt_to": RCPT_TO}, doseq=True)
        local = threading.local()
        sent_at: dict[str, float] = {}
        errors: list[str] = []
        lock = threading.Lock()

        def upload(raw: bytes) -> None:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            started = time.time()
            try:
                conn.request(
                    "POST", f"/api/analyses?{query}", body=raw,
                    headers={"Authorization": f"Bearer {token}",
                             "Content-Type": "message/rfc822"},
                )  # fmt: skip
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                local.conn = None
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                return
            with lock:
                if response.status == 201:
                    sent_at[json.loads(body)["id"]] = started
                else:
                    errors.append(f"HTTP {response.status}: {body[:200]!r}")

        print(
            f"uploading {args.messages} messages from {args.concurrency} threads to "
            f"{args.workers} worker processes ...",
            flush=True,
        )
        began = time.time()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(upload, messages))
        uploaded = time.time()

        finished: dict[str, tuple[str, float]] = {}
        ids = list(sent_at)
        done_by_upload_end = 0
        end = time.monotonic() + args.deadline
        with psycopg.connect(database, autocommit=True) as conn:
            while len(finished) < len(ids) and time.monotonic() < end:
                rows = conn.execute(
                    "SELECT id::text, status, extract(epoch FROM finished_at) FROM"
                    " reports_analysis WHERE status IN ('done', 'failed')"
                ).fetchall()
                finished = {i: (s, float(t)) for i, s, t in rows}
                done_by_upload_end = done_by_upload_end or sum(
                    1 for _, t in finished.values() if t <= uploaded
                )
                time.sleep(0.25)
            verdicts = dict(
                conn.execute(
                    "SELECT r.result, count(*) FROM reports_analysisrun r GROUP BY r.result"
                ).fetchall()
            )
        watch.stop.set()

        latencies = [finished[i][1] - sent_at[i] for i in ids if i in finished]
        last = max((t for _, t in finished.values()), default=uploaded)
        failed = sum(1 for s, _ in finished.values() if s == "failed")
        figures: dict[str, Any] = {
            "messages": args.messages,
            "bytes_each": len(messages[0]),
            "concurrency": args.concurrency,
            "worker_processes": args.workers,
            "web_processes": args.web_workers,
            "accepted": len(ids),
            "uploads_per_second": round(len(ids) / (uploaded - began), 1),
            "analyses_per_second": round(len(finished) / (last - began), 1),
            # Once the uploads are over, the workers have the machine to themselves.
            "analyses_per_second_after_uploads": round(
                (len(finished) - done_by_upload_end) / max(last - uploaded, 1e-6), 1
            ),
            "seconds_uploading": round(uploaded - began, 2),
            "seconds_total": round(last - began, 2),
            "upload_to_finished_p50_s": round(percentile(latencies, 50), 3) if latencies else None,
            "upload_to_finished_p95_s": round(percentile(latencies, 95), 3) if latencies else None,
            "upload_to_finished_max_s": round(max(latencies), 3) if latencies else None,
            "worker_rss_peak_total_mib": round(watch.peak_total_kib / 1024, 1),
            "worker_rss_peak_per_process_mib": round(
                max(watch.peak_each_kib.values(), default=0) / 1024, 1
            ),
            "upload_errors": len(errors),
            "failed_analyses": failed,
            "lost": len(ids) - len(finished),
            "verdicts": verdicts,
        }
        if args.json:
            print(json.dumps(figures, indent=2))
        else:
            print()
            for key, value in figures.items():
                print(f"  {key:<34} {value}")
            if errors:
                print(f"  first errors: {errors[:3]}")
        ok = not errors and not failed and figures["lost"] == 0
        return 0 if ok else 1
    finally:
        if watch is not None:
            watch.stop.set()
        if stack.poll() is None:
            stack.send_signal(signal.SIGTERM)
            try:
                stack.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)
                stack.wait(timeout=10)
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        redis.Redis.from_url(redis_url).flushdb()


if __name__ == "__main__":
    sys.exit(main())
