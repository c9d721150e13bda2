"""Waiting, briefly and within bounds, for an analysis to change its status.

A 50 KB message is verified about 20-50 ms after the upload is stored, before the browser
has even followed the upload's redirect, so the page that redirect lands on waits for the
verdict rather than showing "Queued" and having the browser come back for it (issue #13:
the verdict on screen in 300 ms). The progress partial does the same for the poller in
static/reports/progress.js: it answers when the status it was shown changes, not when the
browser happens to ask again. Either way:

* the wait is bounded (:data:`PAGE_WAIT_SECONDS`, :data:`STATUS_WAIT_SECONDS`), and it then
  answers with the status as it is: the page shows "Queued" or "Running" and goes on
  watching, as before;
* it reads the row's status, every 10 ms at first and then less often (:data:`PAUSES`): a
  primary-key look-up of one column, far cheaper than a request of the browser's;
* at most :data:`WAITERS_PER_PROCESS` requests of one web process wait at once, since
  each holds one of gunicorn's threads (4 per process by default); a request that finds
  them taken answers at once, and the page polls as it did without waiting;
* nothing waits when tasks run in-process (no broker, as under ``make run``): the analysis
  has then run before the upload was answered, and a queued one is not being worked on.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Collection, Iterator

from dkim2web.celery import app

from .models import Analysis

#: The statuses an analysis is being worked on in (or waits for a worker in).
IN_PROGRESS = (Analysis.Status.QUEUED, Analysis.Status.RUNNING)

#: How long the result page, asked for while its analysis is queued or running, waits for
#: the outcome before showing the progress partial instead. Past half a second a visitor
#: is better told what is going on.
PAGE_WAIT_SECONDS = 0.5

#: How long the progress partial waits for the status it was shown to change; the poller
#: asks again at once after a change, and backs off while nothing changes.
STATUS_WAIT_SECONDS = 5.0

#: Requests of one web process that may wait at once: half of gunicorn's default threads,
#: so that waiting pages never take every thread from the rest of the site.
WAITERS_PER_PROCESS = 2

#: Seconds between two reads of the status: often while a verdict is likely (the first
#: 150 ms), then less and less often, at most every half second.
PAUSES = (0.01,) * 5 + (0.02,) * 5 + (0.04, 0.08, 0.16, 0.32)
LONGEST_PAUSE = 0.5

_waiters = threading.BoundedSemaphore(WAITERS_PER_PROCESS)


def waiting_is_useful() -> bool:
    """Whether another process (a worker) may finish an analysis while a request waits:
    not when tasks run in-process, the Celery setting services.analysis_enqueue follows."""
    return not app.conf.task_always_eager


def wait_while(
    *, analysis_id: uuid.UUID | str, current: str, statuses: Collection[str], seconds: float
) -> str | None:
    """Wait up to ``seconds`` while the analysis's status is one of ``statuses``.

    ``current`` is the status the caller read. Returns the status read last: one outside
    ``statuses`` as soon as it is read, None as soon as the analysis is gone, else (the
    time ran out, or every wait of this process was taken) the last one read, ``current``
    if none was.
    """
    last: str | None = current
    if current not in statuses or seconds <= 0 or not waiting_is_useful():
        return last
    if not _waiters.acquire(blocking=False):
        return current
    try:
        deadline = monotonic() + seconds
        for pause in _pauses():
            left = deadline - monotonic()
            if left <= 0:
                break
            sleep(min(pause, left))
            last = Analysis.objects.filter(pk=analysis_id).values_list("status", flat=True).first()
            if last not in statuses:
                break
    finally:
        _waiters.release()
    return last


def _pauses() -> Iterator[float]:
    return itertools.chain(PAUSES, itertools.repeat(LONGEST_PAUSE))


# The tests replace both to change the row while a request waits, on a clock of their own.
sleep = time.sleep
monotonic = time.monotonic
