"""Fault 3, the mailbox's half: Redis is down while mail arrives, then comes back.

The real intake process (``run_intake``) takes a DKIM2-signed message over SMTP while the
broker is away: it answers 250 only once the message and its envelope are committed, and
promptly (the publish gives up fast and does not hold the session); the bytes are stored
exactly. Redis is started again (empty: it kept nothing), beat's sweep publishes the
waiting analysis, a worker runs it with the real SMTP envelope, and the sender is answered.
"""

from __future__ import annotations

import hashlib
import smtplib
import time

import pytest
from fault_cluster import Cluster

from dkim2web.intake.testing import chain_to

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

FORWARDER = "bob@forwarder.example"


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
    intake, port = cluster.intake()
    cluster.worker("worker")
    cluster.beat()

    cluster.redis.stop()
    raw = chain_to(address)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        assert smtp.ehlo()[0] == 250  # a new session is served as usual
        assert smtp.mail(FORWARDER)[0] == 250
        assert smtp.rcpt(address)[0] == 250
        started = time.monotonic()
        code, text = smtp.data(raw)
        answered_in = time.monotonic() - started
    assert code == 250, text
    assert answered_in < 10  # the publish gave up quickly
    [(delivery_id, analysis_id, stored, sha256, mail_from, rcpt_to)] = cluster.sql(
        "SELECT d.id::text, a.id::text, a.raw_message, a.sha256, a.mail_from, a.rcpt_to"
        " FROM intake_delivery d JOIN intake_intakepart p ON p.delivery_id = d.id"
        " JOIN reports_analysis a ON a.id = p.analysis_id"
    )
    assert text.decode() == f"2.0.0 OK: stored as {delivery_id}"
    assert bytes(stored) == raw and sha256 == hashlib.sha256(raw).hexdigest()
    assert (mail_from, rcpt_to) == (f"<{FORWARDER}>", [f"<{address}>"])
    not_queued = [r for r in intake.records() if "stored but not queued" in r.get("message", "")]
    assert [r.get("analysis_id") for r in not_queued] == [analysis_id]
    assert cluster.rows([analysis_id])[analysis_id] == ("queued", 0, "")

    cluster.redis.start()
    rows = cluster.wait_finished([analysis_id], timeout=60)
    assert rows[analysis_id] == ("done", 1, "")
    assert cluster.runs(analysis_id) == ["pass"]  # the real envelope: no replay finding

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
