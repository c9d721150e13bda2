"""Keys (S06 §11.5) and signatures (S06 §9.6, §11.6).

Every ``s=`` entry with a known algorithm needs its key; each DNS outcome maps
to the S06 string (timeout/SERVFAIL: TEMPERROR; NXDOMAIN/no TXT: "does not
exist"; more than one record, syntax, algorithm mismatch, revoked: PERMERROR).
Every checkable entry must verify (A15); a signature with none is PERMERROR (A16).
"""

from __future__ import annotations

from ..findings import Finding, Severity, State, Step, note
from ..lookup import KeyQuery, LookupStatus
from .canonical import signing_input
from .fields import KNOWN_SIGNATURE_ALGORITHMS
from .keys import (
    KEY_TYPE_FOR_ALGORITHM,
    KeyRecord,
    KeyRecordError,
    parse_key_record,
    verify_signature,
)
from .report import SelectorResult
from .structure import sig_string
from .walk import Walk


def check_keys(walk: Walk) -> dict[tuple[int, str], KeyRecord]:
    keys: dict[tuple[int, str], KeyRecord] = {}
    wanted = set(walk.prep.key_queries)
    for i, sig in sorted(walk.prep.signatures.items()):
        results: list[SelectorResult] = []
        for s in sig.sig_sets:
            if s.algorithm not in KNOWN_SIGNATURE_ALGORITHMS:
                results.append(SelectorResult(s.selector, s.algorithm, "skipped"))
                walk.add(
                    note(
                        "sig.unknown-algorithm",
                        f"DKIM2-Signature i={i} {s.selector} uses unknown algorithm {s.algorithm}",
                        Step.KEY,
                        severity=Severity.INFO,
                        hop=i,
                        detail="Unknown algorithms are ignored (S06 §3.4).",
                        spec="S06 §3.4",
                    )
                )
                continue
            q = KeyQuery(s.selector.lower(), sig.domain)
            ans = walk.answers.get(q)
            sel = s.selector
            res = SelectorResult(sel, s.algorithm, "permerror")
            results.append(res)
            if ans is None and q not in wanted:
                # Over the per-message key limit: limits.too-many-keys (PERMERROR) says so.
                res.result = "permerror"
                continue
            if ans is None:
                status_detail = "the lookup gave no answer"
                res.result = "temperror"
                walk.add(
                    Finding(
                        "key.not-fetched",
                        State.TEMPERROR,
                        f"TEMPERROR: DKIM2-Signature i={i} public key {sel} could not be fetched",
                        Step.KEY,
                        hop=i,
                        detail=status_detail,
                        spec="S06 §11.5",
                    )
                )
                continue
            if ans.status.is_temporary:
                res.result = "temperror"
                walk.add(
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
                walk.add(
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
                walk.add(
                    Finding(
                        "key.multiple-records",
                        State.PERMERROR,
                        f"PERMERROR: DKIM2-Signature i={i} public key {sel} has multiple records",
                        Step.KEY,
                        hop=i,
                        detail=(f"{q.name} has {len(records)} TXT records; exactly one is allowed"),
                        spec="S06 §11.5; SPEC-NOTES §11 A28",
                    )
                )
                continue
            if not records:
                walk.add(
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
                    "too-large": ("limits.key-too-large", "has a syntax error"),
                    "unknown-type": ("key.algorithm-mismatch", "algorithm mismatch"),
                }.get(exc.kind, ("key.syntax", "has a syntax error"))
                walk.add(
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
                    )
                )
                continue
            if KEY_TYPE_FOR_ALGORITHM[s.algorithm] != rec.key_type:
                walk.add(
                    Finding(
                        "key.algorithm-mismatch",
                        State.PERMERROR,
                        f"PERMERROR: DKIM2-Signature i={i} public key {sel} algorithm mismatch",
                        Step.KEY,
                        hop=i,
                        detail=(f"s= says {s.algorithm} but the key record is k={rec.key_type}"),
                        spec="S06 §8.9, §11.5",
                    )
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


def check_signatures(walk: Walk, keys: dict[tuple[int, str], KeyRecord]) -> None:
    prep = walk.prep
    canonical_cache: dict[int, bytes] = {}
    mi_by_m = sorted(((m or 0, f) for m, f in prep.mi_fields), key=lambda t: t[0])
    sig_by_i = sorted(((i or 0, f) for i, f in prep.sig_fields), key=lambda t: t[0])
    for i, sig in sorted(prep.signatures.items()):
        results = walk.selector_results.get(i, [])
        if any(m <= sig.instance for m in prep.ambiguous_instances) or any(
            j <= i for j in prep.ambiguous_hops
        ):
            # Two fields carry the same number (PERMERROR at step 2): which of them this
            # signature covered cannot be known, so it is not checked.
            for r in results:
                if r.result == "pending":
                    r.result = "skipped"
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
            cache=canonical_cache,
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
        else:
            for sel in failed:
                walk.add(
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
