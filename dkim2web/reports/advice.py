"""Advice on the result page: the catalogue's fix worded for the person reading it, and the
control that does what it advises.

The explanation catalogue (``analysis.catalogue``) serves every reader of the engine, the
command line included, so a fix may name a command ("dkim2 verify --now <unix time>"). On a
web page advice is either a control that does it or worded for the person reading, so:

* :data:`PAGE_FIXES` gives the page's own words for every fix that names a command (a test
  keeps it so: a finding's details show them instead) and for the fixes most often shown as
  "What to do" (that line uses them);
* :data:`CONTROLS` names the control each piece of advice needs: re-run as of the arrival
  time, re-run in compatibility mode, re-run under another revision, re-run, or the envelope
  form; the templates draw it next to the advice (``reports/_advice_control.html``);
* :func:`plain_fix` is the "What to do" line: the page's words without spec references
  (those are on the "Spec" line under the headline).

Plain functions over plain data, like the presenters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# The controls (reports/_advice_control.html draws each).
ARRIVAL = "arrival"  # re-run with the verification time set to the arrival time
COMPAT = "compat"  # re-run in compatibility mode
REVISION = "revision"  # re-run under another draft revision
RERUN = "rerun"  # re-run as it is (fetches keys and records again)
ENVELOPE = "envelope"  # the envelope form further down the page

#: Finding code -> the control that does what its fix advises.
CONTROLS: dict[str, str] = {
    "sig.expired": ARRIVAL,
    "sig.valid-at-arrival": ARRIVAL,
    "sig.from-future": ARRIVAL,
    "dkim1.expired": ARRIVAL,
    "sig.syntax": COMPAT,
    "draft.bare-addresses": COMPAT,
    "draft.header-hash-revision": REVISION,
    "envelope.not-checked": ENVELOPE,
    "verdict.undecided-dns": RERUN,
    "dmarc.dns-error": RERUN,
    "key.not-fetched": RERUN,
    "key.temperror": RERUN,
}

#: Finding code -> its fix in the page's words (no command, no tag names where avoidable).
PAGE_FIXES: dict[str, str] = {
    "sig.expired": (
        "If this is an archived copy, nobody needs to change anything: re-run the analysis as "
        "of the time the message arrived to see how it was judged then. If it had already "
        "expired when it arrived, the signing domain's operator must keep its clock right "
        "(BCP01 §3.6), and the operator that delayed it must not deliver old mail without "
        "checking it again."
    ),
    "sig.valid-at-arrival": (
        "Nobody needs to fix anything for this reason alone. To see the verdict a receiver "
        "reached at delivery time, re-run the analysis as of the arrival time; the Received "
        "date it comes from is not signed, so treat it as a hint."
    ),
    "sig.from-future": (
        "The signing domain's operator: synchronise the signing server's clock. If this "
        "analysis was made as of a time before the message was sent, re-run it as of the "
        "arrival time instead."
    ),
    "dkim1.expired": (
        "Usually nothing: re-run the analysis as of the time the message arrived. A signer "
        "whose signatures expire before delivery must let them live longer."
    ),
    "envelope.not-checked": (
        "To run the check, give the envelope the receiving server logged (its MAIL FROM and "
        "RCPT TO) in the Envelope section of this page. Return-Path and Delivered-To fields "
        "are hints only."
    ),
    "sig.syntax": (
        "The DKIM2 implementer of the hop that added this field: produce exactly the syntax "
        "the draft defines (S06 §8). For an archived message from an older signer, re-run "
        "the analysis in compatibility mode, which accepts bare addresses and reports them."
    ),
    "draft.bare-addresses": (
        "The DKIM2 implementer: write the sender and recipient addresses with their angle "
        "brackets before encoding them. Receivers following the current drafts reject bare "
        "addresses; re-run the analysis in compatibility mode to check the rest of the chain."
    ),
    "draft.header-hash-revision": (
        "The DKIM2 software of the hop that made this version of the message follows the "
        "rules of another draft revision: its operator must upgrade it to the revision "
        "receivers follow. To see how each revision judges the message, re-run the analysis "
        "under that revision."
    ),
    "hash.body-mismatch": (
        "The operator of the system that changed the body after it was signed: record the "
        "change, with a recipe that undoes it, in a new signed version of the message "
        "(S06 §5.2, §9.1). Signers should sign as the last step before sending, in the form "
        "the message has on the wire (S06 §13)."
    ),
    "hash.header-mismatch": (
        "The operator of the system that changed signed header fields after they were signed "
        "(usually the next forwarder or mailing list): leave them alone, or record each "
        "change, with a recipe that undoes it, in a new signed version of the message "
        "(S06 §5.1, §9.1). If no hop changed them, compare with the receiving server's stored "
        "original."
    ),
    "custody.chain-link": (
        "The operator of the later hop: when sending from another domain than the one the "
        "message arrived for, first sign it as the arrival domain, naming the sending domain "
        "as the next signer (S06 §9.3); or send with a sender address in the arrival domain."
    ),
    "custody.nd-mismatch": (
        "The forwarder's operator (who controls both signatures): name as the next signer "
        "exactly the domain the outgoing signature uses (S06 §8.7)."
    ),
    "custody.rcpt-to-mismatch": (
        "The operator of the forwarder that changed the recipients: sign after expanding "
        "aliases, listing the new recipients (S06 §8.6). The receiver should verify at its "
        "border server, before its own alias expansion. If no hop explains the recipient, "
        "treat the message as replayed."
    ),
    "dmarc.fail": (
        "The From domain's owner, if the message is genuine: sign every mail stream with a "
        "DKIM key of the From domain (or a subdomain of it), and send with a bounce address "
        "under the From domain whose SPF record lists the sending servers. A forwarder or "
        "list that changes messages should rewrite the From field or stop changing them."
    ),
}

#: "What to do" when the headline blames the copy analysed (a change that saving or copying a
#: message makes: line ends, whitespace, wrapped lines), not a hop.
COPY_FIX = (
    "Upload the original file: save the message from the mailbox exactly as it was "
    'delivered ("Show original", "Download message" or "Save as .eml" in most mail '
    "programs) rather than copying its text, and analyse that. What your copy changed is "
    "shown under What each hop changed."
)

# A command line on a page: a dkim2 subcommand, a long option, manage.py.
_COMMAND = re.compile(r"\bdkim2 (?:verify|history|sign|explain)\b|(?<![\w-])--[a-z]|manage\.py")

# A spec reference in brackets: "(S06 §5.2, §9.1)", "(BCP01 §3.6)", "(RFC 9989 §4)".
_SPEC_BRACKETS = re.compile(
    r"\s*\((?:[^()]*?)(?:§|\bS0\d\b|\bBCP0\d\b|\bDNS0\d\b|SPEC-[\w-]*NOTES|RFC \d{3,5})[^()]*\)"
)
# "as S06 §9.3 describes", "of S06 §8", "of RFC 5322".
_SPEC_WORDS = re.compile(
    r",? (?:as|of|in) (?:S0\d|BCP0\d|DNS0\d|RFC \d{3,5})(?:,? §[\d.]+)*(?: describes)?"
)


def names_a_command(text: str) -> bool:
    return bool(_COMMAND.search(text or ""))


def page_fix(code: str, fix: str) -> str:
    """The fix of ``code`` as a finding's details show it: the catalogue's, unless it names a
    command (then the page's words)."""
    return PAGE_FIXES.get(code, fix) if names_a_command(fix) else fix


def plain_fix(code: str, fix: str) -> str:
    """The fix for the "What to do" line: the page's words where it has them, without spec
    references."""
    text = _SPEC_WORDS.sub("", _SPEC_BRACKETS.sub("", PAGE_FIXES.get(code, fix)))
    return re.sub(r"\s+([.,;])", r"\1", text).strip()


def control_for(code: str) -> str:
    return CONTROLS.get(code, "")


# -- the arrival time, and how each run was made --------------------------------------------------


def arrival_time(document: Mapping[str, Any]) -> int | None:
    """When the message reached its final destination, read from a stored report: the time
    the engine noted beside an expired signature, else the date of the topmost Received
    field (the engine's own reading, analysis.dkim2.verify.arrival_time). None: unknown."""
    chain = document.get("dkim2") or {}
    for finding in chain.get("findings") or []:
        if isinstance(finding, Mapping) and finding.get("code") == "sig.valid-at-arrival":
            stamp = (finding.get("data") or {}).get("arrival_time")
            if isinstance(stamp, int) and not isinstance(stamp, bool) and stamp > 0:
                return stamp
    received = document.get("received") or {}
    hops = [h for h in received.get("hops") or [] if isinstance(h, Mapping)]
    placed = [h for h in hops if isinstance(h.get("position"), int)]
    if not placed:
        return None
    topmost = min(placed, key=lambda h: h["position"])
    stamp = topmost.get("timestamp")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool) and stamp > 0:
        return int(stamp)
    return None


def run_how_words(run: Any) -> str:
    """How a run was made beside its rules (the run list shows those): the verification
    clock it used, and compatibility mode when it was on."""
    from .presenters import format_utc

    as_of = getattr(run, "verified_as_of", None)
    words = [
        f"verified as of {format_utc(as_of)}, its arrival"
        if as_of is not None
        else "verified as of the time it ran"
    ]
    if getattr(run, "compat", False):
        words.append("compatibility mode")
    return "; ".join(words)
