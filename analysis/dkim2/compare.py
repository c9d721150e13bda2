"""One message judged under several revisions: the verdict, the others, and what splits them.

Theory of operation
-------------------
``auto`` (the default everywhere a user chooses) judges by the newest revision
(:data:`~analysis.dkim2.revisions.NEWEST`), the way an up-to-date receiver would, and also
walks the chain under every older revision, so the report can say where they disagree:

1. :func:`plan` parses the message once and prepares it under each revision (parsing
   differs: ``|`` groups exist from -08); :attr:`Plan.key_queries` is every key any of them
   needs, fetched once.
2. :func:`verify_plan` runs the full report under the judging revision and the checks alone
   (no diffs, no summary) under the others, sharing every signature check
   (:class:`~analysis.dkim2.walk.SharedWork`): signature checks, hashes and undone
   recipes are made once and reused wherever two revisions' rules agree.
3. Where two neighbouring revisions disagree on the verdict, each rule that differs between
   them is swapped into the older one alone (:func:`~analysis.dkim2.revisions.hybrid`); a
   rule whose swap alone flips the verdict is the rule that splits them.  Only rules that can
   change a verdict are tried, at most a handful of extra walks, and only for messages whose
   verdict differs.
4. :mod:`analysis.dkim2.fingerprint` says, per hop, which revisions' rules its signature and
   hashes satisfy, from what the message carries.

A fixed revision (``"06"`` ... ``"09"``) runs that revision alone; ``06`` keeps the -06
verdicts exactly.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from dataclasses import dataclass, field

from ..change_search import SearchBudget
from ..findings import Finding, State
from ..lookup import KeyAnswer, KeyLookup, KeyQuery
from ..message import ParsedMessage, parse_message
from .fields import KNOWN_HASHES
from .fingerprint import fingerprint_hops
from .recipes import Grammar, Recipe, RecipeError
from .report import ChainReport, Envelope, HopReport, RevisionOutcome, RevisionSplit
from .revisions import (
    NEWEST,
    ORDER,
    REVISIONS,
    RULE_TITLES,
    VERDICT_RULES,
    Revision,
    differing_rules,
    get,
    hybrid,
)
from .structure import Options, ParseCache, Prepared, prepare
from .verify import report_and_walk, verification_level, walk_prepared
from .walk import SharedWork, Walk


@dataclass
class Plan:
    """A message prepared under the judging revision and, for ``auto``, every other one."""

    raw: bytes
    mode: str  # "auto" or a revision number
    judge: Prepared
    #: auto: the other revisions to compare, oldest first (prepared when first walked).
    compared: list[str] = field(default_factory=list)
    #: The field parses the preparations share (and the hybrids of the comparison reuse).
    cache: ParseCache = field(default_factory=ParseCache)
    _prepared: dict[str, Prepared] = field(default_factory=dict)

    def prepared(self, revision: Revision) -> Prepared:
        """The message prepared under ``revision`` (each field parsed once for all)."""
        if revision == self.revision:
            return self.judge
        if revision.number not in self._prepared:
            self._prepared[revision.number] = prepare(
                self.raw,
                dataclasses.replace(self.judge.options, revision=revision),
                parsed=self.message,
                cache=self.cache,
            )
        return self._prepared[revision.number]

    @property
    def message(self) -> ParsedMessage:
        return self.judge.message

    @property
    def revision(self) -> Revision:
        return self.judge.options.revision

    @property
    def key_queries(self) -> list[KeyQuery]:
        """Every key any of the revisions needs: a revision fetches the keys of the
        algorithms it knows, and the newest knows every algorithm the older ones do (a
        key of an algorithm only an older revision knew would be missing here)."""
        known = frozenset().union(*(REVISIONS[n].signature_algorithms for n in self.compared))
        missing = known - self.revision.signature_algorithms
        assert not missing, f"revision {self.revision.number} does not know {missing}"
        return list(self.judge.key_queries)


def resolve(revision: str | Revision) -> tuple[str, Revision]:
    """(mode, the judging revision) for a user's choice: "auto" or a revision."""
    if isinstance(revision, Revision):
        return revision.number, revision
    if revision.strip().lower() == "auto":
        return "auto", REVISIONS[NEWEST]
    judge = get(revision)
    return judge.number, judge


