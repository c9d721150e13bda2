"""May the intake answer the sender? Only one who authenticated (no Django here).

An answer to an address that did not authenticate is backscatter: anyone can put a
victim's address in MAIL FROM or From:. So the intake replies only to

* the MAIL FROM of the delivery, when the newest DKIM2-Signature of the delivered message
  passed, its ``mf=`` is that MAIL FROM (the envelope was checked), its ``d=`` is at or
  above the MAIL FROM domain, and the Message-Instance it vouches for verified
  (SPEC-NOTES §6.6: the same conditions under which DKIM2 lets a system bounce); or
* the From: address, when a DKIM1 signature of the delivered message (the wrapper of a
  forward) verified in the analysis, for a ``d=`` at or above the From: domain
  (DMARC-style relaxed alignment, without a public suffix list: the From: domain equals
  ``d=`` or is below it);

and never to the null sender ``<>``, nor to a message that announces itself as automatic
(RFC 3834 ``Auto-Submitted`` other than ``no``), which also keeps two robots from
answering each other forever.

Both come from the message's analysis (its whole-message report): the DKIM1 verdicts are
the engine's (analysis.dkim1), reached through the app's DNS lookup, its budget and cache,
so deciding whom to answer asks DNS nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Any

from analysis.dkim2.grammar import GrammarError, normalise_envelope_address, relaxed_domain_match

from .mime import header_block


@dataclass(frozen=True)
class Decision:
    ok: bool
    to: str  # the address to answer ("" when not ok)
    reason: str  # why, in words (shown on the page)
    method: str = ""  # "dkim2" or "dkim1"


def _address(text: str, *, allow_null: bool) -> tuple[str, str] | None:
    """(normalised <local@domain>, domain) or None when unreadable."""
    try:
        addr = normalise_envelope_address(text or "<>", allow_null=allow_null)
    except GrammarError:
        return None
    return addr.normalised(), addr.domain


def header_value(raw: bytes, name: str) -> str | None:
    try:
        head = header_block(raw, limit=256 * 1024)
        value = BytesHeaderParser(policy=compat32).parsebytes(head).get(name)
    except Exception:
        return None
    return None if value is None else " ".join(str(value).split())


def is_automatic(raw: bytes) -> bool:
    """RFC 3834 §5: Auto-Submitted present and not "no"; also list and bulk mail."""
    auto = header_value(raw, "auto-submitted")
    if auto is not None and auto.split(";")[0].strip().lower() != "no":
        return True
    precedence = (header_value(raw, "precedence") or "").lower()
    return precedence in {"bulk", "list", "junk"}


def dkim2_authenticated(report: Mapping[str, Any], mail_from: str) -> Decision:
    """Did the newest DKIM2 signature pass for the delivery's MAIL FROM? (``report`` is the
    DKIM2 chain: the ``dkim2`` section of the whole-message report.)"""
    sender = _address(mail_from, allow_null=True)
    if sender is None:
        return Decision(False, "", f"the MAIL FROM {mail_from!r} is not an address")
    address, domain = sender
    if address == "<>":
        return Decision(False, "", "the message came from the null sender <>")
    hops = [h for h in report.get("hops") or [] if isinstance(h, Mapping)]
    if not hops:
        return Decision(False, "", "the message carries no DKIM2 signature")
    newest = max(hops, key=lambda h: int(h.get("i") or 0))
    label = f"the newest DKIM2 signature (i={newest.get('i')}, d={newest.get('d')})"
    if newest.get("result") != "pass":
        return Decision(False, "", f"{label} did not pass ({newest.get('result')})")
    if not report.get("envelope_checked"):
        return Decision(False, "", "the envelope was not checked against the signature")
    signed = _address(str(newest.get("mail_from") or ""), allow_null=True)
    if signed is None or signed[0] != address:
        return Decision(False, "", f"{label} names another MAIL FROM than {address}")
    if not relaxed_domain_match(domain, str(newest.get("d") or "")):
        return Decision(False, "", f"{label} is not for the MAIL FROM domain {domain}")
    m = newest.get("m")
    for instance in report.get("instances") or []:
        if isinstance(instance, Mapping) and instance.get("m") == m:
            if instance.get("result") != "pass":
                return Decision(False, "", f"Message-Instance m={m} did not verify")
            break
    return Decision(True, address, f"{label} passed for {address}", "dkim2")


def from_address(raw: bytes) -> tuple[str, str] | None:
    """The single From: mailbox of ``raw`` as (address, domain), or None."""
    value = header_value(raw, "from")
    if value is None:
        return None
    mailboxes = [a for _, a in getaddresses([value]) if a]
    if len(mailboxes) != 1:
        return None
    parsed = _address(mailboxes[0], allow_null=False)
    if parsed is None or not parsed[1]:
        return None
    return parsed[0].strip("<>"), parsed[1]


def dkim1_authenticated(raw: bytes, report: Mapping[str, Any]) -> Decision:
    """Did a DKIM1 signature of ``raw`` pass, in its analysis ``report``, for its From:
    domain?"""
    sender = from_address(raw)
    if sender is None:
        return Decision(False, "", "the From: field does not name exactly one address")
    address, domain = sender
    section = report.get("dkim1")
    if not isinstance(section, Mapping):
        return Decision(False, "", "DKIM1 was not checked in this analysis")
    signatures = [s for s in section.get("signatures") or [] if isinstance(s, Mapping)]
    if not signatures:
        return Decision(False, "", "the message carries no DKIM1 signature")
    tried = []
    for sig in signatures:  # the engine verified at most limits.MAX_DKIM1_SIGNATURES
        signer = str(sig.get("domain") or "").lower()
        result = str(sig.get("result") or "")
        if result == "pass" and relaxed_domain_match(domain, signer):
            return Decision(
                True, address, f"a DKIM1 signature (d={signer}) passed for {domain}", "dkim1"
            )
        why = "pass, not aligned with " + domain if result == "pass" else result
        step = str(sig.get("failed_step") or "")
        tried.append(f"d={signer or '?'}: {why}" + (f" at the {step} step" if step else ""))
    return Decision(
        False, "", "no DKIM1 signature passed for the From: domain (" + "; ".join(tried) + ")"
    )


def decide(*, raw: bytes, mail_from: str, report: Mapping[str, Any] | None) -> Decision:
    """Whom to answer about the delivered message ``raw``, if anyone (``report``: its
    analysis, the whole-message report)."""
    sender = _address(mail_from, allow_null=True)
    if sender is None or sender[0] == "<>":
        return Decision(
            False,
            "",
            "the message came from the null sender <>: no answer is "
            "sent, so the analyser never produces backscatter",
        )
    if is_automatic(raw):
        return Decision(
            False,
            "",
            "the message says it was sent automatically "
            "(Auto-Submitted or Precedence): robots are not answered",
        )
    if report is None:
        return Decision(False, "", "the message has not been analysed")
    reasons = []
    first = dkim2_authenticated(report.get("dkim2") or {}, mail_from)
    if first.ok:
        return first
    reasons.append(first.reason)
    second = dkim1_authenticated(raw, report)
    if second.ok:
        return second
    reasons.append(second.reason)
    return Decision(False, "", "the sender did not authenticate: " + "; ".join(reasons))
