"""dkim2web's analysis engine: every authentication mechanism a message carries.

Plain Python with no I/O of its own: DNS answers come through an injected lookup
(:mod:`analysis.lookup`), fetched by :mod:`analysis.dns` or served from a static zone
(:mod:`analysis.resolvers`).  One package or module per mechanism:

* :mod:`analysis.dkim2` -- the DKIM2 chain (draft-ietf-dkim-dkim2-spec-06), with the
  Message-Instance reconstruction;

Shared vocabulary: :mod:`analysis.message` (the parsed message), :mod:`analysis.findings`
(outcomes as values), :mod:`analysis.catalogue` (an explanation for every finding) and
:mod:`analysis.limits` (every bound on work, named).
"""

from __future__ import annotations

from . import limits
from .findings import Finding, Severity, State, Step
from .lookup import KeyAnswer, KeyLookup, KeyQuery, LookupStatus, RecordingLookup

__all__ = [
    "Finding",
    "KeyAnswer",
    "KeyLookup",
    "KeyQuery",
    "LookupStatus",
    "RecordingLookup",
    "Severity",
    "State",
    "Step",
    "limits",
]
