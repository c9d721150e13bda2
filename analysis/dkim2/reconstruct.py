"""Reconstruction: walk the instances from the newest down, checking hashes and undoing recipes.

S06 §5, §10.2, §11.7; SPEC-NOTES §4.4, §6.2 step 8.  Each instance's header and
body hashes are compared (group by group from -08), then its recipe is
applied to rebuild the previous instance.  Hashes are cached per identical
header list and body, so hops that changed nothing cost no extra hashing.  A
null body recipe makes every earlier body unknown (S06 §5.2, local policy;
``Revision.null_body`` is "permerror" from -09).  A recipe that
cannot be applied is "contains invalid JSON" (A12) and ends the walk.  The
revision's unsigned-field list decides the header hash input and which header
recipes apply.
"""

from __future__ import annotations

from .. import limits
from ..findings import Finding, Severity, State, Step, aggregate, note
from ..message import Body, HeaderField
from .canonical import UNSIGNED_FIELDS_S06, b64, header_hash
from .fields import KNOWN_HASHES, HashSet, MessageInstance
from .recipes import (
    OutputBudget,
    Recipe,
    RecipeError,
    RecipeTooLarge,
    apply_body_recipe,
    apply_header_recipe,
)
from .report import HashCheck, Instance
from .revisions import Revision
from .structure import mi_string
from .walk import Walk


class ReconstructionTooLarge(Exception):
    """Rebuilding the instances together would pass the analyser's bound (not the recipe's
    fault: the chain is long, or its literals many)."""


class _Totals:
    """What all of one walk's reconstructions may amount to (limits.TOTAL_RECONSTRUCTION_FACTOR,
    limits.RECONSTRUCTION_MEMORY_FACTOR)."""

    def __init__(self, size: int) -> None:
        size = max(size, 1)
        self.work = limits.TOTAL_RECONSTRUCTION_FACTOR * size + limits.RECIPE_OUTPUT_SLACK
        self.memory = (
            limits.RECONSTRUCTION_MEMORY_FACTOR * size + limits.RECONSTRUCTION_MEMORY_SLACK
        )
        self.worked = 0
        self.made = 0

    def spend(self, worked: int, made: int) -> None:
        self.worked += worked
        self.made += made
        if self.made > self.memory:
            raise ReconstructionTooLarge(
                f"the rebuilt instances would hold more than {self.memory} octets in memory "
                f"besides the message ({limits.RECONSTRUCTION_MEMORY_FACTOR} times its size, "
                f"plus {limits.RECONSTRUCTION_MEMORY_SLACK}), the analyser's bound"
            )
        if self.worked > self.work:
            raise ReconstructionTooLarge(
                f"the instances rebuilt so far and this one amount to more than {self.work} "
                f"octets ({limits.TOTAL_RECONSTRUCTION_FACTOR} times the message, plus "
                f"{limits.RECIPE_OUTPUT_SLACK}), the analyser's bound on the work of rebuilding"
            )


def check_hashes(walk: Walk) -> None:
    prep = walk.prep
    msg = prep.message
    max_m = max(prep.max_instance, prep.highest_field_instance)
    if not max_m:
        return
    totals = _Totals(prep.raw_size)
    fields: list[HeaderField] = msg.fields
    body: Body | None = msg.body
    introduced = walk.introducers()
    received = True
    for m in range(max_m, 0, -1):
        mi = prep.instances.get(m)
        inst = Instance(m, fields, body, introduced.get(m), reconstructed=not received)
        inst.memo = walk.shared.hash_memo
        walk.instances[m] = inst
        received = False
        if mi is None:
            # Broken or missing: nothing to check and no way to undo this hop's
            # change, so the instances below cannot be rebuilt or verified.
            _stop(walk, m, "its Message-Instance field is missing or cannot be parsed")
            return
        hop = introduced.get(m)
        _check_instance(walk, mi, inst, m, hop, fields, body)
        if mi.recipe_bytes is None:
            continue
        recipe = prep.recipes.get(m)
        if recipe is None:
            # r= is not a valid recipe: reported at step 2 by analysis.structure.
            _stop(walk, m, "its recipe is invalid")
            return
        inst.recipe = recipe.to_json()
        try:
            fields, body = _undo(walk, recipe, fields, body, totals, m, hop)
        except RecipeTooLarge as exc:
            _recipe_too_large(walk, m, hop, str(exc))
            return
        except RecipeError as exc:
            _recipe_error(walk, m, hop, str(exc))
            return
        except ReconstructionTooLarge as exc:
            _too_large(walk, m, hop, str(exc))
            return
    # m=1 may carry a recipe of changes made on entry: rebuild "m=0" for display.
    mi1 = prep.instances.get(1)
    if mi1 is not None and mi1.recipe_bytes is not None and 1 in walk.instances:
        inst0 = Instance(0, fields, body, None)
        inst0.memo = walk.shared.hash_memo
        walk.instances[0] = inst0


