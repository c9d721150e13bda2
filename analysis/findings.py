"""Verification outcomes as values.

Each check the engine makes produces :class:`Finding` values; the walk goes on
after a failure so the timeline can show every problem of every hop
(STYLE.md, "From dkimpy and mailauth").  A finding carries:

* ``code`` -- a stable machine code (``"sig.incorrect"``), the key into the
  explanation catalogue (:mod:`analysis.catalogue`);
* ``state`` -- the S06 §11.1 state it implies, or ``NONE`` for notes that do
  not affect the verdict;
* ``message`` -- the spec's failure string, verbatim where S06 §11 gives one
  (SPEC-NOTES §6.4: reproduce them verbatim, including their inconsistent
  colons and "Message Instance" without a hyphen);
* ``hop`` (``i=``) and ``instance`` (``m=``) it concerns;
* ``step`` -- the SPEC-NOTES §6.2 step that found it, used for precedence.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class State(enum.StrEnum):
    """Result states of S06 §11.1 plus ``none`` (AR00 §3.1: no DKIM2 at all)."""

    PASS = "pass"
    FAIL = "fail"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"
    NONE = "none"


class Severity(enum.StrEnum):
    ERROR = "error"  # changes the verdict
    WARNING = "warning"  # worth an operator's attention, verdict unchanged
    INFO = "info"  # context


class Step(enum.IntEnum):
    """Where a finding was made: for DKIM2, the SPEC-NOTES §6.2 step numbers (precedence
    order of §6.5); from 20, the other mechanisms, one value each."""

    MESSAGE = 1
    SYNTAX = 2
    TIMESTAMP = 3
    ENVELOPE = 4
    CHAIN = 5
    KEY = 6
    SIGNATURE = 7
    HASH = 8
    REQUEST = 9
    REPLAY = 10
    DRAFT = 11
    DKIM1 = 20  # analysis.dkim1
    ARC = 21  # analysis.arc
    SPF = 22  # analysis.spf
    DMARC = 23  # analysis.dmarc
    RECEIVERS = 24  # analysis.authres, analysis.received: what the receivers wrote
    VERDICT = 25  # analysis.verdict: the whole message


@dataclass(frozen=True)
class Finding:
    code: str
    state: State
    message: str
    step: Step
    hop: int | None = None  # i=
    instance: int | None = None  # m=
    detail: str = ""
    spec: str = ""  # e.g. "S06 §11.6"
    severity: Severity = Severity.ERROR
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def affects_verdict(self) -> bool:
        return self.state in (State.FAIL, State.PERMERROR, State.TEMPERROR)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "state": self.state.value,
            "severity": self.severity.value,
            "message": self.message,
            "step": int(self.step),
            "hop": self.hop,
            "instance": self.instance,
            "detail": self.detail,
            "spec": self.spec,
        }
        if self.data:
            out["data"] = self.data
        return out


def note(
    code: str,
    message: str,
    step: Step,
    *,
    severity: Severity = Severity.WARNING,
    hop: int | None = None,
    instance: int | None = None,
    detail: str = "",
    spec: str = "",
    data: dict[str, Any] | None = None,
) -> Finding:
    """A finding that does not change the verdict."""
    return Finding(
        code=code,
        state=State.NONE,
        message=message,
        step=step,
        hop=hop,
        instance=instance,
        detail=detail,
        spec=spec,
        severity=severity,
        data=data or {},
    )


def aggregate(findings: list[Finding]) -> State:
    """The overall state of a set of findings (SPEC-NOTES §6.5 recommendation).

    TEMPERROR is never reported when any permanent problem (FAIL or PERMERROR)
    was found; otherwise the first problem in step order wins, so structural
    PERMERRORs (step 2) take precedence over FAILs (step 7, 8).  Within one
    step PERMERROR outranks FAIL.  With no problem at all the result is PASS.
    """
    permanent = [f for f in findings if f.state in (State.FAIL, State.PERMERROR)]
    if permanent:
        first = min(permanent, key=lambda f: (int(f.step), f.state != State.PERMERROR))
        return first.state
    if any(f.state == State.TEMPERROR for f in findings):
        return State.TEMPERROR
    return State.PASS
