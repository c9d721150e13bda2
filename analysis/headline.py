"""The verdict's headline in plain words: what happened, and who must act.

Theory of operation
-------------------
:mod:`analysis.verdict` decides; this module words the decision for a postmaster who has
not read the drafts.  A headline is one sentence::

    <conclusion>: <what happened>[, <what receivers are asked to do>]; <who must act>.

"What happened" and "who must act" come from one :class:`Cause`: the finding that decided
the verdict, told in plain words.  The finding itself (its code, its failure string, its
spec reference) is the cause's *evidence*, which the report keeps beside the headline and
the page shows under it, never in it.  Plain words here means: domain names and everyday
words; no tag names (``m=``, ``nd=``), no failure strings, no section numbers, no
command-line options.

The wording is chosen in this order, most specific first:

* a DKIM2 hash that no longer matches, when the change search (:mod:`analysis.change_search`)
  named the edit: the edit in words (:data:`analysis.change_search.KINDS`), and, for an
  edit that copying a message makes, "your copy changed it: upload the original file"
  rather than blaming a hop (issue #12, point 2);
* a hop whose signer follows older draft rules (:mod:`analysis.dkim2.fingerprint`): that
  signer must upgrade its DKIM2 software;
* a phrase per finding code (:data:`_DKIM2_WORDS`);
* otherwise the catalogue entry's title and whose action ends the problem
  (:data:`analysis.explanations.RESPONSIBLE`).

Names taken from the message (signing domains) are cut to
:data:`~analysis.limits.MAX_HEADLINE_NAME_CHARS` so a hostile name cannot make the sentence
long; everything here is plain text for the caller to escape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import limits
from .findings import Finding

if TYPE_CHECKING:
    from .change_search import ChangeSearch
    from .dkim1 import Dkim1Signature
    from .dkim2.report import ChainReport, HopReport
    from .dmarc import AlignmentCheck

__all__ = [
    "Cause",
    "dkim1_cause",
    "dkim2_cause",
    "is_plain",
    "join",
    "name",
    "nothing_aligned_cause",
    "spf_cause",
    "unaligned_cause",
    "vouchers",
]


@dataclass(frozen=True)
class Cause:
    """Why the message is not trusted, in plain words, and the findings that show it."""

    what: str  # a clause: "the body was changed after billing.example signed it"
    who: str  # a clause: "a mail system on the way must record its changes, or ..."
    evidence: tuple[Finding, ...] = field(default=())
    #: The cause is this copy of the message, not the mail's journey: what receivers were
    #: asked to do with the mail as delivered does not follow from it.
    copy: bool = False


def name(text: str | None, fallback: str = "a signer") -> str:
    """A name from the message, cut for a headline."""
    text = (text or "").strip()
    if not text:
        return fallback
    cap = limits.MAX_HEADLINE_NAME_CHARS
    return text if len(text) <= cap else text[: cap - 1] + "…"


def join(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# -- who vouches (a passing verdict) -----------------------------------------------------------

_VOUCHER_WORDS = {"dkim2": "a DKIM2 signature by {d}", "dkim": "a DKIM1 signature by {d}"}


def vouchers(checks: Sequence[AlignmentCheck]) -> tuple[str, bool]:
    """The identifiers that passed, in words ("a DKIM2 signature by origin.example and SPF
    for example.com"), and whether there is more than one (for the verb)."""
    words: list[str] = []
    for check in checks:
        template = _VOUCHER_WORDS.get(check.mechanism, "SPF for {d}")
        phrase = template.format(d=name(check.domain, "an unnamed domain"))
        if phrase not in words:
            words.append(phrase)
    return join(words[:3]) or "an identifier of its own domain", len(words) > 1


# -- DKIM2 ----------------------------------------------------------------------------------------

#: Per finding code: (what happened, who must act). ``{d}`` is the domain of the hop the
#: finding names, ``{prev}`` the domain of the hop before it.
_DKIM2_WORDS: dict[str, tuple[str, str]] = {
    "sig.expired": (
        "the signature {d} added is more than 14 days old",
        "nobody needs to act if this is simply an old copy",
    ),
    "sig.from-future": (
        "the signature {d} added is dated in the future",
        "{d}'s mail operator must set its server's clock right",
    ),
    "sig.incorrect": (
        "the signature {d} added does not verify",
        "{d}'s mail operator must sign with the key it publishes",
    ),
    "sig.partial": (
        "some of the signatures {d} added do not verify",
        "{d}'s mail operator must sign with the keys it publishes",
    ),
    "sig.no-group-passed": (
        "none of the signatures {d} added verifies",
        "{d}'s mail operator must sign with the keys it publishes",
    ),
    "sig.no-verifiable-signature": (
        "{d} signed only with methods this check cannot verify",
        "{d}'s mail operator must also sign with a standard algorithm",
    ),
    "sig.from-not-authentic": (
        "{d} put a From address outside its own domain into the message",
        "{d}'s mail operator must not write a From address it cannot vouch for",
    ),
    "custody.rcpt-to-mismatch": (
        "it was delivered to a recipient that {d}, the last signer, never sent it to",
        "a forwarder that changed the recipients must sign again after doing so, otherwise "
        "treat the message as replayed",
    ),
    "custody.mail-from-mismatch": (
        "it was sent from a sender address that {d}, the last signer, did not sign",
        "{d}'s mail operator must sign the sender address it sends with, otherwise treat the "
        "message as replayed",
    ),
    "custody.unexpected-nd": (
        "{d} handed it to a domain that never signed it",
        "{d}'s mail operator must fix how it signs for the next hop",
    ),
    "custody.mf-d-mismatch": (
        "{d} signed for a sender address outside its own domain",
        "{d}'s mail operator must send from an address in its own domain",
    ),
    "custody.chain-link": (
        "{d} passed it on although {prev} never sent it to {d}",
        "{d}'s mail operator must fix how it hands messages on",
    ),
    "custody.nd-mismatch": (
        "{prev} named another domain to sign next, but {d} did",
        "{d}'s mail operator must fix how it hands messages on",
    ),
    "key.not-found": (
        "the key {d} signed with is not published",
        "{d}'s DNS administrator must publish it",
    ),
    "key.syntax": (
        "the key {d} signed with is published in a form that cannot be used",
        "{d}'s DNS administrator must fix the key record",
    ),
    "key.multiple-records": (
        "the key {d} signed with is published twice, so it cannot be used",
        "{d}'s DNS administrator must keep one key record",
    ),
    "key.algorithm-mismatch": (
        "the key {d} publishes is not of the kind its signature needs",
        "{d}'s DNS administrator must publish the matching key",
    ),
    "key.temperror": (
        "the key {d} signed with could not be fetched because DNS failed",
        "re-run the analysis later, and if it keeps failing, {d}'s DNS administrator must "
        "fix its name servers",
    ),
    "key.not-fetched": (
        "the key {d} signed with was not fetched",
        "re-run the analysis",
    ),
    "key.revoked": (
        "{d} has withdrawn the key it signed with",
        "{d}'s mail operator must sign with a current key",
    ),
    "key.too-short": (
        "{d} signs with a key too short to be trusted",
        "{d}'s mail operator must use a longer key",
    ),
    "mi.missing": (
        "part of the DKIM2 record of the message is missing",
        "a mail system on the way removed it and must stop, or {d}'s DKIM2 software must be fixed",
    ),
    "sig.missing": (
        "part of the DKIM2 record of the message is missing",
        "a mail system on the way removed it and must stop, or {d}'s DKIM2 software must be fixed",
    ),
    "mi.not-signed": (
        "a version of the message in its DKIM2 record is signed by nobody",
        "the mail system that added it must sign it",
    ),
    "mi.invalid-json": (
        "the record of changes {d} added cannot rebuild the message it received",
        "{d}'s DKIM2 software must be fixed",
    ),
    "request.donotmodify": (
        "it was changed although the signer asked that nobody change it",
        "the mail system that changed it must stop",
    ),
    "request.donotexplode": (
        "it was sent to many recipients although the signer asked that it go to one",
        "the list or forwarder that sent it on must respect that request",
    ),
    "replay.duplicate": (
        "several copies arrived that no signer says it sent",
        "treat the message as replayed",
    ),
}

#: Families of malformed DKIM2 fields: the software that wrote them is at fault.
_MALFORMED = ("mi.", "sig.")

#: Whose action ends the problem (analysis.explanations.RESPONSIBLE), as a clause.
_WHO: dict[str, str] = {
    "signer": "the mail operator of {d} must fix its DKIM2 signing",
    "intermediary": "the forwarder, list or gateway in between must fix this",
    "dns": "the DNS administrator of {d} must fix its DNS records",
    "receiver": "whoever saved this copy should upload the original file",
    "implementer": "the DKIM2 software of {d} must be fixed",
    "sender": "the sending system must fix this",
    "analyser": "that is a limit of dkim2web, not a fault of any signer",
    "none": "nobody needs to act",
}

_COPY_WHO = "upload the original file"

# A hash that no longer matches: the content changed after signing (S06 §11.7).
_HASH_CODES = ("hash.body-mismatch", "hash.header-mismatch", "mi.no-hash-group-matched")

# A tag as written in a DKIM field ("m=1", "nd=", "i=3"), not "=" inside words.
_TAG = re.compile(r"(?<![\w.-])[a-z]{1,2}=")


def blamed(chain: ChainReport) -> Finding | None:
    """The finding behind the chain's result: the first whose state is the result."""
    return next((f for f in chain.findings if f.state == chain.result), None)


def dkim2_cause(chain: ChainReport) -> Cause:
    """Why the DKIM2 chain fails, in plain words (the chain's result is not pass)."""
    finding = blamed(chain)
    if finding is None:
        return Cause("its DKIM2 chain fails", "see the DKIM2 hops below")
    hops = {h.hop: h for h in chain.hops}
    hop = hops.get(finding.hop) if finding.hop is not None else None
    d = name(hop.domain if hop is not None else None, _hop_words(finding.hop))
    prev = hops.get(finding.hop - 1) if finding.hop is not None else None
    values = {"d": d, "prev": name(prev.domain if prev is not None else None, "the hop before")}
    evidence = (finding,)

    if finding.code in _HASH_CODES:
        # A change after the newest signature breaks every older instance's hash too: the
        # newest instance that fails is where the change happened.
        newest = max(
            (f for f in chain.findings if f.code in _HASH_CODES and f.affects_verdict),
            key=lambda f: f.instance or 0,
        )
        cause = _hash_cause(chain, newest)
        if cause is not None:
            if newest is not finding:
                cause = Cause(cause.what, cause.who, (newest, finding), cause.copy)
            return cause
    if _signer_behind(chain, finding.hop):
        # The analyser's note that names the older rules first: its advice is the one to take.
        older = [
            f
            for f in chain.findings
            if f.code.startswith("draft.")
            and f.hop in (None, finding.hop)
            and f.instance in (None, finding.instance)
        ]
        return Cause(
            f"{d} signed it by the rules of an older DKIM2 draft, which fail under the rules "
            "used here",
            f"{d} must upgrade its DKIM2 software",
            (*older[:1], finding),
        )
    words = _DKIM2_WORDS.get(finding.code)
    if words is not None:
        return Cause(words[0].format(**values), words[1].format(**values), evidence)
    from .catalogue import CATALOGUE

    entry = CATALOGUE.get(finding.code)
    responsible = entry.responsible if entry is not None else "signer"
    if finding.code.startswith(_MALFORMED) and responsible == "implementer":
        what = f"the DKIM2 fields {d} added are malformed"
    elif entry is not None:
        what = _clause(entry.title)
    else:
        what = "its DKIM2 chain fails"
    return Cause(what, _WHO.get(responsible, _WHO["signer"]).format(**values), evidence)


def _hop_words(hop: int | None) -> str:
    """A hop whose domain is unknown (its signature could not be read)."""
    return f"the signer of hop {hop}" if hop is not None else "a signer"


def _clause(title: str) -> str:
    """A catalogue title ("The body differs from what was signed") as a clause."""
    if len(title) > 1 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


def _last_voucher(chain: ChainReport, finding: Finding) -> HopReport | None:
    """The last hop that signed the instance whose hash fails (it vouched for that version)."""
    signed = [h for h in chain.hops if h.instance == finding.instance and h.domain]
    if signed:
        return max(signed, key=lambda h: h.hop)
    return next((h for h in chain.hops if h.hop == finding.hop), None)


def _search_for(chain: ChainReport, finding: Finding) -> ChangeSearch | None:
    part = "body" if finding.code == "hash.body-mismatch" else "header"
    for instance in chain.instances:
        if instance.instance == finding.instance:
            return next((s for s in instance.change_searches if s.part == part), None)
    return None


def _hash_cause(chain: ChainReport, finding: Finding) -> Cause | None:
    from .change_search import KINDS

    voucher = _last_voucher(chain, finding)
    d = name(voucher.domain if voucher is not None else None)
    part = "the body" if finding.code == "hash.body-mismatch" else "signed header fields"
    was = "was" if finding.code == "hash.body-mismatch" else "were"
    search = _search_for(chain, finding)
    evidence = (finding,)
    if search is not None and search.outcome == "identified" and search.edits:
        words = join([KINDS.get(e.kind, "an edit") for e in search.edits[:3]])
        if search.made_by == "copy":
            return Cause(
                f"your copy changed {part} ({words}), so it no longer matches what {d} signed",
                _COPY_WHO,
                evidence,
                copy=True,
            )
        if search.made_by == "signer":
            return None  # the signer's own rules (revision-rules): see _signer_behind
        return Cause(
            f"{part} {was} changed after {d} signed it ({words}) without recording the change",
            f"{d}, or a mail system after it, must record its changes",
            evidence,
        )
    return Cause(
        f"{part} {was} changed after {d} signed it",
        "a mail system on the way must record its changes, or the message was tampered with",
        evidence,
    )


def _signer_behind(chain: ChainReport, hop: int | None) -> bool:
    """The hop's signer follows only older revisions than the one judging the chain, and
    the chain passes under one of those (analysis.dkim2.fingerprint)."""
    for fp in chain.fingerprints:
        if (
            fp.hop == hop
            and fp.passes_under
            and chain.revision not in fp.passes_under
            and fp.signer_revisions
            and max(fp.signer_revisions) < chain.revision
        ):
            return True
    return False


# -- DKIM1 ----------------------------------------------------------------------------------------

#: Per failed step (analysis.dkim1 failed_step): what broke, and who must act.
_DKIM1_WORDS: dict[str, tuple[str, str]] = {
    "body-hash": (
        "the DKIM1 signature of {d} broke because the body was changed after signing",
        "the forwarder or list that changed it must stop, or sign what it changes",
    ),
    "signature": (
        "the DKIM1 signature of {d} broke because a signed header field was changed",
        "the forwarder or list that changed it must stop, or sign what it changes",
    ),
    "expired": (
        "the DKIM1 signature of {d} has expired",
        "nobody needs to act if this is simply an old copy",
    ),
    "policy": (
        "the DKIM1 signature of {d} uses an algorithm or key receivers refuse",
        "the mail operator of {d} must sign with a current algorithm and key",
    ),
    "syntax": (
        "the DKIM1 signature of {d} is malformed",
        "the signing software of {d} must be fixed",
    ),
}


def dkim1_cause(signatures: Sequence[Dkim1Signature]) -> Cause:
    """Why these failing DKIM1 signatures (one failed step) fail, in plain words."""
    from .change_search import KINDS

    sig = signatures[0]
    domains: list[str] = []
    for s in signatures:
        if name(s.domain) not in domains:
            domains.append(name(s.domain))
    d = join(domains[:3])
    evidence = tuple(f for s in signatures[:3] for f in s.findings if f.affects_verdict)[:3]
    search = sig.change_search
    if (
        sig.failed_step == "body-hash"
        and search is not None
        and search.outcome == "identified"
        and search.made_by == "copy"
        and search.edits
    ):
        words = join([KINDS.get(e.kind, "an edit") for e in search.edits[:3]])
        return Cause(
            f"your copy changed the body ({words}), which breaks the DKIM1 signature of {d}",
            _COPY_WHO,
            evidence,
            copy=True,
        )
    if sig.failed_step == "key":
        if sig.result == "temperror":
            return Cause(
                f"the DKIM1 key of {d} could not be fetched because DNS failed",
                f"re-run the analysis later, and if it keeps failing, the DNS administrator "
                f"of {d} must fix its name servers",
                evidence,
            )
        return Cause(
            f"no usable DKIM1 key is published for the signature of {d}",
            f"the DNS administrator of {d} must publish it",
            evidence,
        )
    what, who = _DKIM1_WORDS.get(
        str(sig.failed_step),
        ("the DKIM1 signature of {d} fails", "the mail operator of {d} must fix its signing"),
    )
    return Cause(what.format(d=d), who.format(d=d), evidence)


def unaligned_cause(signers: Sequence[str], author: str, evidence: Sequence[Finding]) -> Cause:
    """Signatures pass, but for other domains than the From domain."""
    return Cause(
        f"it is signed only by {join([name(s) for s in signers[:3]])}, not by {author}",
        f"the mail administrator of {author} must have its mail signed with its own domain",
        tuple(evidence),
    )


# -- SPF ------------------------------------------------------------------------------------------


def spf_cause(
    result: str, domain: str | None, author: str, aligned: bool, evidence: Sequence[Finding]
) -> Cause:
    """SPF as the first cause of a failure (no signature explains it)."""
    d = name(domain, "the envelope sender's domain")
    found = tuple(evidence)
    if result == "pass" and not aligned:
        return Cause(
            f"only SPF passes, and for {d}, not {author}",
            f"the mail administrator of {author} must have its mail signed with its own domain",
            found,
        )
    if result in ("fail", "softfail"):
        return Cause(
            f"the sending server is not allowed to send for {d}",
            f"if the message is genuine, the DNS administrator of {d} must list that server "
            "in its SPF record",
            found,
        )
    if result == "temperror":
        return Cause(
            f"SPF could not be checked for {d} because DNS failed",
            "re-run the analysis later",
            found,
        )
    if result == "permerror":
        return Cause(
            f"the SPF record of {d} is broken",
            f"the DNS administrator of {d} must fix it",
            found,
        )
    return nothing_aligned_cause(author, found)


def nothing_aligned_cause(author: str, evidence: Sequence[Finding] = ()) -> Cause:
    return Cause(
        f"nothing proves it comes from {author}, as no signature or SPF check for {author} passed",
        f"if the message is genuine, the mail administrator of {author} must sign its mail "
        "and list its servers in SPF",
        tuple(evidence),
    )


def is_plain(text: str) -> bool:
    """No spec language: no tag=value, no section sign, no command-line option."""
    return "§" not in text and " --" not in text and not _TAG.search(text)
