"""What is known before any key is fetched: parsing, syntax and numbering (S06 §7, §8, §11.2).

:func:`prepare` parses the message, parses every Message-Instance and
DKIM2-Signature field strictly, checks the numbering rules and says which keys
are needed (``Prepared.key_queries``).  Interpretations (SPEC-NOTES §11 A22,
A23): ``m`` must run 1..M and ``i`` 1..N without gaps or repeats; each
signature's ``m=`` lies in 1..M and does not decrease with ``i``; every
instance is covered by some ``m=``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .. import limits
from ..findings import Finding, State, Step
from ..lookup import KeyQuery
from ..message import HeaderField, ParsedMessage, parse_message
from .fields import (
    MI_NAME,
    SIG_NAME,
    Dkim2Signature,
    FieldProblem,
    MessageInstance,
    number_hint,
    parse_message_instance,
    parse_signature,
)
from .recipes import Recipe, RecipeError, decode_recipe
from .revisions import NEWEST, REVISIONS, Revision

ENGINE_VERSION = "0.2.0"
#: The newest draft revision this engine implements (the one ``auto`` judges by).
DRAFT = REVISIONS[NEWEST].draft


@dataclass(frozen=True)
class Options:
    #: Accept artefacts of earlier drafts that do not weaken security: bare
    #: addresses in mf=/rt= (each reported as a finding).
    compat: bool = False
    #: Local policy where the revision leaves a null body recipe to it (S06 §5.2, A39):
    #: treat it as PERMERROR.  From -09 the revision itself says PERMERROR.
    null_body_is_error: bool = False
    lifetime_seconds: int = limits.SIGNATURE_LIFETIME_SECONDS
    future_skew_seconds: int = limits.FUTURE_SKEW_SECONDS
    #: The rules the walk follows (analysis.dkim2.revisions).
    revision: Revision = REVISIONS[NEWEST]

    def to_json(self) -> dict[str, Any]:
        return {
            "compat": self.compat,
            "null_body_is_error": self.null_body_is_error,
            "lifetime_seconds": self.lifetime_seconds,
            "revision": self.revision.number,
        }


@dataclass
class Prepared:
    """Everything learned before any key is fetched."""

    raw: bytes
    message: ParsedMessage
    options: Options
    instances: dict[int, MessageInstance] = field(default_factory=dict)
    signatures: dict[int, Dkim2Signature] = field(default_factory=dict)
    mi_fields: list[tuple[int | None, HeaderField]] = field(default_factory=list)
    sig_fields: list[tuple[int | None, HeaderField]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    key_queries: list[KeyQuery] = field(default_factory=list)
    recipes: dict[int, Recipe] = field(default_factory=dict)  # decoded r= by m
    # Highest m= of any Message-Instance field, parsed or not (reconstruction starts there).
    highest_field_instance: int = 0
    # Numbers carried by more than one field: which one was signed is ambiguous.
    ambiguous_instances: set[int] = field(default_factory=set)
    ambiguous_hops: set[int] = field(default_factory=set)
    # Signatures that fail strict -06 parsing only because of bare mf=/rt= addresses.
    strict_only_failures: list[int] = field(default_factory=list)
    has_dkim2: bool = False

    @property
    def raw_size(self) -> int:
        return len(self.raw)

    @property
    def max_instance(self) -> int:
        return max(self.instances, default=0)


# -- failure strings (S06 §11; SPEC-NOTES §6.2, §6.4: verbatim) --------------------------


def mi_string(m: int | None, what: str) -> str:
    return f"PERMERROR Message-Instance m={_n(m)} {what}"


def sig_string(i: int | None, what: str) -> str:
    return f"PERMERROR DKIM2-Signature i={_n(i)} {what}"


def _n(x: int | None) -> str:
    return "?" if x is None else str(x)


def _problem_finding(p: FieldProblem, *, signature: bool, number: int | None) -> Finding:
    """A parse problem as a finding; ``number`` is the field's i= or m= when it could be read."""
    text = sig_string(number, p.what) if signature else mi_string(number, p.what)
    hop = number if signature else None
    instance = None if signature else number
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


