"""The verification walk of S06 §10-§11 (SPEC-NOTES §6.2), as two steps.

1. :func:`prepare` parses the message, checks syntax and numbering, and says
   which keys are needed (``Prepared.key_queries``).
2. :func:`verify_prepared` takes the fetched key answers, the SMTP envelope (if
   known) and the clock, and produces a :class:`ChainReport`.

:func:`analyze` joins them through an injected :class:`KeyLookup`.

Theory of operation
-------------------
Every check runs and records findings; nothing stops at the first failure, so
the timeline can show every problem of every hop (S06 §11.1 allows stopping;
a forensics tool should not).  Interpretations chosen:

* Numbering (S06 §7.1, §8.1; SPEC-NOTES §11 A22, A23): ``m`` must run 1..M and
  ``i`` 1..N without gaps or repeats; each signature's ``m=`` lies in 1..M and
  does not decrease with ``i``; every instance is covered by some ``m=``.
* Timestamps (A18): any signature older than 14 days is PERMERROR "signature
  expired"; a future ``t=`` is reported but does not change the verdict.
  ``now=0`` disables the check (as one conformance case expects).
* Envelope (S06 §11.4): only the newest signature is compared with the SMTP
  envelope: ``mf=`` exactly (domain case-insensitive), every RCPT TO among
  ``rt=``.  Without an envelope we say "envelope not checked".
* Custody inside the chain (S06 §8.7, §8.8, §9.4; A19, A20): every signature's
  ``mf=`` domain is at or below its ``d=`` (skipped for ``<>``); hop *k*'s
  ``mf=`` domain relaxed-matches an ``rt=`` domain of hop *k-1*; after an
  ``nd=`` signature ``d=`` must equal ``nd=``; an ``nd=`` or ``mf=<>``
  signature relaxed-matches its ``d=`` instead.
* Signatures (S06 §11.6; A15, A16): every ``s=`` entry with a known algorithm
  must verify; a signature with no checkable entry is PERMERROR.
* Hashes (S06 §10.2, §11.7): instances are walked from M down to 1, applying
  each recipe to rebuild the previous instance; unknown hash names are
  ignored.  A null body recipe makes every earlier body unknown (S06 §5.2,
  local policy; S09 reportedly makes it PERMERROR -- ``Options.null_body_is_error``).
* Requests (S06 §11.8, removed in S07): ``donotmodify``/``donotexplode``.
* Verdict (SPEC-NOTES §6.5): see :func:`analysis.findings.aggregate`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .canonical import b64, header_hash_input, signing_input
from .fields import (
    KNOWN_HASHES,
    KNOWN_SIGNATURE_ALGORITHMS,
    MI_NAME,
    SIG_NAME,
    Dkim2Signature,
    FieldProblem,
    MessageInstance,
    number_hint,
    parse_message_instance,
    parse_signature,
)
from .findings import Finding, Severity, State, Step, aggregate, note
from .grammar import GrammarError, normalise_envelope_address, relaxed_domain_match
from .keys import (
    KEY_TYPE_FOR_ALGORITHM,
    KeyRecord,
    KeyRecordError,
    parse_key_record,
    verify_signature,
)
from .lookup import KeyAnswer, KeyLookup, KeyQuery, LookupStatus
from .message import Body, HeaderField, ParsedMessage, parse_message
from .recipes import (
    OutputBudget,
    Recipe,
    RecipeError,
    apply_body_recipe,
    apply_header_recipe,
    decode_recipe,
)
from .report import (
    ChainReport,
    Envelope,
    EnvelopeHints,
    HashCheck,
    HopReport,
    Instance,
    MessageSummary,
    SelectorResult,
)

ENGINE_VERSION = "0.1.0"
#: The draft revision this engine implements.
DRAFT = "draft-ietf-dkim-dkim2-spec-06"


@dataclass(frozen=True)
class Options:
    #: Accept artefacts of earlier drafts that do not weaken security: bare
    #: addresses in mf=/rt= (each reported as a finding).
    compat: bool = False
    #: S09 (reported, SPEC-NOTES Annex A): a null body recipe is PERMERROR.
    #: Default off: S06 §5.2 leaves it to local policy (A39).
    null_body_is_error: bool = False
    lifetime_seconds: int = limits.SIGNATURE_LIFETIME_SECONDS
    future_skew_seconds: int = limits.FUTURE_SKEW_SECONDS

    def to_json(self) -> dict[str, Any]:
        return {
            "compat": self.compat,
            "null_body_is_error": self.null_body_is_error,
            "lifetime_seconds": self.lifetime_seconds,
        }


@dataclass
class Prepared:
    """Everything learned before any key is fetched."""

    raw_size: int
    raw: bytes
    message: ParsedMessage
    options: Options
    instances: dict[int, MessageInstance] = field(default_factory=dict)
    signatures: dict[int, Dkim2Signature] = field(default_factory=dict)
    mi_fields: list[tuple[int | None, HeaderField]] = field(default_factory=list)
    sig_fields: list[tuple[int | None, HeaderField]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    key_queries: list[KeyQuery] = field(default_factory=list)
    has_dkim2: bool = False

    @property
    def max_instance(self) -> int:
        return max(self.instances, default=0)


# -- failure strings (S06 §11; SPEC-NOTES §6.2, §6.4: verbatim) --------------------------


def _mi_string(m: int | None, what: str) -> str:
    return f"PERMERROR Message-Instance m={_n(m)} {what}"


def _sig_string(i: int | None, what: str) -> str:
    return f"PERMERROR DKIM2-Signature i={_n(i)} {what}"


def _n(x: int | None) -> str:
    return "?" if x is None else str(x)


def _problem_finding(
    p: FieldProblem, *, hop: int | None = None, instance: int | None = None
) -> Finding:
    text = _mi_string(instance, p.what) if hop is None else _sig_string(hop, p.what)
    return Finding(
        code=p.code,
        state=State.PERMERROR,
        message=text,
        step=Step.SYNTAX,
        hop=hop,
        instance=instance,
        detail=p.detail,
        spec=p.spec or "S06 §11.2",
    )


# -- step 1-2: parse, syntax, numbering ------------------------------------------------------


def prepare(raw: bytes, options: Options | None = None) -> Prepared:
    options = options or Options()
    msg = parse_message(raw)
    prep = Prepared(
        raw_size=len(raw),
        raw=raw,
        message=msg,
        options=options,
        findings=list(msg.findings),
    )
    if msg.fatal:
        return prep
    for f in msg.fields:
        if f.lname == MI_NAME:
            prep.mi_fields.append((number_hint(f, "m"), f))
        elif f.lname == SIG_NAME:
            prep.sig_fields.append((number_hint(f, "i"), f))
    prep.has_dkim2 = bool(prep.mi_fields or prep.sig_fields)
    if not prep.has_dkim2:
        return prep
    if len(prep.sig_fields) > limits.MAX_SIGNATURES or len(prep.mi_fields) > limits.MAX_INSTANCES:
        prep.findings.append(
            Finding(
                code="limits.too-many-dkim2-fields",
                state=State.PERMERROR,
                message="PERMERROR too many DKIM2 header fields",
                step=Step.SYNTAX,
                detail=(
                    f"{len(prep.sig_fields)} DKIM2-Signature and {len(prep.mi_fields)} "
                    f"Message-Instance fields; the limits are {limits.MAX_SIGNATURES} and "
                    f"{limits.MAX_INSTANCES} (BCP01 §7.5)."
                ),
                spec="BCP01 §7.5",
            )
        )
        return prep

    seen_m: dict[int, int] = {}
    for hint, f in prep.mi_fields:
        mi, problems = parse_message_instance(f)
        if mi is None:
            prep.findings.extend(_problem_finding(p, instance=hint) for p in problems)
            if hint is not None:
                seen_m[hint] = seen_m.get(hint, 0) + 1
            continue
        seen_m[mi.instance] = seen_m.get(mi.instance, 0) + 1
        if mi.instance in prep.instances:
            continue
        prep.instances[mi.instance] = mi
    seen_i: dict[int, int] = {}
    for hint, f in prep.sig_fields:
        sig, problems = parse_signature(f, allow_bare_addresses=options.compat)
        if sig is None:
            prep.findings.extend(_problem_finding(p, hop=hint) for p in problems)
            if hint is not None:
                seen_i[hint] = seen_i.get(hint, 0) + 1
            continue
        seen_i[sig.hop] = seen_i.get(sig.hop, 0) + 1
        if sig.hop in prep.signatures:
            continue
        prep.signatures[sig.hop] = sig
    _check_numbering(prep, seen_m, seen_i)
    prep.key_queries = _key_queries(prep)
    return prep


def _check_numbering(prep: Prepared, seen_m: dict[int, int], seen_i: dict[int, int]) -> None:
    add = prep.findings.append
    for m, count in sorted(seen_m.items()):
        if count > 1:
            add(
                Finding(
                    "mi.duplicate",
                    State.PERMERROR,
                    _mi_string(m, "syntax error"),
                    Step.SYNTAX,
                    instance=m,
                    detail=f"{count} Message-Instance fields carry m={m}",
                    spec="S06 §7.1; SPEC-NOTES §11 A23",
                )
            )
    for i, count in sorted(seen_i.items()):
        if count > 1:
            add(
                Finding(
                    "sig.duplicate",
                    State.PERMERROR,
                    _sig_string(i, "syntax error"),
                    Step.SYNTAX,
                    hop=i,
                    detail=f"{count} DKIM2-Signature fields carry i={i}",
                    spec="S06 §8.1; SPEC-NOTES §11 A23",
                )
            )
    max_m = max(seen_m, default=0)
    max_i = max(seen_i, default=0)
    for m in range(1, max(max_m, 1) + 1):
        if m not in seen_m:
            add(
                Finding(
                    "mi.missing",
                    State.PERMERROR,
                    _mi_string(m, "missing"),
                    Step.SYNTAX,
                    instance=m,
                    detail=(
                        f"Message-Instance numbers must run from 1 to {max_m} without gaps"
                        if max_m
                        else "the message has DKIM2-Signature fields but no Message-Instance field"
                    ),
                    spec="S06 §7.1",
                )
            )
    for i in range(1, max(max_i, 1) + 1):
        if i not in seen_i:
            add(
                Finding(
                    "sig.missing",
                    State.PERMERROR,
                    _sig_string(i, "missing"),
                    Step.SYNTAX,
                    hop=i,
                    detail=(
                        f"DKIM2-Signature numbers must run from 1 to {max_i} without gaps"
                        if max_i
                        else "the message has Message-Instance fields but no DKIM2-Signature field"
                    ),
                    spec="S06 §8.1",
                )
            )
    # A22: each signature's m= names an existing instance and never decreases.
    prev_m = 0
    for i in sorted(prep.signatures):
        sig = prep.signatures[i]
        if max_m and sig.instance > max_m:
            add(
                Finding(
                    "sig.instance-out-of-range",
                    State.PERMERROR,
                    _sig_string(i, "syntax error"),
                    Step.SYNTAX,
                    hop=i,
                    detail=(
                        f"m={sig.instance} names an instance that does not exist "
                        f"(highest is m={max_m})"
                    ),
                    spec="S06 §8.2; SPEC-NOTES §11 A22",
                )
            )
        elif sig.instance < prev_m:
            add(
                Finding(
                    "sig.instance-decreasing",
                    State.PERMERROR,
                    _sig_string(i, "syntax error"),
                    Step.SYNTAX,
                    hop=i,
                    detail=f"m={sig.instance} is lower than the m={prev_m} of an earlier signature",
                    spec="S06 §8.2; SPEC-NOTES §11 A22",
                )
            )
        prev_m = max(prev_m, sig.instance)
    highest_signed = max((s.instance for s in prep.signatures.values()), default=0)
    if prep.signatures:
        for m in sorted(prep.instances):
            if m > highest_signed:
                add(
                    Finding(
                        "mi.not-signed",
                        State.PERMERROR,
                        _mi_string(m, "is not signed"),
                        Step.SYNTAX,
                        instance=m,
                        detail=(
                            f"no DKIM2-Signature has m={m} or higher; "
                            f"the newest signs m={highest_signed}"
                        ),
                        spec="S06 §11.2",
                    )
                )


def _key_queries(prep: Prepared) -> list[KeyQuery]:
    queries: dict[KeyQuery, None] = {}
    for i in sorted(prep.signatures):
        sig = prep.signatures[i]
        for s in sig.sig_sets:
            if s.algorithm in KNOWN_SIGNATURE_ALGORITHMS:
                queries[KeyQuery(s.selector.lower(), sig.domain)] = None
    out = list(queries)
    if len(out) > limits.MAX_KEY_LOOKUPS:
        prep.findings.append(
            note(
                "limits.too-many-keys",
                "Too many keys to look up",
                Step.KEY,
                detail=(
                    f"{len(out)} distinct keys; only the first {limits.MAX_KEY_LOOKUPS} are "
                    "fetched, the rest are reported as not fetched"
                ),
            )
        )
        out = out[: limits.MAX_KEY_LOOKUPS]
    return out


# -- the walk ----------------------------------------------------------------------------------


def analyze(
    raw: bytes,
    *,
    lookup: KeyLookup,
    envelope: Envelope | None = None,
    now: float | None = None,
    options: Options | None = None,
) -> ChainReport:
    """Verify ``raw`` end to end, fetching keys through ``lookup``.

    ``now``: the verification clock (unix seconds); None means the real clock;
    0 means timestamps are not checked.
    """
    prep = prepare(raw, options)
    answers = lookup.lookup_many(list(prep.key_queries)) if prep.key_queries else {}
    return verify_prepared(prep, answers, envelope=envelope, now=now)


def verify_prepared(
    prep: Prepared,
    answers: dict[KeyQuery, KeyAnswer],
    *,
    envelope: Envelope | None = None,
    now: float | None = None,
) -> ChainReport:
    from .drafts import detect_artefacts
    from .history import build_diffs, summarise

    clock = time.time() if now is None else float(now)
    walk = _Walk(prep, answers, envelope, clock)
    walk.run()
    findings = walk.findings
    findings.extend(detect_artefacts(prep, walk.instances))
    hops = walk.hop_reports()
    result = aggregate(findings) if prep.has_dkim2 else State.NONE
    if prep.message.fatal:
        result = State.PERMERROR
    instances = sorted(walk.instances.values(), key=lambda x: x.instance)
    diffs = build_diffs(instances, prep.signatures)
    msg = prep.message
    summary_obj = MessageSummary(
        size=prep.raw_size,
        raw=prep.raw,
        subject=msg.first_text("subject")[:500],
        from_=msg.first_text("from")[:500],
        to=msg.first_text("to")[:500],
        message_id=msg.first_text("message-id")[:500],
        date=msg.first_text("date")[:200],
        header_fields=len(msg.fields),
        body_size=len(msg.body),
    )
    report = ChainReport(
        result=result,
        summary="",
        draft=DRAFT,
        engine_version=ENGINE_VERSION,
        message=summary_obj,
        envelope=envelope,
        envelope_hints=_hints(prep),
        verified_at=clock if clock else None,
        hops=hops,
        instances=instances,
        diffs=diffs,
        findings=sorted(findings, key=lambda f: (int(f.step), f.hop or 0, f.instance or 0)),
        dns=[answers[q] for q in prep.key_queries if q in answers],
        options=prep.options.to_json(),
    )
    report.replay_key = _replay_key(prep)
    report.exploded = any("exploded" in s.flag_set for s in prep.signatures.values())
    report.summary = summarise(report)
    return report


def _replay_key(prep: Prepared) -> str | None:
    """Identity of the original message for the replay check (S06 §11.9;
    SPEC-NOTES §11 A27: the m=1 header and body hashes)."""
    mi1 = prep.instances.get(1)
    if mi1 is None:
        return None
    return ";".join(f"{h.algorithm}:{h.header_hash_b64}:{h.body_hash_b64}" for h in mi1.hashes)


def duplicate_finding(copies: int) -> Finding:
    """The stateful replay verdict (S06 §11.9), for a caller that has seen ``copies``
    messages with the same replay key and no ``exploded`` flag in any of them."""
    return Finding(
        "replay.duplicate",
        State.FAIL,
        "FAIL: Duplicate message with no exploded flag",
        Step.REPLAY,
        detail=(
            f"{copies} copies of this message (same m=1 hashes) were received and "
            "no signature says the message was sent to several recipients"
        ),
        spec="S06 §11.9; SPEC-NOTES §11 A27",
    )


def _hints(prep: Prepared) -> EnvelopeHints:
    msg = prep.message
    hints = EnvelopeHints()
    rp = msg.first_text("return-path")
    if rp:
        hints.mail_from = rp
    for name in ("delivered-to", "x-original-to"):
        for f in msg.fields_named(name):
            t = f.text()
            if t and t not in hints.rcpt_to:
                hints.rcpt_to.append(t)
    if prep.signatures:
        top = prep.signatures[max(prep.signatures)]
        if top.mail_from is not None:
            hints.newest_signature_mail_from = top.mail_from.text
        hints.newest_signature_rcpt_to = [a.text for a in top.rcpt_to or []]
    return hints


class _Walk:
    def __init__(
        self,
        prep: Prepared,
        answers: dict[KeyQuery, KeyAnswer],
        envelope: Envelope | None,
        now: float,
    ) -> None:
        self.prep = prep
        self.answers = answers
        self.envelope = envelope
        self.now = now
        self.findings: list[Finding] = list(prep.findings)
        self.instances: dict[int, Instance] = {}
        self.selector_results: dict[int, list[SelectorResult]] = {}
        self.custody: dict[int, str] = {}

    def add(self, f: Finding) -> None:
        self.findings.append(f)

    def run(self) -> None:
        prep = self.prep
        if prep.message.fatal or not prep.has_dkim2:
            return
        if self.now:
            self.check_timestamps()
        self.check_envelope()
        self.check_chain()
        keys = self.check_keys()
        self.check_signatures(keys)
        self.check_hashes()
        self.check_requests()

    # step 3
    def check_timestamps(self) -> None:
        opts = self.prep.options
        for i, sig in sorted(self.prep.signatures.items()):
            age = self.now - sig.timestamp
            if age > opts.lifetime_seconds:
                days = age / 86400
                self.add(
                    Finding(
                        "sig.expired",
                        State.PERMERROR,
                        _sig_string(i, "signature expired"),
                        Step.TIMESTAMP,
                        hop=i,
                        detail=(
                            f"t={sig.timestamp} is {days:.1f} days before the "
                            f"verification time {int(self.now)}; signatures are "
                            f"valid for {opts.lifetime_seconds // 86400} days"
                        ),
                        spec="S06 §8.4, §11.3",
                    )
                )
            elif -age > opts.future_skew_seconds:
                self.add(
                    note(
                        "sig.future-timestamp",
                        f"DKIM2-Signature i={i} timestamp is in the future",
                        Step.TIMESTAMP,
                        hop=i,
                        detail=(
                            f"t={sig.timestamp} is {int(-age)} s after the verification "
                            f"time {int(self.now)}; verifiers MAY ignore this signature"
                        ),
                        spec="S06 §8.4",
                    )
                )

    # step 4
    def check_envelope(self) -> None:
        sigs = self.prep.signatures
        if not sigs:
            return
        top_i = max(sigs)
        top = sigs[top_i]
        if top.next_domain is not None:
            self.add(
                Finding(
                    "custody.unexpected-nd",
                    State.PERMERROR,
                    f"PERMERROR: DKIM2-Signature i={top_i} unexpected nd= tag",
                    Step.ENVELOPE,
                    hop=top_i,
                    detail=(
                        f"the newest signature hands the message on to "
                        f"nd={top.next_domain}, which never signed; there is no "
                        "envelope binding to check"
                    ),
                    spec="S06 §9.3, §11.4",
                )
            )
            return
        if self.envelope is None:
            self.add(
                note(
                    "envelope.not-checked",
                    "Envelope not checked",
                    Step.ENVELOPE,
                    severity=Severity.INFO,
                    hop=top_i,
                    detail=(
                        "No SMTP envelope was supplied, so the newest signature's mf=/rt= "
                        "were not compared with how the message was delivered "
                        "(the replay defence)."
                    ),
                    spec="S06 §11.4",
                )
            )
            return
        if top.mail_from is None or top.rcpt_to is None:
            return
        env_from = self.envelope.mail_from.strip()
        try:
            given = normalise_envelope_address(env_from or "<>", allow_null=True)
            want = given.normalised()
        except GrammarError:
            want = env_from
        if top.mail_from.normalised() != want:
            self.add(
                Finding(
                    "custody.mail-from-mismatch",
                    State.PERMERROR,
                    f"PERMERROR: DKIM2-Signature i={top_i} MAIL FROM {want} did not match",
                    Step.ENVELOPE,
                    hop=top_i,
                    detail=(
                        f"the envelope MAIL FROM is {want}; the newest signature "
                        f"names mf={top.mail_from.text}"
                    ),
                    spec="S06 §11.4",
                )
            )
        signed = {a.normalised() for a in top.rcpt_to}
        for rcpt in self.envelope.rcpt_to:
            try:
                norm = normalise_envelope_address(rcpt, allow_null=False).normalised()
            except GrammarError:
                norm = rcpt.strip()
            if norm not in signed:
                self.add(
                    Finding(
                        "custody.rcpt-to-mismatch",
                        State.PERMERROR,
                        f"PERMERROR: DKIM2-Signature i={top_i} RCPT TO {norm} did not match",
                        Step.ENVELOPE,
                        hop=top_i,
                        detail=(
                            f"the message was delivered to {norm}, which the newest "
                            f"signature does not list (rt={', '.join(sorted(signed))})"
                        ),
                        spec="S06 §11.4",
                    )
                )

    # step 5
    def check_chain(self) -> None:
        sigs = self.prep.signatures
        for i in sorted(sigs):
            sig = sigs[i]
            link = "first" if i == 1 else "ok"
            mf = sig.mail_from
            if (
                mf is not None
                and not mf.is_null
                and mf.domain
                and not relaxed_domain_match(mf.domain, sig.domain)
            ):
                self.add(
                    Finding(
                        "custody.mf-d-mismatch",
                        State.PERMERROR,
                        f"PERMERROR: DKIM2-Signature i={i} MAIL FROM and d= do not match",
                        Step.CHAIN,
                        hop=i,
                        detail=(
                            f"mf= domain {mf.domain} is neither d={sig.domain} nor a "
                            "subdomain of it"
                        ),
                        spec="S06 §8.8, §11.4",
                    )
                )
            prev = sigs.get(i - 1)
            if i > 1 and prev is None:
                link = "unknown"
            elif prev is not None:
                if prev.next_domain is not None:
                    if sig.domain != prev.next_domain:
                        link = "broken"
                        self.add(
                            Finding(
                                "custody.nd-mismatch",
                                State.PERMERROR,
                                f"PERMERROR: DKIM2-Signature i={i} MAIL nd= does not match",
                                Step.CHAIN,
                                hop=i,
                                detail=(
                                    f"hop {i - 1} named nd={prev.next_domain} as the next "
                                    f"signer, but hop {i} signed as d={sig.domain}"
                                ),
                                spec="S06 §8.7, §11.4",
                            )
                        )
                elif prev.rcpt_to is not None:
                    rt_domains = [a.domain for a in prev.rcpt_to if a.domain]
                    if mf is not None and not mf.is_null and mf.domain:
                        probe, what = mf.domain, f"MAIL FROM {mf.text}"
                    else:
                        probe, what = sig.domain, f"d={sig.domain}"
                    if not any(relaxed_domain_match(probe, rd) for rd in rt_domains):
                        link = "broken"
                        value = mf.text if (mf is not None and not mf.is_null) else sig.domain
                        self.add(
                            Finding(
                                "custody.chain-link",
                                State.PERMERROR,
                                f"PERMERROR: DKIM2-Signature i={i} MAIL FROM {value} did not match",
                                Step.CHAIN,
                                hop=i,
                                detail=(
                                    f"inter-hop custody: hop {i}'s {what} is not at or "
                                    f"below any RCPT TO domain of hop {i - 1} "
                                    f"({', '.join(rt_domains) or 'none'})"
                                ),
                                spec="S06 §9.2, §9.4; SPEC-NOTES Annex C 1",
                            )
                        )
            self.custody[i] = link

    # step 6
    def check_keys(self) -> dict[tuple[int, str], KeyRecord]:
        keys: dict[tuple[int, str], KeyRecord] = {}
        wanted = set(self.prep.key_queries)
        for i, sig in sorted(self.prep.signatures.items()):
            results: list[SelectorResult] = []
            for s in sig.sig_sets:
                if s.algorithm not in KNOWN_SIGNATURE_ALGORITHMS:
                    results.append(SelectorResult(s.selector, s.algorithm, "skipped"))
                    self.add(
                        note(
                            "sig.unknown-algorithm",
                            f"DKIM2-Signature i={i} {s.selector} uses unknown algorithm "
                            f"{s.algorithm}",
                            Step.KEY,
                            severity=Severity.INFO,
                            hop=i,
                            detail="Unknown algorithms are ignored (S06 §3.4).",
                            spec="S06 §3.4",
                        )
                    )
                    continue
                q = KeyQuery(s.selector.lower(), sig.domain)
                ans = self.answers.get(q)
                sel = s.selector
                res = SelectorResult(sel, s.algorithm, "permerror")
                results.append(res)
                if ans is None:
                    status_detail = (
                        "not looked up: over the per-message key limit"
                        if q not in wanted
                        else "the lookup gave no answer"
                    )
                    res.result = "temperror"
                    self.add(
                        Finding(
                            "key.not-fetched",
                            State.TEMPERROR,
                            f"TEMPERROR: DKIM2-Signature i={i} public key {sel} "
                            "could not be fetched",
                            Step.KEY,
                            hop=i,
                            detail=status_detail,
                            spec="S06 §11.5",
                        )
                    )
                    continue
                if ans.status.is_temporary:
                    res.result = "temperror"
                    self.add(
                        Finding(
                            "key.temperror",
                            State.TEMPERROR,
                            f"TEMPERROR: DKIM2-Signature i={i} public key {sel} "
                            "could not be fetched",
                            Step.KEY,
                            hop=i,
                            detail=f"{q.name}: {ans.status.value}"
                            + (f": {ans.detail}" if ans.detail else ""),
                            spec="S06 §11.5",
                            data={"dns_status": ans.status.value},
                        )
                    )
                    continue
                if ans.status in (
                    LookupStatus.NXDOMAIN,
                    LookupStatus.NODATA,
                    LookupStatus.INVALID_NAME,
                ):
                    why = {
                        LookupStatus.NXDOMAIN: "the name does not exist (NXDOMAIN)",
                        LookupStatus.NODATA: "the name exists but has no TXT record",
                        LookupStatus.INVALID_NAME: "the selector or domain is not a valid DNS name",
                    }[ans.status]
                    self.add(
                        Finding(
                            "key.not-found",
                            State.PERMERROR,
                            f"PERMERROR: DKIM2-Signature i={i} public key {sel} does not exist",
                            Step.KEY,
                            hop=i,
                            detail=f"{q.name}: {why}",
                            spec="S06 §11.5",
                            data={"dns_status": ans.status.value},
                        )
                    )
                    continue
                records = list(ans.records)
                if len(records) > 1:
                    self.add(
                        Finding(
                            "key.multiple-records",
                            State.PERMERROR,
                            f"PERMERROR: DKIM2-Signature i={i} public key {sel} "
                            "has multiple records",
                            Step.KEY,
                            hop=i,
                            detail=(
                                f"{q.name} has {len(records)} TXT records; exactly one is allowed"
                            ),
                            spec="S06 §11.5; SPEC-NOTES §11 A28",
                        )
                    )
                    continue
                if not records:
                    self.add(
                        Finding(
                            "key.not-found",
                            State.PERMERROR,
                            f"PERMERROR: DKIM2-Signature i={i} public key {sel} does not exist",
                            Step.KEY,
                            hop=i,
                            detail=f"{q.name}: empty answer",
                            spec="S06 §11.5",
                        )
                    )
                    continue
                try:
                    rec = parse_key_record(records[0])
                except KeyRecordError as exc:
                    code, what = {
                        "revoked": ("key.revoked", "has been revoked"),
                        "too-short": ("key.too-short", "has a syntax error"),
                    }.get(exc.kind, ("key.syntax", "has a syntax error"))
                    self.add(
                        Finding(
                            code,
                            State.PERMERROR,
                            f"PERMERROR: DKIM2-Signature i={i} public key {sel} {what}",
                            Step.KEY,
                            hop=i,
                            detail=f"{q.name}: {exc}",
                            spec="S06 §11.5; DNS00 §3"
                            if exc.kind != "too-short"
                            else "S06 §3.2; SPEC-NOTES Annex C 2",
                        )
                    )
                    continue
                if KEY_TYPE_FOR_ALGORITHM[s.algorithm] != rec.key_type:
                    self.add(
                        Finding(
                            "key.algorithm-mismatch",
                            State.PERMERROR,
                            f"PERMERROR: DKIM2-Signature i={i} public key {sel} algorithm mismatch",
                            Step.KEY,
                            hop=i,
                            detail=(
                                f"s= says {s.algorithm} but the key record is k={rec.key_type}"
                            ),
                            spec="S06 §8.9, §11.5",
                        )
                    )
                    continue
                res.key_bits = rec.bits
                res.key_testing = rec.testing
                res.result = "pending"
                if rec.testing:
                    self.add(
                        note(
                            "key.testing",
                            f"DKIM2-Signature i={i} public key {sel} is in testing mode (t=y)",
                            Step.KEY,
                            hop=i,
                            detail=(
                                "The domain says this key is being tested: receivers should "
                                "treat failures like unsigned mail."
                            ),
                            spec="DNS00 §3.4.1; SPEC-NOTES Annex C 6",
                        )
                    )
                for n in rec.notes:
                    self.add(
                        note(
                            "key.format-note",
                            f"DKIM2-Signature i={i} public key {sel}: {n}",
                            Step.KEY,
                            severity=Severity.INFO,
                            hop=i,
                            spec="DNS00 §3.4",
                        )
                    )
                keys[(i, s.selector)] = rec
            self.selector_results[i] = results
        return keys

    # step 7
    def check_signatures(self, keys: dict[tuple[int, str], KeyRecord]) -> None:
        prep = self.prep
        mi_by_m = sorted(((m if m is not None else 0), f) for m, f in prep.mi_fields)
        sig_by_i = sorted(((i if i is not None else 0), f) for i, f in prep.sig_fields)
        for i, sig in sorted(prep.signatures.items()):
            results = self.selector_results.get(i, [])
            checkable = [r for r in results if r.result != "skipped"]
            if not checkable:
                self.add(
                    Finding(
                        "sig.no-verifiable-signature",
                        State.PERMERROR,
                        _sig_string(i, "has no signature this verifier can check"),
                        Step.SIGNATURE,
                        hop=i,
                        detail=(
                            "every s= entry uses an algorithm this verifier does not "
                            f"implement ({', '.join(r.algorithm for r in results)}); "
                            "S06 requires rsa-sha256 and ed25519-sha256"
                        ),
                        spec="S06 §3.4, §11.6; SPEC-NOTES §11 A16",
                    )
                )
                continue
            data = signing_input(
                [f for m, f in mi_by_m if m <= sig.instance],
                [f for j, f in sig_by_i if 0 < j < i],
                sig.header,
            )
            passed: list[str] = []
            failed: list[str] = []
            for s in sig.sig_sets:
                rec = keys.get((i, s.selector))
                res = next((r for r in results if r.selector == s.selector), None)
                if rec is None or res is None:
                    continue
                if verify_signature(s.algorithm, rec.public_key, data, s.signature):
                    res.result = "pass"
                    passed.append(s.selector)
                else:
                    res.result = "fail"
                    failed.append(s.selector)
            if failed and passed:
                self.add(
                    Finding(
                        "sig.partial",
                        State.FAIL,
                        f"FAIL: DKIM2-Signature i={i} {', '.join(passed)} signature passed, "
                        f"{', '.join(failed)} signature failed",
                        Step.SIGNATURE,
                        hop=i,
                        detail="every checkable signature of a hop must verify",
                        spec="S06 §11.6; SPEC-NOTES §11 A15",
                    )
                )
            else:
                for sel in failed:
                    self.add(
                        Finding(
                            "sig.incorrect",
                            State.FAIL,
                            f"FAIL: DKIM2-Signature i={i} {sel} incorrect signature",
                            Step.SIGNATURE,
                            hop=i,
                            detail=(
                                "the signature does not verify over the Message-Instance "
                                "and DKIM2-Signature fields it covers"
                            ),
                            spec="S06 §9.6, §11.6",
                        )
                    )

    # step 8
    def check_hashes(self) -> None:
        prep = self.prep
        msg = prep.message
        max_m = prep.max_instance
        if not max_m:
            return
        budget = OutputBudget(
            limits.TOTAL_RECONSTRUCTION_FACTOR * max(prep.raw_size, 1) + limits.RECIPE_OUTPUT_SLACK
        )
        fields: list[HeaderField] = msg.fields
        body: Body | None = msg.body
        header_cache: dict[tuple[int, str], bytes] = {}
        body_cache: dict[tuple[int, str], bytes] = {}
        introduced = self.introducers()
        received = True
        for m in range(max_m, 0, -1):
            mi = prep.instances.get(m)
            inst = Instance(m, fields, body, introduced.get(m), reconstructed=not received)
            self.instances[m] = inst
            received = False
            if mi is None:
                # Broken or missing: nothing to check, nothing to undo; the
                # instances below are shown as they are (unverified).
                continue
            hop = introduced.get(m)
            known = [h for h in mi.hashes if h.algorithm in KNOWN_HASHES]
            if not known:
                self.add(
                    Finding(
                        "mi.no-known-hash",
                        State.PERMERROR,
                        _mi_string(m, "has no hash this verifier can check"),
                        Step.HASH,
                        instance=m,
                        hop=hop,
                        detail=f"h= uses only {', '.join(h.algorithm for h in mi.hashes)}",
                        spec="S06 §3.1, §11.7",
                    )
                )
            for hs in known:
                hkey = (id(fields), hs.algorithm)
                if hkey not in header_cache:
                    header_cache[hkey] = hashlib.new(
                        hs.algorithm, header_hash_input(fields)
                    ).digest()
                got = header_cache[hkey]
                ok = got == hs.header_hash
                inst.checks.append(
                    HashCheck(hs.algorithm, "header", hs.header_hash_b64, b64(got), ok)
                )
                if not ok:
                    self.add(
                        Finding(
                            "hash.header-mismatch",
                            State.FAIL,
                            f"FAIL: Message Instance m={m} header hash {hs.algorithm} mismatch",
                            Step.HASH,
                            instance=m,
                            hop=hop,
                            detail=(f"computed {b64(got)}, the field says {hs.header_hash_b64}"),
                            spec="S06 §6.2, §11.7",
                        )
                    )
                if body is None:
                    inst.checks.append(
                        HashCheck(hs.algorithm, "body", hs.body_hash_b64, None, None)
                    )
                    continue
                bkey = (id(body), hs.algorithm)
                if bkey not in body_cache:
                    body_cache[bkey] = body.hash(hs.algorithm)
                bgot = body_cache[bkey]
                bok = bgot == hs.body_hash
                inst.checks.append(
                    HashCheck(hs.algorithm, "body", hs.body_hash_b64, b64(bgot), bok)
                )
                if not bok:
                    self.add(
                        Finding(
                            "hash.body-mismatch",
                            State.FAIL,
                            f"FAIL: Message Instance m={m} body hash {hs.algorithm} mismatch",
                            Step.HASH,
                            instance=m,
                            hop=hop,
                            detail=(f"computed {b64(bgot)}, the field says {hs.body_hash_b64}"),
                            spec="S06 §6.1, §11.7",
                        )
                    )
                    if not inst.reconstructed:
                        self._diagnose_body(m, hop, body, hs.algorithm, hs.body_hash)
            if mi.recipe_bytes is None:
                continue
            try:
                recipe = decode_recipe(mi.recipe_bytes)
            except RecipeError as exc:
                self._recipe_error(m, hop, str(exc))
                return
            inst.recipe = recipe.to_json()
            try:
                fields, body = self._undo(recipe, fields, body, budget, m, hop)
            except RecipeError as exc:
                self._recipe_error(m, hop, str(exc))
                return
        # m=1 may carry a recipe of changes made on entry: rebuild "m=0" for display.
        mi1 = prep.instances.get(1)
        if mi1 is not None and mi1.recipe_bytes is not None and 1 in self.instances:
            self.instances[0] = Instance(0, fields, body, None)

    def _undo(
        self,
        recipe: Recipe,
        fields: list[HeaderField],
        body: Body | None,
        budget: OutputBudget,
        m: int,
        hop: int | None,
    ) -> tuple[list[HeaderField], Body | None]:
        per_step = OutputBudget(
            limits.RECIPE_OUTPUT_FACTOR * max(self.prep.raw_size, 1) + limits.RECIPE_OUTPUT_SLACK
        )
        before = budget.remaining
        if recipe.headers:
            fields = apply_header_recipe(fields, recipe.headers, per_step)
        if recipe.body_null:
            body = None
            opts = self.prep.options
            if opts.null_body_is_error:
                self.add(
                    Finding(
                        "recipe.null-body",
                        State.PERMERROR,
                        _mi_string(m, "has a null body recipe"),
                        Step.HASH,
                        instance=m,
                        hop=hop,
                        detail="the hop discarded the earlier body and cannot recreate it",
                        spec="S09 (reported, SPEC-NOTES Annex A)",
                    )
                )
            else:
                self.add(
                    note(
                        "recipe.null-body",
                        f"Message-Instance m={m} has a null body recipe: "
                        "earlier bodies are unknown",
                        Step.HASH,
                        instance=m,
                        hop=hop,
                        detail=(
                            "The hop changed the body and said it cannot be recreated "
                            '("b": null). Header history below it is still checked; '
                            "the earlier body hashes cannot be."
                        ),
                        spec="S06 §5.2",
                    )
                )
        elif recipe.body is not None and body is not None:
            body = apply_body_recipe(body, recipe.body, per_step)
        budget.spend(per_step.allowance - per_step.remaining)
        del before
        return fields, body

    def _diagnose_body(self, m: int, hop: int | None, body: Body, alg: str, want: bytes) -> None:
        """Name a likely transport cause of a body-hash mismatch of the received message."""
        data = body.to_bytes()
        if (
            data.endswith(b"\r")
            and not data.endswith(b"\r\n")
            and Body.of(data[:-1] + b"\r\n").hash(alg) == want
        ):
            self.add(
                note(
                    "message.trailing-bare-cr",
                    f"Message Instance m={m} body hash matches if the final bare CR is a line end",
                    Step.HASH,
                    instance=m,
                    hop=hop,
                    detail=(
                        "The body ends in a CR without LF. Read as an ordinary octet "
                        "(SPEC-NOTES §11 A11) the hash fails; read as CRLF it matches. "
                        "The signer converted the bare CR to network-normal form before "
                        "hashing (S06 §13) and the copy analysed here lost its final LF "
                        "(a truncated file or a tool that strips the last newline)."
                    ),
                    spec="S06 §13; SPEC-NOTES §11 A11",
                )
            )

    def _recipe_error(self, m: int, hop: int | None, detail: str) -> None:
        self.add(
            Finding(
                "mi.invalid-json",
                State.PERMERROR,
                _mi_string(m, "contains invalid JSON"),
                Step.HASH,
                instance=m,
                hop=hop,
                detail=detail,
                spec="S06 §5, §11.2; SPEC-NOTES §11 A7, A12",
            )
        )

    def introducers(self) -> dict[int, int]:
        """Instance m -> the hop (lowest i) whose m= first names it."""
        out: dict[int, int] = {}
        for i in sorted(self.prep.signatures):
            m = self.prep.signatures[i].instance
            out.setdefault(m, i)
        return out

    # step 9
    def check_requests(self) -> None:
        prep = self.prep
        sigs = prep.signatures
        for i in sorted(sigs):
            sig = sigs[i]
            if "donotmodify" in sig.flag_set:
                for m in range(sig.instance + 1, prep.max_instance + 1):
                    inst = self.instances.get(m)
                    rec = inst.recipe if inst else None
                    mi = prep.instances.get(m)
                    changed = (
                        _recipe_modifies(rec)
                        if rec is not None
                        else (mi is not None and mi.recipe_bytes is not None)
                    )
                    if changed:
                        self.add(
                            Finding(
                                "request.donotmodify",
                                State.FAIL,
                                "FAIL: Message has been modified despite a donotmodify request",
                                Step.REQUEST,
                                hop=self.introducers().get(m),
                                instance=m,
                                detail=(
                                    f"hop {i} (d={sig.domain}) asked donotmodify; "
                                    f"instance m={m} changed the body or an existing field"
                                ),
                                spec="S06 §8.10, §11.8 (flag removed in S07)",
                            )
                        )
                        break
            if "donotexplode" in sig.flag_set:
                for j in sorted(sigs):
                    if j > i and "exploded" in sigs[j].flag_set:
                        self.add(
                            Finding(
                                "request.donotexplode",
                                State.FAIL,
                                "FAIL: Message has been exploded despite a donotexplode request",
                                Step.REQUEST,
                                hop=j,
                                detail=(
                                    f"hop {i} (d={sig.domain}) asked donotexplode; hop {j} "
                                    f"(d={sigs[j].domain}) set f=exploded"
                                ),
                                spec="S06 §8.10, §11.8 (flag removed in S07)",
                            )
                        )
                        break

    # results per hop
    def hop_reports(self) -> list[HopReport]:
        prep = self.prep
        introduced = self.introducers()
        by_hop: dict[int, list[Finding]] = {}
        for f in self.findings:
            if f.hop is not None:
                by_hop.setdefault(f.hop, []).append(f)
        hops: list[HopReport] = []
        numbers = sorted(set(prep.signatures) | {h for h, _ in prep.sig_fields if h is not None})
        prev_t: int | None = None
        for i in numbers:
            sig = prep.signatures.get(i)
            raw_field = next((f for h, f in prep.sig_fields if h == i), None)
            raw_text = raw_field.raw.decode("latin-1") if raw_field is not None else ""
            findings = by_hop.get(i, [])
            hop = HopReport(
                hop=i,
                instance=sig.instance if sig else None,
                parsed=sig is not None,
                raw=raw_text,
                findings=findings,
            )
            if sig is not None:
                raw_text = sig.header.raw.decode("latin-1")
                hop.raw = raw_text
                hop.domain = sig.domain
                hop.timestamp = sig.timestamp
                hop.delay_seconds = sig.timestamp - prev_t if prev_t is not None else None
                prev_t = sig.timestamp
                hop.mail_from = sig.mail_from.text if sig.mail_from else None
                hop.rcpt_to = [a.text for a in sig.rcpt_to or []]
                hop.next_domain = sig.next_domain
                hop.nonce = sig.nonce
                hop.flags = list(sig.flags)
                hop.selectors = self.selector_results.get(
                    i, [SelectorResult(s.selector, s.algorithm, "skipped") for s in sig.sig_sets]
                )
                for s in hop.selectors:
                    if s.result == "pending":
                        s.result = "skipped"
                if introduced.get(sig.instance) == i and (
                    i == 1
                    or sig.instance
                    > (prep.signatures[i - 1].instance if (i - 1) in prep.signatures else 0)
                ):
                    hop.introduced_instance = sig.instance
                hop.custody_link = self.custody.get(i, "unknown")
            hop.result = aggregate(findings) if (sig is not None or findings) else State.PERMERROR
            if sig is None and hop.result == State.PASS:
                hop.result = State.PERMERROR
            hops.append(hop)
        for m, inst in self.instances.items():
            relevant = [f for f in self.findings if f.instance == m and f.step == Step.HASH]
            inst.result = aggregate(relevant)
        return hops


def _recipe_modifies(recipe: dict[str, Any]) -> bool:
    """SPEC-NOTES §11 A26: a non-empty step list for a field, or any body recipe."""
    if "b" in recipe:
        return True
    return any(steps for steps in (recipe.get("h") or {}).values())
