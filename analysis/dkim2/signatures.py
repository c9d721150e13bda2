"""Keys (S06 §11.5) and signatures (S06 §9.6, §11.6), entry by entry, then group by group.

Every ``s=`` entry with a known algorithm needs its key; each DNS outcome maps
to the S06 string (timeout/SERVFAIL: TEMPERROR; NXDOMAIN/no TXT: "does not
exist"; more than one record, syntax, algorithm mismatch, revoked: PERMERROR).

What an entry's failure does to the signature is the revision's (``Revision.groups``,
``Revision.unknown_algorithm``):

* -06, -07: one group.  Every checkable entry must verify (A15); an unknown algorithm is
  ignored (S06 §3.4) and a signature with no checkable entry is PERMERROR (A16).
* -08 on (SPEC-09-NOTES 1.1, 1.3): ``|`` separates alternative groups, ``,`` joins the
  entries of a group.  A group passes when every entry passes; an unknown algorithm makes
  its group PERMERROR; the signature passes when any group passes.  The failures of a
  group that lost to a passing one are reported as a note, not as the hop's verdict.
"""

from __future__ import annotations

from ..findings import Finding, Severity, State, Step, aggregate, note
from ..lookup import KeyQuery, LookupStatus
from .canonical import signing_input
from .fields import Dkim2Signature, SigSet
from .keys import (
    KEY_TYPE_FOR_ALGORITHM,
    KeyRecord,
    KeyRecordError,
    other_reading,
    parse_key_record,
)
from .report import SelectorResult
from .structure import sig_string
from .walk import Walk

#: Findings of single entries, by (hop, selector), until the groups are judged.
EntryFindings = dict[tuple[int, str], list[Finding]]


