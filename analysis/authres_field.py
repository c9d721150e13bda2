"""The Authentication-Results field (RFC 8601) a receiver would write for a report.

:func:`authentication_results` writes one field with a result for every method the
report covers, in the order of the draft's several-methods example: ``spf``, ``dkim``
(one per DKIM1 signature), ``arc``, ``dmarc``, ``dkim2``.  Methods and properties are
those of the RFC 8601 registry: ``spf`` with ``smtp.mailfrom`` (or ``smtp.helo`` when the
HELO identity was checked, RFC 7208 §2.4), ``dkim`` with ``header.d``, ``header.i``,
``header.s`` and the RFC 6008 ``header.b`` prefix, ``arc`` with ``header.oldest-pass``
(RFC 8617 §10.1), ``dmarc`` with ``header.from`` (RFC 9989 §11), ``dkim2`` as below.
Comments carry advice only (RFC 8601 §2.3): the reason a signature failed, the policy
a DMARC record published, the hops of a DKIM2 chain.

The ``dkim2`` part follows draft-gondwana-dkim2-authres-00; SPEC-NOTES §8.4 digests it:

* method ``dkim2``; result ``pass``, ``fail``, ``permerror``, ``temperror`` or ``none``;
* ``header.d`` is ``d=`` of the ``i=1`` signature, left out when there is none;
* ``header.i`` is ``i=`` of the signature blamed for a failure: left out for ``pass``,
  ``none`` and whole-message failures (duplicate, donotmodify, donotexplode); a failure of
  a Message-Instance is blamed on the signature that introduced that instance;
* the comment lists each hop's outcome and the S06 failure string, with ``(``, ``)`` and
  ``\\`` escaped in every substituted value, and bounded in length.

Beyond AR00 (written for -06): the DKIM2 result depends on the draft revision whose rules
judged the chain (:mod:`analysis.dkim2.revisions`), so a report that names one gets a
comment of its own before the hop list, ``dkim2=fail (-09 rules) (i=1 ...)``: advice for
a reader, as RFC 8601 §2.3 allows anywhere CFWS is (two comments in a row are CFWS too).
A report from before revisions were recorded has no ``revision`` and no such comment, and
``none`` has none (no rules were applied).

The folding copies the draft's section 5 examples, which all follow one rule: a lone
``dkim2`` result goes on the first line only when it has no comment (``dkim2=none``),
otherwise on a new line indented two spaces; later lines are indented three spaces; the
failure string starts its own line; words are packed up to 60 columns.  With several
methods (the draft's last example), each starts a line of its own, indented two spaces,
and all but the last end with ``;``.
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


# One result of one method: words joined by one space, each (text, starts_new_line).
Units = list[tuple[str, bool]]


def format_authentication_results(
    *,
    authserv_id: str,
    result: str,
    hops: Sequence[tuple[int, str, str]] = (),
    reason: str | None = None,
    header_d: str | None = None,
    header_i: int | None = None,
    revision: str | None = None,
    newline: str = "\r\n",
) -> str:
    """The folded field with the ``dkim2`` result alone, without a final line end.

    ``hops`` lists ``(i, domain, outcome)`` oldest first; ``reason`` is the S06 failure
    string (not escaped yet); ``revision`` the draft revision that judged ("09").
    """
    units = dkim2_units(
        result=result,
        hops=hops,
        reason=reason,
        header_d=header_d,
        header_i=header_i,
        revision=revision,
    )
    return fold(authserv_id, [units], newline=newline)


def revision_comment(revision: str | None) -> str:
    """``(-09 rules)`` for revision "09"; empty for none."""
    if not revision:
        return ""
    return f"({escape_comment('-' + revision.lstrip('-') + ' rules')})"


def dkim2_units(
    *,
    result: str,
    hops: Sequence[tuple[int, str, str]] = (),
    reason: str | None = None,
    header_d: str | None = None,
    header_i: int | None = None,
    revision: str | None = None,
) -> Units:
    """The ``dkim2`` result (AR00 §3) as units for :func:`fold`; ``revision`` adds the
    comment naming the rules that judged it (not for ``none``)."""
    items = [f"i={i} {escape_comment(domain or '?')} {outcome}" for i, domain, outcome in hops]
    reason_words = escape_comment(reason).split() if reason else []
    rules = revision_comment(revision) if result != "none" else ""
    method = f"dkim2={result} {rules}" if rules else f"dkim2={result}"

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
            first = f"{method} (" + comment[0]
            units.append((first, True))
            units.extend((c, False) for c in comment[1:])
            units.extend((w, k == 0) for k, w in enumerate(words))
        else:
            words[0] = "(" + words[0]
            units.append((method, True))
            units.extend((w, False) for w in words)
    else:
        # Alone on the first line only without a comment (the draft's dkim2=none).
        units.append((method, bool(rules)))
    if header_d:
        units.append((f"header.d={header_d}", False))
    if header_i is not None:
        units.append((f"header.i={header_i}", False))
    return units


def fold(authserv_id: str, resinfos: Sequence[Units], *, newline: str = "\r\n") -> str:
    """The field with these results, folded as the module docs say (no final line end)."""
    lines = [f"{FIELD_NAME}: {authserv_id};"]
    several = len(resinfos) > 1
    for index, units in enumerate(resinfos):
        last = index == len(resinfos) - 1
        for k, (text, new_line) in enumerate(units):
            if not last and k == len(units) - 1:
                text += ";"
            if k == 0 and (new_line or several):
                lines.append("  " + text)
            elif new_line or len(lines[-1]) + 1 + len(text) > FOLD_WIDTH:
                lines.append("   " + text)
            else:
                lines[-1] += " " + text
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
    """The field with the ``dkim2`` result alone, for a ``ChainReport.to_json()``."""
    return fold(authserv_id, [chain_units(report)], newline=newline)


def chain_units(report: Mapping[str, Any]) -> Units:
    """The ``dkim2`` result of a ``ChainReport.to_json()``, as units."""
    result = str(report.get("result") or "none")
    hops = [h for h in report.get("hops") or [] if isinstance(h.get("i"), int)]
    if result == "none":
        return dkim2_units(result="none")
    first = next((h for h in hops if h["i"] == 1 and h.get("d")), None)
    reason = None
    header_i = None
    if result != "pass":
        finding = blamed_finding(report)
        if finding is not None:
            reason = str(finding.get("message") or "")
            header_i = _blamed_hop(finding, report)
    revision = report.get("revision")
    return dkim2_units(
        result=result,
        hops=[(h["i"], str(h.get("d") or "?"), hop_outcome(h)) for h in hops],
        reason=reason or None,
        header_d=first["d"] if first else None,
        header_i=header_i,
        revision=str(revision) if revision else None,
    )


def authentication_results(
    document: Mapping[str, Any], *, authserv_id: str, newline: str = "\r\n"
) -> str:
    """The field for a whole-message report (``MessageReport.to_json()``, schema 2): a
    result for every method the report covers (a section that was not checked, as in a
    run stored before dkim2web checked it, is left out rather than called none)."""
    resinfos: list[Units] = []
    spf = document.get("spf")
    if isinstance(spf, Mapping):
        resinfos.append(_spf_units(spf))
    dkim1 = document.get("dkim1")
    if isinstance(dkim1, Mapping):
        signatures = [s for s in dkim1.get("signatures") or [] if isinstance(s, Mapping)]
        resinfos.extend(_dkim_units(s) for s in signatures)
        if not signatures:
            resinfos.append([("dkim=none", False)])
    arc = document.get("arc")
    if isinstance(arc, Mapping):
        resinfos.append(_arc_units(arc))
    dmarc = document.get("dmarc")
    if isinstance(dmarc, Mapping):
        resinfos.append(_dmarc_units(dmarc))
    chain = document.get("dkim2")
    resinfos.append(chain_units(chain if isinstance(chain, Mapping) else {}))
    return fold(authserv_id, resinfos, newline=newline)


_TSPECIALS = frozenset('()<>@,;:\\"/[]?=')  # RFC 2045 §5.1, which RFC 8601 §2.2 cites


def _is_token(text: str) -> bool:
    return bool(text) and all(33 <= ord(c) < 127 and c not in _TSPECIALS for c in text)


def _value(text: object) -> str:
    """A property value (RFC 8601 §2.2 ``pvalue``): a token or ``[local-part "@"] domain``
    as it is, anything else as a quoted-string."""
    value = " ".join(str(text or "").split())[:MAX_VALUE_CHARS]
    local, at, domain = value.rpartition("@")
    if at and _is_token(domain.replace(".", "-")) and (not local or _is_token(local)):
        return value
    if _is_token(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment_units(text: str) -> Units:
    words = escape_comment(text).split()
    if not words:
        return []
    words[0] = "(" + words[0]
    words[-1] += ")"
    return [(w, False) for w in words]


def _spf_units(spf: Mapping[str, Any]) -> Units:
    units: Units = [(f"spf={spf.get('result') or 'none'}", False)]
    if spf.get("source") == "reconstructed":
        units.extend(_comment_units("envelope reconstructed from the Received fields"))
    elif not spf.get("ip"):
        units.extend(_comment_units("no client address known"))
    if spf.get("identity") == "helo":
        if spf.get("helo"):
            units.append((f"smtp.helo={_value(spf['helo'])}", False))
    else:
        sender = str(spf.get("mail_from") or "").strip().strip("<>") or spf.get("domain")
        if sender:
            units.append((f"smtp.mailfrom={_value(sender)}", False))
    return units


def _dkim_units(sig: Mapping[str, Any]) -> Units:
    result = str(sig.get("result") or "permerror")
    units: Units = [(f"dkim={result}", False)]
    if result != "pass" and sig.get("reason"):
        units.extend(_comment_units(str(sig["reason"]).rstrip(".")))
    for prop, key in (("header.d", "domain"), ("header.i", "identity"), ("header.s", "selector")):
        if sig.get(key):
            units.append((f"{prop}={_value(sig[key])}", False))
    b = _b_prefix(str(sig.get("raw") or ""))
    if b:
        units.append((f"header.b={_value(b)}", False))
    return units


def _b_prefix(raw: str) -> str:
    """The first 8 characters of the signature's b= value (RFC 6008 §4)."""
    text = "".join(raw.split())
    for part in text.split(";"):
        if part.startswith("b="):
            return part[2:10]
    return ""


