"""What the result page shows of the verdict and of every mechanism beside DKIM2.

Plain functions over the stored report (``AnalysisRun.document``, schema 2): no queries,
no requests. Strings from the message stay plain ``str`` for templates to escape; a
section a run did not check (a run stored before dkim2web checked it) is None and the
page says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.delivery_time import LONG_DELAY_SECONDS

from .change_views import change_view
from .presenters import FindingView, finding_view, format_delay, format_utc, result_label

# Result words of the other mechanisms (RFC 8601 §2.7), beside the DKIM2 ones.
MECHANISM_LABELS = {
    "pass": "Pass",
    "fail": "Fail",
    "softfail": "Soft fail",
    "neutral": "Neutral",
    "policy": "Policy",
    "none": "None",
    "temperror": "Temporary error",
    "permerror": "Permanent error",
    "skipped": "Not checked",
}

# Badge colour of each result word (the CSS has pass, fail, permerror, temperror, none).
_BADGE = {
    "pass": "pass",
    "fail": "fail",
    "softfail": "temperror",
    "neutral": "none",
    "policy": "temperror",
    "none": "none",
    "temperror": "temperror",
    "permerror": "permerror",
}

VERDICT_LABELS = {
    "pass": "Trusted",
    "fail": "Not trusted",
    "neutral": "Authenticated, not as the From domain",
    "temperror": "Not decided: temporary error",
    "permerror": "Not decided: permanent error",
    "none": "No authentication",
}

TRUST_LABELS = {
    "trusted": "written by the final receiver",
    "upstream": "written by an earlier system",
    "untrusted": "not to be trusted",
}


class _Judged:
    """A view with a ``result`` word: its label and badge colour."""

    result: str

    @property
    def label(self) -> str:
        return mechanism_label(self.result)

    @property
    def badge(self) -> str:
        return badge(self.result)


def mechanism_label(result: str | None) -> str:
    return MECHANISM_LABELS.get(str(result), result_label(result))


def badge(result: str | None) -> str:
    return _BADGE.get(str(result), "none")


def _findings(data: Mapping[str, Any] | None) -> list[FindingView]:
    if not isinstance(data, Mapping):
        return []
    return [finding_view(f) for f in data.get("findings") or [] if isinstance(f, Mapping)]


def _problems(findings: Sequence[FindingView]) -> list[FindingView]:
    return [f for f in findings if f.css != "info"]


# -- the verdict --------------------------------------------------------------------------------


@dataclass
class GlanceRow:
    mechanism: str
    label: str
    result: str
    summary: str
    claimed: str | None
    claimed_by: str | None
    anchor: str

    @property
    def result_label(self) -> str:
        return mechanism_label(self.result)

    @property
    def badge(self) -> str:
        return badge(self.result)

    @property
    def claimed_label(self) -> str:
        return mechanism_label(self.claimed) if self.claimed else ""

    @property
    def claimed_badge(self) -> str:
        return badge(self.claimed)

    agrees: bool | None = None  # as the engine judged it (analysis.verdict.MechanismLine)


@dataclass
class WholeVerdict:
    result: str
    label: str
    headline: str
    points: list[str]
    rows: list[GlanceRow]
    disagreements: list[dict[str, str]]
    upgraded: bool
    receiver: str | None

    @property
    def any_claims(self) -> bool:
        return any(r.claimed for r in self.rows)


_ANCHORS = {"dkim2": "timeline", "dkim1": "dkim1", "arc": "arc", "spf": "spf", "dmarc": "dmarc"}


def whole_verdict(document: Mapping[str, Any]) -> WholeVerdict:
    verdict = document.get("verdict") or {}
    result = str(verdict.get("result") or document.get("result") or "none")
    rows = [
        GlanceRow(
            mechanism=str(m.get("mechanism") or ""),
            label=str(m.get("label") or ""),
            result=str(m.get("result") or "none"),
            summary=str(m.get("summary") or ""),
            claimed=m.get("claimed"),
            claimed_by=m.get("claimed_by"),
            anchor=_ANCHORS.get(str(m.get("mechanism")), ""),
            agrees=m.get("agrees") if isinstance(m.get("agrees"), bool) else None,
        )
        for m in verdict.get("mechanisms") or []
        if isinstance(m, Mapping)
    ]
    receivers = document.get("receivers") or {}
    return WholeVerdict(
        result=result,
        label=VERDICT_LABELS.get(result, result),
        headline=str(verdict.get("headline") or document.get("summary") or ""),
        points=[str(p) for p in verdict.get("points") or []],
        rows=rows,
        disagreements=[
            {
                **{k: str(v) for k, v in d.items()},
                "claimed_badge": badge(str(d.get("claimed"))),
                "found_badge": badge(str(d.get("found"))),
            }
            for d in verdict.get("disagreements") or []
            if isinstance(d, Mapping)
        ],
        upgraded=bool(document.get("upgraded_from")),
        receiver=receivers.get("receiver_authserv_id") if isinstance(receivers, Mapping) else None,
    )


# -- DMARC ----------------------------------------------------------------------------------------


@dataclass
class AlignmentRow:
    label: str
    mechanism: str
    domain: str
    organizational_domain: str
    mode: str
    aligned: bool | None
    passed: bool
    counts: bool
    why: str


@dataclass
class DmarcView(_Judged):
    result: str
    result_without_dkim2: str
    summary: str
    author_domain: str
    policy_domain: str
    organizational_domain: str
    record: str
    policy: dict[str, Any] | None
    disposition: str
    alignment: list[AlignmentRow]
    walk: list[dict[str, Any]]
    findings: list[FindingView]

    @property
    def differs_without_dkim2(self) -> bool:
        return self.result != self.result_without_dkim2

    @property
    def problems(self) -> list[FindingView]:
        return _problems(self.findings)


def dmarc_view(data: Mapping[str, Any] | None) -> DmarcView | None:
    if not isinstance(data, Mapping):
        return None
    return DmarcView(
        result=str(data.get("result") or "none"),
        result_without_dkim2=str(data.get("result_without_dkim2") or data.get("result") or ""),
        summary=str(data.get("summary") or ""),
        author_domain=str(data.get("author_domain") or ""),
        policy_domain=str(data.get("policy_domain") or ""),
        organizational_domain=str(data.get("organizational_domain") or ""),
        record=str(data.get("record") or ""),
        policy=dict(data["policy"]) if isinstance(data.get("policy"), Mapping) else None,
        disposition=str(data.get("disposition") or ""),
        alignment=[
            AlignmentRow(
                label=str(a.get("label") or ""),
                mechanism=str(a.get("mechanism") or ""),
                domain=str(a.get("domain") or ""),
                organizational_domain=str(a.get("organizational_domain") or ""),
                mode=str(a.get("mode") or ""),
                aligned=a.get("aligned"),
                passed=bool(a.get("passed")),
                counts=bool(a.get("counts", True)),
                why=str(a.get("why") or ""),
            )
            for a in data.get("alignment") or []
            if isinstance(a, Mapping)
        ],
        walk=[dict(w) for w in data.get("walk") or [] if isinstance(w, Mapping)],
        findings=_findings(data),
    )


# -- the receivers' Authentication-Results --------------------------------------------------------


@dataclass
class ClaimRow:
    method: str
    result: str
    reason: str
    comment: str
    properties: list[tuple[str, str]]

    @property
    def badge(self) -> str:
        return badge(self.result)


@dataclass
class AuthResView:
    kind: str
    instance: int | None
    authserv_id: str
    trust: str
    trust_reason: str
    attributed_hop: int | None
    parse_error: str
    raw: str
    methods: list[ClaimRow]

    @property
    def trust_label(self) -> str:
        return TRUST_LABELS.get(self.trust, self.trust)


@dataclass
class ReceiversView:
    receiver: str | None
    summary: str
    arc_override: str
    fields: list[AuthResView]
    findings: list[FindingView]

    @property
    def problems(self) -> list[FindingView]:
        return _problems(self.findings)


def _claim_rows(methods: Any) -> list[ClaimRow]:
    return [
        ClaimRow(
            method=str(m.get("method") or ""),
            result=str(m.get("result") or ""),
            reason=str(m.get("reason") or ""),
            comment=str(m.get("comment") or ""),
            properties=[(str(k), str(v)) for k, v in (m.get("properties") or {}).items()],
        )
        for m in methods or []
        if isinstance(m, Mapping)
    ]


def receivers_view(data: Mapping[str, Any] | None) -> ReceiversView | None:
    if not isinstance(data, Mapping):
        return None
    return ReceiversView(
        receiver=data.get("receiver_authserv_id"),
        summary=str(data.get("summary") or ""),
        arc_override=str(data.get("arc_override") or ""),
        fields=[
            AuthResView(
                kind=str(f.get("kind") or ""),
                instance=f.get("instance") if isinstance(f.get("instance"), int) else None,
                authserv_id=str(f.get("authserv_id") or ""),
                trust=str(f.get("trust") or "untrusted"),
                trust_reason=str(f.get("trust_reason") or ""),
                attributed_hop=f.get("attributed_hop"),
                parse_error=str(f.get("parse_error") or ""),
                raw=str(f.get("raw") or ""),
                methods=_claim_rows(f.get("methods")),
            )
            for f in data.get("fields") or []
            if isinstance(f, Mapping)
        ],
        findings=_findings(data),
    )


def aar_testimony(receivers: Mapping[str, Any] | None) -> dict[int, list[ClaimRow]]:
    """Each ARC instance's ARC-Authentication-Results, parsed: ``i`` -> its results."""
    out: dict[int, list[ClaimRow]] = {}
    if not isinstance(receivers, Mapping):
        return out
    for f in receivers.get("fields") or []:
        if (
            isinstance(f, Mapping)
            and f.get("kind") == "ARC-Authentication-Results"
            and isinstance(f.get("instance"), int)
        ):
            out.setdefault(int(f["instance"]), []).extend(_claim_rows(f.get("methods")))
    return out


