"""Test-only key lookup for the fault tests: the demo zone, with one run held up on demand.

``DKIM2_KEY_LOOKUP=fault_slowkeys.HeldDemoDnsLookup`` (with ``tests/faults`` on
PYTHONPATH). When the file named by ``DKIM2WEB_TEST_HOLD`` exists, the first lookup to
remove it (so exactly one run) writes its process id to ``<file>.pid`` and waits until
``<file>.go`` appears (or ``DKIM2WEB_TEST_HOLD_SECONDS``, default 30, pass): the test
then knows which process is mid-run and can kill it, or cut its database connection.
Every other lookup answers at once. Never used outside tests/faults.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from analysis.lookup import DnsAnswer, DnsQuery
from dkim2web.samples.keys import DemoDnsLookup


class HeldDemoDnsLookup(DemoDnsLookup):
    """Held at a message's first DNS question (its batch of keys)."""

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        hold = os.environ.get("DKIM2WEB_TEST_HOLD")
        if hold:
            try:
                os.unlink(hold)
            except FileNotFoundError:
                pass
            else:
                Path(f"{hold}.pid.tmp").write_text(str(os.getpid()))
                os.replace(f"{hold}.pid.tmp", f"{hold}.pid")
                go = Path(f"{hold}.go")
                limit = time.monotonic() + float(os.environ.get("DKIM2WEB_TEST_HOLD_SECONDS", "30"))
                while not go.exists() and time.monotonic() < limit:
                    time.sleep(0.05)
        return super().resolve_many(queries, time_left=time_left)
