"""Celery tasks: thin interfaces that take an id, call a service and own the retry policy.

A run is delivered at least once (``acks_late``) and claimed by ``services.analysis_run``
with a conditional UPDATE, so extra deliveries do nothing. What brings an interrupted run
back, by how it was interrupted:

* the database went away mid-run: the task retries with backoff; the retry first puts
  back in the queue the claim its failed attempt had made (``claimed_since``), since
  otherwise that claim would hold the row until it went stale;
* the process running the task died (killed, out of memory): the worker's main process
  (:class:`AnalysisRequest`) puts the claim back and the broker redelivers the message at
  once; after ``services.MAX_ATTEMPTS`` such deaths the analysis fails, saying why;
* the whole worker died (or the machine): the broker kept no copy of the message (no ack
  emulation: settings says why), and the sweep re-queues the row and publishes it again
  once its claim is stale.

What does not come back: a failure of the message itself (an engine error, a report over
its stored-size budget, the database refusing the report's content, running out of the
child's memory limit) is recorded by the service with its reason and never retried, since
the same bytes fail the same way.

Every record logged while a run works carries the analysis id (``dkim2web.logs``).
"""

from __future__ import annotations

import logging
import resource
from datetime import UTC, datetime
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded, WorkerLostError
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init
from celery.utils.time import get_exponential_backoff_interval
from celery.worker.request import Request
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.utils import timezone
from django.utils.module_loading import import_string
from kombu.utils.uuid import uuid

from dkim2web.logs import analysis_context, enter_analysis, leave_analysis

from . import services
from .models import Analysis

logger = logging.getLogger(__name__)

SOFT_TIME_LIMIT = services.SOFT_TIME_LIMIT
HARD_TIME_LIMIT = services.HARD_TIME_LIMIT
MAX_RETRIES = 3
RETRY_BACKOFF_MAX = 60


def route_for_size(size: int | None) -> dict[str, Any]:
    """``apply_async`` options for an analysis of ``size`` bytes: large ones get their queue.

    The time limits are the same on both queues: even a 25 MB message verifies in well
    under a second; the large queue is there so that big uploads (memory, transfer) never
    hold up the small ones, not because they need longer.
    """
    if size is not None and size > settings.DKIM2WEB_LARGE_MESSAGE_BYTES:
        return {"queue": settings.DKIM2WEB_LARGE_TASK_QUEUE}
    return {"queue": settings.CELERY_TASK_DEFAULT_QUEUE}


def publish_run_analysis(
    analysis_id: str, *, size: int | None = None, connection: Any = None
) -> None:
    """Publish run_analysis for ``analysis_id``: the message, on the queue, that
    ``run_analysis.apply_async(args=[analysis_id], connection=connection,
    **route_for_size(size))`` publishes, for 60% of its CPU.

    apply_async costs about 0.4 ms of CPU a call (issue #13: the largest single part of an
    upload's CPU in the web process), most of it spent working out what this call knows
    already: the task's options, its route, whether a task is running that the new one is
    a child of, and declaring the queue before every publish. Here Celery itself builds the
    message (``create_task_message``, with the task's time limits and ignore_result) and
    sends it (``send_task_message``: its publish signals, its serializer, and its retry
    policy, so a pooled connection that went stale is connected again and the publish
    tried again), through a producer of the app's pool, as apply_async does: 0.26 ms.
    ``tests/web/test_u_upload_publish.py`` holds the two messages equal. Eager mode (no
    broker: ``make run``, most tests) still goes through apply_async, which runs the task
    in-process.
    """
    app = run_analysis.app
    route = route_for_size(size)
    if app.conf.task_always_eager:
        run_analysis.apply_async(args=[analysis_id], connection=connection, **route)
        return
    amqp = app.amqp
    args = [analysis_id]
    message = amqp.create_task_message(
        uuid(),
        RUN_ANALYSIS,
        args,
        {},
        reply_to=app.thread_oid,
        time_limit=run_analysis.time_limit,
        soft_time_limit=run_analysis.soft_time_limit,
        create_sent_event=app.conf.task_send_sent_event,
        ignore_result=run_analysis.ignore_result,
        # What Celery's saferepr() writes for a list of one id (36 characters, far below its
        # 1,024), without its walk of the list.
        argsrepr=repr(args),
        kwargsrepr="{}",
    )
    producer = amqp.Producer(connection, auto_declare=False) if connection else None
    with app.producer_or_acquire(producer) as publisher:
        # Redis needs nothing declared: a message for the anonymous exchange goes on the
        # list its routing key (the queue's name) names, and asking kombu whether the queue
        # was declared costs 40 µs a publish even once it remembers. Other brokers declare
        # the queue, as apply_async does (a message to an undeclared queue would be lost).
        declare: list[Any] | None = None
        if publisher.connection.transport.driver_type == "redis":
            declare = []
        # The publish retries by Celery's policy, inside kombu's ensure(), which also turns
        # the client library's errors into kombu's (what analysis_enqueue catches).
        amqp.send_task_message(publisher, RUN_ANALYSIS, message, declare=declare, **route)