def _arc_units(arc: Mapping[str, Any]) -> Units:
    result = str(arc.get("result") or "none")
    units: Units = [(f"arc={result}", False)]
    instances = [i for i in arc.get("instances") or [] if isinstance(i, Mapping)]
    if instances:
        newest = max(int(i.get("i") or 0) for i in instances)
        sealer = next((str(i.get("sealer") or "?") for i in instances if i.get("i") == newest), "?")
        broken = arc.get("broken_at")
        text = f"i={newest} sealed by {sealer}"
        if broken:
            text += f"; chain broken at i={broken}"
        units.extend(_comment_units(text))
    if result == "pass" and isinstance(arc.get("oldest_pass"), int):
        units.append((f"header.oldest-pass={arc['oldest_pass']}", False))
    return units


def _dmarc_units(dmarc: Mapping[str, Any]) -> Units:
    result = str(dmarc.get("result") or "none")
    units: Units = [(f"dmarc={result}", False)]
    tags = dmarc.get("tags") if isinstance(dmarc.get("tags"), Mapping) else {}
    policy = [
        f"{k}={tags[k]}" for k in ("p", "sp", "np") if isinstance(tags, Mapping) and tags.get(k)
    ]
    if policy:
        units.extend(_comment_units(" ".join(policy)))
    if dmarc.get("author_domain"):
        units.append((f"header.from={_value(dmarc['author_domain'])}", False))
    return units


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