@dataclass
class ParseCache:
    """Field parses shared by one message's preparations under several revisions: a field
    parses the same way under every revision that reads groups the same way."""

    signatures: dict[tuple[int, bool, bool], tuple[Dkim2Signature | None, list[FieldProblem]]] = (
        field(default_factory=dict)
    )
    instances: dict[tuple[int, bool], tuple[MessageInstance | None, list[FieldProblem]]] = field(
        default_factory=dict
    )
    recipes: dict[tuple[bytes, str], Recipe | RecipeError] = field(default_factory=dict)

    hints: dict[int, int | None] = field(default_factory=dict)

    def hint(self, f: HeaderField, tag: str, parsed: int | None = None) -> int | None:
        """The field's best-effort ``i=``/``m=`` (:func:`number_hint`).  ``parsed``: the number
        a parse of the field read, which is the hint when every fold of the field is a CRLF
        before a blank: the parse then had one ``tag=`` of at most MAX_NUMBER_DIGITS ASCII
        digits, which the hint's search finds first, whole (only a CRLF between two digits
        could split them, and the unfolding would join them)."""
        key = id(f)
        if key in self.hints:
            return self.hints[key]
        hit = parsed if parsed is not None and _folds_only(f.raw) else number_hint(f, tag)
        self.hints[key] = hit
        return hit

    def signature(
        self, f: HeaderField, *, bare: bool, groups: bool
    ) -> tuple[Dkim2Signature | None, list[FieldProblem]]:
        # Without a "|" a field parses the same whether or not groups exist.
        key = (id(f), bare, groups or b"|" not in f.raw)
        hit = self.signatures.get(key)
        if hit is None:
            hit = self.signatures[key] = parse_signature(
                f, allow_bare_addresses=bare, groups=groups
            )
        return hit

    def instance(
        self, f: HeaderField, *, groups: bool
    ) -> tuple[MessageInstance | None, list[FieldProblem]]:
        key = (id(f), groups or b"|" not in f.raw)
        hit = self.instances.get(key)
        if hit is None:
            hit = self.instances[key] = parse_message_instance(f, groups=groups)
        return hit

    def recipe(self, text: bytes, grammar: Literal["06", "07"]) -> Recipe:
        key = (text, grammar)
        hit = self.recipes.get(key)
        if hit is None:
            try:
                hit = decode_recipe(text, grammar=grammar)
            except RecipeError as exc:
                hit = exc
            self.recipes[key] = hit
        if isinstance(hit, RecipeError):
            raise type(hit)(*hit.args)
        return hit


def _folds_only(raw: bytes) -> bool:
    """Every CRLF of a field but its final one is followed by a blank (is a fold)."""
    crlfs = raw.count(b"\r\n")
    if not crlfs:
        return True
    if raw.endswith(b"\r\n"):
        crlfs -= 1
    return crlfs == raw.count(b"\r\n ") + raw.count(b"\r\n\t")


def prepare(
    raw: bytes,
    options: Options | None = None,
    *,
    parsed: ParsedMessage | None = None,
    cache: ParseCache | None = None,
) -> Prepared:
    """``parsed``: ``raw`` already parsed, and ``cache`` its field parses so far (the
    preparations under several revisions share both; the message must stay alive)."""
    options = options or Options()
    cache = cache if cache is not None else ParseCache()
    msg = parsed if parsed is not None else parse_message(raw)
    prep = Prepared(
        raw=raw,
        message=msg,
        options=options,
        findings=list(msg.findings),
    )
    if msg.fatal:
        return prep
    mi_fields: list[HeaderField] = []
    sig_fields: list[HeaderField] = []
    for f in msg.fields:
        if f.lname == MI_NAME:
            mi_fields.append(f)
        elif f.lname == SIG_NAME:
            sig_fields.append(f)
    prep.has_dkim2 = bool(mi_fields or sig_fields)
    if not prep.has_dkim2:
        return prep
    if len(sig_fields) > limits.MAX_SIGNATURES or len(mi_fields) > limits.MAX_INSTANCES:
        prep.mi_fields = [(cache.hint(f, "m"), f) for f in mi_fields]
        prep.sig_fields = [(cache.hint(f, "i"), f) for f in sig_fields]
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

    # Each field's number hint is worked out once the field is parsed: a field that parses
    # has its own number as hint (ParseCache.hint), and only one that does not is searched.
    seen_m: dict[int, int] = {}
    groups = options.revision.groups
    for f in mi_fields:
        mi, problems = cache.instance(f, groups=groups)
        if mi is None:
            hint = cache.hint(f, "m")
            prep.mi_fields.append((hint, f))
            prep.findings.extend(
                _problem_finding(p, signature=False, number=hint) for p in problems
            )
            if hint is not None:
                seen_m[hint] = seen_m.get(hint, 0) + 1
            continue
        prep.mi_fields.append((cache.hint(f, "m", mi.instance), f))
        seen_m[mi.instance] = seen_m.get(mi.instance, 0) + 1
        if mi.instance in prep.instances:
            continue
        prep.instances[mi.instance] = mi
    seen_i: dict[int, int] = {}
    for f in sig_fields:
        sig, problems = cache.signature(f, bare=options.compat, groups=groups)
        if sig is None:
            lenient = None
            if not options.compat:
                lenient, _ = cache.signature(f, bare=True, groups=groups)
            hint = cache.hint(f, "i", None if lenient is None else lenient.hop)
            prep.sig_fields.append((hint, f))
            prep.findings.extend(_problem_finding(p, signature=True, number=hint) for p in problems)
            if lenient is not None:
                prep.strict_only_failures.append(lenient.hop)
            if hint is not None:
                seen_i[hint] = seen_i.get(hint, 0) + 1
            continue
        prep.sig_fields.append((cache.hint(f, "i", sig.hop), f))
        seen_i[sig.hop] = seen_i.get(sig.hop, 0) + 1
        if sig.hop in prep.signatures:
            continue
        prep.signatures[sig.hop] = sig
    _decode_recipes(prep, cache)
    prep.highest_field_instance = max(seen_m, default=0)
    prep.ambiguous_instances = {m for m, n in seen_m.items() if n > 1}
    prep.ambiguous_hops = {i for i, n in seen_i.items() if n > 1}
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
                    mi_string(m, "syntax error"),
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
                    sig_string(i, "syntax error"),
                    Step.SYNTAX,
                    hop=i,
                    detail=f"{count} DKIM2-Signature fields carry i={i}",
                    spec="S06 §8.1; SPEC-NOTES §11 A23",
                )
            )
    max_m = max(seen_m, default=0)
    max_i = max(seen_i, default=0)
    _report_gaps(prep, seen_m, max_m, signature=False)
    _report_gaps(prep, seen_i, max_i, signature=True)
    # A22: each signature's m= names an existing instance and never decreases.
    prev_m = 0
    for i in sorted(prep.signatures):
        sig = prep.signatures[i]
        if max_m and sig.instance > max_m:
            add(
                Finding(
                    "sig.instance-out-of-range",
                    State.PERMERROR,
                    sig_string(i, "syntax error"),
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
                    sig_string(i, "syntax error"),
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
                        mi_string(m, "is not signed"),
                        Step.SYNTAX,
                        instance=m,
                        detail=(
                            f"no DKIM2-Signature has m={m} or higher; "
                            f"the newest signs m={highest_signed}"
                        ),
                        spec="S06 §11.2",
                    )
                )