def _analysis_id_of(args: Any, kwargs: Any) -> str | None:
    found = (kwargs or {}).get("analysis_id") or (args[0] if args else None)
    return None if found is None else str(found)


class AnalysisRequest(Request):  # type: ignore[misc]  # Celery ships no types
    """Runs in the worker's main process: puts a dead child's claim back in the queue."""

    def on_failure(
        self, exc_info: Any, send_failed_event: bool = True, return_ok: bool = False
    ) -> Any:
        exc = getattr(exc_info.exception, "exc", exc_info.exception)
        analysis_id = _analysis_id_of(self.args, self.kwargs)
        with analysis_context(analysis_id):
            if isinstance(exc, WorkerLostError) and analysis_id and self.time_start:
                _release_after_worker_lost(analysis_id, accepted_at=self.time_start)
            return super().on_failure(exc_info, send_failed_event, return_ok)


def _release_after_worker_lost(analysis_id: str, *, accepted_at: float) -> None:
    # A claim made after the child accepted this message is this delivery's: a child runs
    # one task at a time, and the claim cannot have gone stale before the hard time limit
    # killed it. Should it be a concurrent duplicate's claim after all, that run's final
    # write is conditional on its claim and stores nothing: still exactly one result.
    since = datetime.fromtimestamp(accepted_at - 1.0, UTC)
    ours = Analysis.objects.filter(
        pk=analysis_id, status=Analysis.Status.RUNNING, started_at__gte=since
    )
    try:
        gave_up = ours.filter(attempts__gte=services.MAX_ATTEMPTS).update(
            status=Analysis.Status.FAILED,
            error=(
                f"gave up after {services.MAX_ATTEMPTS} attempts: each time, the worker "
                "process running the analysis died before it finished (killed or out of "
                "memory)"
            ),
            finished_at=timezone.now(),
        )
        released = ours.update(
            status=Analysis.Status.QUEUED, started_at=None, queued_at=timezone.now()
        )
    except Exception:  # the database may be away too; the claim goes stale, the sweep acts
        logger.exception("analysis %s: its worker process died; claim not released", analysis_id)
        return
    finally:
        # The main process forks the pool's children: it keeps no connection open.
        connections.close_all()
    if gave_up:
        logger.error("analysis %s: its worker process died again; failed", analysis_id)
    elif released:
        logger.warning("analysis %s: its worker process died; queued again", analysis_id)


class AnalysisTask(Task):  # type: ignore[misc]  # Celery ships no types
    """Records why on the analysis when the task gives up on it."""

    Request = AnalysisRequest

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        analysis_id = _analysis_id_of(args, kwargs)
        if analysis_id is None:
            return
        if isinstance(exc, TimeLimitExceeded):
            reason = f"timed out: the worker stopped the analysis after {HARD_TIME_LIMIT} seconds"
        elif isinstance(exc, SoftTimeLimitExceeded):
            reason = f"timed out: the analysis took longer than {SOFT_TIME_LIMIT} seconds"
        elif isinstance(exc, OperationalError | InterfaceError):
            # The reason is shown to the analysis's owner: the exception's class only, never
            # its text (host names, database users); the text goes to the log.
            reason = (
                f"gave up after {MAX_RETRIES} retries: the database could not be reached "
                f"({type(exc).__name__}); the operators have the details in the worker's log"
            )
        else:
            reason = (
                f"internal error ({type(exc).__name__}); the operators have the details in "
                "the worker's log"
            )
        with analysis_context(analysis_id):
            logger.error("analysis %s: failed: %s: %s", analysis_id, type(exc).__name__, exc)
            try:
                services.analysis_fail(analysis_id=analysis_id, reason=reason)
            except Exception:  # the database may still be away; the sweep comes back to it
                logger.exception(
                    "analysis %s: could not record the failure (%s)", analysis_id, reason
                )


#: run_analysis's name (the one Celery would derive): the signal hooks below compare with it
#: for every task, where reading ``run_analysis.name`` would resolve the task's proxy each time.
RUN_ANALYSIS = "dkim2web.reports.tasks.run_analysis"


