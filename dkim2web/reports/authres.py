"""An Authentication-Results field for a stored report (draft-gondwana-dkim2-authres-00).

Pure functions, no Django. SPEC-NOTES §8.4 digests the draft:

* method ``dkim2``; result ``pass``, ``fail``, ``permerror``, ``temperror`` or ``none``;
* ``header.d`` is ``d=`` of the ``i=1`` signature, left out when there is none;
* ``header.i`` is ``i=`` of the signature blamed for a failure: left out for ``pass``,
  ``none`` and whole-message failures (duplicate, donotmodify, donotexplode); a failure of
  a Message-Instance is blamed on the signature that introduced that instance;
* the comment lists each hop's outcome and the S06 failure string, with ``(``, ``)`` and
  ``\\`` escaped in every substituted value, and bounded in length.

The folding copies the draft's section 5 examples, which all follow one rule: the
``dkim2`` result goes on the first line only when it has no comment (``dkim2=none``),
otherwise on a new line indented two spaces; later lines are indented three spaces; the
failure string starts its own line; words are packed up to 60 columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FIELD_NAME = "Authentication-Results"
FOLD_WIDTH = 60
MAX_VALUE_CHARS = 200  # bound on each substituted value (AR00 §3.3)

# Findings that concern the whole message, not one signature (AR00 §3.2.2).
_WHOLE_MESSAGE_PREFIXES = ("replay.", "request.")


def escape_comment(text: str) -> str:
    """``text`` made safe inside an RFC 5322 comment, bounded in length."""
    text = " ".join(text.split())  # no CR, LF or runs of blanks inside a comment
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 3] + "..."
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def format_authentication_results(
    *,
    authserv_id: str,
    result: str,
    hops: Sequence[tuple[int, str, str]] = (),
    reason: str | None = None,
    header_d: str | None = None,
    header_i: int | None = None,
    newline: str = "\r\n",
) -> str:
    """The folded field, without a final line end.

    ``hops`` lists ``(i, domain, outcome)`` oldest first; ``reason`` is the S06 failure
    string (not escaped yet).
    """
    items = [f"i={i} {escape_comment(domain or '?')} {outcome}" for i, domain, outcome in hops]
    reason_words = escape_comment(reason).split() if reason else []

    # Each unit is (text, starts_new_line); units are joined by one space.
    units: list[tuple[str, bool]] = []
    if items or reason_words:
        comment = [*items]
        if reason_words:
            if comment:
                comment[-1] += ";"
            words = list(reason_words)
            words[-1] += ")"
        else:
            comment[-1] += ")"
            words = []
        comment = [c + "," if k < len(items) - 1 else c for k, c in enumerate(comment)]
        if comment:
            first = f"dkim2={result} (" + comment[0]
            units.append((first, True))
            units.extend((c, False) for c in comment[1:])
            units.extend((w, k == 0) for k, w in enumerate(words))
        else:
            words[0] = "(" + words[0]
            units.append((f"dkim2={result}", True))
            units.extend((w, False) for w in words)
    else:
        units.append((f"dkim2={result}", False))
    if header_d:
        units.append((f"header.d={header_d}", False))
    if header_i is not None:
        units.append((f"header.i={header_i}", False))

    lines = [f"{FIELD_NAME}: {authserv_id};"]
    first_unit = True
    for text, new_line in units:
        if first_unit and new_line:
            lines.append("  " + text)
        elif new_line or len(lines[-1]) + 1 + len(text) > FOLD_WIDTH:
            lines.append("   " + text)
        else:
            lines[-1] += " " + text
        first_unit = False
    return newline.join(lines)


def hop_outcome(hop: Mapping[str, Any]) -> str:
    """pass, fail, permerror, temperror, or skipped when no signature of the hop was tried."""
    selectors = hop.get("selectors") or []
    if selectors and all(s.get("result") == "skipped" for s in selectors):
        return "skipped"
    return str(hop.get("result") or "permerror")


def blamed_finding(report: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The finding behind the verdict: the first (in step order) whose state is the result."""
    result = report.get("result")
    findings = report.get("findings") or []
    return next((f for f in findings if f.get("state") == result), None)


def authentication_results_for_report(
    report: Mapping[str, Any], *, authserv_id: str, newline: str = "\r\n"
) -> str:
    """The Authentication-Results field for a stored ``ChainReport.to_json()``."""
    result = str(report.get("result") or "none")
    hops = [h for h in report.get("hops") or [] if isinstance(h.get("i"), int)]
    if result == "none":
        return format_authentication_results(
            authserv_id=authserv_id, result="none", newline=newline
        )
    first = next((h for h in hops if h["i"] == 1 and h.get("d")), None)
    reason = None
    header_i = None
    if result != "pass":
        finding = blamed_finding(report)
        if finding is not None:
            reason = str(finding.get("message") or "")
            header_i = _blamed_hop(finding, report)
    return format_authentication_results(
        authserv_id=authserv_id,
        result=result,
        hops=[(h["i"], str(h.get("d") or "?"), hop_outcome(h)) for h in hops],
        reason=reason or None,
        header_d=first["d"] if first else None,
        header_i=header_i,
        newline=newline,
    )


def _blamed_hop(finding: Mapping[str, Any], report: Mapping[str, Any]) -> int | None:
    code = str(finding.get("code") or "")
    if code.startswith(_WHOLE_MESSAGE_PREFIXES):
        return None
    hop = finding.get("hop")
    if isinstance(hop, int):
        return hop
    m = finding.get("instance")
    if isinstance(m, int):
        # The signature whose m= names that instance: the one that introduced it.
        for h in report.get("hops") or []:
            if h.get("m") == m and isinstance(h.get("i"), int):
                return int(h["i"])
    return None
