"""What a verification produces: per-hop, per-instance and whole-message results.

The stored report is versioned JSON (``schema_version``), never pickled
objects (STYLE.md).  ``ChainReport.to_json()`` is also what ``dkim2 verify
--json`` prints, one object per file.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .. import limits
from ..findings import Finding, State
from ..lookup import KeyAnswer
from ..message import Body, HashMemo, HeaderField, serialise

if TYPE_CHECKING:
    from ..change_search import ChangeSearch
from ..textsize import prefix_within

SCHEMA_VERSION = 1

T = TypeVar("T")


@dataclass
class Envelope:
    """The SMTP envelope of the transaction that delivered the message (S06 §11.4)."""

    mail_from: str  # reverse-path, with or without angle brackets; "<>" or "" is null
    rcpt_to: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"mail_from": self.mail_from, "rcpt_to": list(self.rcpt_to)}


@dataclass
class EnvelopeHints:
    """Guesses from trace fields; never used for verification, only shown."""

    mail_from: str | None = None  # from Return-Path
    rcpt_to: list[str] = field(default_factory=list)  # from Delivered-To / X-Original-To
    newest_signature_mail_from: str | None = None
    newest_signature_rcpt_to: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "mail_from": self.mail_from,
            "rcpt_to": self.rcpt_to,
            "newest_signature_mail_from": self.newest_signature_mail_from,
            "newest_signature_rcpt_to": self.newest_signature_rcpt_to,
        }


@dataclass
class SelectorResult:
    selector: str
    algorithm: str
    result: str  # pass, fail, permerror, temperror, skipped (unknown algorithm)
    key_bits: int | None = None
    key_testing: bool = False
    group: int = 0  # the |-separated group of s= (-08 on), from 1; 0 without groups

    def to_json(self) -> dict[str, Any]:
        return {
            "selector": self.selector,
            "algorithm": self.algorithm,
            "result": self.result,
            "key_bits": self.key_bits,
            "key_testing": self.key_testing,
            "group": self.group,
        }


@dataclass
class HopReport:
    hop: int  # i=
    instance: int | None  # m=
    parsed: bool
    raw: str  # the DKIM2-Signature field as received
    domain: str | None = None  # d=
    timestamp: int | None = None  # t=
    delay_seconds: int | None = None  # t= minus the previous hop's t=
    mail_from: str | None = None  # mf=, decoded
    rcpt_to: list[str] = field(default_factory=list)  # rt=, decoded
    next_domain: str | None = None  # nd=
    nonce: str | None = None  # n=
    flags: list[str] = field(default_factory=list)  # f=
    selectors: list[SelectorResult] = field(default_factory=list)
    introduced_instance: int | None = None  # the MI this hop added, if any
    custody_link: str = "unknown"  # "ok", "broken", "first", "unknown"
    result: State = State.PASS
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "i": self.hop,
            "m": self.instance,
            "parsed": self.parsed,
            "d": self.domain,
            "t": self.timestamp,
            "delay_seconds": self.delay_seconds,
            "mail_from": self.mail_from,
            "rcpt_to": self.rcpt_to,
            "nd": self.next_domain,
            "nonce": self.nonce,
            "flags": self.flags,
            "selectors": [s.to_json() for s in self.selectors],
            "introduced_instance": self.introduced_instance,
            "custody_link": self.custody_link,
            "result": self.result.value,
            "findings": [f.to_json() for f in self.findings],
            "raw": self.raw,
        }


@dataclass
class HashCheck:
    algorithm: str
    part: str  # "header" or "body"
    expected: str
    computed: str | None  # None: could not be computed (body unknown)
    match: bool | None
    group: int = 0  # the |-separated group of h= (-08 on), from 1; 0 without groups

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "part": self.part,
            "expected": self.expected,
            "computed": self.computed,
            "match": self.match,
            "group": self.group,
        }


@dataclass
class Instance:
    """One reconstructed version of the message (``m``; 0 = before the
    originator's own recorded changes)."""

    instance: int
    fields: list[HeaderField]
    body: Body | None  # None: unknown (a null body recipe above it)
    introduced_by_hop: int | None = None
    checks: list[HashCheck] = field(default_factory=list)
    recipe: dict[str, Any] | None = None  # the decoded r= that undoes this instance
    reconstructed: bool = True  # False for the received message itself
    result: State = State.PASS
    #: The walk's hash states (analysis.message.HashMemo): instances share octets.
    memo: HashMemo | None = field(default=None, repr=False, compare=False)
    #: What changed the body or header fields, when a hash fails (analysis.change_search).
    change_searches: list[ChangeSearch] = field(default_factory=list, compare=False)

    def message_bytes(self) -> bytes | None:
        if self.body is None:
            return None
        return serialise(self.fields, self.body)

    def message_chunks(self) -> Iterator[bytes | memoryview]:
        """The instance's octets piece by piece (for streaming it; nothing is joined)."""
        for f in self.fields:
            yield f.raw
        yield b"\r\n"
        if self.body is not None:
            yield from self.body.chunks()

    def to_json(self, table: FieldTable) -> dict[str, Any]:
        """``table``: the report's header fields, each distinct one listed once; this
        instance's fields are runs of its rows (``header_field_runs``: ``[first, count]``
        each, in the instance's order).  Past the table's budget the fields are counted
        only (``header_fields_omitted``)."""
        body = self.body
        runs: list[list[int]] = []
        listed = 0
        for f in self.fields:
            row = table.row_of(f)
            if row is None:
                break
            add_to_runs(runs, row)
            listed += 1
        out = {
            "m": self.instance,
            "introduced_by_hop": self.introduced_by_hop,
            "reconstructed": self.reconstructed,
            "result": self.result.value,
            "checks": [c.to_json() for c in self.checks],
            "recipe": self.recipe,
            "header_field_runs": runs,
            "body_known": body is not None,
            "body_size": len(body) if body is not None else None,
            "body_sha256": body.digest("sha256", self.memo).hex() if body is not None else None,
        }
        if listed < len(self.fields):
            out["header_fields_omitted"] = len(self.fields) - listed
        if self.change_searches:
            out["change_searches"] = [c.to_json() for c in self.change_searches]
        return out


def cut_text(text: str, limit: int = limits.MAX_REPORT_TEXT_CHARS) -> str:
    """``text``, or as much of it as takes ``limit`` octets of the stored report (characters,
    for ASCII: see :mod:`analysis.textsize`) and a marker saying how much was cut."""
    if len(text) <= limit and text.isascii():
        return text
    keep = prefix_within(text, limit)
    if keep == len(text):
        return text
    return f"{text[:keep]} … [{len(text) - keep:,} more characters cut]"


class TextBudget:
    """Characters of header field values the instances of one report may list together
    (limits.MAX_REPORT_INSTANCE_FIELD_CHARS)."""

    def __init__(self, chars: int = limits.MAX_REPORT_INSTANCE_FIELD_CHARS) -> None:
        self.remaining = chars

    def take(self, f: HeaderField) -> bool:
        # The octets the listed field takes in the stored report: a field that is not UTF-8
        # takes up to 6 a character (analysis.textsize).
        shown = f.raw[: limits.MAX_REPORT_TEXT_CHARS + 40]
        cost = len(f.name) + (len(shown) if shown.isascii() else 6 * len(shown))
        if cost > self.remaining:
            self.remaining = 0
            return False
        self.remaining -= cost
        return True


def add_to_runs(runs: list[list[int]], row: int) -> None:
    """Append ``row`` to ``runs`` (``[first, count]`` each): the last run grows when it
    ends just before ``row``."""
    if runs and runs[-1][0] + runs[-1][1] == row:
        runs[-1][1] += 1
    else:
        runs.append([row, 1])


class FieldTable:
    """The header fields a report's instances list, each distinct field once (its name and
    its value cut to MAX_REPORT_TEXT_CHARS), within a :class:`TextBudget`.

    Every instance holds the fields of the one below it and the fields its hop added, so
    listing each instance's fields in full made the report grow with the square of the hop
    count (a 20-hop chain: 270 KB of its 360 KB).  Each instance now lists runs of rows of
    this table (issue #13: the report grows linearly in hops)."""

    def __init__(self, budget: TextBudget | None = None) -> None:
        self.rows: list[list[str]] = []
        self._row: dict[bytes, int] = {}
        self._budget = budget if budget is not None else TextBudget()

    def row_of(self, f: HeaderField) -> int | None:
        """The row listing ``f`` (added if new); None once the budget is spent."""
        row = self._row.get(f.raw)
        if row is None:
            if not self._budget.take(f):
                return None
            row = self._row[f.raw] = len(self.rows)
            self.rows.append([f.name, cut_text(f.text())])
        return row


@dataclass
class FieldChange:
    name: str
    kind: str  # "added", "removed", "changed"
    old: str | None
    new: str | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "old": self.old, "new": self.new}


