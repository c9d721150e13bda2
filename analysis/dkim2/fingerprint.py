"""Which revision each signer follows, from the evidence its hop leaves in the message.

For every hop: the revisions under whose rules the hop verifies (from the walks of
:mod:`analysis.dkim2.compare`), and clues that bound the revisions its signing software can
follow, each from something the message carries:

=====================================  ==========================================
evidence                               the signer follows
=====================================  ==========================================
``|`` groups in ``s=`` or ``h=``       -08 or later (SPEC-09-NOTES 1.1, 1.2)
an ``mldsa44`` signature               -08 or later (1.4)
a ``"u"`` step in its recipe           -07 or later (1.9)
``donotmodify``/``donotexplode``       -06 (gone in -07, 1.5)
Auto-Submitted/VBR-Info unsigned       -06 or -07 (signed again from -08, 1.8)
Auto-Submitted/VBR-Info signed         -08 or later
a null body recipe                     -08 or earlier (a -09 signer refuses, 1.6)
a From it is not Authentic for         -08 or earlier (a -09 signer refuses, 1.7)
``f=exploded`` on the first signature  -08 or earlier (1.14)
=====================================  ==========================================

The sentence says what a postmaster needs: which rules the hop was signed by, which
receivers fail it, and whose software needs upgrading (the signer's when newer receivers
fail it, the receivers' when older ones do).
"""

from __future__ import annotations

from ..findings import State
from .authentic import NOT_AUTHENTIC
from .report import HopFingerprint, HopReport
from .revisions import ORDER, REVISIONS
from .structure import Prepared
from .walk import Walk

#: Header fields whose place in the unsigned list changed in -08.
_MOVED_FIELDS = ("auto-submitted", "vbr-info")


def _label(numbers: list[str]) -> str:
    """ "-06", "-06 or -07", "-07 to -09"."""
    if not numbers:
        return "no revision"
    if len(numbers) == 1:
        return f"-{numbers[0]}"
    if len(numbers) == 2:
        return f"-{numbers[0]} or -{numbers[1]}"
    return f"-{numbers[0]} to -{numbers[-1]}"


def _between(lo: str, hi: str) -> list[str]:
    return [n for n in ORDER if lo <= n <= hi]


def fingerprint_hops(
    judge: Prepared, runs: dict[str, tuple[Walk, list[HopReport]]]
) -> list[HopFingerprint]:
    out: list[HopFingerprint] = []
    numbers = [n for n in ORDER if n in runs]
    # Per revision: hop -> (result, first problem).  Revisions that took the judging outcome
    # share its hop list, read once.
    tables: dict[int, dict[int, tuple[State, str | None]]] = {}
    by_revision: dict[str, dict[int, tuple[State, str | None]]] = {}
    for n in numbers:
        hops = runs[n][1]
        if id(hops) not in tables:
            tables[id(hops)] = {h.hop: (h.result, _problem(h)) for h in hops}
        by_revision[n] = tables[id(hops)]
    not_authentic = _not_authentic_from(runs)
    named: set[int] = set()  # instances an earlier hop's m= names
    for i, sig in sorted(judge.signatures.items()):
        passes = [n for n in numbers if by_revision[n].get(i, (None, None))[0] == State.PASS]
        clues: list[tuple[str, str, str]] = []  # (text, lowest, highest)
        if sig.uses_groups:
            clues.append(("uses '|' signature groups", "08", ORDER[-1]))
        if any(s.algorithm == "mldsa44" for s in sig.sig_sets):
            clues.append(("signs with ML-DSA-44", "08", ORDER[-1]))
        used = [f for f in sig.flags if f in ("donotmodify", "donotexplode")]
        if used:
            clues.append((f"asks {', '.join(used)}", ORDER[0], "06"))
        if i == 1 and "exploded" in sig.flag_set:
            clues.append(("sets f=exploded on the first signature", ORDER[0], "08"))
        # The instance hop i added: its m=, when no earlier hop names it.
        if sig.instance not in named:
            clues.extend(_instance_clues(judge, sig.instance, runs))
        named.add(sig.instance)
        if i in not_authentic:
            clues.append(not_authentic[i])
        lo = max([c[1] for c in clues], default=ORDER[0])
        hi = min([c[2] for c in clues], default=ORDER[-1])
        signer = _between(lo, hi)
        texts = [c[0] for c in clues]
        first_problem = {
            n: problem for n in numbers if (problem := by_revision[n].get(i, (None, None))[1])
        }
        out.append(
            HopFingerprint(
                hop=i,
                domain=sig.domain,
                passes_under=passes,
                signer_revisions=signer,
                clues=texts,
                sentence=_sentence(i, sig.domain, numbers, passes, signer, texts, first_problem),
            )
        )
    return out


