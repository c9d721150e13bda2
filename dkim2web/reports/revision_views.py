"""What the result page says about the DKIM2 draft revisions: which one judged the run, how
the others judge it (auto runs), what splits them, which rules each hop's signer follows,
and the From-Authentic checks.

Plain functions over the stored report's DKIM2 section (``AnalysisRun.document["dkim2"]``,
upgraded by :mod:`dkim2web.reports.documents`): no queries, no requests.  Strings from the
message stay plain ``str`` for templates to escape.

Only -06 is public draft text; the rules of the later revisions are second-hand (what
implementations report, ``analysis.dkim2.revisions``).  Wherever the page names such a
revision it says so, from ``Revision.text_public`` and the rules' ``Source`` texts, never
from a list written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.dkim2.revisions import NEWEST, ORDER, REVISIONS, RULE_TITLES

from .documents import BEFORE_REVISIONS
from .models import Revision
from .presenters import result_label

# The verification levels (analysis.dkim2.verify.verification_level) in each revision's own
# words, by the revision's ``verification_levels`` rule (SPEC-09-NOTES 1.11).
LEVEL_WORDS: dict[str, dict[str, str]] = {
    "pass": {
        "fully-verified": "verified",
        "not-verified": "not verified",
        "none": "no DKIM2",
    },
    "validly-provisionally": {
        "fully-verified": "Validly Signed",
        "provisionally-verified": "Provisionally Verified",
        "not-verified": "not Validly Signed",
        "none": "no DKIM2",
    },
    "fully-provisionally": {
        "fully-verified": "Fully Verified",
        "provisionally-verified": "Provisionally Verified",
        "not-verified": "neither Fully nor Provisionally Verified",
        "none": "no DKIM2",
    },
}

# Badge colour of each chain result (the CSS has pass, fail, permerror, temperror, none).
_BADGES = frozenset({"pass", "fail", "permerror", "temperror", "none"})

FROM_OUTCOME_WORDS = {
    "authentic": "Authentic",
    "not-authentic": "Not Authentic",
    "needs-policy-record": "Not evaluated: needs the From domain's Domain Policy Record",
    "not-evaluated": "Not evaluated",
}
_FROM_OUTCOME_BADGES = {
    "authentic": "pass",
    "not-authentic": "fail",
    "needs-policy-record": "none",
    "not-evaluated": "none",
}


def label(number: str) -> str:
    """ "-09" for "09"; the revision's own label when the engine knows it."""
    known = REVISIONS.get(number)
    return known.label if known is not None else f"-{number}"


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def second_hand_labels() -> list[str]:
    """The revisions whose draft text was not available: "-07", "-08", "-09"."""
    return [r.label for r in REVISIONS.values() if not r.text_public]


def second_hand_note() -> str:
    """The plain note every mention of those revisions carries."""
    labels = second_hand_labels()
    if not labels:
        return ""
    those = "their draft text is" if len(labels) > 1 else "its draft text is"
    return (
        f"The rules of {_join(labels)} are second-hand: {those} not public, so dkim2web "
        "follows what implementations of them report, and each rule names its source."
    )


def revision_choices() -> list[tuple[str, str]]:
    """The choices of a revision select: auto first, then each revision, oldest first."""
    newest = REVISIONS[NEWEST]
    older = [REVISIONS[n].label for n in ORDER if n != NEWEST]
    out: list[tuple[str, str]] = []
    for value in Revision.values:
        if value == Revision.AUTO:
            compared = f"{older[0]} to {older[-1]}" if len(older) > 1 else _join(older)
            text = f"auto: {newest.label} rules, {compared} compared"
        else:
            rev = REVISIONS.get(value)
            if rev is None:
                text = label(value)
            else:
                standing = "public draft text" if rev.text_public else "second-hand rules"
                text = f"{rev.label} ({standing})"
        out.append((value, text))
    return out