def _check_instance(
    walk: Walk,
    mi: MessageInstance,
    inst: Instance,
    m: int,
    hop: int | None,
    fields: list[HeaderField],
    body: Body | None,
) -> None:
    """Compare instance ``m``'s hashes with its content (S06 §11.7), group by group.

    -06/-07: every hash of a known algorithm must match; unknown names are ignored, and an
    instance with none known is PERMERROR.  -08 on (SPEC-09-NOTES 1.2, 1.3): ``h=`` holds
    ``|``-separated groups; a group matches when all its hashes match, an unknown hash name
    makes its group PERMERROR, and one matching group is enough.
    """
    revision = walk.prep.options.revision
    groups = mi.hash_groups if revision.groups else [list(mi.hashes)]
    group_findings: list[list[Finding]] = []
    for group in groups:
        found: list[Finding] = []
        known = [h for h in group if h.algorithm in KNOWN_HASHES]
        unknown = [h for h in group if h.algorithm not in KNOWN_HASHES]
        if revision.groups and unknown:
            found.append(
                Finding(
                    "mi.unknown-hash-in-group",
                    State.PERMERROR,
                    mi_string(m, f"uses unknown hash {unknown[0].algorithm}"),
                    Step.HASH,
                    instance=m,
                    hop=hop,
                    detail=(
                        f"h= names {', '.join(h.algorithm for h in unknown)}, which "
                        f"{revision.label} does not define; an unknown hash makes its group "
                        "PERMERROR (another group may still match)"
                    ),
                    spec=revision.source("unknown_algorithm").text(),
                )
            )
        for hs in known:
            found.extend(_check_hash(walk, hs, inst, m, hop, fields, body))
        group_findings.append(found)
    if not revision.groups:
        if not any(h.algorithm in KNOWN_HASHES for h in mi.hashes):
            walk.add(
                Finding(
                    "mi.no-known-hash",
                    State.PERMERROR,
                    mi_string(m, "has no hash this verifier can check"),
                    Step.HASH,
                    instance=m,
                    hop=hop,
                    detail=f"h= uses only {', '.join(h.algorithm for h in mi.hashes)}",
                    spec="S06 §3.1, §11.7",
                )
            )
        for found in group_findings:
            walk.findings.extend(found)
        return
    matching = [n for n, found in enumerate(group_findings, 1) if not found]
    if matching:
        for n, found in enumerate(group_findings, 1):
            if found:
                walk.add(
                    note(
                        "mi.hash-group-failed",
                        f"Message-Instance m={m} hash group {n} does not match; group "
                        f"{matching[0]} does",
                        Step.HASH,
                        instance=m,
                        hop=hop,
                        detail="; ".join(f.message for f in found),
                        spec=revision.source("groups").text(),
                    )
                )
        return
    for found in group_findings:
        walk.findings.extend(found)
    if len(groups) > 1:
        flat = [f for found in group_findings for f in found]
        state = aggregate(flat)
        walk.add(
            Finding(
                "mi.no-hash-group-matched",
                state,
                f"{_prefix(state)} Message-Instance m={m} no hash group matched",
                Step.HASH,
                instance=m,
                hop=hop,
                detail=f"h= offers {len(groups)} alternative groups; none matches the content",
                spec=revision.source("groups").text(),
            )
        )


def _unsigned_source(revision: Revision) -> str:
    if revision.unsigned_fields == UNSIGNED_FIELDS_S06:
        return ""
    return f"; {revision.label} unsigned fields: {revision.source('unsigned_fields').text()}"


def _prefix(state: State) -> str:
    return "FAIL:" if state == State.FAIL else "PERMERROR"