def plan(
    raw: bytes,
    options: Options | None = None,
    *,
    revision: str | Revision = "auto",
    parsed: ParsedMessage | None = None,
) -> Plan:
    options = options or Options()
    mode, judge_revision = resolve(revision)
    parsed = parsed if parsed is not None else parse_message(raw)
    cache = ParseCache()
    judge = prepare(
        raw, dataclasses.replace(options, revision=judge_revision), parsed=parsed, cache=cache
    )
    result = Plan(raw, mode, judge, cache=cache)
    if mode == "auto" and judge.has_dkim2 and not parsed.fatal:
        result.compared = [n for n in ORDER if n != judge_revision.number]
    return result


def analyze(
    raw: bytes,
    *,
    lookup: KeyLookup,
    envelope: Envelope | None = None,
    now: float | None = None,
    options: Options | None = None,
    revision: str | Revision = "auto",
) -> ChainReport:
    """Verify ``raw`` under ``revision`` ("auto": the newest, compared with the others)."""
    p = plan(raw, options, revision=revision)
    queries = p.key_queries
    answers = lookup.lookup_many(queries) if queries else {}
    return verify_plan(p, answers, envelope=envelope, now=now)


@dataclass
class _Run:
    """One revision's walk, kept for the comparison."""

    revision: Revision
    walk: Walk
    hops: list[HopReport]
    result: State


def verify_plan(
    p: Plan,
    answers: dict[KeyQuery, KeyAnswer],
    *,
    envelope: Envelope | None = None,
    now: float | None = None,
    exhaustive: bool = False,
    change_budget: SearchBudget | None = None,
) -> ChainReport:
    """The report of the judging revision, with the comparison when the plan is ``auto``.

    A revision whose rules differ from the judging one's only in rules this message does not
    exercise (:func:`exercised_rules`) has the judging revision's outcome without a walk of
    its own; ``exhaustive`` walks every revision anyway (the tests compare the two).
    ``change_budget``: what the judging walk's change searches may spend (the message's).
    """
    clock = time.time() if now is None else float(now)
    cache = SharedWork()
    report, judge_walk = report_and_walk(
        p.judge, answers, envelope=envelope, now=clock, shared=cache, change_budget=change_budget
    )
    report.revision_mode = "auto" if p.mode == "auto" else "fixed"
    runs: dict[str, _Run] = {
        p.revision.number: _Run(p.revision, judge_walk, report.hops, report.result)
    }
    exercised = exercised_rules(p, judge_walk, clock) if p.compared and not exhaustive else None
    for number in p.compared:
        revision = REVISIONS[number]
        if exercised is not None and not _differing(p.revision, revision) & exercised:
            runs[number] = _Run(revision, judge_walk, report.hops, report.result)
            continue
        walk, hops, result = walk_prepared(
            p.prepared(revision), answers, envelope=envelope, clock=clock, shared=cache
        )
        runs[number] = _Run(revision, walk, hops, result)
    # Revisions that took the judging outcome share its walk: its first problem is found once.
    firsts: dict[int, Finding | None] = {}
    report.revisions = [_outcome(runs[n], firsts) for n in ORDER if n in runs]
    if len(runs) > 1:
        report.splits = _splits(p, runs, answers, envelope, clock, cache)
        report.fingerprints = fingerprint_hops(
            p.judge, {n: (r.walk, r.hops) for n, r in runs.items()}
        )
    return report


