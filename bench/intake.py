"""Load check of the intake mailbox: N messages over C connections on loopback.

    .venv/bin/python bench/intake.py [--messages 1000] [--size-kb 50] [--connections 4]
    .venv/bin/python bench/intake.py --stack [--messages 1000] [--connections 8] [--workers 2]
        [--runs 1]

Without ``--stack``: starts the intake server in this process on 127.0.0.1 (an ephemeral
port) against a throwaway SQLite database (or DATABASE_URL if set), with the analyses run
in-process after 250 as ``make run`` does, sends DKIM2-signed messages of the given size
over concurrent SMTP connections, and prints how many messages per second were accepted
(250 answered, the message committed) and analysed (the analysis finished), then checks
that none was lost: every accepted message must have a delivery and a finished analysis.
Replies go to Django's in-memory mail backend.

With ``--stack`` (the production shape, issue #5): starts ``scripts/stack.py`` with its
intake process, ``--workers`` worker processes, PostgreSQL and Redis (bench/stackbench.py),
sends 3-hop chains (origin, a list that edits with a recipe, a forwarder) to a user's
mail-in address with the envelope they were signed for, and prints messages per second
accepted and analysed, p50/p95/max seconds from 250 to the finished analysis, the
workers' memory, each process's CPU time, SMTP errors (replies other than 250, exceptions,
messages not sent in time), failed analyses, lost messages (accepted but not finished, or
a 250 without a stored delivery) and the verdicts; the goals are 0, 0 and 0, and the exit
status is 1 otherwise. It also prints the CPU milliseconds per analysis by process (the
intake, the worker, the web, beat, the PostgreSQL backends of the stack's database) and in
total; ``--runs 3`` runs it three times, each on a stack of its own, then prints the min,
median and max of each figure, and whether the median meets issue #13's goals: at least
150 analyses per second, at most 8 ms of CPU per analysis across the stack, none lost. The
stack is stopped, its database dropped and its Redis database emptied, also on failure,
Ctrl-C or SIGTERM.

Bounded: at most 10,000 messages and --time-limit seconds of sending; nothing but
127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import smtplib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MAX_MESSAGES = 10_000


def in_parallel(client: Callable[[list[int]], None], count: int, connections: int) -> None:
    """Run ``client`` on ``connections`` threads, each with its share of ``range(count)``.

    Daemon threads: after Ctrl-C the clean-up need not wait for the senders.
    """
    threads = [
        threading.Thread(target=client, args=(list(range(c, count, connections)),), daemon=True)
        for c in range(connections)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--size-kb", type=int, default=50)
    parser.add_argument(
        "--connections", type=int, default=None, help="SMTP connections (4; with --stack 8)"
    )
    parser.add_argument("--analysis-threads", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds of sending")
    parser.add_argument("--stack", action="store_true", help="against the production stack")
    parser.add_argument("--workers", type=int, default=2, help="--stack: worker processes")
    parser.add_argument("--redis-db", type=int, default=10, help="--stack: a spare Redis db")
    parser.add_argument("--json", action="store_true", help="--stack: the figures as JSON")
    parser.add_argument("--runs", type=int, default=1, help="--stack: runs, then min/median")
    args = parser.parse_args()
    count = max(1, min(args.messages, MAX_MESSAGES))
    connections = max(1, min(args.connections or (8 if args.stack else 4), 32))
    if args.stack:
        from stackbench import Goal, repeated

        return repeated(
            lambda: stack_main(args, count=count, connections=connections),
            max(1, min(args.runs, 10)),
            as_json=args.json,
            goals=[  # issue #13, on this 2-core machine
                Goal("analyses_per_second", 150, False, "at least 150 analyses/s"),
                Goal("cpu_ms_per_analysis.total", 8, True, "at most 8 ms of CPU an analysis"),
                Goal("lost", 0, True, "none lost"),
            ],
        )

    workdir = tempfile.TemporaryDirectory(prefix="dkim2web-intake-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite://{workdir.name}/bench.sqlite3")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.pop("CELERY_BROKER_URL", None)  # analyses in-process, as in make run
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dkim2web.settings")

    import django
    from django.conf import settings

    django.setup()
    for name in ("celery", "kombu", "dkim2web", "analysis"):
        logging.getLogger(name).setLevel(logging.WARNING)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    from django.contrib.auth import get_user_model
    from django.core import mail
    from django.core.management import call_command

    from dkim2web.intake import services
    from dkim2web.intake.models import Delivery, IntakePart
    from dkim2web.intake.server import IntakeServer, Limits
    from dkim2web.intake.testing import message, sign_hop
    from dkim2web.reports.models import Analysis

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.org", "bench-pw-1")
    address = services.intake_address_get_or_create(user=user).address
    mail.outbox = []

    print(f"building {count} signed messages of {args.size_kb} KB ...", flush=True)
    filler = ("x" * 76 + "\r\n") * max(1, (args.size_kb * 1024) // 78)
    messages = []
    for n in range(count):
        body = f"Message {n}.\r\n" + filler
        raw = message(
            sender="Alice <alice@origin.example>",
            to=address,
            subject=f"bench {n}",
            body=body,
            msgid=f"bench.{n}@origin.example",
        )
        messages.append(
            sign_hop(
                raw,
                domain="origin.example",
                mail_from="<alice@origin.example>",
                rcpt_to=[f"<{address}>"],
            )
        )
    size = sum(len(m) for m in messages) / len(messages)

    limits = Limits(
        max_message_bytes=settings.DKIM2WEB_MAX_MESSAGE_BYTES,
        max_recipients=settings.DKIM2WEB_INTAKE_MAX_RECIPIENTS,
        max_connections=max(connections * 2, 8),
        rate_per_minute=0,  # one client on loopback sends everything: no rate limit here
        timeout=60.0,
    )
    server = IntakeServer(
        host="127.0.0.1",
        port=0,
        limits=limits,
        analysis_threads=args.analysis_threads,
        reply_poll_seconds=0,
    )
    server.start()
    database = settings.DATABASES["default"]
    print(
        f"intake on 127.0.0.1:{server.port}, database {database['ENGINE'].rsplit('.', 1)[-1]} "
        f"{database['NAME']}",
        flush=True,
    )

    latencies: list[float] = []
    accepted_ids: list[int] = []
    retries = 0
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + args.time_limit

    def client(indices: list[int]) -> None:
        nonlocal retries
        conn = smtplib.SMTP("127.0.0.1", server.port, timeout=120)
        conn.ehlo("bench.origin.example")
        try:
            for n in indices:
                for attempt in range(5):
                    if time.monotonic() > deadline:
                        return
                    started = time.monotonic()
                    try:
                        refused = conn.sendmail("alice@origin.example", [address], messages[n])
                    except smtplib.SMTPResponseException as exc:
                        if 400 <= exc.smtp_code < 500 and attempt < 4:
                            with lock:
                                retries += 1
                            conn.rset()
                            time.sleep(0.2 * (attempt + 1))
                            continue
                        with lock:
                            failures.append(f"message {n}: {exc.smtp_code} {exc.smtp_error!r}")
                        break
                    with lock:
                        latencies.append(time.monotonic() - started)
                        if not refused:
                            accepted_ids.append(n)
                    break
        finally:
            conn.quit()

    started = time.monotonic()
    in_parallel(client, count, connections)
    sent_for = time.monotonic() - started
    idle = server.wait_idle(timeout=max(60.0, args.time_limit))
    analysed_for = time.monotonic() - started
    server.stop()

    deliveries = Delivery.objects.count()
    parts = IntakePart.objects.filter(parent__isnull=True)
    statuses = {s: parts.filter(analysis__status=s).count() for s in Analysis.Status.values}
    done = statuses.get("done", 0)
    lost = len(accepted_ids) - done
    replies = Delivery.objects.filter(reply_state="sent").count()

    ms = sorted(x * 1000 for x in latencies) or [0.0]
    print()
    print(
        f"intake bench: {len(accepted_ids)} of {count} messages accepted, "
        f"{size / 1024:.1f} KB each, over {connections} SMTP connections on loopback"
    )
    print(
        f"  accepted: {len(accepted_ids) / sent_for:7.1f} msg/s ({sent_for:.1f} s; 250 after "
        f"commit, latency p50 {statistics.median(ms):.1f} ms, "
        f"p99 {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.1f} ms; {retries} 4xx retried)"
    )
    print(
        f"  analysed: {done / analysed_for:7.1f} msg/s ({analysed_for:.1f} s from the first "
        f"send to the last finished analysis, {args.analysis_threads} analysis thread(s))"
    )
    print(f"  stored:   {deliveries} deliveries; analyses {statuses}")
    print(
        f"  replies:  {replies} sent to the authenticated sender (in-memory backend: "
        f"{len(mail.outbox)})"
    )
    ok = idle and lost == 0 and deliveries == len(accepted_ids) and not failures
    if failures:
        print("  refused:  " + "; ".join(failures[:5]))
    print(f"  lost:     {lost} -> {'OK, none lost' if ok else 'PROBLEM'}")
    workdir.cleanup()
    return 0 if ok else 1


def stack_main(args: argparse.Namespace, *, count: int, connections: int) -> int:
    import psycopg
    from stackbench import (
        FORWARDER,
        BenchStack,
        latency_figures,
        report,
        three_hop_chains,
        wait_finished,
    )

    stack = BenchStack(
        workers=args.workers,
        intake=True,
        redis_db=args.redis_db,
        # One client on loopback sends everything: no per-IP rate limit (as behind an MTA).
        # The answers to the sender are rendered and kept in memory, not sent anywhere.
        env={
            "DKIM2WEB_INTAKE_RATE_PER_MINUTE": "0",
            # The burst comes from loopback: one client address for every connection.
            "DKIM2WEB_INTAKE_MAX_CONNECTIONS_PER_CLIENT": "0",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        },
    )
    with stack:
        stack.create_user("bench")
        address = stack.manage("intake_address", "bench").strip()
        print(f"signing {count} chains of about {args.size_kb} KB to {address} ...", flush=True)
        messages = three_hop_chains(count, args.size_kb * 1000, rcpt_to=[f"<{address}>"])
        watch = stack.watch_workers()
        accepted_at: dict[str, float] = {}  # delivery id -> when its 250 arrived (epoch)
        errors: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + args.time_limit
        assert stack.intake_port is not None
        intake_port = stack.intake_port

        def client(indices: list[int]) -> None:
            # One SMTP session for the share; a new one after an exception (the old one may
            # be unusable). Every message ends as a 250 or an error: none goes unaccounted.
            session: smtplib.SMTP | None = None
            for n in indices:
                if time.monotonic() > deadline:
                    with lock:
                        errors.append(f"message {n}: not sent, --time-limit reached")
                    continue
                try:
                    if session is None:
                        session = smtplib.SMTP("127.0.0.1", intake_port, timeout=120)
                        session.ehlo("bench.forwarder.example")
                    code, answer = send_with_envelope(
                        session, mail_from=FORWARDER, rcpt_to=address, raw=messages[n]
                    )
                except (OSError, smtplib.SMTPException) as exc:
                    with lock:
                        errors.append(f"message {n}: {type(exc).__name__}: {exc}")
                    if session is not None:
                        session.close()
                    session = None
                    continue
                with lock:
                    if code == 250 and "stored as " in answer:
                        accepted_at[answer.rsplit("stored as ", 1)[1].strip()] = time.time()
                    else:
                        errors.append(f"message {n}: {code} {answer[:200]}")
            if session is not None:
                with contextlib.suppress(OSError, smtplib.SMTPException):
                    session.quit()

        print(f"sending over {connections} SMTP connections ...", flush=True)
        cpu_before = {**stack.cpu_seconds(), "bench": time.process_time()}
        cpu = stack.watch_cpu()
        began = time.time()
        in_parallel(client, count, connections)
        sent = time.time()

        with psycopg.connect(stack.database, autocommit=True) as conn:
            stored: dict[str, str] = dict(
                conn.execute(
                    "SELECT d.id::text, p.analysis_id::text FROM intake_delivery d"
                    " JOIN intake_intakepart p ON p.delivery_id = d.id"
                    " WHERE p.parent_id IS NULL"
                ).fetchall()
            )
        analysis_of = {d: stored[d] for d in accepted_at if d in stored}
        ids = list(analysis_of.values())
        finished, done_by_send_end, verdicts = wait_finished(
            stack.database, ids, deadline=time.monotonic() + args.time_limit, since=sent
        )
        watch.stop.set()
        cpu_after = {**stack.cpu_seconds(), "bench": time.process_time()}
        cpu.stop()
        # The answers to the sender go out after each analysis: give the last ones time.
        settle = time.monotonic() + 60
        with psycopg.connect(stack.database, autocommit=True) as conn:
            while True:
                replies: dict[str, int] = dict(
                    conn.execute(
                        "SELECT reply_state, count(*) FROM intake_delivery GROUP BY reply_state"
                    ).fetchall()
                )
                if not {"pending", "sending"} & set(replies) or time.monotonic() > settle:
                    break
                time.sleep(0.25)
        replied = time.time()

    latencies = [finished[a][1] - accepted_at[d] for d, a in analysis_of.items() if a in finished]
    last = max((t for _, t in finished.values()), default=sent)
    failed = sum(1 for s, _ in finished.values() if s == "failed")
    figures = {
        "messages": count,
        "bytes_each": len(messages[0]),
        "smtp_connections": connections,
        "worker_processes": args.workers,
        "accepted": len(accepted_at),
        "accepted_per_second": round(len(accepted_at) / max(sent - began, 1e-6), 1),
        "analyses_per_second": round(len(finished) / max(last - began, 1e-6), 1),
        "analyses_per_second_after_sending": round(
            (len(finished) - done_by_send_end) / max(last - sent, 1e-6), 1
        ),
        "seconds_sending": round(sent - began, 2),
        "seconds_total": round(last - began, 2),
        **latency_figures(latencies, "accepted_to_finished"),
        **watch.figures(),
        # From the first message to the last finished analysis, each process with its
        # children (the worker's pool); "bench" is this process: the SMTP clients.
        "cpu_seconds": {name: round(cpu_after[name] - cpu_before[name], 1) for name in cpu_before},
        # The same per finished analysis, with the PostgreSQL backends (stackbench.CpuWatch).
        **cpu.figures(len(finished)),
        "smtp_errors": len(errors),
        "failed_analyses": failed,
        # Accepted but not stored, or stored but not finished by the deadline.
        "lost": (len(accepted_at) - len(analysis_of)) + (len(ids) - len(finished)),
        "verdicts": verdicts,
        "replies": replies,
        "seconds_to_last_reply": round(replied - began, 2),
    }
    return report(figures, errors, as_json=args.json)


def send_with_envelope(
    session: smtplib.SMTP, *, mail_from: str, rcpt_to: str, raw: bytes
) -> tuple[int, str]:
    """One SMTP transaction; the first reply that is not a success, or DATA's final one."""
    code, text = session.mail(mail_from.strip("<>"))
    if code == 250:
        code, text = session.rcpt(rcpt_to)
        if code in (250, 251):
            code, text = session.data(raw)  # raises SMTPDataError if DATA is refused
            return code, text.decode(errors="replace")
    session.rset()
    return code, text.decode(errors="replace")


if __name__ == "__main__":
    sys.exit(main())
