"""Turn a stored analysis (raw bytes and the engine's JSON report) into what templates show.

Plain functions over plain data: no queries, no requests. Every string here that came from
the message stays a plain ``str``; templates escape it (nothing is marked safe).
"""

from __future__ import annotations

import email.errors
import email.header
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from analysis.authres_field import authentication_results, blamed_finding
from analysis.delivery_time import format_duration

RESULT_LABELS = {
    "pass": "Pass",
    "fail": "Fail",
    "permerror": "Permanent error",
    "temperror": "Temporary error",
    "neutral": "Neutral",
    "none": "No DKIM2",
    "skipped": "Not checked",
}

RESPONSIBLE_LABELS = {
    "signer": "the mail operator of the signing domain",
    "intermediary": "the forwarder, mailing list or gateway in between",
    "dns": "the DNS administrator of the signing domain",
    "receiver": "the receiving side, or whoever exported this copy",
    "implementer": "the developer of the DKIM2 software",
    "sender": "the originating system",
    "analyser": "dkim2web itself",
    "none": "nobody: this is information only",
}

FLAG_TEXTS = {
    "exploded": "this hop sent the message to several recipients, so identical copies "
    "elsewhere are expected, not replays",
    "donotexplode": "the signer asks that the message go to one recipient only",
    "donotmodify": "the signer asks that later hops change neither the body nor existing "
    "header fields",
    "feedback": "the signer asks for feedback on how the message was handled",
    "feedhere": "feedback for earlier signers should be sent through this hop",
}

VERDICT_STATES = frozenset({"fail", "permerror", "temperror"})
DKIM2_FIELDS = frozenset({"dkim2-signature", "message-instance"})

# Shown inline on the page; the download has everything.
RAW_DISPLAY_BYTES = 512 * 1024


# -- small formatters ------------------------------------------------------------------------


def result_label(result: str | None) -> str:
    return RESULT_LABELS.get(str(result), str(result or "unknown"))


def format_utc(timestamp: float | int | None) -> str:
    """``2026-11-28 17:34:05 UTC``; empty for no timestamp, the number for one out of range."""
    if timestamp is None:
        return ""
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


def format_delay(seconds: float | int | None) -> str:
    """A delay since the previous hop; a negative one is a clock problem and says so."""
    if seconds is None:
        return ""
    if seconds < 0:
        return f"{format_duration(seconds)} before the previous hop (clocks disagree)"
    return f"+{format_duration(seconds)}"