@shared_task(
    name=RUN_ANALYSIS,
    bind=True,
    base=AnalysisTask,
    acks_late=True,  # acknowledged when the run ends, so that when its pool child dies
    reject_on_worker_lost=True,  # ...the message goes back to the queue
    max_retries=MAX_RETRIES,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=HARD_TIME_LIMIT,
)
def run_analysis(self: Task, analysis_id: str, claimed_since: str | None = None) -> None:
    """Run one analysis; ``claimed_since`` is set by a retry (see the module docs)."""
    since = claimed_since or timezone.now().isoformat()
    try:
        if claimed_since is not None:
            _release_own_claim(analysis_id, since=datetime.fromisoformat(claimed_since))
        services.analysis_run(analysis_id=analysis_id)
    except (OperationalError, InterfaceError) as exc:  # the database blinked, not the message
        logger.warning("analysis %s: database error, retrying: %s", analysis_id, exc)
        countdown = get_exponential_backoff_interval(
            factor=1, retries=self.request.retries, maximum=RETRY_BACKOFF_MAX, full_jitter=True
        )
        raise self.retry(exc=exc, kwargs={"claimed_since": since}, countdown=countdown) from exc


def _release_own_claim(analysis_id: str, *, since: datetime) -> None:
    # The failed attempt claimed the row at or after `since` (if it got that far). Put it
    # back so this retry may claim it: otherwise it stays "running" until it goes stale.
    # As above, a concurrent duplicate's claim released here stores nothing.
    Analysis.objects.filter(
        pk=analysis_id, status=Analysis.Status.RUNNING, started_at__gte=since
    ).update(status=Analysis.Status.QUEUED, started_at=None, queued_at=timezone.now())


@worker_init.connect
def _import_the_engine_before_forking(**_: Any) -> None:
    """Import the engine and the key lookup in the worker's main process, before it forks
    its pool: every pool process then starts with them, instead of importing them during
    its first run. That import costs each pool process (and each one that replaces it)
    about half a second of CPU, most of it compiling the modules where no bytecode is kept
    (the image sets PYTHONDONTWRITEBYTECODE): 1 to 2 ms of every analysis of a burst of a
    thousand. Only the engine's modules are imported here, nothing is connected or
    started. Should the engine not import, the worker starts all the same and each run
    fails with the reason, as before (the run imports it again).
    """
    try:
        import analysis.message_report  # noqa: F401  (what services._run_engine imports)

        import_string(settings.DKIM2_KEY_LOOKUP)
    except Exception:
        logger.exception("the engine could not be imported before the pool started")


@worker_process_init.connect
def _limit_worker_memory(**_: Any) -> None:
    """Each pool child's soft memory limit (settings.DKIM2WEB_WORKER_MEMORY_LIMIT_MB)."""
    limit_mb = settings.DKIM2WEB_WORKER_MEMORY_LIMIT_MB
    if limit_mb > 0:
        limit_memory(limit_mb * 1024 * 1024)


def limit_memory(octets: int) -> None:
    """Let this process's data (heap and anonymous maps: RLIMIT_DATA) grow to ``octets`` at
    most: past it an allocation raises MemoryError, which fails the analysis that asked for
    it with services.OUT_OF_MEMORY, and the child, its memory over
    DKIM2WEB_WORKER_MAX_MEMORY_MB, is then replaced. A soft limit: never above the hard one."""
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        octets = min(octets, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (octets, hard))


# Per task id a stack: an in-process (eager) retry runs inside the attempt it retries.
_log_tokens: dict[str, list[Any]] = {}


@task_prerun.connect
def _log_with_analysis_id(
    task_id: str = "", task: Any = None, args: Any = None, kwargs: Any = None, **_: Any
) -> None:
    # Signals rather than a `with` in the task body, so Celery's own lines about the run
    # ("Task ... succeeded in 0.01s", a retry) carry the id too.
    if task is not None and task.name == RUN_ANALYSIS:
        _log_tokens.setdefault(task_id, []).append(enter_analysis(_analysis_id_of(args, kwargs)))


@task_postrun.connect
def _log_without_analysis_id(task_id: str = "", **_: Any) -> None:
    tokens = _log_tokens.get(task_id)
    if tokens:
        leave_analysis(tokens.pop())
        if not tokens:
            del _log_tokens[task_id]


@shared_task(ignore_result=True)
def sweep_analyses() -> dict[str, int]:
    """Periodic (beat): publish analyses the broker lost, recover those of dead workers."""
    outcome = services.analyses_requeue_stale()
    return {
        "requeued": outcome.requeued,
        "reclaimed": outcome.reclaimed,
        "gave_up": outcome.gave_up,
    }


@shared_task(ignore_result=True)
def purge_expired_analyses() -> int:
    """Periodic (beat): delete analyses older than DKIM2WEB_RETENTION_DAYS, and the uploads
    "Guess the envelope" kept that nobody analysed within the hour."""
    from .held import held_uploads_purge_expired

    held_uploads_purge_expired()
    return services.analyses_purge_expired()
