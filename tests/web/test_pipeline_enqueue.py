"""Publishing the task: after the commit, and an unreachable broker loses nothing."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from dkim2web.celery import app
from dkim2web.reports import services, tasks
from dkim2web.reports.models import Analysis

MESSAGE = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def _closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def refusing_broker_url() -> str:
    return f"redis://127.0.0.1:{_closed_loopback_port()}/0"


@pytest.fixture
def broker_down(refusing_broker_url: str) -> Iterator[str]:
    """The app configured as in production (not eager), with a broker that refuses."""
    conf = app.conf
    saved = (conf.task_always_eager, conf.broker_url, app._pool, app.amqp._producer_pool)
    conf.task_always_eager = False
    conf.broker_url = refusing_broker_url
    app._pool = None  # the pools are built from broker_url on first use
    app.amqp._producer_pool = None
    try:
        yield refusing_broker_url
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        conf.task_always_eager, conf.broker_url, app._pool, app.amqp._producer_pool = saved


@pytest.mark.django_db
@pytest.mark.usefixtures("broker_down")
def test_an_upload_succeeds_and_stays_queued_while_the_broker_is_down(
    django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="dkim2web.reports.services"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        analysis = services.analysis_submit(raw=MESSAGE, filename="kept.eml")
    assert len(callbacks) == 1  # the publish was attempted after the commit, and failed
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.QUEUED
    assert analysis.raw_bytes == MESSAGE
    (record,) = caplog.records
    assert record.getMessage().startswith(
        f"analysis {analysis.pk}: stored but not queued, the broker is unreachable ("
    )
    assert record.getMessage().endswith("the sweep will queue it again")


@pytest.mark.django_db
@pytest.mark.usefixtures("not_eager")
def test_enqueue_says_false_through_a_refusing_connection(refusing_broker_url: str) -> None:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    with app.connection_for_write(refusing_broker_url) as connection:
        assert services.analysis_enqueue(analysis_id=analysis.pk, connection=connection) is False
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.QUEUED


@pytest.mark.django_db
def test_nothing_is_published_when_the_transaction_rolls_back(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        services.analysis_submit(raw=MESSAGE)
        transaction.set_rollback(True)
    assert callbacks == []
    assert not Analysis.objects.exists()


@pytest.mark.django_db
def test_an_in_process_run_that_must_be_retried_does_not_fail_the_upload(
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # make run (eager): SQLite says "database is locked"; the task asks for a retry, which
    # eager mode raises. The upload has been stored and must not turn into an error page.
    from django.db import OperationalError

    def locked(*, analysis_id: str, lookup: Any = None) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "analysis_run", locked)
    with (
        caplog.at_level(logging.ERROR, logger="dkim2web.reports.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        analysis = services.analysis_submit(raw=MESSAGE)
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.QUEUED
    assert "the in-process run did not finish" in caplog.text


@pytest.fixture
def silent_broker_url() -> Iterator[str]:
    """A "Redis" on loopback that accepts connections and never answers (a paused server,
    or packets dropped on the way)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("not_eager")
def test_a_broker_that_never_answers_fails_the_publish_instead_of_hanging(
    silent_broker_url: str,
) -> None:
    # The socket timeouts of CELERY_BROKER_TRANSPORT_OPTIONS: without them this publish
    # waited for ever, and with it the upload's request or the SMTP session.
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"] == 3
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    outcome: list[bool] = []

    def publish() -> None:
        with app.connection_for_write(silent_broker_url) as connection:
            outcome.append(
                services.analysis_enqueue(analysis_id=analysis.pk, connection=connection)
            )

    worker = threading.Thread(target=publish, daemon=True)
    worker.start()
    worker.join(timeout=60)  # a hang, not a speed: the publish gives up in seconds
    assert not worker.is_alive(), "the publish to a silent broker hung"
    assert outcome == [False]
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.QUEUED  # the sweep publishes it later


@pytest.fixture
def refusing_redis_url(tmp_path: Path) -> Iterator[str]:
    """A real Redis of the test's own that takes connections but refuses every write
    (``maxmemory 1`` with ``noeviction``: "OOM command not allowed"), as a full one does;
    MISCONF (its disk full) and READONLY (a replica after a failover) are alike."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    port = _closed_loopback_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(tmp_path), "--maxmemory", "1", "--maxmemory-policy", "noeviction"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the test's redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("not_eager")
def test_a_broker_that_refuses_with_an_error_loses_nothing_and_raises_nothing(
    refusing_redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Redis's own errors (OOM, MISCONF, READONLY, NOAUTH): kombu wraps those it meets while
    # declaring the queue in its OperationalError, and analysis_enqueue takes any other
    # error of a real broker too. Raised from the on-commit publish, one would turn a
    # stored upload into a 500, and a stored SMTP message into 451 (sent again).
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    with (
        caplog.at_level(logging.ERROR, logger="dkim2web.reports.services"),
        app.connection_for_write(refusing_redis_url) as connection,
    ):
        assert services.analysis_enqueue(analysis_id=analysis.pk, connection=connection) is False
    (record,) = caplog.records
    message = record.getMessage()
    assert message.startswith(f"analysis {analysis.pk}: stored but not queued, the broker ")
    assert "command not allowed when used memory > 'maxmemory'" in message
    assert message.endswith("; the sweep will queue it again")
    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.QUEUED


def _misconf(*args: Any, **kwargs: Any) -> None:
    import redis

    raise redis.exceptions.ResponseError("MISCONF Errors writing to the AOF file")


@pytest.mark.django_db
@pytest.mark.usefixtures("not_eager")
def test_any_other_error_of_the_broker_is_taken_the_same_way(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from kombu.messaging import Producer

    # Raised where the broker answers: the publish itself (an upload's does not go through
    # apply_async: services._publish).
    monkeypatch.setattr(Producer, "publish", _misconf)
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    with caplog.at_level(logging.ERROR, logger="dkim2web.reports.services"):
        assert services.analysis_enqueue(analysis_id=analysis.pk) is False
    assert [r.getMessage() for r in caplog.records] == [
        f"analysis {analysis.pk}: stored but not queued, the broker refused it (ResponseError:"
        " MISCONF Errors writing to the AOF file); the sweep will queue it again"
    ]


@pytest.mark.django_db
def test_in_process_an_error_is_the_runs_own_and_reaches_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import redis

    monkeypatch.setattr(tasks.run_analysis, "apply_async", _misconf)
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    with pytest.raises(redis.exceptions.ResponseError):
        services.analysis_enqueue(analysis_id=analysis.pk)