def check_keys(walk: Walk) -> dict[tuple[int, str], KeyRecord]:
    keys: dict[tuple[int, str], KeyRecord] = {}
    wanted = set(walk.prep.key_queries)
    revision = walk.prep.options.revision
    for i, sig in sorted(walk.prep.signatures.items()):
        results: list[SelectorResult] = []
        for s in sig.sig_sets:
            if s.algorithm not in revision.signature_algorithms:
                if revision.unknown_algorithm == "ignored":
                    results.append(
                        SelectorResult(s.selector, s.algorithm, "skipped", group=s.group)
                    )
                    walk.add(
                        note(
                            "sig.unknown-algorithm",
                            f"DKIM2-Signature i={i} {s.selector} uses unknown algorithm "
                            f"{s.algorithm}",
                            Step.KEY,
                            severity=Severity.INFO,
                            hop=i,
                            detail=f"Unknown algorithms are ignored ({revision.label} rules).",
                            spec=revision.source("unknown_algorithm").text(),
                        )
                    )
                else:
                    results.append(
                        SelectorResult(s.selector, s.algorithm, "permerror", group=s.group)
                    )
                    _entry(
                        walk,
                        i,
                        s.selector,
                        Finding(
                            "sig.unknown-algorithm-in-group",
                            State.PERMERROR,
                            sig_string(i, f"{s.selector} uses unknown algorithm {s.algorithm}"),
                            Step.KEY,
                            hop=i,
                            detail=(
                                f"{s.algorithm} is not an algorithm of {revision.label}; from "
                                "-08 an unknown algorithm makes its signature group PERMERROR "
                                "(another group may still pass)"
                            ),
                            spec=revision.source("unknown_algorithm").text(),
                        ),
                    )
                continue
            q = KeyQuery(s.selector.lower(), sig.domain)
            ans = walk.answers.get(q)
            sel = s.selector
            res = SelectorResult(sel, s.algorithm, "permerror", group=s.group)
            results.append(res)
            if ans is None and q not in wanted:
                # Over the per-message key limit: limits.too-many-keys (PERMERROR) says so.
                res.result = "permerror"
                continue
            if ans is None:
                status_detail = "the lookup gave no answer"
                res.result = "temperror"
                _entry(
                    walk,
                    i,
                    sel,
                    Finding(
                        "key.not-fetched",
                        State.TEMPERROR,
                        f"TEMPERROR: DKIM2-Signature i={i} public key {sel} could not be fetched",
                        Step.KEY,
                        hop=i,
                        detail=status_detail,
                        spec="S06 §11.5",
                    ),
                )
                continue
            if ans.status.is_temporary:
                res.result = "temperror"
                _entry(
                    walk,
                    i,
                    sel,
                    Finding(
                        "key.temperror",
                        State.TEMPERROR,
                        f"TEMPERROR: DKIM2-Signature i={i} public key {sel} could not be fetched",
                        Step.KEY,
                        hop=i,
                        detail=f"{q.name}: {ans.status.value}"
                        + (f": {ans.detail}" if ans.detail else ""),
                        spec="S06 §11.5",
                        data={"dns_status": ans.status.value},
                    ),
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
                _entry(
                    walk,
                    i,
                    sel,
                    Finding(
                        "key.not-found",
                        State.PERMERROR,
                        f"PERMERROR: DKIM2-Signature i={i} public key {sel} does not exist",
                        Step.KEY,
                        hop=i,
                        detail=f"{q.name}: {why}",
                        spec="S06 §11.5",
                        data={"dns_status": ans.status.value},
                    ),
                )
                continue
            records = list(ans.records)
            if len(records) > 1:
                _entry(
                    walk,
                    i,
                    sel,
                    Finding(
                        "key.multiple-records",
                        State.PERMERROR,
                        f"PERMERROR: DKIM2-Signature i={i} public key {sel} has multiple records",
                        Step.KEY,
                        hop=i,
                        detail=(f"{q.name} has {len(records)} TXT records; exactly one is allowed"),
                        spec="S06 §11.5; SPEC-NOTES §11 A28",
                    ),
                )
                continue
            if not records:
                _entry(
                    walk,
                    i,
                    sel,
                    Finding(
                        "key.not-found",
                        State.PERMERROR,
                        f"PERMERROR: DKIM2-Signature i={i} public key {sel} does not exist",
                        Step.KEY,
                        hop=i,
                        detail=f"{q.name}: empty answer",
                        spec="S06 §11.5",
                    ),
                )
                continue
            try:
                rec = parse_key_record(records[0])
            except KeyRecordError as exc:
                code, what = {
                    "revoked": ("key.revoked", "has been revoked"),
                    "too-short": ("key.too-short", "has a syntax error"),
                    "too-large": ("limits.key-too-large", "has a syntax error"),
                    "unknown-type": ("key.algorithm-mismatch", "algorithm mismatch"),
                }.get(exc.kind, ("key.syntax", "has a syntax error"))
                _entry(
                    walk,
                    i,
                    sel,
                    Finding(
                        code,
                        State.PERMERROR,
                        f"PERMERROR: DKIM2-Signature i={i} public key {sel} {what}",
                        Step.KEY,
                        hop=i,
                        detail=f"{q.name}: {exc}",
                        spec={
                            "too-short": "S06 §3.2; SPEC-NOTES Annex C 2",
                            "too-large": "S06 §3.2; SPEC-NOTES §9",
                            "unknown-type": "DNS00 §3.4.1; S06 §11.5",
                        }.get(exc.kind, "S06 §11.5; DNS00 §3"),
                    ),
                )
                continue
            if KEY_TYPE_FOR_ALGORITHM.get(s.algorithm) != rec.key_type:
                _entry(
                    walk,
                    i,
                    sel,
                    Finding(
                        "key.algorithm-mismatch",
                        State.PERMERROR,
                        f"PERMERROR: DKIM2-Signature i={i} public key {sel} algorithm mismatch",
                        Step.KEY,
                        hop=i,
                        detail=(f"s= says {s.algorithm} but the key record is k={rec.key_type}"),
                        spec="S06 §8.9, §11.5",
                    ),
                )
                continue
            res.key_bits = rec.bits
            res.key_testing = rec.testing
            res.result = "pending"
            if rec.testing:
                walk.add(
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
                walk.add(
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
        walk.selector_results[i] = results
    return keys


def _entry(walk: Walk, hop: int, selector: str, finding: Finding) -> None:
    """A failure of one ``s=`` entry; what it does to the hop is decided per group."""
    walk.entry_findings.setdefault((hop, selector), []).append(finding)


def check_signatures(walk: Walk, keys: dict[tuple[int, str], KeyRecord]) -> None:
    prep = walk.prep
    revision = prep.options.revision
    mi_by_m = sorted(((m or 0, f) for m, f in prep.mi_fields), key=lambda t: t[0])
    sig_by_i = sorted(((i or 0, f) for i, f in prep.sig_fields), key=lambda t: t[0])
    # The lowest numbers two fields carry (none: no ambiguity).
    ambiguous_m = min(prep.ambiguous_instances, default=None)
    ambiguous_i = min(prep.ambiguous_hops, default=None)
    for i, sig in sorted(prep.signatures.items()):
        results = walk.selector_results.get(i, [])
        if (ambiguous_m is not None and ambiguous_m <= sig.instance) or (
            ambiguous_i is not None and ambiguous_i <= i
        ):
            # Two fields carry the same number (PERMERROR at step 2): which of them this
            # signature covered cannot be known, so it is not checked.
            for r in results:
                if r.result == "pending":
                    r.result = "skipped"
            _release(walk, i, sig)
            continue
        checkable = [r for r in results if r.result != "skipped"]
        if not checkable:
            walk.add(
                Finding(
                    "sig.no-verifiable-signature",
                    State.PERMERROR,
                    sig_string(i, "has no signature this verifier can check"),
                    Step.SIGNATURE,
                    hop=i,
                    detail=(
                        "every s= entry uses an algorithm this verifier does not "
                        f"implement ({', '.join(r.algorithm for r in results)}); "
                        f"{revision.label} requires "
                        f"{' and '.join(sorted(revision.signature_algorithms))}"
                    ),
                    spec="S06 §3.4, §11.6; SPEC-NOTES §11 A16",
                )
            )
            continue
        if any(r.result == "pending" for r in results):
            # The same for every revision (the fields are the message's own objects).
            key = (i, id(sig.header))
            data = walk.shared.signing_inputs.get(key)
            if data is None:
                data = walk.shared.signing_inputs[key] = signing_input(
                    [f for m, f in mi_by_m if m <= sig.instance],
                    [f for j, f in sig_by_i if 0 < j < i],
                    sig.header,
                    cache=walk.shared.canonical,
                )
            for s in sig.sig_sets:
                rec = keys.get((i, s.selector))
                res = next((r for r in results if r.selector == s.selector), None)
                if rec is None or res is None:
                    continue
                if walk.verify(s.algorithm, rec, data, s.signature):
                    res.result = "pass"
                else:
                    res.result = "fail"
                    reading = other_reading(s.algorithm, rec.public_key, data, s.signature)
                    if reading is not None:
                        walk.add(
                            note(
                                "sig.other-signing-reading",
                                f"DKIM2-Signature i={i} {s.selector} verifies only when read "
                                "another way",
                                Step.SIGNATURE,
                                hop=i,
                                detail=(
                                    f"The signature is valid as {reading}. The signer's software "
                                    "and this verifier read the algorithm differently; the "
                                    "signature still counts as failed."
                                ),
                                spec="S06 §3.3; SPEC-NOTES §11 A14; SPEC-09-NOTES 1.4",
                            )
                        )
                    _entry(
                        walk,
                        i,
                        s.selector,
                        Finding(
                            "sig.incorrect",
                            State.FAIL,
                            f"FAIL: DKIM2-Signature i={i} {s.selector} incorrect signature",
                            Step.SIGNATURE,
                            hop=i,
                            detail=(
                                "the signature does not verify over the Message-Instance "
                                "and DKIM2-Signature fields it covers"
                            ),
                            spec="S06 §9.6, §11.6",
                        ),
                    )
        if revision.groups:
            _judge_groups(walk, i, sig, results)
        else:
            _judge_all(walk, i, sig, results)


def _release(walk: Walk, i: int, sig: Dkim2Signature) -> None:
    """Every entry failure of hop ``i`` becomes a finding of the hop."""
    for s in sig.sig_sets:
        walk.findings.extend(walk.entry_findings.get((i, s.selector), []))


def _judge_all(walk: Walk, i: int, sig: Dkim2Signature, results: list[SelectorResult]) -> None:
    """-06/-07: every checkable entry must verify (S06 §11.6; SPEC-NOTES §11 A15)."""
    passed = [r.selector for r in results if r.result == "pass"]
    failed = [r.selector for r in results if r.result == "fail"]
    if failed and passed:
        for s in sig.sig_sets:
            for f in walk.entry_findings.get((i, s.selector), []):
                if f.code != "sig.incorrect":
                    walk.add(f)
        walk.add(
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
        return
    _release(walk, i, sig)


def _judge_groups(walk: Walk, i: int, sig: Dkim2Signature, results: list[SelectorResult]) -> None:
    """-08 on: the signature passes when one group's entries all pass (SPEC-09-NOTES 1.1)."""
    if all(r.result == "pass" for r in results):
        return  # every group passes: nothing to say
    revision = walk.prep.options.revision
    by_selector = {r.selector: r for r in results}
    groups = sig.groups
    passing = [
        n
        for n, group in enumerate(groups, 1)
        if all(by_selector[s.selector].result == "pass" for s in group if s.selector in by_selector)
    ]
    if passing and len(groups) == 1:
        return
    spec = revision.source("groups").text()
    if passing:
        for n, group in enumerate(groups, 1):
            if n in passing:
                continue
            lost = [f for s in group for f in walk.entry_findings.get((i, s.selector), [])]
            walk.add(
                note(
                    "sig.group-failed",
                    f"DKIM2-Signature i={i} signature group {n} "
                    f"({_names(group)}) failed; group {passing[0]} passed",
                    Step.SIGNATURE,
                    hop=i,
                    detail="; ".join(f.message for f in lost)
                    or "an entry of the group did not verify",
                    spec=spec,
                )
            )
        return
    _release(walk, i, sig)
    if len(groups) > 1:
        found = [f for s in sig.sig_sets for f in walk.entry_findings.get((i, s.selector), [])]
        state = aggregate(found)
        if state == State.PASS:
            state = State.PERMERROR
        walk.add(
            Finding(
                "sig.no-group-passed",
                state,
                f"{_prefix(state)} DKIM2-Signature i={i} no signature group passed",
                Step.SIGNATURE,
                hop=i,
                detail=(
                    f"s= offers {len(groups)} alternative groups ("
                    + " | ".join(_names(g) for g in groups)
                    + "); every one of them has an entry that did not pass"
                ),
                spec=spec,
            )
        )


def _names(group: list[SigSet]) -> str:
    return ", ".join(f"{s.selector}:{s.algorithm}" for s in group)


def _prefix(state: State) -> str:
    return {State.FAIL: "FAIL:", State.TEMPERROR: "TEMPERROR:"}.get(state, "PERMERROR")
