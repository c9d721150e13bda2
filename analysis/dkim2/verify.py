"""The verification walk of S06 §10-§11 (SPEC-NOTES §6.2), as two steps.

1. :func:`prepare` (:mod:`analysis.structure`) parses the message, checks
   syntax and numbering, and says which keys are needed.
2. :func:`verify_prepared` takes the fetched key answers, the SMTP envelope (if
   known) and the clock, and produces a :class:`ChainReport`.

:func:`analyze` joins them through an injected :class:`KeyLookup`.

Theory of operation
-------------------
Every check runs and records findings; nothing stops at the first failure, so
the timeline can show every problem of every hop (S06 §11.1 allows stopping;
a forensics tool should not).  The checks, in SPEC-NOTES §6.2 step order:

2. syntax and numbering -- :mod:`analysis.structure`;
3. timestamps (A18): any signature older than 14 days is PERMERROR "signature
   expired"; a future ``t=`` is reported but does not change the verdict;
   ``now=0`` disables the check (as one conformance case expects);
4-5. custody against the envelope and inside the chain -- :mod:`analysis.custody`;
6-7. keys and signatures -- :mod:`analysis.signatures`;
8. hashes and reconstruction -- :mod:`analysis.reconstruct`;
9. requests (S06 §11.8, removed in S07): ``donotmodify``/``donotexplode``;
10. replay is stateful: reports carry the key, :func:`duplicate_finding` the verdict;
11. the verdict (SPEC-NOTES §6.5): see :func:`analysis.findings.aggregate`.
"""

from __future__ import annotations

import email.utils
import time
from functools import partial
from typing import Any

from ..change_search import SearchBudget
from ..findings import Finding, Severity, State, Step, aggregate, note
from ..lookup import KeyAnswer, KeyLookup, KeyQuery
from ..message import HeaderField, ParsedMessage
from . import authentic, custody, reconstruct, signatures
from .changes import search_changes
from .drafts import detect_artefacts
from .history import build_diffs, summarise
from .report import (
    ChainReport,
    Envelope,
    EnvelopeHints,
    HopReport,
    MessageSummary,
    SelectorResult,
)
from .revisions import Revision
from .structure import DRAFT, ENGINE_VERSION, Options, Prepared, prepare, sig_string
from .walk import SharedWork, Walk

__all__ = [
    "DRAFT",
    "ENGINE_VERSION",
    "Options",
    "Prepared",
    "analyze",
    "duplicate_finding",
    "prepare",
    "verify_prepared",
    "walk_prepared",
]


def analyze(
    raw: bytes,
    *,
    lookup: KeyLookup,
    envelope: Envelope | None = None,
    now: float | None = None,
    options: Options | None = None,
) -> ChainReport:
    """Verify ``raw`` by the rules of ``options.revision`` alone, fetching keys through
    ``lookup`` (:func:`analysis.dkim2.compare.analyze` judges under every revision).

    ``now``: the verification clock (unix seconds); None means the real clock;
    0 means timestamps are not checked.
    """
    prep = prepare(raw, options)
    answers = lookup.lookup_many(list(prep.key_queries)) if prep.key_queries else {}
    return verify_prepared(prep, answers, envelope=envelope, now=now)


def walk_prepared(
    prep: Prepared,
    answers: dict[KeyQuery, KeyAnswer],
    *,
    envelope: Envelope | None,
    clock: float,
    shared: SharedWork | None = None,
) -> tuple[Walk, list[HopReport], State]:
    """The checks of one revision, without the parts only a full report needs (diffs,
    summary): what :mod:`analysis.dkim2.compare` runs for each revision it compares."""
    walk = Walk(
        prep,
        answers,
        envelope,
        clock,
        findings=list(prep.findings),
        shared=shared if shared is not None else SharedWork(),
    )
    _run(walk)
    hops = hop_reports(walk)
    signer_notes(walk, hops)
    result = aggregate(walk.findings) if prep.has_dkim2 else State.NONE
    if prep.message.fatal:
        result = State.PERMERROR
    return walk, hops, result


def verify_prepared(
    prep: Prepared,
    answers: dict[KeyQuery, KeyAnswer],
    *,
    envelope: Envelope | None = None,
    now: float | None = None,
    shared: SharedWork | None = None,
) -> ChainReport:
    report, _ = report_and_walk(prep, answers, envelope=envelope, now=now, shared=shared)
    return report


