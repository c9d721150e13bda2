"""The explanation catalogue: finding code -> what it means and who fixes it.

Every :class:`~analysis.findings.Finding` carries a stable ``code``; this
module maps each code to an :class:`Explanation` written for a postmaster who
has never read the draft: what the verifier checked, what it found in this
message, the likely causes (most likely first), who should do what, and where
the rule is written.  The catalogue is data -- one tuple of entries -- and
``tests/analysis/test_catalogue.py`` proves that every code the engine can
produce has an entry.

Rendering (:func:`explain`) fills ``found_template`` from the finding.  The
placeholders are:

* ``{hop}`` -- a noun phrase, "hop i=2", or "an unidentified hop" when the
  finding names no hop;
* ``{instance}`` -- "instance m=3", or "an unnumbered instance";
* ``{detail}`` -- the finding's detail without its final full stop, or "no
  further detail was recorded";
* ``{message}`` -- the finding's message (the S06 §11 failure string where the
  draft gives one).

Templates add their own full stop after ``{detail}``; the rendered text gets
a capital first letter, so a template may start with a placeholder.  Templates
use ``{detail}`` only where the engine always records one.

``responsible`` names whose action ends the problem:

* ``signer`` -- the operator of the signing domain (``d=``) of the hop concerned;
* ``intermediary`` -- a forwarder, mailing list or gateway between signers;
* ``dns`` -- the DNS administrator of the signing domain;
* ``receiver`` -- the receiving side: the MTA that accepted this copy, or
  whoever exported it for analysis;
* ``implementer`` -- the developer of the DKIM2 software that wrote the fields;
* ``sender`` -- the originating system (the author's application or first
  submission server);
* ``analyser`` -- dkim2web itself (its own bounds and lookups);
* ``none`` -- nobody: information only.

Section references use the tags of ``SPEC-NOTES.md`` (S06 =
draft-ietf-dkim-dkim2-spec-06, DNS00 = draft-ietf-dkim-dkim2-dns-00, BCP01 =
draft-ietf-dkim-dkim2-bcp-01).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .explanations import (
    RESPONSIBLE,
    SEVERITY_HINTS,
    Explanation,
    arc,
    dkim1,
    dkim2,
    dmarc,
    dsn,
    receivers,
    spf,
    verdict,
)
from .findings import Finding

__all__ = [
    "CATALOGUE",
    "ENTRIES",
    "RESPONSIBLE",
    "SEVERITY_HINTS",
    "Explanation",
    "codes",
    "explain",
]

#: Every entry of every mechanism, in the order the mechanisms are reported.
ENTRIES: tuple[Explanation, ...] = (
    *verdict.ENTRIES,
    *dkim2.ENTRIES,
    *dkim1.ENTRIES,
    *arc.ENTRIES,
    *spf.ENTRIES,
    *dmarc.ENTRIES,
    *receivers.ENTRIES,
    *dsn.ENTRIES,
)

CATALOGUE: Mapping[str, Explanation] = MappingProxyType({e.code: e for e in ENTRIES})

# -- rendering --------------------------------------------------------------------------------

#: What the fallback says was checked, by code family (the part before the dot).
_FAMILIES: Mapping[str, str] = MappingProxyType(
    {
        "message": "The analyser read the input as an e-mail message.",
        "limits": "The analyser applied one of its bounds on work.",
        "mi": "The verifier checked a Message-Instance field (S06 §7).",
        "sig": "The verifier checked a DKIM2-Signature field or its signatures (S06 §8, §11.6).",
        "key": "The verifier fetched and checked a public key (S06 §11.5).",
        "hash": "The verifier compared content hashes (S06 §6, §11.7).",
        "recipe": "The verifier applied a change recipe (S06 §5).",
        "custody": "The verifier checked the chain of custody (S06 §9, §11.4).",
        "envelope": "The verifier compared the chain with the SMTP envelope (S06 §11.4).",
        "request": "The verifier checked a sender request flag (S06 §11.8).",
        "replay": "The receiver checked for duplicate copies (S06 §11.9).",
        "dsn": "The analyser checked a delivery status notification (S06 §12).",
        "draft": "The analyser looked for artefacts of other draft revisions (SPEC-NOTES §12).",
    }
)

_FALLBACK_TITLE = "A finding this catalogue does not describe yet"


def codes() -> frozenset[str]:
    """Every code the catalogue explains."""
    return frozenset(CATALOGUE)


def explain(finding: Finding) -> dict[str, Any]:
    """The explanation of ``finding``, rendered: never raises.

    Keys: ``code``, ``catalogued`` (False for the fallback), ``title``,
    ``checked``, ``found``, ``likely_causes`` (a list), ``fix``,
    ``responsible``, ``spec``, ``severity_hint``, ``standing`` ("" for draft text read).
    """
    code = str(getattr(finding, "code", "") or "")
    entry = CATALOGUE.get(code)
    if entry is None:
        return _fallback(finding, code)
    return {
        "code": entry.code,
        "catalogued": True,
        "title": entry.title,
        "checked": entry.checked,
        "found": _render(entry.found_template, finding),
        "likely_causes": list(entry.likely_causes),
        "fix": entry.fix,
        "responsible": entry.responsible,
        "spec": entry.spec,
        "severity_hint": entry.severity_hint,
        "standing": entry.standing,
    }


def _fallback(finding: Finding, code: str) -> dict[str, Any]:
    family = code.split(".", 1)[0]
    severity = getattr(finding, "severity", None)
    severity_value = str(getattr(severity, "value", severity) or "warning")
    if severity_value not in SEVERITY_HINTS:
        severity_value = "warning"
    message = _text(getattr(finding, "message", ""))
    return {
        "code": code,
        "catalogued": False,
        "title": _FALLBACK_TITLE,
        "checked": _FAMILIES.get(family, "A check made by the DKIM2 analyser."),
        "found": _render('The engine reported "{message}": {detail}.', finding)
        if message
        else _render("The engine reported: {detail}.", finding),
        "likely_causes": [
            f'this version of the catalogue has no entry for the code "{code or "?"}"; the '
            "engine's own message and detail above describe the problem"
        ],
        "fix": (
            "Read the engine's message and detail. Please report the missing explanation to "
            "the dkim2web maintainers, quoting the code."
        ),
        "responsible": "analyser",
        "spec": _text(getattr(finding, "spec", "")),
        "severity_hint": severity_value,
        "standing": "",
    }


def _render(template: str, finding: Finding) -> str:
    values = _values(finding)
    try:
        text = template.format_map(values)
    except (KeyError, IndexError, ValueError, AttributeError):  # a malformed template
        text = values["detail"] + "."
    return text[:1].upper() + text[1:]


def _values(finding: Finding) -> dict[str, str]:
    hop = getattr(finding, "hop", None)
    instance = getattr(finding, "instance", None)
    detail = _text(getattr(finding, "detail", "")).strip().rstrip(".").rstrip()
    return {
        "hop": f"hop i={hop}" if isinstance(hop, int) else "an unidentified hop",
        "instance": (
            f"instance m={instance}" if isinstance(instance, int) else "an unnumbered instance"
        ),
        "detail": detail or "no further detail was recorded",
        "message": _text(getattr(finding, "message", "")).strip(),
    }


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))
