"""From-Authentic: the From domain answers to the hop that put that From in the message.

SPEC-09-NOTES 1.7, as implemented by mailauth 8.1.0 and Mail::DKIM2 0.30 (-09) and Stalwart
mail-auth 0.14 (-07, which already requires every From to be Authentic for a pass; see
``Revision.from_authentic``).  The draft text is not public.  The From domain of each
instance is compared with the ``d=`` of the hop that introduced it: the originator for the
first instance, and any later hop whose recipe changed From (a list that rewrites From must
sign the new From itself).

* The From domain equals ``d=`` or lies below it: Authentic.
* ``d=`` lies below the From domain: Authentic only if the From domain's Domain Policy
  Record says so.  That record's name and syntax are not known (SPEC-09-NOTES 1.7: "not
  found"), so the engine says it could not evaluate this rather than guess.
* Otherwise "From header field is not Authentic for d=<domain>" (Mail::DKIM2 0.30's words,
  which it uses when its signer refuses; the verifier's -09 string is not public).  Its
  state follows ``Revision.custody_state``: PERMERROR in -07 (Stalwart 0.14), FAIL from -08
  (Stalwart 0.15).

Domains are compared as lower-case A-labels (-07 compares A-labels, SPEC-09-NOTES 1.10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..addresses import AddressSyntaxError, DomainError, a_label_domain, parse_address_list
from ..findings import Finding, State, Step, note
from ..message import HeaderField
from .walk import Walk

#: Outcomes of one comparison.
AUTHENTIC = "authentic"
NOT_AUTHENTIC = "not-authentic"
NEEDS_POLICY = "needs-policy-record"
NOT_EVALUATED = "not-evaluated"


@dataclass(frozen=True)
class FromCheck:
    """One From introduction and how it compares with the introducing hop's d=."""

    instance: int
    hop: int | None
    from_domains: tuple[str, ...]
    domain: str | None  # the hop's d=
    outcome: str
    why: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "hop": self.hop,
            "from_domains": list(self.from_domains),
            "d": self.domain,
            "outcome": self.outcome,
            "why": self.why,
        }


def compare(from_domain: str, d: str) -> str:
    """AUTHENTIC, NEEDS_POLICY or NOT_AUTHENTIC for one From domain and one ``d=``."""
    if from_domain == d or from_domain.endswith("." + d):
        return AUTHENTIC
    if d.endswith("." + from_domain):
        return NEEDS_POLICY
    return NOT_AUTHENTIC


#: The common From, read without the full reader: an optional display name of ASCII words,
#: dots and blanks that starts with a word (obs-phrase, RFC 5322 §4.4) and then one
#: ``<local@domain>``, or a bare ``local@domain``; the local part a dot-atom, the domain an
#: ASCII host name.  Every text it matches is a well-formed mailbox that
#: :func:`~analysis.addresses.parse_address_list` reads with the same domain (a test holds
#: the two together); anything else, comments and quoted strings included, goes to that reader.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}\.)+{_LABEL}"
_PHRASE = rf"{_ATEXT}[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~. \t-]*"
_SIMPLE_FROM = re.compile(
    rf"(?:{_DOT_ATOM}@(?P<bare>{_HOST})|(?:{_PHRASE})?<{_DOT_ATOM}@(?P<angle>{_HOST})>)\Z"
)


def from_domains(fields: list[HeaderField]) -> tuple[tuple[str, ...], str]:
    """The A-label domains of the one From field, or () and the reason they cannot be read.

    The field is read strictly (analysis.addresses): no domain is taken from a From field
    that is not well-formed (CVE-2023-27043), since another reader may take another one."""
    froms = [f for f in fields if f.lname == "from"]
    if len(froms) != 1:
        return (), f"the message has {len(froms)} From fields"
    text = froms[0].text()
    simple = _SIMPLE_FROM.match(text)
    if simple is not None:
        raw_domains = [simple.group("bare") or simple.group("angle")]
    else:
        try:
            raw_domains = [box.domain for box in parse_address_list(text)]
        except AddressSyntaxError as exc:
            return (), f"the From field is not a well-formed mailbox ({exc})"
    out: list[str] = []
    for raw in raw_domains:
        try:
            out.append(a_label_domain(raw)[0])
        except (DomainError, ValueError) as exc:
            return (), f"the From domain cannot be read: {exc}"
    if not out:
        return (), "the From field holds no address"
    return tuple(dict.fromkeys(out)), ""