def exercised_rules(p: Plan, judge: Walk, clock: float) -> set[str]:
    """The rules of :data:`~analysis.dkim2.revisions.VERDICT_RULES` whose value can change
    this message's outcome (verdict, hop results, first problem), from what the message
    carries and what the judging walk found.  Rules outside the set cannot: a revision that
    differs from the judging one only there reaches the same outcome."""
    revisions = [p.revision, *(REVISIONS[n] for n in p.compared)]
    out: set[str] = set()
    # The judging revision's parses: a field parses the same under every revision unless it
    # holds a "|", which exercises the groups rule (and so walks every revision).
    sigs = list(p.judge.signatures.values())
    mis = list(p.judge.instances.values())
    # Fields a header hash or a header recipe may meet: the message's, every rebuilt
    # instance's, and every name a recipe touches.
    # Instances whose header no recipe changed share one field list: read each list once.
    lists = {id(inst.fields): inst.fields for inst in judge.instances.values()}
    names = {f.lname for fields in lists.values() for f in fields}
    for recipe in p.judge.recipes.values():
        names.update(recipe.headers or {})
    # Only a name some revision leaves unsigned can be judged differently by two of them.
    any_fields, any_prefixes = _unsigned_by_any(tuple(r.number for r in revisions))
    if any(
        len({r.is_unsigned(n) for r in revisions}) > 1
        for n in names
        if n in any_fields or n.startswith(any_prefixes)
    ):
        out.update(("unsigned_fields", "unsigned_prefixes"))
    fields = [f for _, f in p.judge.sig_fields + p.judge.mi_fields]
    if any(b"|" in f.value for f in fields):
        out.add("groups")
    known_everywhere = frozenset.intersection(*(r.signature_algorithms for r in revisions))
    algorithms = {s.algorithm for sig in sigs for s in sig.sig_sets}
    if algorithms - known_everywhere:
        out.update(("signature_algorithms", "unknown_algorithm"))
    if any(h.algorithm not in KNOWN_HASHES for mi in mis for h in mi.hashes):
        out.add("unknown_algorithm")
    if any(f in ("donotmodify", "donotexplode") for sig in sigs for f in sig.flags):
        out.add("request_flags")
    grammars = sorted({r.recipe_grammar for r in revisions})
    for mi in mis:
        if mi.recipe_bytes is None:
            continue
        decoded = _readings(p.cache, mi.recipe_bytes, grammars)
        if any(d != decoded[0] for d in decoded):
            out.add("recipe_grammar")
        if any(isinstance(d, Recipe) and d.body_null for d in decoded):
            out.add("null_body")
    skew = p.judge.options.future_skew_seconds
    if clock and any(s.timestamp - clock > skew for s in sigs):
        out.add("future_timestamp")
    if judge.custody_failures:
        out.add("custody_state")
    if any(f.code == "sig.from-not-authentic" for f in judge.findings):
        out.add("from_authentic")
    return out & VERDICT_RULES


def _readings(cache: ParseCache, text: bytes, grammars: list[Grammar]) -> list[Recipe | str]:
    """Each grammar's reading of a recipe: the recipe (steps compare by value, as their JSON
    would) or the words of its error.  A recipe the -07 grammar accepts without a "u" step
    is read alike by -06 (-07 only adds that step and refuses JSON that -06 accepts,
    SPEC-09-NOTES 1.9; ``test_property_recipes`` holds the two to it), so it is read once:
    the judging revision's reading, already made."""
    if "07" in grammars:
        try:
            strict: Recipe | None = cache.recipe(text, "07")
        except RecipeError:
            strict = None
        if strict is not None and not strict.uses_octets:
            return [strict]
    out: list[Recipe | str] = []
    for grammar in grammars:
        try:
            out.append(cache.recipe(text, grammar))
        except RecipeError as exc:
            out.append(str(exc))
    return out


def _differing(a: Revision, b: Revision) -> frozenset[str]:
    """:func:`differing_rules` as a set, computed once per pair of published revisions."""
    if REVISIONS.get(a.number) is a and REVISIONS.get(b.number) is b:
        return _differing_published(a.number, b.number)
    return frozenset(differing_rules(a, b))


