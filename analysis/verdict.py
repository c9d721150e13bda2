"""One verdict for the whole message: would it be trusted, and if not, who broke what.

Theory of operation
-------------------
The mechanisms answer narrow questions (does this DKIM1 signature verify, is this
server allowed to send for that domain, does the DKIM2 chain hold).  A postmaster asks a
wider one: would a receiver trust the message as coming from its From domain, and if
not, which hop broke what.  RFC 9989 (DMARC) is the receivers' own answer to that
question, so the verdict follows DMARC and explains it with the other mechanisms:

=========================================  ===========  =====================================
what was found                              result       trusted
=========================================  ===========  =====================================
the input is not a message at all           permerror    unknown
no signature, no ARC, SPF none, no DMARC    none         unknown ("no authentication at all")
DMARC pass                                  pass         yes
DMARC fail                                  fail         no (an ARC override is named)
DMARC temperror / permerror                 same word    unknown
no DMARC record; an aligned pass            pass         yes, but the domain is unprotected
no DMARC record; passes, none aligned       neutral      not for the From domain
no DMARC record; nothing passes             fail         no (or temperror when DNS failed)
=========================================  ===========  =====================================

"DMARC" here counts a passing, aligned DKIM2 hop as DKIM does (the DMARC module reports
both that and the result of a receiver that follows RFC 9989 alone, which does not count
DKIM2 yet; SPEC-NOTES §8.3).

The headline is one sentence in plain words (:mod:`analysis.headline` words it): what the
receiver would conclude, what happened, and who must act.  The findings it rests on are the
verdict's ``evidence`` (their codes, failure strings and spec references), kept beside the
headline and never in it; information notes (a line-end conversion, say) are never
evidence.  ``points`` adds, most important first: the DKIM2 chain when it contradicts the
headline (DKIM2 is the subject of this tool), where an ARC chain let a receiver deliver a
message that failed DMARC, and every disagreement between what the receiving system
wrote into the message (its trusted Authentication-Results) and what re-verification
finds now, each with its likely cause: the body or a signed field changed after the
receiver checked it, a key rotated or removed since, a signature expired since, DNS
failing now, or a different envelope reconstructed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import headline as words
from . import limits
from .findings import Finding, Severity, State, Step, note

if TYPE_CHECKING:
    from .arc import ArcReport
    from .authres import MethodResult, ReceiverClaims
    from .dkim1 import Dkim1Report, Dkim1Signature
    from .dkim2.report import ChainReport
    from .dmarc import DmarcReport
    from .spf import SpfReport

__all__ = ["Disagreement", "MechanismLine", "Verdict", "judge"]

#: The result words of the whole message (the AnalysisRun result column).
RESULTS = ("pass", "fail", "neutral", "temperror", "permerror", "none")

# The finding code of a disagreement, by mechanism (literals, so the catalogue test sees them).
_DISAGREEMENT_CODES = {
    "dkim1": "verdict.disagrees-dkim1",
    "spf": "verdict.disagrees-spf",
    "arc": "verdict.disagrees-arc",
    "dmarc": "verdict.disagrees-dmarc",
    "dkim2": "verdict.disagrees-dkim2",
}
_LABELS = {"dkim2": "DKIM2", "dkim1": "DKIM1", "arc": "ARC", "spf": "SPF", "dmarc": "DMARC"}
# The Authentication-Results method of each mechanism (RFC 8601 registry; dkim2: AR00).
_METHODS = {"dkim2": "dkim2", "dkim1": "dkim", "arc": "arc", "spf": "spf", "dmarc": "dmarc"}


@dataclass
class MechanismLine:
    """One row of the side-by-side table: our re-verification and the receiver's claim."""

    mechanism: str  # dkim2, dkim1, arc, spf, dmarc
    label: str
    result: str  # what dkim2web found now
    summary: str
    claimed: str | None = None  # what the final receiver wrote (None: it wrote nothing)
    claimed_by: str | None = None  # its authserv-id

    comparable: bool = True  # False: the claim is about something else (see _lines)

    @property
    def agrees(self) -> bool | None:
        """None without a comparable claim; False when one side passes and the other does
        not (two different failures tell the same story)."""
        if self.claimed is None or not self.comparable:
            return None
        return not _flips(self.claimed, self.result)

    def to_json(self) -> dict[str, Any]:
        return {
            "mechanism": self.mechanism,
            "label": self.label,
            "result": self.result,
            "summary": self.summary,
            "claimed": self.claimed,
            "claimed_by": self.claimed_by,
            "agrees": self.agrees,
            "comparable": self.comparable,
        }


