"""Small and large messages go to separate Celery queues; the sweep keeps them apart."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from dkim2web.celery import app
from dkim2web.reports import services, tasks
from dkim2web.reports.models import Analysis

LIMIT = 1000  # bytes, for these tests


def test_the_defaults_name_the_queues_and_the_threshold() -> None:
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "analyses"
    assert settings.DKIM2WEB_LARGE_TASK_QUEUE == "analyses-large"
    assert settings.DKIM2WEB_LARGE_MESSAGE_BYTES == 1024 * 1024


@override_settings(
    CELERY_TASK_DEFAULT_QUEUE="small-q",
    DKIM2WEB_LARGE_TASK_QUEUE="large-q",
    DKIM2WEB_LARGE_MESSAGE_BYTES=LIMIT,
)
@pytest.mark.parametrize(
    ("size", "queue"),
    [(0, "small-q"), (LIMIT, "small-q"), (LIMIT + 1, "large-q"), (None, "small-q")],
)
def test_the_route_follows_the_size(size: int | None, queue: str) -> None:
    assert tasks.route_for_size(size) == {"queue": queue}


class Published:
    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, args: list[str], **options: Any) -> None:
        self.calls.append((args, options))

    def queues(self) -> dict[str, str]:
        return {args[0]: options["queue"] for args, options in self.calls}


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Published:
    spy = Published()
    monkeypatch.setattr(tasks.run_analysis, "apply_async", spy)
    return spy


@pytest.mark.django_db
@override_settings(
    CELERY_TASK_DEFAULT_QUEUE="small-q",
    DKIM2WEB_LARGE_TASK_QUEUE="large-q",
    DKIM2WEB_LARGE_MESSAGE_BYTES=LIMIT,
)
def test_enqueue_and_the_sweep_send_each_analysis_to_its_queue(
    published: Published, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        small = services.analysis_submit(raw=b"x" * LIMIT)
        large = services.analysis_submit(raw=b"x" * (LIMIT + 1))
    assert published.queues() == {str(small.pk): "small-q", str(large.pk): "large-q"}

    # Both lost by the broker, and one's worker died: the sweep re-queues by size too.
    published.calls.clear()
    long_ago = timezone.now() - timedelta(hours=1)
    Analysis.objects.filter(pk=small.pk).update(queued_at=long_ago)
    Analysis.objects.filter(pk=large.pk).update(status="running", started_at=long_ago)
    outcome = services.analyses_requeue_stale()
    assert (outcome.requeued, outcome.reclaimed) == (1, 1)
    assert published.queues() == {str(small.pk): "small-q", str(large.pk): "large-q"}

    # A re-run too.
    published.calls.clear()
    Analysis.objects.filter(pk=large.pk).update(status="done")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.analysis_rerun(analysis=Analysis.objects.get(pk=large.pk))
    assert published.queues() == {str(large.pk): "large-q"}


@pytest.mark.django_db
@override_settings(DKIM2WEB_LARGE_TASK_QUEUE="large-q", DKIM2WEB_LARGE_MESSAGE_BYTES=LIMIT)
def test_a_submission_is_one_insert_and_routed_without_reading_the_row_back(
    published: Published, django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    # Each upload's queries are paid for under load: the size is known, it is not re-read.
    with django_assert_num_queries(1), django_capture_on_commit_callbacks(execute=True):
        large = services.analysis_submit(raw=b"x" * (LIMIT + 1))
    assert published.queues() == {str(large.pk): "large-q"}


@pytest.mark.redis
@pytest.mark.django_db
@pytest.mark.usefixtures("not_eager")
def test_on_redis_the_messages_land_in_two_lists(require_redis: str) -> None:
    import redis

    small_q = f"dkim2web-test-{secrets.token_hex(6)}"
    large_q = f"{small_q}-large"
    client: Any = redis.Redis.from_url(require_redis)
    try:
        with (
            override_settings(
                CELERY_TASK_DEFAULT_QUEUE=small_q,
                DKIM2WEB_LARGE_TASK_QUEUE=large_q,
                DKIM2WEB_LARGE_MESSAGE_BYTES=LIMIT,
            ),
            app.connection_for_write(require_redis) as connection,
        ):
            small = services.analysis_submit(raw=b"s" * 10, enqueue=False)
            large = services.analysis_submit(raw=b"l" * (LIMIT + 1), enqueue=False)
            assert services.analysis_enqueue(analysis_id=small.pk, connection=connection)
            assert services.analysis_enqueue(analysis_id=large.pk, connection=connection)
            # A Redis list needs no declaring: the publish asked kombu to declare nothing.
            assert not connection.declared_entities
        assert (client.llen(small_q), client.llen(large_q)) == (1, 1)
        small_body = json.loads(client.lpop(small_q))
        large_body = json.loads(client.lpop(large_q))
        assert small_body["headers"]["argsrepr"] == repr([str(small.pk)])
        assert large_body["headers"]["argsrepr"] == repr([str(large.pk)])
        assert large_body["properties"]["delivery_info"]["routing_key"] == large_q
    finally:
        client.delete(small_q, large_q)
        client.close()


@pytest.mark.usefixtures("not_eager")
def test_on_another_broker_the_queue_is_declared_before_the_publish() -> None:
    # A broker whose queues must exist (RabbitMQ drops a message to an undeclared one) has
    # the queue declared, as apply_async declares it; kombu's in-memory broker stands in.
    queue = f"dkim2web-test-{secrets.token_hex(6)}"
    analysis_id = "6f1c3e0a-9d2b-4c8e-b1a7-2f5d8e4c9b10"
    with (
        override_settings(CELERY_TASK_DEFAULT_QUEUE=queue),
        app.connection_for_write("memory://") as connection,
    ):
        tasks.publish_run_analysis(analysis_id, size=10, connection=connection)
        # kombu remembers what it declared by the entity's hash.
        assert connection.declared_entities == {hash(app.amqp.queues[queue])}
        message = connection.SimpleQueue(queue).get(timeout=1)
        assert message.headers["task"] == tasks.RUN_ANALYSIS
        assert message.headers["argsrepr"] == repr([analysis_id])
        assert message.headers["timelimit"] == [tasks.HARD_TIME_LIMIT, tasks.SOFT_TIME_LIMIT]


def test_a_dead_workers_analysis_comes_back_through_the_sweep_not_the_broker() -> None:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    # No copy of a taken message in Redis (settings says why); the sweep finds the row.
    assert options["ack_emulation"] is False
    assert "visibility_timeout" not in options  # it would mean nothing without the emulation
    # A running analysis is never taken back while its run may still finish.
    assert timedelta(seconds=tasks.HARD_TIME_LIMIT) < services.STALE_AFTER