@dataclass
class InstanceDiff:
    """What changed from instance ``before`` to instance ``after`` (made by ``hop``)."""

    before: int
    after: int
    hop: int | None
    hop_domain: str | None
    header_changes: list[FieldChange]
    body_changed: bool | None  # None: the earlier body is unknown
    body_diff: list[str]  # unified diff lines (without line ends)
    body_diff_truncated: bool = False
    explained: bool = True  # False: content changed but no recipe recorded it
    #: What was cut from ``body_diff``, in words ("" when nothing was): lines, octets, long
    #: lines, or a window too large to compare line by line.
    body_diff_note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "hop": self.hop,
            "hop_domain": self.hop_domain,
            "header_changes": [c.to_json() for c in self.header_changes],
            "body_changed": self.body_changed,
            "body_diff": self.body_diff,
            "body_diff_truncated": self.body_diff_truncated,
            "body_diff_note": self.body_diff_note,
            "explained": self.explained,
        }


@dataclass
class MessageSummary:
    size: int
    raw: bytes = field(repr=False, compare=False)  # the message as received
    subject: str
    from_: str
    to: str
    message_id: str
    date: str
    header_fields: int
    body_size: int

    @functools.cached_property
    def sha256(self) -> str:
        """SHA-256 of the message as received (computed on first use: not on the hot path)."""
        return hashlib.sha256(self.raw).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "sha256": self.sha256,
            "subject": self.subject,
            "from": self.from_,
            "to": self.to,
            "message_id": self.message_id,
            "date": self.date,
            "header_fields": self.header_fields,
            "body_size": self.body_size,
        }


