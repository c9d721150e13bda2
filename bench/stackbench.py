"""What the production-stack benchmarks share (bench/load.py, bench/intake.py --stack).

* :class:`BenchStack` starts ``scripts/stack.py`` on a throwaway PostgreSQL database and a
  spare Redis database of this machine, with the demo key lookup (keys served from memory:
  DNS answers as good as cached), and removes everything again: the processes, the
  database, the Redis database, the logs (kept after an exception); also on failure,
  Ctrl-C or SIGTERM.
* :func:`three_hop_chains` signs distinct chains the way real mail travels: an origin, a
  mailing list that edits the message with a recipe, a forwarder.
* :class:`MemoryWatch` samples the workers' memory; :class:`CpuWatch` counts the CPU time
  of each process of the stack and of the PostgreSQL backends serving its database, for
  the CPU per analysis by process; :func:`wait_finished` waits for the analyses;
  :func:`latency_figures` gives p50/p95/max; :func:`report` prints the figures and gives
  the exit status; :func:`repeated` runs a benchmark ``--runs`` times and prints the min
  and median of its figures.

Loopback only (127.0.0.1), bounded in time.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

POSTGRES = os.environ.get("DKIM2WEB_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS = "redis://127.0.0.1:6379"
FORWARDER = "<bob@forwarder.example>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: The signing domains of the chains, by role (the demo domains: keys from memory).
DEMO_SIGNERS = {
    "origin": "origin.example",
    "list": "lists.example",
    "forwarder": "forwarder.example",
}
#: The same roles under ``.test`` (RFC 2606), whose keys only a DNS server can give.
DNS_SIGNERS = {
    "origin": "origin.bench.test",
    "list": "lists.bench.test",
    "forwarder": "fwd.bench.test",
}
DNS_SELECTOR = "bench1"


def dns_signing_keys() -> dict[str, Any]:
    """A fresh Ed25519 key for each of DNS_SIGNERS' domains (``analysis.dkim2.sign.SigningKey``)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from analysis.dkim2.sign import SigningKey

    return {
        domain: SigningKey(DNS_SELECTOR, ed25519.Ed25519PrivateKey.generate())
        for domain in DNS_SIGNERS.values()
    }