# -- the Received path ---------------------------------------------------------------------------


@dataclass
class ReceivedRow:
    index: int
    from_: str
    client: str
    by: str
    with_: str
    tls: bool | None
    when: str
    delay: str
    long_delay: bool
    border: bool
    internal: bool
    raw: str


@dataclass
class ReceivedView:
    rows: list[ReceivedRow]
    total: int
    findings: list[FindingView]
    smtp: dict[str, Any] = field(default_factory=dict)


def received_view(
    data: Mapping[str, Any] | None, smtp: Mapping[str, Any] | None
) -> ReceivedView | None:
    if not isinstance(data, Mapping):
        return None
    smtp = smtp if isinstance(smtp, Mapping) else {}
    border = smtp.get("hop_index")
    internal = set(smtp.get("internal_hops") or [])
    rows = []
    for h in data.get("hops") or []:
        if not isinstance(h, Mapping):
            continue
        clauses = h.get("clauses") or {}
        delay = h.get("delay_seconds")
        client = " ".join(str(x) for x in (h.get("from_rdns"), h.get("from_ip")) if x)
        rows.append(
            ReceivedRow(
                index=int(h.get("index") or 0),
                from_=str(h.get("from_helo") or clauses.get("from") or ""),
                client=client,
                by=str(h.get("by_host") or clauses.get("by") or ""),
                with_=str(h.get("with_protocol") or clauses.get("with") or ""),
                tls=h.get("tls"),
                when=format_utc(h.get("timestamp")) if h.get("timestamp") is not None else "",
                delay=format_delay(delay) if isinstance(delay, int | float) else "",
                long_delay=isinstance(delay, int | float) and delay > LONG_DELAY_SECONDS,
                border=h.get("index") == border,
                internal=h.get("index") in internal,
                raw=str(h.get("raw") or ""),
            )
        )
    return ReceivedView(
        rows=rows,
        total=int(data.get("total") or len(rows)),
        findings=_findings(data),
        smtp=dict(smtp),
    )