@dataclass
class RevisionOutcome:
    """The verdict of the chain under one revision's rules."""

    revision: str  # "06"
    draft: str
    result: State
    level: str
    hop_results: dict[int, State]
    #: The first problem that decided the verdict (its failure string), if any.
    first_problem: str | None = None
    first_problem_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "draft": self.draft,
            "result": self.result.value,
            "level": self.level,
            "hops": {str(i): s.value for i, s in sorted(self.hop_results.items())},
            "first_problem": self.first_problem,
            "first_problem_code": self.first_problem_code,
        }


@dataclass
class HopFingerprint:
    """Which revisions' rules one hop's signature and hashes satisfy, and the evidence."""

    hop: int
    domain: str | None
    passes_under: list[str]  # revisions under which the hop verifies
    #: The revisions the signer's software can follow, given what the message shows.
    signer_revisions: list[str]
    clues: list[str]  # plain-words evidence ("uses '|' signature groups")
    sentence: str

    def to_json(self) -> dict[str, Any]:
        return {
            "hop": self.hop,
            "domain": self.domain,
            "passes_under": self.passes_under,
            "signer_revisions": self.signer_revisions,
            "clues": self.clues,
            "sentence": self.sentence,
        }


@dataclass
class RevisionSplit:
    """Two neighbouring revisions that disagree on the verdict, and the rules that split them."""

    older: str
    newer: str
    older_result: State
    newer_result: State
    rules: list[str]  # Revision rule ids; each alone flips the verdict
    rule_titles: list[str]
    sources: list[str]
    sentence: str

    def to_json(self) -> dict[str, Any]:
        return {
            "older": self.older,
            "newer": self.newer,
            "older_result": self.older_result.value,
            "newer_result": self.newer_result.value,
            "rules": self.rules,
            "rule_titles": self.rule_titles,
            "sources": self.sources,
            "sentence": self.sentence,
        }


class Deferred(Generic[T]):
    """An attribute whose value may be given as a function that makes it (see
    :meth:`ChainReport.defer`): the function runs on the first read and its value is kept.
    The report's diffs and its one-line summary (which reads the diffs) are made this way, so
    a verification that nothing shows does not pay for difflib (issue #13: diffs are built
    when something shows them)."""

    def __init__(self, name: str) -> None:
        self._name = "_" + name

    def __get__(self, obj: object | None, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]  # the class's attribute: the descriptor
        value = obj.__dict__[self._name]
        if isinstance(value, _Maker):
            value = obj.__dict__[self._name] = value.make(obj)
        return value  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: T) -> None:
        obj.__dict__[self._name] = value


