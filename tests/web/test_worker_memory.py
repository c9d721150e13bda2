"""Workers' memory (issue #11): a pool child is replaced once it holds too much, and may not
grow past a soft limit; an analysis that needs more fails, saying so, and is not retried."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from dkim2web.reports import services
from dkim2web.reports.models import Analysis
from dkim2web.reports.tasks import run_analysis
from tests.web.test_settings_from_environment import load_settings


def test_worker_memory_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = load_settings(monkeypatch)
    assert default.DKIM2WEB_WORKER_MAX_MEMORY_MB == 512
    assert default.CELERY_WORKER_MAX_MEMORY_PER_CHILD == 512 * 1024  # Celery counts KiB
    assert default.DKIM2WEB_WORKER_MEMORY_LIMIT_MB == 1024
    chosen = load_settings(
        monkeypatch, DKIM2WEB_WORKER_MAX_MEMORY_MB="300", DKIM2WEB_WORKER_MEMORY_LIMIT_MB="700"
    )
    assert chosen.CELERY_WORKER_MAX_MEMORY_PER_CHILD == 300 * 1024
    assert chosen.DKIM2WEB_WORKER_MEMORY_LIMIT_MB == 700
    off = load_settings(monkeypatch, DKIM2WEB_WORKER_MAX_MEMORY_MB="0")
    assert off.CELERY_WORKER_MAX_MEMORY_PER_CHILD is None


def _child(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter with Django set up (a worker process's state)."""
    setup = "import django\ndjango.setup()\n"
    return subprocess.run(
        [sys.executable, "-c", setup + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dkim2web.settings",
            "DJANGO_SECRET_KEY": "memory-limit-test-" + "x" * 40,
            **env,
        },
    )


def test_a_pool_child_past_its_soft_limit_gets_a_memory_error_not_the_oom_killer() -> None:
    done = _child(
        """
        import resource
        from dkim2web.reports.tasks import limit_memory

        limit_memory(300 * 1024 * 1024)
        print(resource.getrlimit(resource.RLIMIT_DATA)[0] // (1024 * 1024))
        small = bytearray(20 * 1024 * 1024)  # well within
        try:
            big = bytearray(400 * 1024 * 1024)
        except MemoryError:
            print("MemoryError")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["300", "MemoryError"]


def test_each_pool_child_sets_the_limit_when_it_starts() -> None:
    done = _child(
        """
        import resource
        from celery.signals import worker_process_init
        import dkim2web.reports.tasks  # connects its handlers
        worker_process_init.send(sender=None)
        print(resource.getrlimit(resource.RLIMIT_DATA)[0] // (1024 * 1024))
        """,
        DKIM2WEB_WORKER_MEMORY_LIMIT_MB="600",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "600"


@pytest.mark.django_db
def test_an_analysis_that_runs_out_of_memory_fails_saying_so_and_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    analysis = services.analysis_submit(raw=b"From: a@example.org\r\n\r\nx\r\n", enqueue=False)
    calls: list[int] = []

    def greedy(a: Analysis, *, lookup: Any = None, now: float | None = None) -> Any:
        calls.append(1)
        raise MemoryError()

    monkeypatch.setattr(services, "_run_engine", greedy)
    result = run_analysis.apply(args=[str(analysis.pk)])
    assert result.successful()
    assert calls == [1]
    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts) == (Analysis.Status.FAILED, 1)
    assert analysis.error == (
        "the analysis needed more memory than a worker may use "
        "(DKIM2WEB_WORKER_MEMORY_LIMIT_MB), so it was stopped and not retried: the same message "
        "would need the same. The message is kept; the operators have the details in the "
        "worker's log."
    )