def report_and_walk(
    prep: Prepared,
    answers: dict[KeyQuery, KeyAnswer],
    *,
    envelope: Envelope | None = None,
    now: float | None = None,
    shared: SharedWork | None = None,
    change_budget: SearchBudget | None = None,
) -> tuple[ChainReport, Walk]:
    """The full report of one revision, and the walk that made it.  An instance whose hash
    fails gets a search for what changed it (:mod:`analysis.dkim2.changes`), spending
    ``change_budget`` (the message's; a new one by default)."""
    clock = time.time() if now is None else float(now)
    walk, hops, result = walk_prepared(prep, answers, envelope=envelope, clock=clock, shared=shared)
    findings = walk.findings
    findings.extend(detect_artefacts(prep, walk.instances))
    revision = prep.options.revision
    instances = sorted(walk.instances.values(), key=lambda x: x.instance)
    search_changes(walk, change_budget)
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
        draft=revision.draft,
        engine_version=ENGINE_VERSION,
        message=summary_obj,
        envelope=envelope,
        envelope_hints=_hints(prep),
        verified_at=clock if clock else None,
        hops=hops,
        instances=instances,
        diffs=[],
        findings=sorted(findings, key=lambda f: (int(f.step), f.hop or 0, f.instance or 0)),
        dns=[answers[q] for q in prep.key_queries if q in answers],
        options=prep.options.to_json(),
        revision=revision.number,
        level=verification_level(revision, result, hops, walk),
        from_checks=[c.to_json() for c in walk.from_checks],
    )
    report.replay_key = _replay_key(prep)
    report.exploded = any("exploded" in s.flag_set for s in prep.signatures.values())
    # Made when read (report.to_json, the command's text, the page), not by every
    # verification: difflib is most of a rewriting chain's cost.
    report.defer(
        summary=summarise,
        diffs=partial(build_diffs, instances, prep.signatures, is_unsigned=revision.is_unsigned),
    )
    return report, walk


def verification_level(revision: Revision, result: State, hops: list[HopReport], walk: Walk) -> str:
    """How far the chain verified, in the revision's terms (SPEC-09-NOTES 1.11).

    ``fully-verified``: every hop and every instance verified (-08's "Fully Verified DKIM2
    Message"; -07's "Validly Signed"; -06's pass).  ``provisionally-verified`` (-07 on):
    the chain as a whole did not verify, but the newest signature does, its envelope
    binding holds and the message as received matches the newest Message-Instance -- what
    a check that does not need every hop can establish (Stalwart mail-auth 0.15's
    provisional verification; the exact -08 definition is not public).  Otherwise
    ``not-verified`` (or ``none`` without DKIM2).
    """
    if result == State.NONE:
        return "none"
    if result == State.PASS:
        return "fully-verified"
    if revision.verification_levels == "pass" or not hops:
        return "not-verified"
    top = hops[-1]
    received = walk.instances.get(max(walk.instances, default=0))
    if (
        top.parsed
        and top.result == State.PASS
        and received is not None
        and not received.reconstructed
        and received.checks
        and all(c.match for c in received.checks if c.part == "header")
        and all(c.match is not False for c in received.checks)
        and not any(f.affects_verdict and f.step == Step.ENVELOPE for f in walk.findings)
    ):
        return "provisionally-verified"
    return "not-verified"


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


def _run(walk: Walk) -> None:
    prep = walk.prep
    if prep.message.fatal or not prep.has_dkim2:
        return
    if walk.now:
        check_timestamps(walk)
    custody.check_envelope(walk)
    custody.check_chain(walk)
    keys = signatures.check_keys(walk)
    signatures.check_signatures(walk, keys)
    reconstruct.check_hashes(walk)
    check_requests(walk)
    authentic.check_from(walk)


# step 3
def arrival_time(msg: ParsedMessage) -> float | None:
    """When the message reached its final destination: the date of the topmost Received
    field (RFC 5321 §4.4), or None.  Evidence for the reader, never for the verdict."""
    for f in msg.fields:
        if f.lname == "received":
            text = f.text()
            _, sep, date = text.rpartition(";")
            if not sep:
                return None
            try:
                return email.utils.parsedate_to_datetime(date.strip()).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
    return None