@functools.cache
def _differing_published(a: str, b: str) -> frozenset[str]:
    return frozenset(differing_rules(REVISIONS[a], REVISIONS[b]))


@functools.cache
def _unsigned_by_any(numbers: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The field names and name prefixes that any of these revisions leaves unsigned."""
    revisions = [REVISIONS[n] for n in numbers]
    fields = frozenset().union(*(r.unsigned_fields for r in revisions))
    prefixes = tuple(sorted({p for r in revisions for p in r.unsigned_prefixes}))
    return fields, prefixes


def _outcome(run: _Run, firsts: dict[int, Finding | None]) -> RevisionOutcome:
    """``firsts``: the first problem of each walk so far, by id of the walk (kept alive by
    the runs), shared by the revisions that took another's walk."""
    first = None
    if run.result in (State.FAIL, State.PERMERROR, State.TEMPERROR):
        key = id(run.walk)
        if key not in firsts:
            firsts[key] = next(
                (
                    f
                    for f in sorted(run.walk.findings, key=lambda f: (int(f.step), f.hop or 0))
                    if f.state == run.result
                ),
                None,
            )
        first = firsts[key]
    return RevisionOutcome(
        revision=run.revision.number,
        draft=run.revision.draft,
        result=run.result,
        level=verification_level(run.revision, run.result, run.hops, run.walk),
        hop_results={h.hop: h.result for h in run.hops},
        first_problem=first.message if first else None,
        first_problem_code=first.code if first else None,
    )


def _splits(
    p: Plan,
    runs: dict[str, _Run],
    answers: dict[KeyQuery, KeyAnswer],
    envelope: Envelope | None,
    clock: float,
    cache: SharedWork,
) -> list[RevisionSplit]:
    out: list[RevisionSplit] = []
    numbers = [n for n in ORDER if n in runs]
    for older, newer in itertools.pairwise(numbers):
        a, b = runs[older], runs[newer]
        if a.result == b.result:
            continue
        candidates = [r for r in differing_rules(a.revision, b.revision) if r in VERDICT_RULES]
        flips = [
            r
            for r in candidates
            if _result_under(p, hybrid(a.revision, r, b.revision), answers, envelope, clock, cache)
            == b.result
        ]
        if not flips:
            flips = [
                r
                for r in candidates
                if _result_under(
                    p, hybrid(b.revision, r, a.revision), answers, envelope, clock, cache
                )
                == a.result
            ]
        alone = bool(flips)
        rules = flips or candidates
        out.append(
            RevisionSplit(
                older=older,
                newer=newer,
                older_result=a.result,
                newer_result=b.result,
                rules=rules,
                rule_titles=[RULE_TITLES[r] for r in rules],
                sources=[b.revision.source(r).text() for r in rules],
                sentence=_split_sentence(a, b, rules, alone=alone),
            )
        )
    return out


def _result_under(
    p: Plan,
    revision: Revision,
    answers: dict[KeyQuery, KeyAnswer],
    envelope: Envelope | None,
    clock: float,
    cache: SharedWork,
) -> State:
    prep = prepare(p.raw, dataclasses.replace(p.judge.options, revision=revision), parsed=p.message)
    _, _, result = walk_prepared(prep, answers, envelope=envelope, clock=clock, shared=cache)
    return result


def _split_sentence(a: _Run, b: _Run, rules: list[str], *, alone: bool) -> str:
    titles = [RULE_TITLES[r] for r in rules]
    if not titles:
        what = "no single rule explains it"
    elif alone and len(titles) == 1:
        what = f"the rule that splits them is {titles[0]}"
    elif alone:
        what = "each of these rules alone splits them: " + "; ".join(titles)
    else:
        what = "no single rule explains it; these rules differ together: " + "; ".join(titles)
    return (
        f"Under {a.revision.label} rules the chain's verdict is {a.result.value}; under "
        f"{b.revision.label} rules it is {b.result.value}: {what}."
    )