# -- SPF ----------------------------------------------------------------------------------------

SOURCE_LABELS = {
    "smtp": "seen by the dkim2web mail intake",
    "given": "given with the analysis",
    "reconstructed": "reconstructed from the receiver's Received fields",
    "none": "not known",
}


@dataclass
class SpfView(_Judged):
    result: str
    identity: str
    domain: str
    helo_result: str | None
    ip: str
    helo: str
    mail_from: str
    source: str
    source_detail: str
    record: str
    matched: str
    explanation: str
    lookups: int
    void_lookups: int
    trace: list[dict[str, Any]]
    trace_omitted: int
    summary: str
    findings: list[FindingView]

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)

    @property
    def reconstructed(self) -> bool:
        return self.source == "reconstructed"

    @property
    def problems(self) -> list[FindingView]:
        return _problems(self.findings)


def spf_view(data: Mapping[str, Any] | None) -> SpfView | None:
    if not isinstance(data, Mapping):
        return None
    return SpfView(
        result=str(data.get("result") or "none"),
        identity=str(data.get("identity") or "mailfrom"),
        domain=str(data.get("domain") or ""),
        helo_result=data.get("helo_result"),
        ip=str(data.get("ip") or ""),
        helo=str(data.get("helo") or ""),
        mail_from=str(data.get("mail_from") or ""),
        source=str(data.get("source") or "none"),
        source_detail=str(data.get("source_detail") or ""),
        record=str(data.get("record") or ""),
        matched=str(data.get("matched") or ""),
        explanation=str(data.get("explanation") or ""),
        lookups=int(data.get("lookups") or 0),
        void_lookups=int(data.get("void_lookups") or 0),
        trace=[dict(t) for t in data.get("trace") or [] if isinstance(t, Mapping)],
        trace_omitted=int(data.get("trace_omitted") or 0),
        summary=str(data.get("summary") or ""),
        findings=_findings(data),
    )