def run_revision_words(value: str) -> str:
    """A run's stored revision in words: "auto" or "-06"."""
    return "auto" if value == Revision.AUTO else label(value)


# -- which revision judged this run -------------------------------------------------------------


@dataclass
class JudgedBy:
    revision: str  # "09"
    mode: str  # "auto" or "fixed"
    inferred: bool  # a run stored before revisions were recorded
    public: bool  # the judging revision's draft text is public

    @property
    def label(self) -> str:
        return label(self.revision)

    @property
    def text(self) -> str:
        """ "judged by -09 rules (auto)"."""
        if self.mode == "auto":
            how = "auto"
        elif self.inferred:
            how = "the only ones dkim2web knew when this run was made"
        else:
            how = "chosen for this run"
        return f"judged by {self.label} rules ({how})"

    @property
    def note(self) -> str:
        """Whether those rules are draft text or second-hand, in words."""
        if self.mode == "auto" or not self.public:
            return second_hand_note()
        rev = REVISIONS.get(self.revision)
        draft = rev.draft if rev is not None else f"draft-ietf-dkim-dkim2-spec-{self.revision}"
        return f"The {self.label} rules are the public text of {draft}."


def judged_by(chain: Mapping[str, Any] | None) -> JudgedBy | None:
    """Which revision judged the chain; None when the message carried no DKIM2."""
    if not isinstance(chain, Mapping):
        return None
    if not chain.get("hops") and chain.get("result") in (None, "none"):
        return None
    number = str(chain.get("revision") or BEFORE_REVISIONS)
    return JudgedBy(
        revision=number,
        mode="auto" if chain.get("revision_mode") == "auto" else "fixed",
        inferred=bool(chain.get("revision_inferred")),
        public=_is_public(number),
    )


# -- auto: every revision side by side ------------------------------------------------------------


def level_words(revision: str, level: str) -> str:
    """A verification level in the revision's own words ("Fully Verified" in -08)."""
    rev = REVISIONS.get(revision)
    words = LEVEL_WORDS.get(rev.verification_levels if rev is not None else "", {})
    return words.get(level, level.replace("-", " "))


@dataclass
class RevisionRow:
    revision: str
    draft: str
    public: bool
    result: str
    level: str
    judging: bool  # the revision whose rules gave the verdict
    first_problem: str

    @property
    def label(self) -> str:
        return label(self.revision)

    @property
    def result_label(self) -> str:
        return result_label(self.result)

    @property
    def badge(self) -> str:
        return self.result if self.result in _BADGES else "none"

    @property
    def level_words(self) -> str:
        return level_words(self.revision, self.level)

    @property
    def standing(self) -> str:
        return "public draft text" if self.public else "second-hand"


@dataclass
class RuleView:
    id: str
    title: str
    source: str


@dataclass
class SplitView:
    older: str
    newer: str
    sentence: str
    rules: list[RuleView]


@dataclass
class FingerprintView:
    hop: int | None
    domain: str
    sentence: str


@dataclass
class RevisionsView:
    judge: str  # "09"
    rows: list[RevisionRow]
    splits: list[SplitView]
    fingerprints: list[FingerprintView]
    note: str = field(default_factory=second_hand_note)

    @property
    def judge_label(self) -> str:
        return label(self.judge)

    @property
    def compared(self) -> str:
        """ "-06, -07 and -08"."""
        return _join([r.label for r in self.rows if not r.judging])

    @property
    def agree(self) -> bool:
        return len({r.result for r in self.rows}) <= 1


def _text(value: Any) -> str:
    return str(value) if value is not None else ""


def _is_public(number: str) -> bool:
    """The revision's draft text is public (an unknown revision counts as second-hand)."""
    rev = REVISIONS.get(number)
    return rev is not None and rev.text_public


