"""The state one verification walk shares between its checks."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..findings import Finding, State
from ..lookup import KeyAnswer, KeyQuery
from .keys import KeyRecord, verify_signature
from .report import Envelope, Instance, SelectorResult
from .structure import Prepared

if TYPE_CHECKING:
    from .authentic import FromCheck

_PERMERROR_PREFIX = re.compile(r"\APERMERROR:? ")

#: Signature checks already made, shared by the walks of one message under several
#: revisions: (algorithm, key record, signing input, signature) -> verified.
VerifyCache = dict[tuple[str, KeyRecord, bytes, bytes], bool]


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
    #: Failures of single s= entries, by (hop, selector), before the groups are judged.
    entry_findings: dict[tuple[int, str], list[Finding]] = field(default_factory=dict)
    verify_cache: VerifyCache = field(default_factory=dict)
    #: -09 From-Authentic comparisons, one per From introduction.
    from_checks: list[FromCheck] = field(default_factory=list)

    def add(self, f: Finding) -> None:
        self.findings.append(f)

    def add_custody(self, f: Finding) -> None:
        """A broken envelope binding or chain of custody, a timestamp out of range or a From
        that is not Authentic: PERMERROR in -06/-07, FAIL from -08 (``custody_state``)."""
        if self.prep.options.revision.custody_state == "fail" and f.state == State.PERMERROR:
            f = dataclasses.replace(
                f, state=State.FAIL, message=_PERMERROR_PREFIX.sub("FAIL: ", f.message, count=1)
            )
        self.findings.append(f)

    def verify(self, algorithm: str, key: KeyRecord, data: bytes, signature: bytes) -> bool:
        """One signature check, made once per message whatever the number of walks."""
        k = (algorithm, key, data, signature)
        hit = self.verify_cache.get(k)
        if hit is None:
            hit = self.verify_cache[k] = verify_signature(
                algorithm, key.public_key, data, signature
            )
        return hit

    def introducers(self) -> dict[int, int]:
        """Instance m -> the hop (lowest i) whose m= first names it."""
        out: dict[int, int] = {}
        for i in sorted(self.prep.signatures):
            m = self.prep.signatures[i].instance
            out.setdefault(m, i)
        return out