@dataclass
class Disagreement:
    """The receiver's recorded result and the re-verification differ, and why, likely."""

    mechanism: str
    subject: str  # "DKIM1 signature of news.example (s=sel)", "SPF", ...
    claimed: str
    found: str
    cause: str  # one sentence: the likely cause

    def to_json(self) -> dict[str, Any]:
        return {
            "mechanism": self.mechanism,
            "subject": self.subject,
            "claimed": self.claimed,
            "found": self.found,
            "cause": self.cause,
        }


@dataclass
class Verdict:
    result: str  # one of RESULTS
    trusted: bool | None
    headline: str
    points: list[str] = field(default_factory=list)
    mechanisms: list[MechanismLine] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: The DKIM2 revision whose rules judged the chain ("09"), or None without DKIM2.
    dkim2_revision: str | None = None
    #: The findings the headline rests on, most telling first (the mechanisms' own findings:
    #: their codes, failure strings and spec references, shown under the headline).
    evidence: list[Finding] = field(default_factory=list)
    #: The headline blames this copy of the message (a change copying makes), not a hop.
    copy: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "trusted": self.trusted,
            "headline": self.headline,
            "points": list(self.points),
            "mechanisms": [m.to_json() for m in self.mechanisms],
            "disagreements": [d.to_json() for d in self.disagreements],
            "findings": [f.to_json() for f in self.findings],
            "dkim2_revision": self.dkim2_revision,
            "evidence": [_evidence_json(f) for f in self.evidence[: limits.MAX_VERDICT_EVIDENCE]],
            "copy": self.copy,
        }


def _evidence_json(finding: Finding) -> dict[str, Any]:
    data = finding.to_json()
    data.pop("data", None)
    return data


# -- the decision ---------------------------------------------------------------------------


def judge(
    *,
    dkim2: ChainReport,
    dkim1: Dkim1Report | None,
    arc: ArcReport | None,
    spf: SpfReport | None,
    dmarc: DmarcReport | None,
    receivers: ReceiverClaims | None,
    fatal: bool = False,
) -> Verdict:
    """The verdict of the whole message from every mechanism's report (see module docs).

    ``None`` for a mechanism means it was not run (the input is not a message).
    """
    lines = _lines(dkim2, dkim1, arc, spf, dmarc, receivers)
    disagreements = _disagreements(dkim2, dkim1, arc, spf, dmarc, receivers)
    if fatal or dkim1 is None or arc is None or spf is None or dmarc is None:
        reason = dkim2.summary.split(": ", 1)[-1] if dkim2.summary else "see the findings"
        verdict = Verdict(
            "permerror",
            None,
            "Not analysed: the input could not be read as an e-mail message; upload the "
            "message file as it was received.",
            mechanisms=lines,
        )
        refused = Finding(
            "verdict.not-a-message",
            State.PERMERROR,
            "The input could not be analysed as a message",
            Step.VERDICT,
            detail=reason,
            spec="RFC 5322 §2.1",
        )
        verdict.findings.append(refused)
        cause = [f for f in dkim2.findings if f.affects_verdict][:1]
        verdict.evidence = [*cause, refused]
        return verdict

    verdict = _decide(dkim2, dkim1, arc, spf, dmarc)
    verdict.mechanisms = lines
    verdict.disagreements = disagreements
    override = receivers.arc_override if receivers is not None else None
    if override:
        verdict.points.insert(0, override)
    dkim2_point = _dkim2_point(dkim2, verdict)
    told = any(f is g for f in verdict.evidence for g in dkim2.findings)
    if dkim2_point:
        verdict.dkim2_revision = dkim2.revision
        if dkim2.result == State.PASS or not told:
            verdict.points.insert(0, dkim2_point)
        else:
            # The headline already gives the DKIM2 cause: name the rules that judged it.
            verdict.points.insert(0, f"DKIM2 was judged by -{dkim2.revision} rules." + _also(dkim2))
    for d in disagreements:
        verdict.points.append(
            f"{d.subject}: the receiving system recorded {d.claimed}, re-verification "
            f"finds {d.found}. {d.cause}"
        )
        verdict.findings.append(
            note(
                _DISAGREEMENT_CODES[d.mechanism],
                f"{d.subject}: recorded {d.claimed}, found {d.found}",
                Step.VERDICT,
                detail=f"{d.subject}: the receiver recorded {d.claimed}, "
                f"re-verification finds {d.found}; {d.cause}",
                spec="RFC 8601 §7",
            )
        )
    return verdict