def three_hop_chains(
    count: int,
    size: int,
    *,
    mail_from: str = FORWARDER,
    rcpt_to: list[str],
    keys: dict[str, Any] | None = None,
) -> list[bytes]:
    """``count`` distinct 3-hop chains of about ``size`` bytes, the last hop sent by
    ``mail_from`` to ``rcpt_to`` (the envelope they must arrive with to pass).

    Signed by the demo domains, or, with ``keys`` (from :func:`dns_signing_keys`), by
    DNS_SIGNERS' domains with those keys.
    """
    from analysis.dkim2.sign import sign
    from dkim2web.samples.keys import signing_key

    signers = DNS_SIGNERS if keys else DEMO_SIGNERS

    def key(role: str) -> Any:
        return keys[signers[role]] if keys else signing_key(signers[role])

    now = int(time.time())
    line = "A line of a long weekly report, repeated to make the body the size asked.\r\n"
    body = line * max(1, size // len(line))
    out = []
    for n in range(count):
        head = (
            f"From: Alice <alice@{signers['origin']}>\r\n"
            f"To: ops-talk <ops-talk@{signers['list']}>\r\n"
            f"Subject: Load {n}\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            f"Message-ID: <load-{n}-{secrets.token_hex(4)}@{signers['origin']}>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        )
        hop1 = sign(
            (head + f"Message {n}.\r\n" + body).encode(),
            domain=signers["origin"],
            keys=[key("origin")],
            timestamp=now - 180,
            mail_from=f"<alice@{signers['origin']}>",
            rcpt_to=[f"<ops-talk@{signers['list']}>"],
        ).message
        edited = hop1 + b"-- \r\nops-talk mailing list\r\n"
        hop2 = sign(
            edited,
            domain=signers["list"],
            keys=[key("list")],
            timestamp=now - 120,
            mail_from=f"<ops-talk-bounces@{signers['list']}>",
            rcpt_to=[mail_from],
            previous=hop1,
        ).message
        out.append(
            sign(
                hop2,
                domain=signers["forwarder"],
                keys=[key("forwarder")],
                timestamp=now - 60,
                mail_from=mail_from,
                rcpt_to=rcpt_to,
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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int, *, with_reaped_children: bool = False) -> float | None:
    """CPU time (user and system, every thread) ``pid`` has used so far; None once it is
    gone. ``with_reaped_children`` adds that of its children that have exited and been
    waited for (a pool child replaced, a gunicorn worker restarted)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields 14 to 17 (utime, stime, cutime, cstime), counted after the ")" ending the name.
    utime, stime, cutime, cstime = (int(f) for f in stat.rsplit(")", 1)[1].split()[11:15])
    ticks = utime + stime + (cutime + cstime if with_reaped_children else 0)
    return ticks / CLOCK_TICKS


def cpu_seconds(pid: int) -> float:
    """CPU time ``pid`` and all its descendants have used so far, the exited ones included
    once their parent has waited for them."""
    return sum(
        process_cpu_seconds(each, with_reaped_children=True) or 0.0
        for each in {pid, *descendants(pid)}
    )


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(k) for k in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        new = children(todo.pop()) - found
        found |= new
        todo.extend(new)
    return found


def socket_inodes_by_local_port() -> dict[int, int]:
    """{local TCP port: socket inode} of this machine's TCP sockets (IPv4 and IPv6)."""
    found: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            found[int(fields[1].rsplit(":", 1)[1], 16)] = int(fields[9])
    return found


def socket_owner(inode: int, candidates: dict[int, str]) -> str | None:
    """The name of the first of ``candidates`` ({pid: name}) holding socket ``inode``."""
    target = f"socket:[{inode}]"
    for pid, name in candidates.items():
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    return name
            except OSError:
                continue
    return None


class CpuWatch:
    """CPU time of the stack's processes and of the PostgreSQL backends of its database,
    from :meth:`start` to :meth:`stop`, for the CPU per analysis by process.

    * Each stack process (web, worker, intake, beat) with all its descendants, read from
      ``/proc/<pid>/stat`` at the start and the end; children that exited meanwhile (a pool
      child replaced) are counted through their parent's cutime/cstime.
    * PostgreSQL: the backends connected to the stack's throwaway database
      (``pg_stat_activity``; they are children of the postmaster, not of the stack), each
      read from /proc every ``interval`` seconds and at the end. A backend that exits
      during the run keeps the CPU of its last reading: at most ``interval`` seconds of it
      are lost, and only when connections are closed mid-run (CONN_MAX_AGE keeps them).
      Each backend is put down to the stack process whose socket is its client (its
      client_port), so the split shows whose queries cost what ("other": its client had
      closed the connection before it was first seen); the benchmark's own connections
      (its polling) are left out. The postmaster, the WAL writer and the
      checkpointer serve every database of this machine and are not counted.
    """

    def __init__(self, stack: BenchStack, *, interval: float = 0.25) -> None:
        self.stack = stack
        self.interval = interval
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.processes_before: dict[str, float] = {}
        self.processes_used: dict[str, float] = {}
        # Per backend pid: CPU seconds at its first and last reading, and whose it is.
        self.backend_first: dict[int, float] = {}
        self.backend_last: dict[int, float] = {}
        self.backend_client: dict[int, str] = {}

    def start(self) -> CpuWatch:
        import psycopg

        self.conn = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True)
        self._read_backends(first=True)
        self.processes_before = self.stack.cpu_seconds()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> CpuWatch:
        self.processes_used = {
            name: cpu - self.processes_before[name]
            for name, cpu in self.stack.cpu_seconds().items()
        }
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join()
        self._read_backends(first=False)
        self.conn.close()
        return self

    def _run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self._read_backends(first=False)

    def _read_backends(self, *, first: bool) -> None:
        rows = self.conn.execute(
            "SELECT pid, client_port FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend'",
            [self.stack.name],
        ).fetchall()
        unknown = [(pid, port) for pid, port in rows if pid not in self.backend_client]
        if unknown:
            self._name_clients(unknown)
        for pid, _ in rows:
            cpu = process_cpu_seconds(pid)
            if cpu is None:
                continue
            # A backend first seen after the start began after it: all its CPU is the run's.
            self.backend_first.setdefault(pid, cpu if first else 0.0)
            self.backend_last[pid] = cpu

    def _name_clients(self, backends: list[tuple[int, int | None]]) -> None:
        candidates = {os.getpid(): "bench"}
        for name, main in self.stack.pids.items():
            for pid in (main, *descendants(main)):
                candidates[pid] = name
        inodes = socket_inodes_by_local_port()
        for pid, port in backends:
            inode = inodes.get(port) if port is not None else None
            owner = socket_owner(inode, candidates) if inode is not None else None
            self.backend_client[pid] = owner or "other"

    def postgres_used(self) -> dict[str, float]:
        """CPU seconds of the database's backends, by whose connection they serve."""
        used: dict[str, float] = {}
        for pid, last in self.backend_last.items():
            client = self.backend_client.get(pid, "other")
            used[client] = used.get(client, 0.0) + last - self.backend_first.get(pid, 0.0)
        return used

    def figures(self, analyses: int) -> dict[str, Any]:
        """CPU milliseconds per finished analysis, by process and in total (the benchmark's
        own process and its database connections left out)."""
        per = 1000 / max(analyses, 1)
        postgres = {k: v for k, v in self.postgres_used().items() if k != "bench"}
        by_process = {name: round(used * per, 2) for name, used in self.processes_used.items()}
        by_process["postgres"] = round(sum(postgres.values()) * per, 2)
        by_process["total"] = round(
            (sum(self.processes_used.values()) + sum(postgres.values())) * per, 2
        )
        return {
            "cpu_ms_per_analysis": by_process,
            "postgres_cpu_ms_per_analysis_by_client": {
                name: round(used * per, 2) for name, used in sorted(postgres.items())
            },
        }


@dataclass
class MemoryWatch:
    """Samples the RSS of the worker main processes and their children twice a second."""

    pids: list[int]
    peak_total_kib: int = 0
    peak_each_kib: dict[int, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> MemoryWatch:
        threading.Thread(target=self.run, daemon=True).start()
        return self

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

    def figures(self) -> dict[str, float]:
        return {
            "worker_rss_peak_total_mib": round(self.peak_total_kib / 1024, 1),
            "worker_rss_peak_per_process_mib": round(
                max(self.peak_each_kib.values(), default=0) / 1024, 1
            ),
        }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def latency_figures(latencies: list[float], prefix: str) -> dict[str, float | None]:
    """p50/p95/max of ``latencies`` (seconds), named ``<prefix>_p50_s`` and so on."""
    if not latencies:
        return {f"{prefix}_p50_s": None, f"{prefix}_p95_s": None, f"{prefix}_max_s": None}
    return {
        f"{prefix}_p50_s": round(percentile(latencies, 50), 3),
        f"{prefix}_p95_s": round(percentile(latencies, 95), 3),
        f"{prefix}_max_s": round(max(latencies), 3),
    }


class BenchStack:
    """``scripts/stack.py`` on a throwaway database; a context manager that cleans up."""

    def __init__(
        self,
        *,
        workers: int,
        web_workers: int = 2,
        intake: bool = False,
        redis_db: int = 10,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = f"dkim2web_bench_{secrets.token_hex(4)}"
        self.database = f"{POSTGRES}/{self.name}"
        self.redis_url = f"{REDIS}/{redis_db}"
        self.port = free_port()
        self.intake_port = free_port() if intake else None
        self.workers = workers
        self.log_dir = Path(tempfile.mkdtemp(prefix="dkim2web-bench-"))
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CELERY_", "DJANGO_", "DKIM2", "DATABASE_", "CACHE_URL"))
        }
        self.env.update(
            DKIM2_KEY_LOOKUP="dkim2web.samples.keys.DemoDnsLookup",
            DJANGO_SECRET_KEY="bench",
            DJANGO_STATIC_ROOT=str(self.log_dir / "static"),
        )
        self.env.update(env or {})
        self.argv = [
            sys.executable, "scripts/stack.py", f"--port={self.port}",
            f"--database-url={self.database}", f"--broker-url={self.redis_url}",
            f"--cache-url={self.redis_url}", f"--log-dir={self.log_dir}",
            f"--workers={workers}", "--large-workers=0", f"--web-workers={web_workers}",
        ]  # fmt: skip
        self.argv += [f"--intake-port={self.intake_port}"] if intake else ["--no-intake"]
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: dict[str, int] = {}

    def __enter__(self) -> BenchStack:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()
        # SIGTERM unwinds like Ctrl-C does, so the stack is stopped and the database dropped.
        self.previous_sigterm = signal.signal(signal.SIGTERM, _exit_on_signal)
        out = self.log_dir / "stack.out"
        try:
            with out.open("wb") as log:
                self.proc = subprocess.Popen(
                    self.argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            deadline = time.monotonic() + 120
            while "\nstack ready" not in out.read_text():
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the stack did not start:\n{out.read_text()}")
                time.sleep(0.2)
            self.pids = {
                name: int(pid)
                for line in out.read_text().splitlines()
                if line.strip().startswith("pids")
                for name, pid in (p.split("=") for p in line.split()[1:])
            }
        except BaseException as exc:
            self.__exit__(type(exc), exc, None)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        # A second Ctrl-C must not cut the clean-up short (it is bounded: about 80 s).
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            self._remove()
        finally:
            signal.signal(signal.SIGINT, interrupt)
            signal.signal(signal.SIGTERM, self.previous_sigterm or signal.SIG_DFL)
        # The processes' logs are kept when the run ended in an exception, to be read.
        if exc_type is None:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        else:
            shutil.rmtree(self.log_dir / "static", ignore_errors=True)
            print(f"the stack's logs: {self.log_dir}/", file=sys.stderr, flush=True)

    def _remove(self) -> None:
        """Stop the stack, drop its database, empty its Redis database."""
        import psycopg
        import redis
        from psycopg import sql

        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )
        redis.Redis.from_url(self.redis_url, socket_timeout=5).flushdb()

    def manage(self, *args: str) -> str:
        """``manage.py`` against the stack's database; its standard output."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO, env=dict(self.env, DATABASE_URL=self.database), check=True,
            capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip

    def create_user(self, username: str) -> None:
        self.manage(
            "shell",
            "--no-imports",
            "-c",
            "from django.contrib.auth import get_user_model\n"
            f"get_user_model().objects.create_user({username!r}, '{username}@example.org',"
            " 'bench-pw-123')",
        )

    def watch_workers(self) -> MemoryWatch:
        return MemoryWatch([self.pids["worker"]]).start()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time each of the stack's processes (with its descendants) has used so far."""
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def watch_cpu(self) -> CpuWatch:
        """Start counting CPU time (:class:`CpuWatch`); ``stop()`` it when the run ends."""
        return CpuWatch(self).start()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def wait_finished(
    database: str, ids: list[str], *, deadline: float, since: float | None = None
) -> tuple[dict[str, tuple[str, float]], int, dict[str, int]]:
    """Wait (until ``deadline``, monotonic) for the analyses ``ids`` to be done or failed.

    Returns {id: (status, finished_at epoch)}, how many had finished by ``since`` (an
    epoch: the end of the sending), and the count of each verdict.
    """
    import psycopg

    finished: dict[str, tuple[str, float]] = {}
    done_by_since = 0
    with psycopg.connect(database, autocommit=True) as conn:
        while len(finished) < len(ids) and time.monotonic() < deadline:
            rows = conn.execute(
                "SELECT id::text, status, extract(epoch FROM finished_at) FROM"
                " reports_analysis WHERE status IN ('done', 'failed')"
            ).fetchall()
            finished = {i: (s, float(t)) for i, s, t in rows}
            if since is not None and not done_by_since:
                done_by_since = sum(1 for _, t in finished.values() if t <= since)
            time.sleep(0.25)
        verdicts: dict[str, int] = dict(
            conn.execute(
                "SELECT result, count(*) FROM reports_analysisrun GROUP BY result"
            ).fetchall()
        )
    return finished, done_by_since, verdicts


#: The figures of every run :func:`report` was given, in order (:func:`repeated` reads them).
REPORTED: list[dict[str, Any]] = []
_runs_in_one_json = False


def report(figures: dict[str, Any], errors: list[str], *, as_json: bool) -> int:
    """Print ``figures`` (as JSON or one a line); 0 if there were no errors, no failed
    analyses and none lost, else 1. Under :func:`repeated` with JSON, the runs are printed
    together at the end instead."""
    REPORTED.append(figures)
    if as_json:
        if not _runs_in_one_json:
            print(json.dumps(figures, indent=2))
    else:
        print()
        for key, value in figures.items():
            print(f"  {key:<38} {value}")
        if errors:
            print(f"  first errors: {errors[:3]}")
    ok = not errors and not figures["failed_analyses"] and figures["lost"] == 0
    return 0 if ok else 1


@dataclass(frozen=True)
class Goal:
    """A figure's bound (issue #13), judged on the median over the runs."""

    figure: str  # a key of the figures, nested ones flattened: "cpu_ms_per_analysis.total"
    bound: float
    at_most: bool  # True: the figure must not exceed the bound; False: must reach it
    words: str

    def met(self, value: float) -> bool:
        return value <= self.bound if self.at_most else value >= self.bound


def print_goals(goals: list[Goal], first: int, *, as_json: bool) -> None:
    """One line: each goal met or MISSED by the median of the figures reported since
    ``first`` (the index into REPORTED where the runs began)."""
    if not goals:
        return
    figures = [flat(f) for f in REPORTED[first:]]
    judged = []
    for goal in goals:
        values = [f[goal.figure] for f in figures if _numeric(f.get(goal.figure))]
        median = statistics.median(values) if values else None
        ok = median is not None and goal.met(median)
        judged.append({"goal": goal.words, "median": median, "met": ok})
    if as_json:
        print(json.dumps({"goals": judged}))
        return
    print(
        "goals (median of the runs): "
        + ", ".join(
            f"{j['goal']} {'met' if j['met'] else 'MISSED'} ({j['median']})" for j in judged
        )
    )


def repeated(
    run_once: Callable[[], int], runs: int, *, as_json: bool, goals: list[Goal] | None = None
) -> int:
    """Run a benchmark (``run_once`` ends with :func:`report`) ``runs`` times, each on a
    stack of its own, and print the min, median and max of every numeric figure over the
    runs (as JSON: one document with the runs and those three), then whether the median
    meets each of ``goals``. The worst exit status."""
    global _runs_in_one_json
    if runs <= 1:
        first = len(REPORTED)
        status = run_once()
        print_goals(goals or [], first, as_json=as_json)
        return status
    _runs_in_one_json = as_json
    first = len(REPORTED)
    statuses = []
    for n in range(1, runs + 1):
        if not as_json:
            print(f"\n=== run {n} of {runs}", flush=True)
        statuses.append(run_once())
    figures = [flat(f) for f in REPORTED[first:]]
    names = list(dict.fromkeys(k for f in figures for k, v in f.items() if _numeric(v)))
    # A part one run has and another not (a verdict, the CPU of "other" connections) is 0
    # in the other.
    summary = {
        stat: {k: fn([f[k] if _numeric(f.get(k)) else 0 for f in figures]) for k in names}
        for stat, fn in (("min", min), ("median", statistics.median), ("max", max))
    }
    if as_json:
        print(json.dumps({"runs": REPORTED[first:], **summary}, indent=2))
    else:
        print(f"\n=== {runs} runs: min / median / max")
        for k in names:
            # Counts print as counts (a median of two may be x.5), measurements to 0.01.
            count = all(isinstance(f.get(k, 0), int) for f in figures)
            low, mid, high = (_num(summary[s][k], count=count) for s in ("min", "median", "max"))
            print(f"  {k:<46} {low:>9} {mid:>9} {high:>9}")
    print_goals(goals or [], first, as_json=as_json)
    return max(statuses)


def flat(figures: dict[str, Any]) -> dict[str, Any]:
    """One level of nested figures flattened: {"cpu": {"worker": 1}} -> {"cpu.worker": 1}."""
    flat: dict[str, Any] = {}
    for key, value in figures.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: float, *, count: bool) -> str:
    return f"{value:g}" if count else f"{value:.2f}"
