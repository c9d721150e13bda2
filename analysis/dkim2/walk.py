"""The state one verification walk shares between its checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Finding
from ..lookup import KeyAnswer, KeyQuery
from .report import Envelope, Instance, SelectorResult
from .structure import Prepared


@dataclass
class Walk:
    prep: Prepared
    answers: dict[KeyQuery, KeyAnswer]
    envelope: Envelope | None
    now: float
    findings: list[Finding] = field(default_factory=list)
    instances: dict[int, Instance] = field(default_factory=dict)
    selector_results: dict[int, list[SelectorResult]] = field(default_factory=dict)
    custody: dict[int, str] = field(default_factory=dict)

    def add(self, f: Finding) -> None:
        self.findings.append(f)

    def introducers(self) -> dict[int, int]:
        """Instance m -> the hop (lowest i) whose m= first names it."""
        out: dict[int, int] = {}
        for i in sorted(self.prep.signatures):
            m = self.prep.signatures[i].instance
            out.setdefault(m, i)
        return out