def _decide(
    dkim2: ChainReport,
    dkim1: Dkim1Report,
    arc: ArcReport,
    spf: SpfReport,
    dmarc: DmarcReport,
) -> Verdict:
    from_domain = words.name(dmarc.author_domain, "the From domain")
    dmarc_evidence = [f for f in dmarc.findings if f.affects_verdict]
    if _nothing_at_all(dkim2, dkim1, arc, spf, dmarc):
        return Verdict(
            "none",
            None,
            "No authentication at all: the message carries no DKIM1, DKIM2 or ARC signature, "
            f"and neither SPF nor DMARC could vouch for {from_domain}; if it is genuine, the "
            f"mail administrator of {from_domain} should set up DKIM, SPF and DMARC.",
            findings=[
                note(
                    "verdict.no-authentication",
                    "The message carries no authentication",
                    Step.VERDICT,
                    severity=Severity.WARNING,
                    detail=f"no signature of any kind; SPF {spf.result}; DMARC {dmarc.result}",
                    spec="RFC 9989 §4",
                )
            ],
            evidence=dmarc_evidence,
        )
    passing = [a for a in dmarc.alignment if a.passed and a.aligned and a.counts]
    passing_with_dkim2 = [a for a in dmarc.alignment if a.passed and a.aligned]
    how, several = words.vouchers(passing_with_dkim2)
    vouch = "vouch" if several else "vouches"

    if dmarc.result == "pass":
        if dkim2.hops and dkim2.result != State.PASS:
            broken = words.dkim2_cause(dkim2)
            who = f"but its DKIM2 chain fails because {broken.what}; {broken.who}"
            evidence = list(broken.evidence)
        elif not passing:
            who = (
                f"{from_domain} should keep signing with DKIM1 too, for receivers that do not "
                "count DKIM2 yet"
            )
            evidence = []
        else:
            who, evidence = "nobody needs to act", []
        headline = f"Trusted: {how} {vouch} for {from_domain}, so DMARC passes; {who}."
        headline = headline.replace("passes; but", "passes, but")
        verdict = Verdict("pass", True, headline, evidence=evidence)
        if not passing:
            verdict.points.append(
                "Only DKIM2 authenticates the From domain: receivers that follow RFC 9989 alone, "
                "which does not count DKIM2 yet, would fail DMARC."
            )
        _add_finding(verdict, "verdict.trusted", State.PASS, headline)
        return verdict

    if dmarc.result == "fail":
        causes, more = _failure_causes(dkim2, dkim1, spf, dmarc)
        first = causes[0]
        asked = "" if first.copy else _policy_words(dmarc)
        headline = f"Not trusted: {first.what}{asked}; {first.who}."
        evidence = [*first.evidence, *(f for f in dmarc_evidence if f not in first.evidence)]
        verdict = Verdict("fail", False, headline, points=more, evidence=evidence, copy=first.copy)
        _add_finding(verdict, "verdict.not-trusted", State.FAIL, headline)
        return verdict

    if dmarc.result in ("temperror", "permerror"):
        word = "temporarily" if dmarc.result == "temperror" else "permanently"
        reason = (dmarc.summary or "").split(" — ", 1)[-1]
        headline = (
            f"Not decided: DMARC could not be evaluated for {from_domain} ({word}): "
            f"{_first_sentence(reason)}"
        )
        verdict = Verdict(dmarc.result, None, headline, evidence=dmarc_evidence)
        code = "verdict.undecided-dns" if dmarc.result == "temperror" else "verdict.undecided"
        _add_finding(verdict, code, State(dmarc.result), headline)
        return verdict

    # No DMARC policy: judge by the identifiers themselves (RFC 9989 §4: nothing enforced).
    aligned = [a for a in dmarc.alignment if a.passed and a.aligned]
    any_pass = [a for a in dmarc.alignment if a.passed]
    unprotected = (
        f"{from_domain} publishes no DMARC policy, so receivers enforce nothing and anyone "
        "can send in its name unchallenged."
    )
    publish = (
        f"the DNS administrator of {from_domain} should publish a DMARC policy, so receivers "
        "can refuse forgeries"
    )
    if aligned:
        headline = f"Authenticated: {how} {vouch} for {from_domain}; {publish}."
        verdict = Verdict("pass", True, headline, points=[unprotected])
        _add_finding(verdict, "verdict.trusted", State.PASS, headline)
        return verdict
    if any_pass:
        others, several_others = words.vouchers(any_pass)
        headline = (
            f"Authenticated, but not as {from_domain}: {others} "
            f"{'vouch' if several_others else 'vouches'} only for other domains, and "
            f"{from_domain} publishes no DMARC policy; the mail administrator of {from_domain} "
            "should have its mail signed with its own domain."
        )
        verdict = Verdict("neutral", False, headline, points=[unprotected])
        verdict.findings.append(
            note(
                "verdict.not-aligned",
                "Authenticated only for other domains than the From domain",
                Step.VERDICT,
                detail=headline,
                spec="RFC 9989 §3.2.10",
            )
        )
        return verdict
    if _any_temporary(dkim1, spf, dkim2):
        headline = (
            "Not decided: DNS failed while checking the message's authentication; "
            "re-run the analysis once DNS answers."
        )
        temporary = [
            *(f for s in dkim1.signatures for f in s.findings if f.state == State.TEMPERROR),
            *(f for f in spf.findings if f.state == State.TEMPERROR),
            *(f for f in dkim2.findings if f.state == State.TEMPERROR),
        ]
        if _analyser_bound(dkim2) and not _dns_temporary(dkim1, spf, dkim2):
            headline = (
                "Not decided: dkim2web stopped checking the DKIM2 chain at one of its own "
                "limits, which is no fault of any signer; nobody needs to act."
            )
            temporary = [f for f in dkim2.findings if f.state == State.TEMPERROR]
        verdict = Verdict("temperror", None, headline, evidence=temporary)
        _add_finding(verdict, "verdict.undecided-dns", State.TEMPERROR, headline)
        return verdict
    causes, more = _failure_causes(dkim2, dkim1, spf, dmarc)
    first = causes[0]
    if first.what.startswith("nothing proves"):
        headline = f"Not trusted: {first.what}; {first.who}."
    else:
        headline = (
            f"Not trusted: {first.what}, and nothing else vouches for {from_domain}; {first.who}."
        )
    verdict = Verdict("fail", False, headline, points=[*more, unprotected])
    verdict.evidence = list(first.evidence)
    verdict.copy = first.copy
    _add_finding(verdict, "verdict.not-trusted", State.FAIL, headline)
    return verdict