def format_size(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def decode_words(text: str) -> str | None:
    """The RFC 2047 decoding of ``text`` when it has encoded words, else None.

    The result is plain text for templates to escape like any other value.
    """
    if "=?" not in text:
        return None
    try:
        decoded = str(email.header.make_header(email.header.decode_header(text)))
    except (email.errors.HeaderParseError, LookupError, UnicodeError, ValueError):
        return None
    return decoded if decoded != text else None


# -- findings and their explanations ---------------------------------------------------------


def finding_from_json(data: Mapping[str, Any]) -> Any:
    """The engine's ``Finding`` rebuilt from its JSON form (for the catalogue)."""
    from analysis.findings import Finding, Severity, State, Step

    def enum(kind: Any, value: Any, default: Any) -> Any:
        try:
            return kind(value)
        except (ValueError, TypeError):
            return default

    return Finding(
        code=str(data.get("code") or ""),
        state=enum(State, data.get("state"), State.NONE),
        message=str(data.get("message") or ""),
        step=enum(Step, data.get("step"), Step.MESSAGE),
        hop=data.get("hop") if isinstance(data.get("hop"), int) else None,
        instance=data.get("instance") if isinstance(data.get("instance"), int) else None,
        detail=str(data.get("detail") or ""),
        spec=str(data.get("spec") or ""),
        severity=enum(Severity, data.get("severity"), Severity.WARNING),
        data=dict(data.get("data") or {}),
    )


def explain(data: Mapping[str, Any]) -> dict[str, Any]:
    """The catalogue's explanation, its fix worded for the page (advice.py): ``fix`` (no
    command line), ``fix_plain`` (no spec references either) and the ``control`` that does it."""
    from analysis.catalogue import explain as catalogue_explain

    from . import advice

    explanation = catalogue_explain(finding_from_json(data))
    explanation["responsible_label"] = RESPONSIBLE_LABELS.get(
        explanation.get("responsible", ""), explanation.get("responsible", "")
    )
    code, fix = str(explanation.get("code") or ""), str(explanation.get("fix") or "")
    explanation["fix"] = advice.page_fix(code, fix)
    explanation["fix_plain"] = advice.plain_fix(code, fix)
    explanation["control"] = advice.control_for(code)
    return explanation


@dataclass
class FindingView:
    code: str
    state: str
    severity: str
    message: str
    detail: str
    spec: str
    hop: int | None
    instance: int | None
    explanation: dict[str, Any]

    @property
    def affects_verdict(self) -> bool:
        return self.state in VERDICT_STATES

    @property
    def css(self) -> str:
        """error (changes the verdict), warning or info."""
        return "error" if self.affects_verdict else (self.severity or "info")

    @property
    def label(self) -> str:
        return result_label(self.state) if self.affects_verdict else self.severity.capitalize()

    @property
    def detail_extra(self) -> bool:
        """True when the engine's detail adds something the catalogue's text does not say."""
        detail = self.detail.strip().rstrip(".")
        return bool(detail) and detail not in str(self.explanation.get("found", ""))


def finding_view(data: Mapping[str, Any]) -> FindingView:
    return FindingView(
        code=str(data.get("code") or ""),
        state=str(data.get("state") or "none"),
        severity=str(data.get("severity") or "info"),
        message=str(data.get("message") or ""),
        detail=str(data.get("detail") or ""),
        spec=str(data.get("spec") or ""),
        hop=data.get("hop") if isinstance(data.get("hop"), int) else None,
        instance=data.get("instance") if isinstance(data.get("instance"), int) else None,
        explanation=explain(data),
    )


# -- the verdict -------------------------------------------------------------------------------


@dataclass
class EvidenceView:
    """One finding the headline rests on: its code and failure string, as the engine wrote
    them (shown under the headline, never in it)."""

    code: str
    message: str
    where: str  # "hop 1", "" when the finding names no hop


@dataclass
class VerdictView:
    result: str
    label: str
    summary: str
    points: list[str]
    action: FindingView | None  # the one thing to do, when the message is not trusted
    action_anchor: str = ""  # where on the page the action's finding is
    evidence: list[EvidenceView] = field(default_factory=list)
    spec: str = ""  # the spec references of the evidence, once each
    #: The headline blames this copy of the message, not a hop: the advice is the copy's.
    copy: bool = False

    @property
    def action_fix(self) -> str:
        if self.copy:
            from .advice import COPY_FIX

            return COPY_FIX
        return str(self.action.explanation.get("fix_plain") or "") if self.action else ""

    @property
    def action_control(self) -> str:
        return str(self.action.explanation.get("control") or "") if self.action else ""


# Where to look for the one thing to do, in order: the mechanism sections of the report.
_ACTION_SECTIONS = (("dmarc", "dmarc"), ("dkim1", "dkim1"), ("dkim2", "timeline"), ("spf", "spf"))


def _section_findings(section: Any) -> list[Mapping[str, Any]]:
    if not isinstance(section, Mapping):
        return []
    found = [f for f in section.get("findings") or [] if isinstance(f, Mapping)]
    for signature in section.get("signatures") or []:  # DKIM1 keeps them per signature too
        if isinstance(signature, Mapping):
            found.extend(f for f in signature.get("findings") or [] if isinstance(f, Mapping))
    return found


# Where each section's findings are on the page.
_ANCHORS = (("dkim2", "timeline"), ("dmarc", "dmarc"), ("dkim1", "dkim1"), ("spf", "spf"))


def _is_note(finding: Mapping[str, Any]) -> bool:
    """Information that changes nothing (a line-end conversion, say): never the advice."""
    return finding.get("state") not in VERDICT_STATES and finding.get("severity") == "info"


def _evidence(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    verdict = document.get("verdict") or {}
    return [f for f in verdict.get("evidence") or [] if isinstance(f, Mapping)]


def _anchor_of(document: Mapping[str, Any], finding: Mapping[str, Any]) -> str:
    for key, anchor in _ANCHORS:
        for f in _section_findings(document.get(key)):
            if (f.get("code"), f.get("hop"), f.get("message")) == (
                finding.get("code"),
                finding.get("hop"),
                finding.get("message"),
            ):
                return anchor
    return "glance"


def verdict_action(document: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, str]:
    """The finding whose advice is the one thing to do, and its section's anchor: the first
    the headline rests on (the verdict's evidence); for a report stored before the verdict
    kept evidence, the first finding that decided it. Notes that change nothing never are."""
    verdict = document.get("verdict") or {}
    chosen = next((f for f in _evidence(document) if not _is_note(f)), None)
    if chosen is not None:
        return chosen, _anchor_of(document, chosen)
    if verdict.get("result") == "pass":
        chain = document.get("dkim2") or {}
        if chain.get("result") in VERDICT_STATES:
            return blamed_finding(chain), "timeline"  # trusted, but the DKIM2 chain broke
        return None, ""
    for key, anchor in _ACTION_SECTIONS:
        section = document.get(key)
        if key == "dkim2" and isinstance(section, Mapping):
            finding = blamed_finding(section) if section.get("result") in VERDICT_STATES else None
            if finding is not None:
                return finding, anchor
            continue
        for f in _section_findings(section):
            if f.get("state") in VERDICT_STATES:
                return f, anchor
    own = [f for f in verdict.get("findings") or [] if isinstance(f, Mapping)]
    chosen = next((f for f in own if f.get("severity") in ("error", "warning")), None)
    return chosen, "glance"


def verdict_view(document: Mapping[str, Any]) -> VerdictView:
    verdict = document.get("verdict") or {}
    result = str(verdict.get("result") or document.get("result") or "none")
    action, anchor = verdict_action(document)
    from .mechanism_views import VERDICT_LABELS

    # A run stored before every mechanism was checked judged DKIM2 alone: its words.
    upgraded = bool(document.get("upgraded_from"))
    # A run stored before the verdict kept its evidence: the advice's finding is.
    evidence = _evidence(document) or ([action] if action is not None else [])
    specs: list[str] = []
    for f in evidence:
        spec = str(f.get("spec") or "")
        if spec and spec not in specs:
            specs.append(spec)
    return VerdictView(
        result=result,
        label=result_label(result) if upgraded else VERDICT_LABELS.get(result, result),
        summary=str(verdict.get("headline") or document.get("summary") or ""),
        points=[str(p) for p in verdict.get("points") or []],
        action=finding_view(action) if action is not None else None,
        action_anchor=anchor,
        evidence=[
            EvidenceView(
                code=str(f.get("code") or ""),
                message=str(f.get("message") or ""),
                where=f"hop {f['hop']}" if isinstance(f.get("hop"), int) else "",
            )
            for f in evidence
        ],
        spec="; ".join(specs),
        copy=verdict.get("copy") is True,
    )


# -- the per-hop timeline ----------------------------------------------------------------------


@dataclass
class SelectorView:
    selector: str
    algorithm: str
    result: str
    key_bits: int | None
    key_testing: bool
    group: int = 0  # the |-separated group of s= (-08 on), from 1; 0 without groups

    @property
    def label(self) -> str:
        return result_label(self.result)


HASH_MATCH_WORDS = {True: "matches", False: "does not match", None: "could not be computed"}


@dataclass
class HashCheckView:
    """One hash of a Message-Instance's ``h=`` (shown where ``|`` groups are used)."""

    algorithm: str
    part: str  # "header" or "body"
    match: bool | None
    group: int = 0  # the |-separated group of h= (-08 on), from 1; 0 without groups

    @property
    def words(self) -> str:
        return f"{self.part} hash {HASH_MATCH_WORDS[self.match]}"

    @property
    def badge(self) -> str:
        if self.match is None:
            return "none"
        return "pass" if self.match else "fail"

    @property
    def badge_label(self) -> str:
        return {"pass": "Match", "fail": "Mismatch"}.get(self.badge, "Unknown")


@dataclass
class HopView:
    i: int | None
    m: int | None
    parsed: bool
    domain: str
    result: str
    signed_at: str
    timestamp: int | None
    delay: str
    mail_from: str | None
    rcpt_to: list[str]
    next_domain: str | None
    nonce: str | None
    flags: list[str]
    selectors: list[SelectorView]
    role: str
    custody_link: str
    custody_text: str
    findings: list[FindingView]
    raw: str
    previous_domain: str | None = None
    #: Which revisions' rules this hop's signer follows (auto runs), in a sentence.
    fingerprint: str = ""
    #: The hashes of the instance this hop introduced (m=hash_instance), shown when its
    #: h= uses | groups.
    hash_checks: list[HashCheckView] = field(default_factory=list)
    hash_instance: int | None = None

    @property
    def label(self) -> str:
        return result_label(self.result)

    @property
    def uses_groups(self) -> bool:
        """The hop's s= has more than one |-separated group (-08 on)."""
        return any(s.group for s in self.selectors)

    @property
    def flag_views(self) -> list[dict[str, str]]:
        return [{"name": f, "text": FLAG_TEXTS.get(f.lower(), "")} for f in self.flags]

    @property
    def problems(self) -> list[FindingView]:
        return [f for f in self.findings if f.css != "info"]

    @property
    def notes(self) -> list[FindingView]:
        return [f for f in self.findings if f.css == "info"]


def _role(hop: Mapping[str, Any]) -> str:
    introduced = hop.get("introduced_instance")
    m = hop.get("m")
    if not hop.get("parsed", True):
        return "Its DKIM2-Signature could not be read."
    if introduced is not None and hop.get("i") == 1:
        return f"Originator: signed the message and recorded it as instance m={introduced}."
    if introduced is not None:
        return (
            f"Changed the message: recorded the result as instance m={introduced}, with a recipe "
            "that undoes its changes."
        )
    if m is not None:
        return f"Forwarded the message unchanged: signed instance m={m} as it arrived."
    return "Signed the message."


def _custody_text(hop: Mapping[str, Any], prev: Mapping[str, Any] | None) -> str:
    link = hop.get("custody_link")
    i = hop.get("i")
    if link == "first":
        return "First signature: the chain of custody starts here."
    if prev is None or link == "unknown":
        return (
            f"Custody from the hop before i={i} cannot be checked: that signature is "
            "missing or unreadable."
        )
    before = f"hop i={prev.get('i')} ({prev.get('d') or '?'})"
    if link == "broken":
        if prev.get("nd"):
            return (
                f"{before} named nd={prev.get('nd')} as the next signer, but this hop signed "
                f"as d={hop.get('d') or '?'}."
            )
        rt = ", ".join(prev.get("rcpt_to") or []) or "nobody"
        sender = hop.get("mail_from")
        who = f"MAIL FROM {sender}" if sender and sender != "<>" else f"d={hop.get('d') or '?'}"
        return f"{before} sent the message to {rt}, but this hop's {who} is not at that domain."
    if prev.get("nd"):
        return f"{before} named nd={prev.get('nd')} as the next signer: this hop is that domain."
    rt = ", ".join(prev.get("rcpt_to") or []) or "?"
    return f"{before} sent the message to {rt}; this hop's MAIL FROM is at that domain."


def _group(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _grouped_hash_checks(report: Mapping[str, Any]) -> dict[int, list[HashCheckView]]:
    """Per instance m whose h= uses | groups, its hash checks (group by group)."""
    out: dict[int, list[HashCheckView]] = {}
    for instance in report.get("instances") or []:
        if not isinstance(instance, Mapping) or not isinstance(instance.get("m"), int):
            continue
        checks = [
            HashCheckView(
                algorithm=str(c.get("algorithm") or ""),
                part=str(c.get("part") or ""),
                match=c.get("match") if isinstance(c.get("match"), bool) else None,
                group=_group(c.get("group")),
            )
            for c in instance.get("checks") or []
            if isinstance(c, Mapping)
        ]
        if any(c.group for c in checks):
            out[int(instance["m"])] = sorted(checks, key=lambda c: c.group)
    return out


def hop_views(report: Mapping[str, Any]) -> list[HopView]:
    from .revision_views import fingerprint_by_hop

    hops = list(report.get("hops") or [])
    fingerprints = fingerprint_by_hop(report)
    grouped = _grouped_hash_checks(report)
    views: list[HopView] = []
    prev: Mapping[str, Any] | None = None
    for hop in hops:
        previous = prev if prev is not None and prev.get("i") == (hop.get("i") or 0) - 1 else None
        introduced = (
            hop.get("introduced_instance")
            if isinstance(hop.get("introduced_instance"), int)
            else None
        )
        views.append(
            HopView(
                i=hop.get("i"),
                m=hop.get("m"),
                parsed=bool(hop.get("parsed", True)),
                domain=str(hop.get("d") or ""),
                result=str(hop.get("result") or "permerror"),
                signed_at=format_utc(hop.get("t")),
                timestamp=hop.get("t"),
                delay=format_delay(hop.get("delay_seconds")),
                mail_from=hop.get("mail_from"),
                rcpt_to=list(hop.get("rcpt_to") or []),
                next_domain=hop.get("nd"),
                nonce=hop.get("nonce"),
                flags=list(hop.get("flags") or []),
                selectors=[
                    SelectorView(
                        selector=str(s.get("selector") or ""),
                        algorithm=str(s.get("algorithm") or ""),
                        result=str(s.get("result") or ""),
                        key_bits=s.get("key_bits"),
                        key_testing=bool(s.get("key_testing")),
                        group=_group(s.get("group")),
                    )
                    for s in hop.get("selectors") or []
                ],
                role=_role(hop),
                custody_link=str(hop.get("custody_link") or "unknown"),
                custody_text=_custody_text(hop, previous),
                findings=[finding_view(f) for f in hop.get("findings") or []],
                raw=str(hop.get("raw") or ""),
                previous_domain=str(previous.get("d") or "") if previous else None,
                fingerprint=fingerprints.get(hop.get("i"), "")
                if isinstance(hop.get("i"), int)
                else "",
                hash_checks=grouped.get(introduced, []) if introduced is not None else [],
                hash_instance=introduced if introduced in grouped else None,
            )
        )
        prev = hop
    return views


def message_findings(report: Mapping[str, Any]) -> list[FindingView]:
    """Findings that belong to no hop: about the input, the whole message or an instance."""
    return [finding_view(f) for f in report.get("findings") or [] if f.get("hop") is None]


# -- mutation diffs ------------------------------------------------------------------------------


@dataclass
class BodyLine:
    kind: str  # "add", "del", "hunk", "context", "file", "note"
    text: str


#: Octets of body diff text the result page renders inline, every diff together; each line
#: at most INLINE_DIFF_LINE_CHARS characters.  Reports stored before the engine bounded its
#: diffs (issue #11) can hold hundreds of megabytes of them: the page never does.
INLINE_DIFF_BYTES = 256 * 1024
INLINE_DIFF_LINE_CHARS = 2000


@dataclass
class DiffView:
    before: int
    after: int
    hop: int | None
    hop_domain: str
    header_changes: list[dict[str, Any]]
    body_changed: bool | None
    body_lines: list[BodyLine]
    truncated: bool
    explained: bool
    #: What was left out of the diff, in words: by the engine (its bounds, the report's
    #: stored-size budget) and by this page (INLINE_DIFF_BYTES).
    notes: list[str] = field(default_factory=list)


def _kind(k: int, line: str) -> str:
    if k < 2 and (line.startswith("--- ") or line.startswith("+++ ")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    if line.startswith("\\"):
        return "note"
    return "context"


def _body_lines(lines: Sequence[str], budget: list[int]) -> tuple[list[BodyLine], int]:
    """The lines to render, cut to the page's budget (``budget[0]``: octets left, spent
    here); and how many lines were left out."""
    out: list[BodyLine] = []
    for k, line in enumerate(lines):
        if not isinstance(line, str):
            continue
        if len(line) > INLINE_DIFF_LINE_CHARS:
            cut = len(line) - INLINE_DIFF_LINE_CHARS
            line = f"{line[:INLINE_DIFF_LINE_CHARS]} … [{cut:,} more characters not shown]"
        cost = len(line.encode("utf-8", "replace")) + 1
        if cost > budget[0]:
            budget[0] = 0
            return out, len(lines) - k
        budget[0] -= cost
        out.append(BodyLine(_kind(k, line), line))
    return out, 0


def diff_views(report: Mapping[str, Any]) -> list[DiffView]:
    budget = [INLINE_DIFF_BYTES]
    views: list[DiffView] = []
    for d in report.get("diffs") or []:
        lines, left_out = _body_lines(d.get("body_diff") or [], budget)
        notes = [str(d["body_diff_note"])] if d.get("body_diff_note") else []
        if left_out:
            notes.append(
                f"{left_out:,} more line{'s' if left_out != 1 else ''} of this diff are not "
                f"shown: this page shows at most {format_size(INLINE_DIFF_BYTES)} of diffs."
            )
        views.append(
            DiffView(
                before=d.get("before"),
                after=d.get("after"),
                hop=d.get("hop"),
                hop_domain=str(d.get("hop_domain") or ""),
                header_changes=[dict(c) for c in d.get("header_changes") or []],
                body_changed=d.get("body_changed"),
                body_lines=lines,
                truncated=bool(d.get("body_diff_truncated")) or bool(left_out),
                explained=bool(d.get("explained", True)),
                notes=notes,
            )
        )
    return views


def trimmed_view(report: Mapping[str, Any]) -> list[str]:
    """What the engine trimmed from the report to keep it within its stored-size budget
    (analysis.report_budget), one sentence per part; empty when nothing was."""
    trimmed = report.get("trimmed")
    if not isinstance(trimmed, Mapping):
        return []
    out = []
    for part in trimmed.get("parts") or []:
        if isinstance(part, Mapping):
            out.append(
                f"{str(part.get('what') or part.get('part'))[:200]}: "
                f"{format_size(int(part.get('octets') or 0))} left out"
            )
    return out


@dataclass
class InstanceView:
    m: int
    introduced_by_hop: int | None
    reconstructed: bool
    result: str
    body_known: bool
    body_size: int | None


def instance_views(report: Mapping[str, Any]) -> list[InstanceView]:
    return [
        InstanceView(
            m=int(x.get("m")),
            introduced_by_hop=x.get("introduced_by_hop"),
            reconstructed=bool(x.get("reconstructed", True)),
            result=str(x.get("result") or ""),
            body_known=bool(x.get("body_known")),
            body_size=x.get("body_size"),
        )
        for x in report.get("instances") or []
        if isinstance(x.get("m"), int)
    ]


def reconstruct_instance(raw: bytes, m: int) -> bytes | None:
    """Instance ``m`` of the message rebuilt from its recipes (no keys needed), or None
    when there is no such instance or its body cannot be rebuilt (a null body recipe)."""
    from analysis import dkim2 as engine

    prep = engine.prepare(raw)
    report = engine.verify_prepared(prep, {}, now=0)
    instance = report.instance(m)
    return instance.message_bytes() if instance is not None else None


# -- the message summary and the envelope ---------------------------------------------------------


@dataclass
class HeaderValue:
    name: str
    text: str
    decoded: str | None


def message_headers(report: Mapping[str, Any]) -> list[HeaderValue]:
    msg = report.get("message") or {}
    rows = [
        ("Subject", msg.get("subject")),
        ("From", msg.get("from")),
        ("To", msg.get("to")),
        ("Date", msg.get("date")),
        ("Message-ID", msg.get("message_id")),
    ]
    return [
        HeaderValue(name, str(value), decode_words(str(value))) for name, value in rows if value
    ]


@dataclass
class EnvelopeView:
    checked: bool
    mail_from: str
    rcpt_to: list[str]
    source: str
    hint_mail_from: str
    hint_rcpt_to: list[str]
    signed_mail_from: str
    signed_rcpt_to: list[str]

    @property
    def has_hints(self) -> bool:
        return bool(self.hint_mail_from or self.hint_rcpt_to)


def envelope_view(report: Mapping[str, Any], *, source: str = "") -> EnvelopeView:
    envelope = report.get("envelope") or {}
    hints = report.get("envelope_hints") or {}
    return EnvelopeView(
        checked=bool(report.get("envelope_checked")),
        mail_from=str(envelope.get("mail_from") or ""),
        rcpt_to=[str(r) for r in envelope.get("rcpt_to") or []],
        source=source,
        hint_mail_from=str(hints.get("mail_from") or ""),
        hint_rcpt_to=[str(r) for r in hints.get("rcpt_to") or []],
        signed_mail_from=str(hints.get("newest_signature_mail_from") or ""),
        signed_rcpt_to=[str(r) for r in hints.get("newest_signature_rcpt_to") or []],
    )


# -- the raw message -------------------------------------------------------------------------------


@dataclass
class RawField:
    name: str
    rest: str  # from the colon on, folds kept
    dkim2: bool


@dataclass
class RawView:
    fields: list[RawField]
    separated: bool  # an empty line ends the header block
    body: str
    truncated: bool
    size: int


_FIELD_START = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:")


def _display(data: bytes) -> str:
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    return text.replace("\r", "\u240d")  # a bare CR shown as the symbol for CR


def raw_view(raw: bytes, *, limit: int = RAW_DISPLAY_BYTES) -> RawView:
    """The message as received, split into header fields (DKIM2 ones marked) and body.

    Split here rather than with the engine's parser, which normalises line ends: this is
    what was uploaded, byte for byte, up to ``limit`` bytes.
    """
    shown = raw[:limit]
    match = re.search(rb"(\r?\n)(\r?\n)", shown)
    separated = True
    if shown.startswith((b"\r\n", b"\n")):
        head, body = b"", shown[2 if shown.startswith(b"\r\n") else 1 :]
    elif match is None:
        head, body, separated = shown, b"", False
    else:
        head, body = shown[: match.end(1)], shown[match.end() :]
    chunks: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if chunks and line[:1] in (b" ", b"\t"):
            chunks[-1] += line
        else:
            chunks.append(line)
    fields: list[RawField] = []
    for chunk in chunks:
        m = _FIELD_START.match(chunk)
        if m is None:
            fields.append(RawField("", _display(chunk), False))
            continue
        colon = chunk.index(b":")
        name = chunk[:colon].decode("latin-1")
        fields.append(RawField(name, _display(chunk[colon:]), name.strip().lower() in DKIM2_FIELDS))
    return RawView(
        fields=fields,
        separated=separated,
        body=_display(body),
        truncated=len(raw) > limit,
        size=len(raw),
    )


# -- what kind of input this is -------------------------------------------------------------


@dataclass(frozen=True)
class InputNote:
    kind: str
    title: str
    text: str
    accepted: bool  # False: refused at upload, it has no chance of being a message


_OUTLOOK = InputNote(
    "outlook-msg",
    "This is an Outlook .msg file, not an e-mail message",
    "Outlook's .msg format is a binary container that does not keep the message as it "
    "travelled, so its signatures cannot be checked. Open the message in Outlook on the web "
    '(… menu, View, "View message source"), or in a client that saves .eml files, '
    "and upload that.",
    False,
)
_ZIP = InputNote(
    "zip",
    "This is a ZIP archive, not an e-mail message",
    "Unpack the archive and upload the .eml files inside it (several at once is fine).",
    False,
)
_GZIP = InputNote(
    "gzip",
    "This is a compressed (gzip) file, not an e-mail message",
    "Decompress it and upload the .eml file inside it.",
    False,
)
_PDF = InputNote(
    "pdf",
    "This is a PDF document, not an e-mail message",
    "A printed or exported message has lost its header fields. Save the original message "
    '("Show original", "View source" or "Save as .eml") and upload that.',
    False,
)
_BINARY = InputNote(
    "binary",
    "This is a binary file, not an e-mail message",
    "An e-mail message is text: header fields such as From: and Date:, an empty line, then "
    'the body. Save the original message ("Show original", "View source" or "Save as '
    '.eml") and upload that.',
    False,
)
_HTML = InputNote(
    "html",
    "This looks like an HTML page, not an e-mail message",
    "It may be a web-mail page saved from the browser, or the HTML part of a message on its "
    "own. It was analysed anyway, but without its header fields there is nothing to verify: "
    'save the original message ("Show original", "View source" or "Save as .eml") and '
    "upload that.",
    True,
)
_NO_HEADER = InputNote(
    "no-header",
    "This does not start with e-mail header fields",
    "An RFC 5322 message starts with header fields such as From: and Date:, then an empty "
    "line, then the body. It was analysed anyway; if only the body was copied, save the "
    'complete original ("Show original", "View source" or "Save as .eml") and upload that.',
    True,
)
_MBOX = InputNote(
    "mbox",
    "This looks like a mailbox file holding several messages",
    "Only the first message was analysed, with the others read as part of its body. Save "
    "each message on its own as an .eml file to analyse it.",
    True,
)

_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body|<!--)", re.IGNORECASE)


def sniff_input(raw: bytes) -> InputNote | None:
    """What is wrong with ``raw`` as an e-mail message, at a glance (None: looks fine)."""
    start = raw[:65536]
    if start.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _OUTLOOK
    if start.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _ZIP
    if start.startswith(b"\x1f\x8b"):
        return _GZIP
    if start.startswith(b"%PDF-"):
        return _PDF
    if b"\x00" in start:
        return _BINARY
    text = start.lstrip(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
    if _HTML_START.match(text):
        return _HTML
    first_line = text.split(b"\n", 1)[0]
    if first_line.startswith(b"From "):
        if len(re.findall(rb"\n\r?\nFrom ", raw)) >= 1:
            return _MBOX
        return None
    if not _FIELD_START.match(first_line):
        return _NO_HEADER
    return None


# -- the whole result page -------------------------------------------------------------------


def status_context(analysis: Any) -> dict[str, Any]:
    return {
        "analysis": analysis,
        "in_progress": analysis.status in ("queued", "running"),
    }


def _intake_panel(analysis: Any) -> dict[str, Any]:
    from dkim2web.intake.presenters import intake_context

    return intake_context(analysis)


def build_result_context(
    *,
    analysis: Any,
    run: Any,
    viewer_can_edit: bool = True,
    share_token: str | None = None,
    runs: Sequence[Any] | None = None,
    can_share: bool = False,
    authserv_id: str = "dkim2web",
) -> dict[str, Any]:
    """Everything ``reports/result.html`` shows for one run of an analysis.

    ``viewer_can_edit`` False (a shared page) leaves out every action (re-run, envelope,
    delete, share) and the owner's data (the filename, the list of runs); ``share_token``
    makes the downloads go through the share link.
    """
    raw = analysis.raw_bytes
    runs = list(runs or [])
    shared = share_token is not None or not viewer_can_edit
    context: dict[str, Any] = {
        **status_context(analysis),
        "run": run,
        "runs": runs if viewer_can_edit else [],
        "viewer_can_edit": viewer_can_edit,
        "can_share": can_share and viewer_can_edit,
        "share_token": share_token,
        "shared": shared,
        "input_note": sniff_input(raw),
        "display_name": "shared message" if shared else (analysis.filename or "pasted source"),
        "size": format_size(analysis.size),
        "viewing_latest": run is None or not runs or run.pk == runs[0].pk,
        # How the message arrived by mail (SMTP envelope, client, forwarded originals, DSN
        # verdict): owner data, so never on a shared page.
        "intake": _intake_panel(analysis) if viewer_can_edit else {"present": False},
    }
    from . import revision_views as rv

    # The re-run control: every revision, the one the next run would use selected.
    context["revision_options"] = rv.revision_choices()
    if run is None:
        return context
    from . import advice

    for each in context["runs"]:
        each.how_words = advice.run_how_words(each)
    context["run_how"] = advice.run_how_words(run)
    from . import change_views as cv
    from . import mechanism_views as mv
    from .delivery_time_views import delivery_time_view
    from .dsn_views import dsn_view

    document = run.document
    chain = document.get("dkim2") or {}
    envelope = envelope_view(chain, source=analysis.get_envelope_source_display())
    context.update(
        judged=rv.judged_by(chain),
        revisions=rv.revisions_view(chain),
        from_checks=rv.from_checks_view(chain),
        verdict=verdict_view(document),
        whole=mv.whole_verdict(document),
        headers=message_headers(document),
        hops=hop_views(chain),
        message_findings=message_findings(chain),
        diffs=diff_views(chain),
        change_searches=cv.chain_change_views(chain),
        trimmed=trimmed_view(document),
        instances=instance_views(chain),
        dkim1=mv.dkim1_view(document.get("dkim1")),
        arc=mv.arc_view(document.get("arc"), document.get("receivers")),
        spf=mv.spf_view(document.get("spf")),
        dmarc=mv.dmarc_view(document.get("dmarc")),
        receivers=mv.receivers_view(document.get("receivers")),
        received_v=mv.received_view(document.get("received"), document.get("smtp")),
        delivery_time=delivery_time_view(document.get("delivery_time")),
        dsn=dsn_view(document.get("dsn")),
        evidence=mv.evidence_rows(document),
        envelope=envelope,
        envelope_initial={
            "mail_from": envelope.mail_from if envelope.checked else envelope.hint_mail_from,
            "rcpt_to": "\n".join(envelope.rcpt_to if envelope.checked else envelope.hint_rcpt_to),
        },
        raw=raw_view(raw),
        authres=authentication_results(document, authserv_id=authserv_id, newline="\n"),
        verified_at=format_utc(document.get("verified_at")),
        # For the "re-run as of the arrival time" control (advice.py).
        arrival=format_utc(advice.arrival_time(document)),
    )
    return context