def revisions_view(chain: Mapping[str, Any] | None) -> RevisionsView | None:
    """Every revision's outcome for an auto run; None for a run judged by one revision."""
    if not isinstance(chain, Mapping) or chain.get("revision_mode") != "auto":
        return None
    judge = str(chain.get("revision") or NEWEST)
    rows = [
        RevisionRow(
            revision=number,
            draft=_text(o.get("draft")),
            public=_is_public(number),
            result=str(o.get("result") or "none"),
            level=str(o.get("level") or "none"),
            judging=number == judge,
            first_problem=_text(o.get("first_problem")),
        )
        for o in chain.get("revisions") or []
        if isinstance(o, Mapping) and (number := _text(o.get("revision")))
    ]
    if len(rows) < 2:
        return None  # nothing was compared (no DKIM2, or not a message)
    splits = []
    for s in chain.get("splits") or []:
        if not isinstance(s, Mapping):
            continue
        ids = [str(r) for r in s.get("rules") or []]
        titles = [str(t) for t in s.get("rule_titles") or []]
        sources = [str(t) for t in s.get("sources") or []]
        splits.append(
            SplitView(
                older=_text(s.get("older")),
                newer=_text(s.get("newer")),
                sentence=_text(s.get("sentence")),
                rules=[
                    RuleView(
                        id=rule,
                        title=titles[k] if k < len(titles) else RULE_TITLES.get(rule, rule),
                        source=sources[k] if k < len(sources) else "",
                    )
                    for k, rule in enumerate(ids)
                ],
            )
        )
    return RevisionsView(
        judge=judge,
        rows=rows,
        splits=splits,
        fingerprints=fingerprint_views(chain),
    )


def fingerprint_views(chain: Mapping[str, Any] | None) -> list[FingerprintView]:
    if not isinstance(chain, Mapping):
        return []
    return [
        FingerprintView(
            hop=f.get("hop") if isinstance(f.get("hop"), int) else None,
            domain=_text(f.get("domain")),
            sentence=_text(f.get("sentence")),
        )
        for f in chain.get("fingerprints") or []
        if isinstance(f, Mapping) and f.get("sentence")
    ]


def fingerprint_by_hop(chain: Mapping[str, Any] | None) -> dict[int, str]:
    """Each hop's fingerprint sentence, for its card in the timeline."""
    return {f.hop: f.sentence for f in fingerprint_views(chain) if f.hop is not None}


# -- From-Authentic ----------------------------------------------------------------------------


@dataclass
class FromCheckRow:
    instance: int | None
    hop: int | None
    from_domains: list[str]
    domain: str  # the introducing hop's d=
    outcome: str
    why: str

    @property
    def words(self) -> str:
        return FROM_OUTCOME_WORDS.get(self.outcome, self.outcome)

    @property
    def badge(self) -> str:
        return _FROM_OUTCOME_BADGES.get(self.outcome, "none")


@dataclass
class FromChecksView:
    revision: str
    rows: list[FromCheckRow]
    source: str  # the rule's source, in words

    @property
    def label(self) -> str:
        return label(self.revision)


def from_checks_view(chain: Mapping[str, Any] | None) -> FromChecksView | None:
    """The From-Authentic outcomes of the judging revision; None where it checked none."""
    if not isinstance(chain, Mapping):
        return None
    rows = [
        FromCheckRow(
            instance=c.get("instance") if isinstance(c.get("instance"), int) else None,
            hop=c.get("hop") if isinstance(c.get("hop"), int) else None,
            from_domains=[str(d) for d in c.get("from_domains") or []],
            domain=_text(c.get("d")),
            outcome=str(c.get("outcome") or "not-evaluated"),
            why=_text(c.get("why")),
        )
        for c in chain.get("from_checks") or []
        if isinstance(c, Mapping)
    ]
    if not rows:
        return None
    number = str(chain.get("revision") or NEWEST)
    rev = REVISIONS.get(number)
    source = rev.source("from_authentic").text() if rev is not None else ""
    return FromChecksView(revision=number, rows=rows, source=source)