def _add_finding(verdict: Verdict, code: str, state: State, headline: str) -> None:
    if state in (State.FAIL, State.PERMERROR, State.TEMPERROR):
        verdict.findings.append(
            Finding(code, state, headline, Step.VERDICT, detail=headline, spec="RFC 9989 §4.7")
        )
    else:
        verdict.findings.append(
            note(
                code,
                headline,
                Step.VERDICT,
                severity=Severity.INFO,
                detail=headline,
                spec="RFC 9989 §4.7",
            )
        )


def _nothing_at_all(
    dkim2: ChainReport, dkim1: Dkim1Report, arc: ArcReport, spf: SpfReport, dmarc: DmarcReport
) -> bool:
    return (
        not dkim2.hops
        and dkim2.result == State.NONE
        and not dkim1.signatures
        and not arc.instances
        and spf.result == "none"
        and dmarc.result == "none"
    )


def _any_temporary(dkim1: Dkim1Report, spf: SpfReport, dkim2: ChainReport) -> bool:
    return (
        any(s.result == "temperror" for s in dkim1.signatures)
        or spf.result == "temperror"
        or dkim2.result == State.TEMPERROR
    )


def _analyser_bound(dkim2: ChainReport) -> bool:
    """DKIM2 is temperror because one of the analyser's own bounds was reached."""
    return dkim2.result == State.TEMPERROR and any(
        f.state == State.TEMPERROR and f.code.startswith("limits.") for f in dkim2.findings
    )


