"""Fault 3, the mailbox's half: Redis is down while mail arrives, then comes back.

The real intake process (``run_intake``) takes a DKIM2-signed message over SMTP while the
broker is away: it answers 250 only once the message and its envelope are committed, and
promptly (the publish gives up fast and does not hold the session); the bytes are stored
exactly, and the intake goes on serving new sessions. Redis is started again (empty: it
kept nothing), beat's sweep publishes the waiting analysis, a worker runs it with the real
SMTP envelope, and the sender is answered; the next message is published by the intake
itself, without the sweep.

While the database cannot store either (it reads, so RCPT is accepted, but refuses
writes), DATA is answered 451 and nothing is kept, so the client's retry is the only copy.

The message is :func:`chain_to`, not the gallery's clean-list: both are the same three
clean hops through lists.example, but the gallery's newest signature names
bob@inbox.example (``rt=``), so delivered to an intake address with the real envelope it
is a replay (permerror), while chain_to's names the intake address.
"""

from __future__ import annotations

import hashlib
import smtplib
import time
from typing import Any

import pytest
from fault_cluster import Cluster, Proc, admin
from psycopg import sql

from dkim2web.intake.testing import chain_to

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

FORWARDER = "bob@forwarder.example"
# A refused connection to Redis makes Celery's publish give up after its retry policy
# (three tries, 0.2 s apart); anything near the client's own timeout would mean the
# session waited on the broker.
PROMPT_SECONDS = 5


def _send(server: tuple[str, int], address: str, raw: bytes) -> tuple[int, str, float]:
    """One SMTP transaction on a new connection: DATA's code, its text, how long it took."""
    with smtplib.SMTP(*server, timeout=30) as smtp:
        assert smtp.ehlo()[0] == 250
        assert smtp.mail(FORWARDER)[0] == 250
        assert smtp.rcpt(address)[0] == 250
        started = time.monotonic()
        code, text = smtp.data(raw)
        return code, text.decode(), time.monotonic() - started


def _logged(procs: list[Proc], words: str) -> list[dict[str, Any]]:
    return [r for p in procs for r in p.records() if words in r.get("message", "")]


def _stored(cluster: Cluster) -> list[tuple[Any, ...]]:
    """Every delivery with its top analysis, oldest first."""
    return cluster.sql(
        "SELECT d.id::text, a.id::text, a.raw_message, a.sha256, d.sha256, a.mail_from,"
        " a.rcpt_to FROM intake_delivery d JOIN intake_intakepart p ON p.delivery_id = d.id"
        " AND p.parent_id IS NULL JOIN reports_analysis a ON a.id = p.analysis_id"
        " ORDER BY d.received_at"
    )


def test_mail_while_redis_is_down_is_stored_before_250_and_analysed_once_it_is_back(
    cluster: Cluster,
) -> None:
    cluster.env.update(
        DKIM2WEB_SWEEP_EVERY_SECONDS="1",
        DKIM2WEB_SWEEP_AFTER_SECONDS="2",
        # The answer to the sender is written to the sending process's log.
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
    )
    address = cluster.intake_address()
    intake, server = cluster.intake()
    cluster.worker("worker")
    cluster.beat()

    cluster.redis.stop()
    assert not cluster.redis.ping()
    raw = chain_to(address)
    code, text, answered_in = _send(server, address, raw)
    assert code == 250, text
    assert answered_in < PROMPT_SECONDS, answered_in
    [(delivery_id, analysis_id, stored, sha256, delivery_sha256, mail_from, rcpt_to)] = _stored(
        cluster
    )
    assert text == f"2.0.0 OK: stored as {delivery_id}"
    assert bytes(stored) == raw
    assert sha256 == delivery_sha256 == hashlib.sha256(raw).hexdigest()
    assert (mail_from, rcpt_to) == (f"<{FORWARDER}>", [f"<{address}>"])
    not_queued = _logged([intake], "stored but not queued")
    assert [r.get("analysis_id") for r in not_queued] == [analysis_id]
    assert cluster.rows([analysis_id])[analysis_id] == ("queued", 0, "")

    # The failed publish left nothing stuck: a new session is served as usual.
    with smtplib.SMTP(*server, timeout=10) as smtp:
        assert smtp.ehlo()[0] == 250
        assert smtp.noop()[0] == 250

    cluster.redis.start()
    rows = cluster.wait_finished([analysis_id], timeout=60)
    assert rows[analysis_id] == ("done", 1, "")
    assert cluster.runs(analysis_id) == ["pass"]  # the real envelope: no replay finding

    # The intake's own publishing came back with Redis: the next message is queued by
    # the intake at once, not left to the sweep.
    raw = chain_to(address, subject="After the outage")
    code, text, _ = _send(server, address, raw)
    assert code == 250, text
    second_id = _stored(cluster)[-1][1]
    rows = cluster.wait_finished([second_id], timeout=30)
    assert rows[second_id] == ("done", 1, "")
    assert cluster.runs(second_id) == ["pass"]
    assert [r.get("analysis_id") for r in _logged([intake], "stored but not queued")] == [
        analysis_id
    ]
    republished = {r.get("analysis_id") for r in _logged(cluster.procs, "published again")}
    assert analysis_id in republished and second_id not in republished

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        [(state, reply_to)] = cluster.sql(
            "SELECT reply_state, reply_to FROM intake_delivery WHERE id::text = %s",
            [delivery_id],
        )
        if state != "pending":
            break
        time.sleep(0.2)
    assert (state, reply_to) == ("sent", f"<{FORWARDER}>")
    cluster.assert_nothing_lost()


def _read_only(cluster: Cluster, *, on: bool) -> None:
    """New sessions of this test's database may read but not write (or may again); the
    open ones are ended so that every process reconnects under the new rule."""
    statement = (
        sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on")
        if on
        else sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only")
    )
    admin(statement.format(sql.Identifier(cluster.database)))
    admin(
        sql.SQL(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = {} AND pid <> pg_backend_pid()"
        ).format(sql.Literal(cluster.database))
    )


def test_mail_the_database_cannot_store_gets_451_and_nothing_is_kept(cluster: Cluster) -> None:
    cluster.env.update(DKIM2WEB_SWEEP_EVERY_SECONDS="1", DKIM2WEB_SWEEP_AFTER_SECONDS="2")
    address = cluster.intake_address()
    intake, server = cluster.intake()
    cluster.worker("worker")
    cluster.beat()
    cluster.redis.stop()

    raw = chain_to(address)
    _read_only(cluster, on=True)
    try:
        code, text, _ = _send(server, address, raw)
    finally:
        _read_only(cluster, on=False)
    assert (code, text) == (451, "4.3.0 The message could not be stored; please try again later")
    assert cluster.sql("SELECT count(*) FROM intake_delivery") == [(0,)]
    assert cluster.sql("SELECT count(*) FROM reports_analysis") == [(0,)]
    [failed] = _logged([intake], "storing a message from 127.0.0.1 failed")
    assert "ReadOnlySqlTransaction" in failed["exc"]
    assert _logged([intake], "stored but not queued") == []  # nothing was published either

    # The client's retry, once the database writes again, is the one copy kept.
    code, text, _ = _send(server, address, raw)
    assert code == 250, text
    [(delivery_id, analysis_id, stored, *_)] = _stored(cluster)
    assert text == f"2.0.0 OK: stored as {delivery_id}"
    assert bytes(stored) == raw

    cluster.redis.start()
    rows = cluster.wait_finished([analysis_id], timeout=60)
    assert rows[analysis_id] == ("done", 1, "")
    assert cluster.runs(analysis_id) == ["pass"]
    cluster.assert_nothing_lost()