# -- DNS evidence -------------------------------------------------------------------------------


@dataclass
class EvidenceRow:
    name: str
    rtype: str
    status: str
    records: list[str]
    detail: str
    fetched_at: str
    ttl: int | None
    transport: str
    purposes: list[str]
    records_total: int | None = None  # set when the report kept only part of the records

    @property
    def ok(self) -> bool:
        return self.status == "found"


def evidence_rows(document: Mapping[str, Any]) -> list[EvidenceRow]:
    return [
        EvidenceRow(
            name=str(a.get("name") or ""),
            rtype=str(a.get("type") or "TXT"),
            status=str(a.get("status") or ""),
            records=[str(r) for r in a.get("records") or []],
            detail=str(a.get("detail") or ""),
            fetched_at=format_utc(a.get("fetched_at")) if a.get("fetched_at") else "",
            ttl=a.get("ttl"),
            transport=str(a.get("transport") or ""),
            purposes=[str(p) for p in a.get("purposes") or []],
            records_total=_int(a.get("records_total")),
        )
        for a in document.get("dns") or []
        if isinstance(a, Mapping)
    ]


# -- DKIM1 --------------------------------------------------------------------------------------

STEP_TEXTS = {
    "syntax": "the signature field is malformed",
    "key": "the public key",
    "body-hash": "the body hash: the body changed after signing",
    "signature": "the header signature: a signed header field changed after signing",
    "expired": "its expiry time (x=) has passed",
    "policy": "receivers' rules (an algorithm or key they refuse)",
}


@dataclass
class Dkim1SignatureView(_Judged):
    index: int
    domain: str
    selector: str
    algorithm: str
    canonicalization: str
    identity: str
    signed_headers: list[str]
    body_length: int | None
    signed_at: str
    expires_at: str
    result: str
    failed_step: str
    body_hash_matches: bool | None
    key_bits: int | None
    key_type: str
    key_testing: bool
    from_signed: bool
    verified: bool
    reason: str
    raw: str
    findings: list[FindingView]
    #: What changed the body when its hash fails (reports/change_views.py).
    change: Any = None

    @property
    def step_text(self) -> str:
        return STEP_TEXTS.get(self.failed_step, self.failed_step)