def _dns_temporary(dkim1: Dkim1Report, spf: SpfReport, dkim2: ChainReport) -> bool:
    """Some mechanism is temperror because DNS failed (not because of an analyser bound)."""
    return (
        any(s.result == "temperror" for s in dkim1.signatures)
        or spf.result == "temperror"
        or any(
            f.state == State.TEMPERROR and not f.code.startswith("limits.") for f in dkim2.findings
        )
    )


def _policy_words(dmarc: DmarcReport) -> str:
    """What the From domain's DMARC policy asks receivers to do with it, as a clause."""
    disposition = str(getattr(dmarc, "disposition", "") or "")
    if disposition == "reject":
        return ", so receivers are asked to reject it"
    if disposition == "quarantine":
        return ", so receivers are asked to treat it as spam"
    return ""  # p=none asks only for reports: nothing follows for the mail itself


# What a failed step means, in a few words (analysis.dkim1 failed_step values).
_DKIM1_STEPS = {
    "body-hash": "the body changed after signing",
    "signature": "a signed header field changed after signing",
    "expired": "it has expired",
    "policy": "it uses an algorithm or key receivers refuse",
    "syntax": "it is malformed",
}


def _dkim1_cause(sig: Dkim1Signature) -> str:
    if sig.failed_step == "key":
        if sig.result == "temperror":
            return "its key could not be fetched"
        return "no usable key is published"
    return _DKIM1_STEPS.get(str(sig.failed_step), sig.result)


def _failure_causes(
    dkim2: ChainReport, dkim1: Dkim1Report, spf: SpfReport, dmarc: DmarcReport
) -> tuple[list[words.Cause], list[str]]:
    """Which identifier broke and how (who broke what): each cause in plain words, the first
    for the headline, and the others, as the mechanisms word them, as a point of their own
    (or none)."""
    parts: list[tuple[words.Cause, str]] = []
    author = words.name(dmarc.author_domain, "the From domain")
    dmarc_evidence = [f for f in dmarc.findings if f.affects_verdict]
    failing = [s for s in dkim1.signatures if s.result != "pass"]
    passing = [s for s in dkim1.signatures if s.result == "pass"]
    by_cause: dict[str, list[Dkim1Signature]] = {}
    for sig in failing:
        by_cause.setdefault(_dkim1_cause(sig), []).append(sig)
    for cause, sigs in list(by_cause.items())[:2]:
        domains: list[str] = []
        for sig in sigs:
            if sig.domain and sig.domain not in domains:
                domains.append(sig.domain)
        who = words.join(domains[:3]) or "an unreadable domain"
        parts.append((words.dkim1_cause(sigs), f"DKIM1 for {who} fails: {cause}"))
    unaligned = [s.domain for s in passing if s.domain and not _aligned(dmarc, "dkim", s.domain)]
    if unaligned:
        parts.append(
            (
                words.unaligned_cause(unaligned, author, dmarc_evidence),
                f"DKIM1 passes only for {words.join(unaligned[:3])}, not {author}",
            )
        )
    if dkim2.hops and dkim2.result != State.PASS:
        parts.append((words.dkim2_cause(dkim2), f"the DKIM2 chain fails ({_dkim2_reason(dkim2)})"))
    spf_evidence = [f for f in spf.findings if f.affects_verdict] or dmarc_evidence
    if spf.result == "pass":
        if not _aligned(dmarc, "spf", spf.domain):
            parts.append(
                (
                    words.spf_cause("pass", spf.domain, author, False, spf_evidence),
                    f"SPF passes for {spf.domain}, not {author}",
                )
            )
    elif spf.ip or spf.result != "none":
        parts.append(
            (
                words.spf_cause(spf.result, spf.domain, author, False, spf_evidence),
                f"SPF is {spf.result} for {spf.domain or 'the envelope sender'}",
            )
        )
    if not parts:
        return [words.nothing_aligned_cause(author)], []
    if len(parts) == 1:
        return [parts[0][0]], []
    others = "; ".join(text for _, text in parts[1:5])
    return [cause for cause, _ in parts], [f"Also: {others}."]


def _aligned(dmarc: DmarcReport, mechanism: str, domain: str | None) -> bool:
    return any(
        a.mechanism == mechanism and a.domain == domain and a.aligned for a in dmarc.alignment
    )