def check_timestamps(walk: Walk) -> None:
    opts = walk.prep.options
    arrived: float | None = None
    for i, sig in sorted(walk.prep.signatures.items()):
        age = walk.now - sig.timestamp
        if age > opts.lifetime_seconds:
            days = age / 86400
            walk.add_custody(
                Finding(
                    "sig.expired",
                    State.PERMERROR,
                    sig_string(i, "signature expired"),
                    Step.TIMESTAMP,
                    hop=i,
                    detail=(
                        f"t={sig.timestamp} is {days:.1f} days before the "
                        f"verification time {int(walk.now)}; signatures are "
                        f"valid for {opts.lifetime_seconds // 86400} days"
                    ),
                    spec="S06 §8.4, §11.3",
                )
            )
            arrived = arrived if arrived is not None else arrival_time(walk.prep.message)
            if arrived is not None and 0 <= arrived - sig.timestamp <= opts.lifetime_seconds:
                walk.add(
                    note(
                        "sig.valid-at-arrival",
                        f"DKIM2-Signature i={i} was within its lifetime when the message arrived",
                        Step.TIMESTAMP,
                        severity=Severity.INFO,
                        hop=i,
                        detail=(
                            f"The topmost Received field dates delivery at {int(arrived)}, "
                            f"{(arrived - sig.timestamp) / 86400:.1f} days after t=. Verify "
                            f"as of the arrival time (unix time {int(arrived)}) to see how a "
                            "receiver judged it then; the verdict here is as of now."
                        ),
                        spec="S06 §8.4",
                        data={"arrival_time": int(arrived)},
                    )
                )
        elif -age > opts.future_skew_seconds:
            revision = opts.revision
            if revision.future_timestamp == "permerror":
                walk.add_custody(
                    Finding(
                        "sig.from-future",
                        State.PERMERROR,
                        sig_string(i, "timestamp is in the future"),
                        Step.TIMESTAMP,
                        hop=i,
                        detail=(
                            f"t={sig.timestamp} is {int(-age)} s after the verification "
                            f"time {int(walk.now)} (allowed clock skew "
                            f"{opts.future_skew_seconds} s); from -07 a signature from the "
                            "future is an error of its own"
                        ),
                        spec=revision.source("future_timestamp").text(),
                    )
                )
                continue
            walk.add(
                note(
                    "sig.future-timestamp",
                    f"DKIM2-Signature i={i} timestamp is in the future",
                    Step.TIMESTAMP,
                    hop=i,
                    detail=(
                        f"t={sig.timestamp} is {int(-age)} s after the verification "
                        f"time {int(walk.now)}; verifiers MAY ignore this signature"
                    ),
                    spec="S06 §8.4",
                )
            )