def _instance_clues(
    judge: Prepared, m: int, runs: dict[str, tuple[Walk, list[HopReport]]]
) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    mi = judge.instances.get(m)
    if mi is not None and mi.uses_groups:
        out.append(("uses '|' hash groups", "08", ORDER[-1]))
    recipe = judge.recipes.get(m)
    if recipe is not None:
        if recipe.uses_octets:
            out.append(('records non-UTF-8 octets with a "u" recipe step', "07", ORDER[-1]))
        if recipe.body_null:
            out.append(("records a null body recipe", ORDER[0], "08"))
    # The unsigned-field list: compare the instance's header hash under -07 and -08 rules.
    old, new = runs.get("07"), runs.get("08")
    # One walk for both (the same outcome): its header hashes match alike, no clue.
    if old is not None and new is not None and old[0] is not new[0]:
        inst = old[0].instances.get(m)
        present = sorted(
            {f.name for f in (inst.fields if inst else []) if f.lname in _MOVED_FIELDS}
        )
        if present:
            under_old = _header_match(old[0], m)
            under_new = _header_match(new[0], m)
            names = " and ".join(present)
            if under_old and not under_new:
                out.append((f"left {names} unsigned", ORDER[0], "07"))
            elif under_new and not under_old:
                out.append((f"signed {names}", "08", ORDER[-1]))
    return out


def _header_match(walk: Walk, m: int) -> bool:
    inst = walk.instances.get(m)
    checks = [c for c in (inst.checks if inst else []) if c.part == "header"]
    return bool(checks) and any(c.match for c in checks)


def _not_authentic_from(
    runs: dict[str, tuple[Walk, list[HopReport]]],
) -> dict[int, tuple[str, str, str]]:
    """The clue of each hop that signed a From it is not Authentic for (under the newest
    revision's walk), by hop."""
    newest = next((runs[n][0] for n in reversed(ORDER) if n in runs), None)
    out: dict[int, tuple[str, str, str]] = {}
    for check in newest.from_checks if newest is not None else []:
        if check.outcome == NOT_AUTHENTIC and check.hop is not None and check.hop not in out:
            out[check.hop] = (
                f"signed a From ({', '.join(check.from_domains)}) it is not Authentic for",
                ORDER[0],
                "08",
            )
    return out


def _problem(hop: HopReport) -> str | None:
    """The failure string that decided the hop's result, if it did not pass."""
    return next(
        (f.message for f in hop.findings if f.affects_verdict and f.state == hop.result), None
    )


def _sentence(
    i: int,
    domain: str,
    numbers: list[str],
    passes: list[str],
    signer: list[str],
    clues: list[str],
    problems: dict[str, str],
) -> str:
    who = f"{domain} (hop {i})"
    because = f" ({'; '.join(clues)})" if clues else ""
    signer_words = f"{_label(signer)} rules" if signer else "rules of several revisions at once"
    if passes == numbers:
        if clues:
            return f"{who} signed by {signer_words}{because}; it verifies under every revision."
        return f"{who} verifies under every revision ({_label(numbers)})."
    if not passes:
        newest = numbers[-1]
        problem = problems.get(newest) or next(iter(problems.values()), "see its findings")
        return (
            f"{who} fails under every revision ({_label(numbers)}): {problem}"
            + (f". Its signature shows: {'; '.join(clues)}" if clues else "")
            + "."
        )
    failing = [n for n in numbers if n not in passes]
    newer_fail = [n for n in failing if n > max(passes)]
    older_fail = [n for n in failing if n < min(passes)]
    words = signer_words if signer else f"{_label(passes)} rules"
    if signer and not set(signer) & set(passes):
        words = f"{_label(passes)} rules"
    parts: list[str] = []
    if newer_fail:
        first = newer_fail[0]
        later = "" if first == ORDER[-1] else " or later"
        reason = problems.get(first, "")
        parts.append(
            f"{who} signed by {words}{because}; an -{first}{later} receiver fails this hop"
            + (f" ({reason})" if reason else "")
            + f": {domain}'s DKIM2 software needs upgrading"
        )
    if older_fail:
        reason = problems.get(older_fail[-1], "")
        text = (
            f"{who} follows {words}{because}; {_label(older_fail)} receivers fail this hop"
            + (f" ({reason})" if reason else "")
            + ": the signer is current, those receivers' software needs upgrading"
        )
        parts.append(text if not parts else text[len(who) + 1 :])
    return "; ".join(parts) + "."


__all__ = ["REVISIONS", "fingerprint_hops"]