def _dkim2_reason(dkim2: ChainReport) -> str:
    summary = dkim2.summary or ""
    reason = summary.split(": ", 1)[1] if ": " in summary else summary or dkim2.result.value
    return re.sub(r" \(\d+ hops?\)$", "", reason)


def _dkim2_point(dkim2: ChainReport, verdict: Verdict) -> str | None:
    """DKIM2 beside the headline: said whenever the message has DKIM2 fields."""
    if not dkim2.hops and dkim2.result == State.NONE:
        return None
    n = len(dkim2.hops)
    rules = f"-{dkim2.revision} rules"
    hops = f"{n} hop{'s' if n != 1 else ''}, {rules}"
    also = _also(dkim2)
    if dkim2.result == State.PASS:
        return f"DKIM2: {_dkim2_reason(dkim2)} ({rules}).{also}"
    reason = _dkim2_reason(dkim2)
    if verdict.result == "pass":
        return f"But the DKIM2 chain fails: {reason} ({hops}).{also}"
    return f"DKIM2: the chain fails: {reason} ({hops}).{also}"


def _also(dkim2: ChainReport) -> str:
    """Where older revisions judge the chain otherwise, what they say and the splitting rule."""
    older = [o for o in dkim2.revisions if o.result != dkim2.result]
    if not older or not dkim2.splits:
        return ""
    last = dkim2.splits[-1]
    words = _join([f"-{o.revision}" for o in older])
    text = f" Under {words} rules the chain would be {older[-1].result.value}" + (
        f" (the rule that splits them: {last.rule_titles[0]})." if last.rule_titles else "."
    )
    # The signers whose software an up-to-date receiver fails, named (analysis.dkim2
    # .fingerprint): the one thing to fix when the chain fails only under newer rules.
    behind = [
        f
        for f in dkim2.fingerprints
        if f.passes_under
        and dkim2.revision not in f.passes_under
        and f.signer_revisions
        and max(f.signer_revisions) < dkim2.revision
    ]
    for f in behind[:3]:
        text += (
            f" {f.domain} (hop {f.hop}) signs by {_revision_words(f.signer_revisions)} rules: "
            "its DKIM2 software needs upgrading."
        )
    return text


def _revision_words(numbers: Sequence[str]) -> str:
    labels = [f"-{n}" for n in numbers]
    return labels[0] if len(labels) == 1 else " or ".join([", ".join(labels[:-1]), labels[-1]])


def _first_sentence(text: str) -> str:
    text = (text or "").strip()
    return text if text.endswith(".") else text + "."