def check_from(walk: Walk) -> None:
    revision = walk.prep.options.revision
    sigs = walk.prep.signatures
    if not revision.from_authentic or not sigs:
        return
    spec = revision.source("from_authentic").text()
    introducers = walk.introducers()
    known = sorted(m for m in walk.instances if m >= 1)
    if not known:
        return
    if known[0] != 1:
        walk.add(
            note(
                "sig.from-authentic-not-evaluated",
                "From-Authentic not evaluated for the originator: instances below "
                f"m={known[0]} could not be rebuilt",
                Step.CHAIN,
                instance=known[0],
                detail=(
                    "Which From the originator signed is not known, so it cannot be compared "
                    "with the originator's d=."
                ),
                spec=spec,
            )
        )
    previous: tuple[bytes, ...] | None = None
    for m in known:
        inst = walk.instances[m]
        values = tuple(f.value for f in inst.fields if f.lname == "from")
        introduced = m == 1 or (previous is not None and values != previous)
        previous = values
        if not introduced:
            continue
        hop = introducers.get(m)
        sig = sigs.get(hop) if hop is not None else None
        if sig is None:
            continue
        known_domains = walk.shared.from_domains.get(id(inst.fields))
        if known_domains is None:
            known_domains = walk.shared.from_domains[id(inst.fields)] = from_domains(inst.fields)
            walk.shared.keep.append(inst.fields)
        domains, problem = known_domains
        if not domains:
            walk.from_checks.append(FromCheck(m, hop, (), sig.domain, NOT_EVALUATED, problem))
            walk.add(
                note(
                    "sig.from-authentic-not-evaluated",
                    f"From-Authentic not evaluated for DKIM2-Signature i={hop}: {problem}",
                    Step.CHAIN,
                    hop=hop,
                    instance=m,
                    detail=(
                        "DMARC reports the From field's problem in its own words; -09 needs one "
                        "From domain to compare with d=."
                    ),
                    spec=spec,
                )
            )
            continue
        outcomes = {fd: compare(fd, sig.domain) for fd in domains}
        bad = [fd for fd, o in outcomes.items() if o == NOT_AUTHENTIC]
        policy = [fd for fd, o in outcomes.items() if o == NEEDS_POLICY]
        role = "the originator" if m == 1 else f"the hop that changed From in m={m}"
        if bad:
            walk.from_checks.append(
                FromCheck(m, hop, domains, sig.domain, NOT_AUTHENTIC, f"{bad[0]} vs {sig.domain}")
            )
            walk.add_custody(
                Finding(
                    "sig.from-not-authentic",
                    State.PERMERROR,
                    f"PERMERROR: From header field is not Authentic for d={sig.domain}",
                    Step.CHAIN,
                    hop=hop,
                    instance=m,
                    detail=(
                        f"DKIM2-Signature i={hop} is {role}; its d={sig.domain} is neither "
                        f"the From domain {bad[0]} nor a parent of it"
                    ),
                    spec=spec,
                    data={"from_domain": bad[0], "d": sig.domain},
                )
            )
        elif policy:
            walk.from_checks.append(
                FromCheck(
                    m, hop, domains, sig.domain, NEEDS_POLICY, f"{sig.domain} below {policy[0]}"
                )
            )
            walk.add(
                note(
                    "sig.from-needs-policy-record",
                    f"From-Authentic not evaluated for DKIM2-Signature i={hop}: d={sig.domain} "
                    f"is below the From domain {policy[0]}",
                    Step.CHAIN,
                    hop=hop,
                    instance=m,
                    detail=(
                        f"-09 accepts a d= below the From domain only when {policy[0]}'s Domain "
                        "Policy Record authorises it. That record's name and format are not "
                        "public yet, so this engine does not guess: it needs the From domain's "
                        "policy record."
                    ),
                    spec=spec,
                )
            )
        else:
            walk.from_checks.append(FromCheck(m, hop, domains, sig.domain, AUTHENTIC))