def _decode_recipes(prep: Prepared, cache: ParseCache) -> None:
    """SPEC-NOTES §6.2 step 2: every r= must decode to JSON of the S06 §5 shape.  A problem
    is blamed on the hop that introduced the instance (the lowest i whose m= names it)."""
    introducer: dict[int, int] = {}
    for i in sorted(prep.signatures):
        introducer.setdefault(prep.signatures[i].instance, i)
    for m, mi in sorted(prep.instances.items()):
        if mi.recipe_bytes is None:
            continue
        try:
            prep.recipes[m] = cache.recipe(mi.recipe_bytes, prep.options.revision.recipe_grammar)
        except RecipeError as exc:
            prep.findings.append(
                Finding(
                    "mi.invalid-json",
                    State.PERMERROR,
                    mi_string(m, "contains invalid JSON"),
                    Step.SYNTAX,
                    instance=m,
                    hop=introducer.get(m),
                    detail=str(exc),
                    spec="S06 §5, §11.2; SPEC-NOTES §11 A7, A8, A12",
                )
            )


#: Gaps listed one finding each; a longer run of missing numbers is summarised in one.
_MAX_GAP_FINDINGS = 5


def _report_gaps(prep: Prepared, seen: dict[int, int], top: int, *, signature: bool) -> None:
    """S06 §7.1, §8.1: numbers run from 1 without gaps; each missing one is PERMERROR."""
    kind = "DKIM2-Signature" if signature else "Message-Instance"
    other = "Message-Instance" if signature else "DKIM2-Signature"
    missing = [n for n in range(1, max(top, 1) + 1) if n not in seen]
    if not missing:
        return
    if top:
        detail = f"{kind} numbers must run from 1 to {top} without gaps"
    else:
        detail = f"the message has {other} fields but no {kind} field"
    shown = missing if len(missing) <= _MAX_GAP_FINDINGS else missing[:1]
    if len(shown) < len(missing):
        detail += (
            f"; {len(missing)} numbers are missing, from {missing[0]} to {missing[-1]} "
            "(one finding stands for all of them)"
        )
    for n in shown:
        prep.findings.append(
            Finding(
                "sig.missing" if signature else "mi.missing",
                State.PERMERROR,
                sig_string(n, "missing") if signature else mi_string(n, "missing"),
                Step.SYNTAX,
                hop=n if signature else None,
                instance=None if signature else n,
                detail=detail,
                spec="S06 §8.1" if signature else "S06 §7.1",
            )
        )


def _key_queries(prep: Prepared) -> list[KeyQuery]:
    queries: dict[KeyQuery, None] = {}
    known = prep.options.revision.signature_algorithms
    for i in sorted(prep.signatures):
        sig = prep.signatures[i]
        for s in sig.sig_sets:
            if s.algorithm in known:
                queries[KeyQuery(s.selector.lower(), sig.domain)] = None
    out = list(queries)
    if len(out) > limits.MAX_KEY_LOOKUPS:
        prep.findings.append(
            Finding(
                "limits.too-many-keys",
                State.PERMERROR,
                "PERMERROR too many keys to look up",
                Step.KEY,
                detail=(
                    f"{len(out)} distinct keys; only the first {limits.MAX_KEY_LOOKUPS} are "
                    "fetched; signatures that need the others cannot be verified"
                ),
                spec="BCP01 §7.5",
            )
        )
        out = out[: limits.MAX_KEY_LOOKUPS]
    return out


# -- the walk ----------------------------------------------------------------------------------