def _check_hash(
    walk: Walk,
    hs: HashSet,
    inst: Instance,
    m: int,
    hop: int | None,
    fields: list[HeaderField],
    body: Body | None,
) -> list[Finding]:
    """One hash set against the content (hashes shared with the other revisions' walks)."""
    revision = walk.prep.options.revision
    shared = walk.shared
    out: list[Finding] = []
    rules = (revision.unsigned_fields, revision.unsigned_prefixes)
    hkey = (id(fields), hs.algorithm, rules)
    got = shared.header_hashes.get(hkey)
    if got is None:
        got = shared.header_hashes[hkey] = header_hash(fields, hs.algorithm, *rules)
        shared.keep.append(fields)
    ok = got == hs.header_hash
    inst.checks.append(
        HashCheck(hs.algorithm, "header", hs.header_hash_b64, b64(got), ok, group=hs.group)
    )
    if not ok:
        out.append(
            Finding(
                "hash.header-mismatch",
                State.FAIL,
                f"FAIL: Message Instance m={m} header hash {hs.algorithm} mismatch",
                Step.HASH,
                instance=m,
                hop=hop,
                detail=(f"computed {b64(got)}, the field says {hs.header_hash_b64}"),
                spec="S06 §6.2, §11.7" + _unsigned_source(revision),
            )
        )
    if body is None:
        inst.checks.append(
            HashCheck(hs.algorithm, "body", hs.body_hash_b64, None, None, group=hs.group)
        )
        return out
    bkey = (id(body), hs.algorithm)
    bgot = shared.body_hashes.get(bkey)
    if bgot is None:
        bgot = shared.body_hashes[bkey] = body.hash(hs.algorithm, shared.hash_memo)
        shared.keep.append(body)
    bok = bgot == hs.body_hash
    inst.checks.append(
        HashCheck(hs.algorithm, "body", hs.body_hash_b64, b64(bgot), bok, group=hs.group)
    )
    if not bok:
        out.append(
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
            _diagnose_body(walk, m, hop, body, hs.algorithm, hs.body_hash)
    return out


def _undo(
    walk: Walk,
    recipe: Recipe,
    fields: list[HeaderField],
    body: Body | None,
    totals: _Totals,
    m: int,
    hop: int | None,
) -> tuple[list[HeaderField], Body | None]:
    """Apply instance ``m``'s recipe: the previous instance (shared between the walks of
    revisions whose unsigned-field rules agree, so its hashes are computed once)."""
    revision = walk.prep.options.revision
    mi = walk.prep.instances[m]
    rules = (revision.unsigned_fields, revision.unsigned_prefixes)
    key = (id(fields), id(body), mi.recipe_bytes or b"", rules)
    done = walk.shared.undone.get(key)
    if done is None:
        per_step = OutputBudget(
            limits.RECIPE_OUTPUT_FACTOR * max(walk.prep.raw_size, 1) + limits.RECIPE_OUTPUT_SLACK
        )
        new_fields, new_body = fields, body
        if recipe.headers:
            new_fields = apply_header_recipe(
                fields, recipe.headers, per_step, is_unsigned=revision.is_unsigned
            )
        if recipe.body_null:
            new_body = None
        elif recipe.body is not None and body is not None:
            new_body = apply_body_recipe(body, recipe.body, per_step)
        worked = _size(new_fields, new_body)
        done = (new_fields, new_body, worked, per_step.made)
        walk.shared.undone[key] = done
        walk.shared.keep.extend((fields, body))
    new_fields, new_body, worked, made = done
    totals.spend(worked, made)
    if recipe.body_null:
        _null_body(walk, m, hop)
    return new_fields, new_body


def _size(fields: list[HeaderField], body: Body | None) -> int:
    """Octets of an instance: the work of hashing it."""
    return sum(len(f.raw) for f in fields) + (len(body) if body is not None else 0)


def _null_body(walk: Walk, m: int, hop: int | None) -> None:
    """A null body recipe: PERMERROR from -09 (or by local policy), a note before."""
    revision = walk.prep.options.revision
    if revision.null_body == "permerror" or walk.prep.options.null_body_is_error:
        by_revision = revision.null_body == "permerror"
        walk.add(
            Finding(
                "recipe.null-body",
                State.PERMERROR,
                mi_string(m, "has a null body recipe"),
                Step.HASH,
                instance=m,
                hop=hop,
                detail=(
                    "the hop discarded the earlier body and cannot recreate it"
                    + (
                        f"; {revision.label} makes that an error"
                        if by_revision
                        else "; local policy (--null-body-is-error) makes that an error"
                    )
                ),
                spec=(
                    revision.source("null_body").text()
                    if by_revision
                    else "S06 §5.2 (local policy); SPEC-NOTES §11 A39"
                ),
            )
        )
        return
    walk.add(
        note(
            "recipe.null-body",
            f"Message-Instance m={m} has a null body recipe: earlier bodies are unknown",
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


def _diagnose_body(walk: Walk, m: int, hop: int | None, body: Body, alg: str, want: bytes) -> None:
    """Name a likely transport cause of a body-hash mismatch of the received message."""
    n = len(body)
    tail = body.to_bytes(max(0, n - 2), n)
    if not (tail.endswith(b"\r") and not tail.endswith(b"\r\n")):
        return
    # The body read with its final CR as a line end: canonically, the body without the CR.
    without_cr = Body.from_pieces(piece for _, piece in body.spans(0, n - 1))
    if without_cr.hash(alg) == want:
        walk.add(
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


def _stop(walk: Walk, m: int, why: str) -> None:
    if m > 1:
        walk.add(
            note(
                "recipe.reconstruction-stopped",
                f"Instances below m={m} were not rebuilt: {why}",
                Step.HASH,
                severity=Severity.INFO,
                instance=m,
                detail=(
                    f"Without a usable Message-Instance m={m} the earlier "
                    + (
                        f"instances m=1 to m={m - 1} cannot be recreated, so their hashes are"
                        if m > 2
                        else "instance m=1 cannot be recreated, so its hashes are"
                    )
                    + " not checked."
                ),
                spec="S06 §10.2",
            )
        )


def _recipe_error(
    walk: Walk, m: int, hop: int | None, detail: str, *, code: str = "mi.invalid-json"
) -> None:
    walk.add(
        Finding(
            code,
            State.PERMERROR,
            mi_string(m, "contains invalid JSON"),
            Step.HASH,
            instance=m,
            hop=hop,
            detail=detail,
            spec="S06 §5, §11.2; SPEC-NOTES §11 A7, A12",
        )
    )


def _recipe_too_large(walk: Walk, m: int, hop: int | None, detail: str) -> None:
    """One recipe, valid by the grammar (its copy ranges ascend and do not overlap, else it is
    PERMERROR mi.invalid-json, SPEC-NOTES §11 A12), would make more than the analyser's bound
    (RECIPE_OUTPUT_FACTOR times the message): its literals amplify, e.g. a long field name
    emitted many times.  The draft sets no such bound, so reaching it is the analyser's
    limit: TEMPERROR, named, and no verdict against the signer (issue #11, finding 9)."""
    walk.add(
        Finding(
            "limits.recipe-output-too-large",
            State.TEMPERROR,
            f"TEMPERROR: Message-Instance m={m} not undone: its recipe would make more than "
            "the analyser's bound",
            Step.HASH,
            instance=m,
            hop=hop,
            detail=f"Undoing the recipe of m={m}: {detail}",
            spec="S06 §5, §10.2; BCP01 §7.5",
        )
    )


def _too_large(walk: Walk, m: int, hop: int | None, detail: str) -> None:
    """The analyser's bound on rebuilding was reached: it could not finish (TEMPERROR), which
    is no verdict against the signers; the instances below ``m`` are not checked."""
    below = (
        f"instances m=1 to m={m - 1} were not rebuilt, so their hashes were not checked"
        if m > 2
        else "instance m=1 was not rebuilt, so its hashes were not checked"
    )
    walk.add(
        Finding(
            "limits.reconstruction-too-large",
            State.TEMPERROR,
            f"TEMPERROR: Message-Instance m={m} not undone: the analyser's bound on "
            "reconstruction was reached",
            Step.HASH,
            instance=m,
            hop=hop,
            detail=f"Undoing the recipe of m={m}: {detail}; {below}",
            spec="S06 §10.2; BCP01 §7.5",
        )
    )
