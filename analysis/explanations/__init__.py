"""Explanation entries, one module per mechanism; :mod:`analysis.catalogue` joins them.

An :class:`Explanation` is written for a postmaster who has never read the specification:
what the verifier checked, what it found in this message, the likely causes (most likely
first), who should do what, and where the rule is written.  The placeholders of
``found_template`` and the meaning of ``responsible`` are described in
:mod:`analysis.catalogue`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROVISIONAL", "RESPONSIBLE", "SEVERITY_HINTS", "Explanation"]

RESPONSIBLE = frozenset(
    {"signer", "intermediary", "dns", "receiver", "implementer", "sender", "analyser", "none"}
)

#: Allowed values of :attr:`Explanation.severity_hint`.
SEVERITY_HINTS = frozenset({"error", "warning", "info"})


@dataclass(frozen=True)
class Explanation:
    code: str
    title: str  # short, plain English
    checked: str  # what the verifier checked
    found_template: str  # what was found; {hop} {instance} {detail} {message}
    likely_causes: tuple[str, ...]  # most likely first
    fix: str  # who should do what
    responsible: str  # one of RESPONSIBLE
    spec: str  # e.g. "S06 §11.6"
    severity_hint: str  # "error", "warning" or "info"
    #: How firm the rule and its wording are: "" for draft text the engine has read;
    #: otherwise a sentence, e.g. for rules of -07..-09 known only from implementations.
    standing: str = ""


#: The standing of a rule of -07, -08 or -09 (SPEC-09-NOTES: second-hand, text not public).
PROVISIONAL = (
    "Provisional: the text of draft-ietf-dkim-dkim2-spec-07 to -09 is not public; this rule "
    "and its wording come from implementations' release notes and code (SPEC-09-NOTES)."
)
