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
   (:data:`~analysis.dkim2.walk.VerifyCache`), so a revision costs a second walk, not a
   second round of public-key operations.
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
import itertools
import time
from dataclasses import dataclass, field

from ..findings import State
from ..lookup import KeyAnswer, KeyLookup, KeyQuery
from ..message import ParsedMessage, parse_message
from .fingerprint import fingerprint_hops
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
from .structure import Options, Prepared, prepare
from .verify import report_and_walk, verification_level, walk_prepared
from .walk import VerifyCache, Walk


@dataclass
class Plan:
    """A message prepared under the judging revision and, for ``auto``, every other one."""

    raw: bytes
    mode: str  # "auto" or a revision number
    judge: Prepared
    others: dict[str, Prepared] = field(default_factory=dict)

    @property
    def message(self) -> ParsedMessage:
        return self.judge.message

    @property
    def revision(self) -> Revision:
        return self.judge.options.revision

    @property
    def key_queries(self) -> list[KeyQuery]:
        """Every key any of the revisions needs, each once, the judging revision's first."""
        out: dict[KeyQuery, None] = dict.fromkeys(self.judge.key_queries)
        for prep in self.others.values():
            out.update(dict.fromkeys(prep.key_queries))
        return list(out)


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
    judge = prepare(raw, dataclasses.replace(options, revision=judge_revision), parsed=parsed)
    result = Plan(raw, mode, judge)
    if mode == "auto" and judge.has_dkim2 and not parsed.fatal:
        for number in ORDER:
            if number != judge_revision.number:
                result.others[number] = prepare(
                    raw, dataclasses.replace(options, revision=REVISIONS[number]), parsed=parsed
                )
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
) -> ChainReport:
    clock = time.time() if now is None else float(now)
    cache: VerifyCache = {}
    report, judge_walk = report_and_walk(
        p.judge, answers, envelope=envelope, now=clock, verify_cache=cache
    )
    report.revision_mode = "auto" if p.mode == "auto" else "fixed"
    runs: dict[str, _Run] = {
        p.revision.number: _Run(p.revision, judge_walk, report.hops, report.result)
    }
    for number, prep in p.others.items():
        walk, hops, result = walk_prepared(
            prep, answers, envelope=envelope, clock=clock, verify_cache=cache
        )
        runs[number] = _Run(prep.options.revision, walk, hops, result)
    report.revisions = [_outcome(runs[n]) for n in ORDER if n in runs]
    if len(runs) > 1:
        report.splits = _splits(p, runs, answers, envelope, clock, cache)
        report.fingerprints = fingerprint_hops(
            p.judge, {n: (r.walk, r.hops) for n, r in runs.items()}
        )
    return report


def _outcome(run: _Run) -> RevisionOutcome:
    first = None
    if run.result in (State.FAIL, State.PERMERROR, State.TEMPERROR):
        first = next(
            (
                f
                for f in sorted(run.walk.findings, key=lambda f: (int(f.step), f.hop or 0))
                if f.state == run.result
            ),
            None,
        )
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
    cache: VerifyCache,
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
    cache: VerifyCache,
) -> State:
    prep = prepare(p.raw, dataclasses.replace(p.judge.options, revision=revision), parsed=p.message)
    _, _, result = walk_prepared(prep, answers, envelope=envelope, clock=clock, verify_cache=cache)
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
