"""Publishing the task: after the commit, and an unreachable broker loses nothing."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from dkim2web.celery import app
from dkim2web.reports import services
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
def test_enqueue_says_false_through_a_refusing_connection(refusing_broker_url: str) -> None:
    analysis = services.analysis_submit(raw=MESSAGE, enqueue=False)
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with app.connection_for_write(refusing_broker_url) as connection:
            assert (
                services.analysis_enqueue(analysis_id=analysis.pk, connection=connection) is False
            )
    finally:
        app.conf.task_always_eager = saved
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