@dataclass
class Dkim1View(_Judged):
    result: str
    summary: str
    signatures: list[Dkim1SignatureView]
    findings: list[FindingView]  # about the signatures as a whole (the limit)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def dkim1_view(data: Mapping[str, Any] | None) -> Dkim1View | None:
    if not isinstance(data, Mapping):
        return None
    signatures = []
    for s in data.get("signatures") or []:
        if not isinstance(s, Mapping):
            continue
        signatures.append(
            Dkim1SignatureView(
                index=int(s.get("index") or 0),
                domain=str(s.get("domain") or ""),
                selector=str(s.get("selector") or ""),
                algorithm=str(s.get("algorithm") or ""),
                canonicalization=str(s.get("canonicalization") or ""),
                identity=str(s.get("identity") or ""),
                signed_headers=[str(h) for h in s.get("signed_headers") or []],
                body_length=_int(s.get("body_length")),
                signed_at=format_utc(_int(s.get("timestamp"))),
                expires_at=format_utc(_int(s.get("expires"))),
                result=str(s.get("result") or "permerror"),
                failed_step=str(s.get("failed_step") or ""),
                body_hash_matches=s.get("body_hash_matches"),
                key_bits=_int(s.get("key_bits")),
                key_type=str(s.get("key_type") or ""),
                key_testing=bool(s.get("key_testing")),
                from_signed=bool(s.get("from_signed")),
                verified=bool(s.get("verified", True)),
                reason=str(s.get("reason") or ""),
                raw=str(s.get("raw") or ""),
                findings=_findings(s),
                change=change_view(s.get("change_search")),
            )
        )
    view = Dkim1View(
        result=str(data.get("result") or "none"),
        summary=str(data.get("summary") or ""),
        signatures=signatures,
        findings=[],
    )
    seen = {(f.code, f.detail) for s in signatures for f in s.findings}
    view.findings = [
        f for f in _findings(data) if (f.code, f.detail) not in seen and f.css != "info"
    ]
    return view


# -- ARC ------------------------------------------------------------------------------------------


@dataclass
class ArcInstanceView:
    i: int
    sealer: str
    seal_selector: str
    seal_result: str
    cv: str
    sealed_at: str
    ams_domain: str
    ams_selector: str
    ams_result: str
    ams_body_hash_matches: bool | None
    aar_authserv_id: str
    testimony: list[ClaimRow]
    reason: str
    raw: str
    findings: list[FindingView]
    broken: bool

    @property
    def seal_badge(self) -> str:
        return badge(self.seal_result)

    @property
    def ams_badge(self) -> str:
        return badge(self.ams_result)


@dataclass
class ArcView(_Judged):
    result: str
    summary: str
    broken_at: int | None
    oldest_pass: int | None
    instances: list[ArcInstanceView]
    findings: list[FindingView]


def arc_view(data: Mapping[str, Any] | None, receivers: Mapping[str, Any] | None) -> ArcView | None:
    if not isinstance(data, Mapping):
        return None
    testimony = aar_testimony(receivers)
    broken_at = _int(data.get("broken_at"))
    instances = []
    for x in data.get("instances") or []:
        if not isinstance(x, Mapping):
            continue
        i = int(x.get("i") or 0)
        raw = "\n".join(str(x.get(k) or "") for k in ("seal_raw", "ams_raw", "aar_raw") if x.get(k))
        instances.append(
            ArcInstanceView(
                i=i,
                sealer=str(x.get("sealer") or ""),
                seal_selector=str(x.get("seal_selector") or ""),
                seal_result=str(x.get("seal_result") or ""),
                cv=str(x.get("cv") or ""),
                sealed_at=format_utc(_int(x.get("seal_timestamp"))),
                ams_domain=str(x.get("ams_domain") or ""),
                ams_selector=str(x.get("ams_selector") or ""),
                ams_result=str(x.get("ams_result") or ""),
                ams_body_hash_matches=x.get("ams_body_hash_matches"),
                aar_authserv_id=str(x.get("aar_authserv_id") or ""),
                testimony=testimony.get(i, []),
                reason=str(x.get("reason") or ""),
                raw=raw,
                findings=_findings(x),
                broken=broken_at == i,
            )
        )
    seen = {(f.code, f.detail) for x in instances for f in x.findings}
    return ArcView(
        result=str(data.get("result") or "none"),
        summary=str(data.get("summary") or ""),
        broken_at=broken_at,
        oldest_pass=_int(data.get("oldest_pass")),
        instances=sorted(instances, key=lambda x: x.i),
        findings=[f for f in _findings(data) if (f.code, f.detail) not in seen and f.css != "info"],
    )
