"""What a verification produces: per-hop, per-instance and whole-message results.

The stored report is versioned JSON (``schema_version``), never pickled
objects (STYLE.md).  ``ChainReport.to_json()`` is also what ``dkim2 verify
--json`` prints, one object per file.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding, State
from ..lookup import KeyAnswer
from ..message import Body, HeaderField

SCHEMA_VERSION = 1


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

    def to_json(self) -> dict[str, Any]:
        return {
            "selector": self.selector,
            "algorithm": self.algorithm,
            "result": self.result,
            "key_bits": self.key_bits,
            "key_testing": self.key_testing,
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

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "part": self.part,
            "expected": self.expected,
            "computed": self.computed,
            "match": self.match,
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

    def message_bytes(self) -> bytes | None:
        if self.body is None:
            return None
        return b"".join([f.raw for f in self.fields] + [b"\r\n", self.body.view()])

    def to_json(self) -> dict[str, Any]:
        body = self.body
        return {
            "m": self.instance,
            "introduced_by_hop": self.introduced_by_hop,
            "reconstructed": self.reconstructed,
            "result": self.result.value,
            "checks": [c.to_json() for c in self.checks],
            "recipe": self.recipe,
            "header_fields": [[f.name, f.text()] for f in self.fields],
            "body_known": body is not None,
            "body_size": len(body) if body is not None else None,
            "body_sha256": hashlib.sha256(body.view()).hexdigest() if body is not None else None,
        }


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
class ChainReport:
    result: State
    summary: str
    draft: str
    engine_version: str
    message: MessageSummary
    envelope: Envelope | None
    envelope_hints: EnvelopeHints
    verified_at: float | None  # the clock used (None: timestamps not checked)
    hops: list[HopReport]
    instances: list[Instance]
    diffs: list[InstanceDiff]
    findings: list[Finding]
    dns: list[KeyAnswer]
    options: dict[str, Any] = field(default_factory=dict)
    replay_key: str | None = None  # m=1 hashes: the identity used by the replay check
    exploded: bool = False  # some signature carries f=exploded

    @property
    def envelope_checked(self) -> bool:
        return self.envelope is not None

    def instance(self, m: int) -> Instance | None:
        return next((x for x in self.instances if x.instance == m), None)

    def to_json(self) -> dict[str, Any]:
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
            "instances": [i.to_json() for i in self.instances],
            "diffs": [d.to_json() for d in self.diffs],
            "findings": [f.to_json() for f in self.findings],
            "dns": [a.to_json() for a in self.dns],
            "replay": {"key": self.replay_key, "exploded": self.exploded},
        }