@dataclass(frozen=True)
class _Maker(Generic[T]):
    #: Called with the report it belongs to. A maker holding the report itself would be a
    #: reference cycle: every report would then wait for the garbage collector, which walks
    #: the whole graph of a report to free it (issue #13).
    make: Callable[[Any], T]


@dataclass
class ChainReport:
    result: State
    #: The verdict in one line (history.summarise); may be deferred (:meth:`defer`).
    summary: str
    draft: str
    engine_version: str
    message: MessageSummary
    envelope: Envelope | None
    envelope_hints: EnvelopeHints
    verified_at: float | None  # the clock used (None: timestamps not checked)
    hops: list[HopReport]
    instances: list[Instance]
    #: What each hop changed (history.build_diffs); may be deferred (:meth:`defer`).
    diffs: list[InstanceDiff]
    findings: list[Finding]
    dns: list[KeyAnswer]
    options: dict[str, Any] = field(default_factory=dict)
    replay_key: str | None = None  # m=1 hashes: the identity used by the replay check
    exploded: bool = False  # some signature carries f=exploded
    #: The revision whose rules produced ``result`` ("09"), and how it was chosen.
    revision: str = "06"
    revision_mode: str = "fixed"  # "auto": the newest, with the others compared
    #: How far the chain verified (analysis.dkim2.verify.verification_level).
    level: str = "none"
    #: auto: the outcome under every revision, oldest first.
    revisions: list[RevisionOutcome] = field(default_factory=list)
    #: auto: per hop, the revisions whose rules it satisfies and why.
    fingerprints: list[HopFingerprint] = field(default_factory=list)
    #: auto: where revisions disagree on the verdict, and the rule that splits them.
    splits: list[RevisionSplit] = field(default_factory=list)
    #: -09 From-Authentic: each From introduction and its outcome (to_json() form).
    from_checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def envelope_checked(self) -> bool:
        return self.envelope is not None

    def instance(self, m: int) -> Instance | None:
        return next((x for x in self.instances if x.instance == m), None)

    def defer(
        self,
        *,
        summary: Callable[[ChainReport], str],
        diffs: Callable[[], list[InstanceDiff]],
    ) -> None:
        """Make ``summary`` (called with this report) and ``diffs`` when they are first read,
        by these functions; neither may hold the report itself (see :class:`_Maker`)."""
        self.__dict__["_summary"] = _Maker(summary)
        self.__dict__["_diffs"] = _Maker(lambda _report: diffs())

    def to_json(self) -> dict[str, Any]:
        # Newest instance first: the message as received gets the first rows (and the
        # budget, should it run out), each older one reuses them in one run or a few.
        table = FieldTable()
        for inst in sorted(self.instances, key=lambda x: -x.instance):
            for f in inst.fields:
                if table.row_of(f) is None:
                    break
        instances = [i.to_json(table) for i in self.instances]
        return {
            "schema_version": SCHEMA_VERSION,
            "result": self.result.value,
            "summary": self.summary,
            "draft": self.draft,
            "engine_version": self.engine_version,
            "message": self.message.to_json(),
            "envelope": self.envelope.to_json() if self.envelope else None,
            "envelope_checked": self.envelope_checked,
            "envelope_hints": self.envelope_hints.to_json(),
            "verified_at": self.verified_at,
            "options": self.options,
            "hops": [h.to_json() for h in self.hops],
            "instances": instances,
            "header_field_table": table.rows,
            "diffs": [d.to_json() for d in self.diffs],
            "findings": [f.to_json() for f in self.findings],
            "dns": [a.to_json() for a in self.dns],
            "replay": {"key": self.replay_key, "exploded": self.exploded},
            "revision": self.revision,
            "revision_mode": self.revision_mode,
            "level": self.level,
            "revisions": [r.to_json() for r in self.revisions],
            "fingerprints": [f.to_json() for f in self.fingerprints],
            "splits": [s.to_json() for s in self.splits],
            "from_checks": self.from_checks,
        }


# Installed after the dataclass is made, so that its __init__ stores through them.
ChainReport.summary = Deferred[str]("summary")  # type: ignore[assignment]
ChainReport.diffs = Deferred[list[InstanceDiff]]("diffs")  # type: ignore[assignment]
