"""Draft awareness: artefacts of other DKIM2 revisions (SPEC-NOTES §12).

The verdict is the judging revision's (``Options.revision``; -06 to -09 are profiles in
:mod:`analysis.dkim2.revisions`, compared per hop by :mod:`analysis.dkim2.fingerprint`).
When a message shows signs of having been made under a revision the engine does not judge
by -- the pre-working-group drafts, -01 to -04 -- or a header hash matches another
revision's unsigned-field list, a finding names the likely revision and what the
implementer should change.  None of these findings changes the verdict (state NONE).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from ..findings import Finding, Severity, Step, note
from ..message import HeaderField
from .canonical import UNSIGNED_BY_REVISION, header_hash_input
from .revisions import ORDER, REVISIONS

if TYPE_CHECKING:
    from .report import Instance
    from .structure import Prepared


def detect_artefacts(prep: Prepared, instances: dict[int, Instance]) -> list[Finding]:
    out: list[Finding] = []
    out.extend(_legacy_fields(prep.message.fields))
    for _, f in prep.sig_fields + prep.mi_fields:
        if f.lname == "message-instance" and re.search(rb"(?:^|;)\s*v\s*=", f.value):
            out.append(_c08(f))
    for i, sig in sorted(prep.signatures.items()):
        if sig.missing_final_semicolon:
            out.append(_missing_semicolon("DKIM2-Signature", f"i={i}", hop=i))
        if sig.bare_addresses:
            out.append(
                note(
                    "draft.bare-addresses",
                    f"DKIM2-Signature i={i} carries mf=/rt= addresses without angle brackets",
                    Step.DRAFT,
                    hop=i,
                    detail=(
                        "Accepted in compatibility mode. Interop signers of the -02..-04 era "
                        "encoded bare addresses; -06 requires the RFC 5321 path with angle "
                        "brackets (base64 of '<user@example.com>'). Implementer: encode the "
                        "reverse-path and forward-paths with their brackets."
                    ),
                    spec="S06 §8.5, §8.6",
                )
            )
    for i in prep.strict_only_failures:
        out.append(
            note(
                "draft.bare-addresses",
                f"DKIM2-Signature i={i} carries mf=/rt= addresses without angle brackets",
                Step.DRAFT,
                hop=i,
                detail=(
                    "-06 rejects this signature (S06 §8.5/§8.6 require the RFC 5321 path with "
                    "angle brackets: base64 of '<user@example.com>'); interop signers of the "
                    "-02..-04 era encoded bare addresses. Re-run in compatibility mode to check "
                    "the rest of the chain. Implementer: encode the reverse-path and "
                    "forward-paths with their brackets."
                ),
                spec="S06 §8.5, §8.6",
            )
        )
    for m, mi in sorted(prep.instances.items()):
        if mi.missing_final_semicolon:
            out.append(_missing_semicolon("Message-Instance", f"m={m}", instance=m))
        if m > 1 and mi.recipe_bytes is None:
            prev = prep.instances.get(m - 1)
            same = prev is not None and {
                (h.algorithm, h.header_hash, h.body_hash) for h in mi.hashes
            } == {(h.algorithm, h.header_hash, h.body_hash) for h in prev.hashes}
            if same:
                out.append(
                    note(
                        "draft.recipe-less-instance",
                        f"Message-Instance m={m} records no change "
                        f"(no r=, same hashes as m={m - 1})",
                        Step.DRAFT,
                        severity=Severity.INFO,
                        instance=m,
                        detail=(
                            "A hop that changed nothing added a Message-Instance anyway, as "
                            "interop signers before -05 did at every hop. -06 allows it but it is "
                            "pointless (S06 §9.1): a hop that changes nothing should add only its "
                            "DKIM2-Signature."
                        ),
                        spec="S06 §9.1",
                    )
                )
    out.extend(_hash_revisions(prep, instances))
    return out


def _missing_semicolon(
    kind: str, label: str, *, hop: int | None = None, instance: int | None = None
) -> Finding:
    return note(
        "draft.missing-final-semicolon",
        f"{kind} {label} has no ';' after its last tag",
        Step.DRAFT,
        severity=Severity.INFO,
        hop=hop,
        instance=instance,
        detail=(
            "S06's ABNF ends every tag, the last included, with ';'. Accepted (SPEC-NOTES §11 A1), "
            "as signers of the -03/-04 era and DKIM1-style code omit it. Implementer: emit the "
            "final ';'."
        ),
        spec="S06 §7, §8",
    )


def _legacy_fields(fields: list[HeaderField]) -> list[Finding]:
    out: list[Finding] = []
    names = {f.lname for f in fields}
    if "mail-version" in names or any(n.startswith("dkim2-delta") for n in names):
        out.append(
            note(
                "draft.pre-wg-fields",
                "Pre-working-group DKIM2 fields (Mail-Version / DKIM2-Delta) are present",
                Step.DRAFT,
                detail=(
                    "These come from the 2025 individual drafts (draft-gondwana-dkim2-mailversion, "
                    "the modification algebra). They are not part of -06 and are ignored; "
                    "implementer: move to Message-Instance with JSON recipes (S06 §5, §7)."
                ),
                spec="SPEC-NOTES §12 (F1)",
            )
        )
    for f in fields:
        if f.lname == "x-dkim2-info":
            out.append(
                note(
                    "draft.x-dkim2-info",
                    "The message names the draft its signer implemented",
                    Step.DRAFT,
                    severity=Severity.INFO,
                    detail=f"X-DKIM2-Info: {f.text()[:200]} (unsigned; useful for triage only)",
                    spec="SPEC-NOTES §12",
                )
            )
    return out


def _c08(f: HeaderField) -> Finding:
    return note(
        "draft.clayton-json",
        "A Message-Instance uses the v= tag of draft-clayton-dkim2-spec (C07/C08)",
        Step.DRAFT,
        detail=(
            "Before the working group adopted the draft, Message-Instance carried v= and JSON "
            "hashes. -06 uses m= and h=alg:header-hash:body-hash. Implementer: update the signer "
            "to the working-group format."
        ),
        spec="SPEC-NOTES §12 (F2)",
    )


def _unsigned_lists(prep: Prepared) -> list[tuple[str, frozenset[str], tuple[str, ...]]]:
    """Other revisions' unsigned-field lists, each list once: the newer revisions the engine
    knows first (newest first), then the pre-05 drafts."""
    current = prep.options.revision
    seen = {(current.unsigned_fields, current.unsigned_prefixes)}
    out: list[tuple[str, frozenset[str], tuple[str, ...]]] = []
    for number in reversed(ORDER):
        rev = REVISIONS[number]
        key = (rev.unsigned_fields, rev.unsigned_prefixes)
        if key not in seen:
            seen.add(key)
            out.append((rev.draft, *key))
    for draft, (unsigned, prefixes) in UNSIGNED_BY_REVISION.items():
        if (unsigned, prefixes) not in seen:
            seen.add((unsigned, prefixes))
            out.append((draft, unsigned, prefixes))
    return out


def _hash_revisions(prep: Prepared, instances: dict[int, Instance]) -> list[Finding]:
    """A header hash that fails under the judging revision but matches another revision's
    unsigned-field list names that revision (e.g. Authentication-Results hashed, as in -01;
    Auto-Submitted left out, as up to -07)."""
    out: list[Finding] = []
    current = prep.options.revision
    lists: list[tuple[str, frozenset[str], tuple[str, ...]]] | None = None
    for m, inst in sorted(instances.items()):
        failed = [c for c in inst.checks if c.part == "header" and c.match is False]
        for check in failed:
            lists = lists if lists is not None else _unsigned_lists(prep)
            mi = prep.instances.get(m)
            if mi is None:
                continue
            want = next(h.header_hash for h in mi.hashes if h.algorithm == check.algorithm)
            for revision, unsigned, prefixes in lists:
                data = header_hash_input(inst.fields, unsigned, prefixes)
                if hashlib.new(check.algorithm, data).digest() == want:
                    out.append(
                        note(
                            "draft.header-hash-revision",
                            f"Message Instance m={m} header hash matches the rules of {revision}",
                            Step.DRAFT,
                            instance=m,
                            detail=(
                                f"The header hash does not match {current.label} rules but "
                                f"does match when the unsigned-field list of {revision} is "
                                "used. The signer hashed fields that "
                                f"{current.label} leaves out (or the reverse). Implementer: "
                                "use the unsigned-field list of the revision you sign by "
                                f"({current.label}: {current.source('unsigned_fields').text()})."
                            ),
                            spec="S06 §4; SPEC-NOTES §3.1; SPEC-09-NOTES 1.8",
                            data={"revision": revision},
                        )
                    )
                    break
    return out