# step 9
def check_requests(walk: Walk) -> None:
    prep = walk.prep
    sigs = prep.signatures
    revision = prep.options.revision
    if not revision.request_flags:
        # -07 §10.10 (SPEC-09-NOTES 1.5): the flags are gone; they are unknown flags now.
        for i in sorted(sigs):
            used = [f for f in sigs[i].flags if f in ("donotmodify", "donotexplode")]
            if used:
                walk.add(
                    note(
                        "request.obsolete-flag",
                        f"DKIM2-Signature i={i} asks {', '.join(used)}, which no longer "
                        "means anything",
                        Step.REQUEST,
                        severity=Severity.INFO,
                        hop=i,
                        detail=(
                            f"{revision.label} has no such request (removed in -07), so it "
                            "is not checked; a signer that sets it follows -06"
                        ),
                        spec=revision.source("request_flags").text(),
                    )
                )
        return
    for i in sorted(sigs):
        sig = sigs[i]
        if "donotmodify" in sig.flag_set:
            for m in range(sig.instance + 1, prep.max_instance + 1):
                inst = walk.instances.get(m)
                rec = inst.recipe if inst else None
                mi = prep.instances.get(m)
                changed = (
                    _recipe_modifies(rec)
                    if rec is not None
                    else (mi is not None and mi.recipe_bytes is not None)
                )
                if changed:
                    walk.add(
                        Finding(
                            "request.donotmodify",
                            State.FAIL,
                            "FAIL: Message has been modified despite a donotmodify request",
                            Step.REQUEST,
                            hop=walk.introducers().get(m),
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
                    walk.add(
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


def hop_reports(walk: Walk) -> list[HopReport]:
    prep = walk.prep
    introduced = walk.introducers()
    by_hop: dict[int, list[Finding]] = {}
    for f in walk.findings:
        if f.hop is not None:
            by_hop.setdefault(f.hop, []).append(f)
    hops: list[HopReport] = []
    first_field: dict[int, HeaderField] = {}  # the first field carrying each i=
    for h, sig_field in prep.sig_fields:
        if h is not None:
            first_field.setdefault(h, sig_field)
    numbers = sorted(set(prep.signatures) | set(first_field))
    prev_t: int | None = None
    for i in numbers:
        sig = prep.signatures.get(i)
        raw_field = sig.header if sig is not None else first_field.get(i)
        findings = by_hop.get(i, [])
        hop = HopReport(
            hop=i,
            instance=sig.instance if sig else None,
            parsed=sig is not None,
            raw=raw_field.raw.decode("latin-1") if raw_field is not None else "",
            findings=findings,
        )
        if sig is not None:
            hop.domain = sig.domain
            hop.timestamp = sig.timestamp
            hop.delay_seconds = sig.timestamp - prev_t if prev_t is not None else None
            prev_t = sig.timestamp
            hop.mail_from = sig.mail_from.text if sig.mail_from else None
            hop.rcpt_to = [a.text for a in sig.rcpt_to or []]
            hop.next_domain = sig.next_domain
            hop.nonce = sig.nonce
            hop.flags = list(sig.flags)
            hop.selectors = walk.selector_results.get(
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
            hop.custody_link = walk.custody.get(i, "unknown")
        hop.result = aggregate(findings) if (sig is not None or findings) else State.PERMERROR
        if sig is None and hop.result == State.PASS:
            hop.result = State.PERMERROR
        hops.append(hop)
    hash_findings: dict[int, list[Finding]] = {}
    for f in walk.findings:
        if f.step == Step.HASH and f.instance is not None:
            hash_findings.setdefault(f.instance, []).append(f)
    for m, inst in walk.instances.items():
        inst.result = aggregate(hash_findings.get(m, []))
    return hops


#: Steps whose failures a signing hop could have seen when it verified the chain it got.
_VISIBLE_TO_SIGNER = (Step.SYNTAX, Step.CHAIN, Step.SIGNATURE, Step.HASH)


def signer_notes(walk: Walk, hops: list[HopReport]) -> None:
    """Signer-side rules of -08/-09 a verifier can only see after the fact (notes)."""
    revision = walk.prep.options.revision
    sigs = walk.prep.signatures
    by_hop = {h.hop: h for h in hops}
    if revision.resign_only_verified:
        # -08 §12 (SPEC-09-NOTES 1.12): a hop signs a message that already carries DKIM2
        # only after it fully verified, unless an out-of-band arrangement covers it.
        broken: list[int] = []
        for i in sorted(sigs):
            if broken:
                first = broken[0]
                extra = {"hop": i, "broken": first}
                f = note(
                    "sig.signed-unverified-chain",
                    f"DKIM2-Signature i={i} was added to a chain that does not verify "
                    f"(hop {first} fails)",
                    Step.SIGNATURE,
                    hop=i,
                    detail=(
                        f"From -08 a hop adds its signature only after the chain it received "
                        f"fully verified (or under an out-of-band arrangement). Hop {first} "
                        f"(d={sigs[first].domain}) fails here on a check hop {i} "
                        f"(d={sigs[i].domain}) could have made before signing."
                    ),
                    spec=revision.source("resign_only_verified").text(),
                    data=extra,
                )
                walk.add(f)
                if i in by_hop:
                    by_hop[i].findings.append(f)
            hop = by_hop.get(i)
            if hop is not None and any(
                x.affects_verdict and x.state != State.TEMPERROR and x.step in _VISIBLE_TO_SIGNER
                for x in hop.findings
            ):
                broken.append(i)
    if revision.exploded_not_first and 1 in sigs and "exploded" in sigs[1].flag_set:
        f = note(
            "sig.exploded-first",
            "DKIM2-Signature i=1 sets f=exploded",
            Step.REQUEST,
            hop=1,
            detail=(
                "exploded says a list sent the message on to several recipients; -09 says "
                "it is never set on a first signature, so the originator's software sets it "
                "wrongly (it weakens the replay check for this message)"
            ),
            spec=revision.source("exploded_not_first").text(),
        )
        walk.add(f)
        if 1 in by_hop:
            by_hop[1].findings.append(f)


def _recipe_modifies(recipe: dict[str, Any]) -> bool:
    """SPEC-NOTES §11 A26: a non-empty step list for a field, or any body recipe."""
    if "b" in recipe:
        return True
    return any(steps for steps in (recipe.get("h") or {}).values())