def _join(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# -- the side-by-side table and the disagreements ----------------------------------------------


def _claim(receivers: ReceiverClaims | None, method: str) -> tuple[str | None, str | None]:
    if receivers is None:
        return None, None
    claims = receivers.claims_for(method)
    if not claims:
        return None, None
    results = [c.result for c in claims]
    # Several results for one method (several signatures): "pass" if any passed, as the
    # receivers' own DMARC evaluation reads them.
    word = "pass" if "pass" in results else results[0]
    return word, receivers.receiver_authserv_id


def _lines(
    dkim2: ChainReport,
    dkim1: Dkim1Report | None,
    arc: ArcReport | None,
    spf: SpfReport | None,
    dmarc: DmarcReport | None,
    receivers: ReceiverClaims | None,
) -> list[MechanismLine]:
    found: list[tuple[str, str, str]] = [("dkim2", dkim2.result.value, dkim2.summary)]
    for name, report in (("dkim1", dkim1), ("arc", arc), ("spf", spf), ("dmarc", dmarc)):
        if report is not None:
            found.append((name, str(report.result), str(report.summary)))
    lines = []
    for name, result, summary in found:
        claimed, by = _claim(receivers, _METHODS[name])
        line = MechanismLine(name, _LABELS[name], result, summary, claimed, by)
        if name == "arc" and arc is not None and receivers is not None:
            # The receiver's arc= judged the chain before it added its own set.
            line.comparable = not _sealed_by_receiver(arc, receivers)
        lines.append(line)
    return lines


def _disagreements(
    dkim2: ChainReport,
    dkim1: Dkim1Report | None,
    arc: ArcReport | None,
    spf: SpfReport | None,
    dmarc: DmarcReport | None,
    receivers: ReceiverClaims | None,
) -> list[Disagreement]:
    if receivers is None:
        return []
    out: list[Disagreement] = _forged_claims(dkim2, dkim1, arc, spf, dmarc, receivers)
    if dkim1 is not None:
        out.extend(_dkim1_disagreements(dkim1, receivers.claims_for("dkim")))
    if spf is not None:
        out.extend(_spf_disagreement(spf, receivers.claims_for("spf")))
    if arc is not None and not _sealed_by_receiver(arc, receivers):
        claimed, _ = _claim(receivers, "arc")
        if claimed in ("pass", "fail", "none") and _flips(claimed, arc.result):
            out.append(
                Disagreement(
                    "arc",
                    "ARC",
                    claimed,
                    arc.result,
                    _arc_cause(claimed, arc),
                )
            )
    claimed2, _ = _claim(receivers, "dkim2")
    if claimed2 is not None and _flips(claimed2, dkim2.result.value):
        out.append(
            Disagreement(
                "dkim2",
                "DKIM2",
                claimed2,
                dkim2.result.value,
                "A DKIM2 key changed or the message changed after the receiver checked it, or "
                "the receiver follows another draft revision.",
            )
        )
    if dmarc is not None:
        claimed3, _ = _claim(receivers, "dmarc")
        if claimed3 is not None and _flips(claimed3, dmarc.result):
            causes = [d for d in out if d.mechanism in ("dkim1", "spf")]
            if claimed3 == dmarc.result_without_dkim2:
                cause = (
                    "The receiver follows RFC 9989 alone, which does not count DKIM2 yet; "
                    "dkim2web counts the DKIM2 chain, which vouches for the From domain."
                )
            elif causes:
                cause = "It follows from the differences above."
            else:
                cause = (
                    "The domain's DMARC record, or the records it depends on, changed since "
                    "the message was received."
                )
            out.append(Disagreement("dmarc", "DMARC", claimed3, dmarc.result, cause))
    return out


def _forged_claims(
    dkim2: ChainReport,
    dkim1: Dkim1Report | None,
    arc: ArcReport | None,
    spf: SpfReport | None,
    dmarc: DmarcReport | None,
    receivers: ReceiverClaims,
) -> list[Disagreement]:
    """An Authentication-Results field that cannot be trusted (the sender wrote it, or it
    was in the message before the receiver it names got it: RFC 8601 §5) and claims a pass
    that re-verification does not find: the claim a forger wanted to be believed."""
    found: dict[str, tuple[str, str] | None] = {
        "dkim2": ("dkim2", dkim2.result.value),
        "dkim": ("dkim1", dkim1.result) if dkim1 is not None else None,
        "arc": ("arc", arc.result) if arc is not None else None,
        "spf": ("spf", spf.result) if spf is not None else None,
        "dmarc": ("dmarc", dmarc.result) if dmarc is not None else None,
    }
    out: list[Disagreement] = []
    for field_ in receivers.fields:
        if field_.trust != "untrusted" or field_.kind != "Authentication-Results":
            continue
        for claim in field_.methods:
            ours = found.get(claim.method.lower())
            if ours is None or claim.result != "pass" or ours[1] == "pass":
                continue
            who = field_.authserv_id or "no authserv-id"
            out.append(
                Disagreement(
                    ours[0],
                    f"An Authentication-Results field that cannot be trusted ({who})",
                    claim.result,
                    ours[1],
                    f"It is forged or copied: {field_.trust_reason.rstrip('.')}.",
                )
            )
            if len(out) >= limits.MAX_VERDICT_FORGED_CLAIMS:
                return out
    return out


def _flips(claimed: str, found: str) -> bool:
    """The two results differ where it matters: one passes and the other does not (two
    different failures tell the same story: the identifier does not vouch)."""
    return (claimed == "pass") != (found == "pass")


def _sealed_by_receiver(arc: ArcReport, receivers: ReceiverClaims) -> bool:
    """The newest ARC set is the final receiver's own: its ``arc=`` result describes the
    chain as it arrived, before that set was added (RFC 8617 §5.1.1)."""
    if not arc.instances or not receivers.receiver_authserv_id:
        return False
    newest = max(arc.instances, key=lambda x: x.i)
    return (newest.aar_authserv_id or "").lower() == receivers.receiver_authserv_id.lower()


def _match_signature(
    claim: MethodResult, signatures: Sequence[Dkim1Signature]
) -> Dkim1Signature | None:
    props = claim.properties
    domain = (props.get("header.d") or "").lower()
    identity = (props.get("header.i") or "").lower()
    if not domain and "@" in identity:
        domain = identity.rsplit("@", 1)[1]
    selector = (props.get("header.s") or "").lower()
    prefix = props.get("header.b") or ""
    candidates = [s for s in signatures if (s.domain or "").lower() == domain] if domain else []
    if selector:
        candidates = [s for s in candidates if (s.selector or "").lower() == selector] or candidates
    if prefix and len(candidates) > 1:
        # RFC 6008: header.b is a prefix of the signature's b= value.
        by_b = [s for s in candidates if _b_value(s.raw).startswith(prefix)]
        candidates = by_b or candidates
    return candidates[0] if len(candidates) == 1 else (candidates[0] if candidates else None)


def _b_value(raw: str) -> str:
    text = "".join(raw.split())
    for part in text.split(";"):
        if part.startswith("b="):
            return part[2:]
    return ""


def _dkim1_disagreements(dkim1: Dkim1Report, claims: Sequence[MethodResult]) -> list[Disagreement]:
    out: list[Disagreement] = []
    for claim in claims:
        sig = _match_signature(claim, dkim1.signatures)
        if sig is None or not _flips(claim.result, sig.result):
            continue
        subject = f"DKIM1 signature of {sig.domain} (s={sig.selector})"
        out.append(
            Disagreement(
                "dkim1",
                subject,
                claim.result,
                sig.result,
                _dkim1_disagreement_cause(claim.result, sig),
            )
        )
    return out


def _dkim1_disagreement_cause(claimed: str, sig: Dkim1Signature) -> str:
    step = sig.failed_step
    if claimed == "pass":
        if step == "body-hash":
            return (
                "The body changed after the receiver checked it: whatever handled the message "
                "since delivery (a mail client, an archive, a security gateway, the export to "
                "a file) altered it."
            )
        if step == "signature":
            return (
                "A signed header field changed after the receiver checked it (a client or "
                "archive rewrote it, or the export re-folded or re-encoded it)."
            )
        if step == "key":
            if sig.result == "temperror":
                return "DNS could not be reached for the key now; re-run the analysis later."
            return (
                "The key was removed or replaced since the message was received: senders "
                "rotate DKIM keys, so old messages stop verifying."
            )
        if step == "expired":
            return "The signature has expired since the message was received (its x= time passed)."
        return "Something about the signature or its key changed since the message was received."
    if sig.result == "pass":
        return (
            "The receiver could not verify a signature that verifies now: a DNS failure at the "
            "time, a key published only afterwards, or a DKIM implementation that differs."
        )
    return "The receiver and dkim2web reached different failures for the same signature."


def _spf_disagreement(spf: SpfReport, claims: Sequence[MethodResult]) -> list[Disagreement]:
    if not claims or spf.ip is None:
        return []
    claim = claims[0]
    if not _flips(claim.result, spf.result):
        return []
    claimed_from = (claim.properties.get("smtp.mailfrom") or "").lower()
    ours = (spf.mail_from or "").strip("<>").lower()
    if claimed_from and ours and claimed_from.rsplit("@", 1)[-1] != ours.rsplit("@", 1)[-1]:
        cause = (
            f"The receiver checked MAIL FROM {claimed_from}; dkim2web checked "
            f"{ours or 'another identity'} ({spf.source_detail or spf.source})."
        )
    elif spf.source == "reconstructed":
        cause = (
            "The domain's SPF record changed since receipt, or the client address "
            "reconstructed from the Received fields is not the one the receiver saw."
        )
    else:
        cause = "The domain's SPF record changed since the message was received."
    return [Disagreement("spf", "SPF", claim.result, spf.result, cause)]


def _arc_cause(claimed: str, arc: ArcReport) -> str:
    if claimed == "pass" and arc.result == "fail":
        return (
            "An ARC key was rotated since, or the message changed after the receiver checked it"
            + (f" (the chain breaks at i={arc.broken_at})." if arc.broken_at else ".")
        )
    if claimed == "none" and arc.result != "none":
        return "The ARC sets were added after this receiver checked the message (a later hop)."
    return "The receiver and dkim2web read the ARC chain differently."
