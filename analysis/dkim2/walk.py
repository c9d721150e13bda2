"""The state one verification walk shares between its checks."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..findings import Finding, State
from ..lookup import KeyAnswer, KeyQuery
from ..message import Body, HashMemo, HeaderField
from .keys import KeyRecord, verify_signature
from .report import Envelope, Instance, SelectorResult
from .structure import Prepared

if TYPE_CHECKING:
    from .authentic import FromCheck

_PERMERROR_PREFIX = re.compile(r"\APERMERROR:? ")

#: The unsigned-field rules of a revision, as a cache key (the profile's own objects).
UnsignedKey = tuple[frozenset[str], tuple[str, ...]]


@dataclass
class SharedWork:
    """Work one message's walks under several revisions share (analysis.dkim2.compare).

    Every entry depends only on its key, so a revision whose rules agree with another's for
    that piece of work reuses it: signature checks; header hashes per field list and
    unsigned-field rules; body hashes per body (and hash states per shared beginning of a
    body); and the undoing of a recipe, whose output objects are then the same in every
    walk, so the hashes of earlier instances hit too.
    Keys use ``id()`` of objects this cache keeps alive (``keep``), so an id is never reused.
    """

    verified: dict[tuple[str, KeyRecord, bytes, bytes], bool] = field(default_factory=dict)
    header_hashes: dict[tuple[int, str, UnsignedKey], bytes] = field(default_factory=dict)
    body_hashes: dict[tuple[int, str], bytes] = field(default_factory=dict)
    #: (id(fields), id(body), recipe JSON, unsigned rules) -> (fields, body, octets of the
    #: rebuilt instance, new octets its literals hold)
    undone: dict[
        tuple[int, int, bytes, UnsignedKey], tuple[list[HeaderField], Body | None, int, int]
    ] = field(default_factory=dict)
    #: Hash states of bodies that begin with the same pieces (the rebuilt instances share
    #: the received message's octets): each octet is hashed about once per algorithm.
    hash_memo: HashMemo = field(default_factory=HashMemo)
    #: Canonical signing lines by id(field), and signing inputs by (hop, id(its field)).
    canonical: dict[int, bytes] = field(default_factory=dict)
    signing_inputs: dict[tuple[int, int], bytes] = field(default_factory=dict)
    #: From-Authentic: the From domains of a field list, by id(fields).
    from_domains: dict[int, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    keep: list[object] = field(default_factory=list)


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
    shared: SharedWork = field(default_factory=SharedWork)
    #: Findings whose state follows Revision.custody_state (analysis.dkim2.compare reads it).
    custody_failures: int = 0
    #: -09 From-Authentic comparisons, one per From introduction.
    from_checks: list[FromCheck] = field(default_factory=list)

    def add(self, f: Finding) -> None:
        self.findings.append(f)

    def add_custody(self, f: Finding) -> None:
        """A broken envelope binding or chain of custody, a timestamp out of range or a From
        that is not Authentic: PERMERROR in -06/-07, FAIL from -08 (``custody_state``)."""
        if f.state == State.PERMERROR:
            self.custody_failures += 1
        if self.prep.options.revision.custody_state == "fail" and f.state == State.PERMERROR:
            f = dataclasses.replace(
                f, state=State.FAIL, message=_PERMERROR_PREFIX.sub("FAIL: ", f.message, count=1)
            )
        self.findings.append(f)

    def verify(self, algorithm: str, key: KeyRecord, data: bytes, signature: bytes) -> bool:
        """One signature check, made once per message whatever the number of walks."""
        k = (algorithm, key, data, signature)
        hit = self.shared.verified.get(k)
        if hit is None:
            hit = self.shared.verified[k] = verify_signature(
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
