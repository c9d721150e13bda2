"""Chain of custody: the envelope binding and the links between hops.

S06 §8.7, §8.8, §9.2-§9.4, §11.4; SPEC-NOTES §6.2 steps 4-5, §11 A19, A20, Annex C 1.

* Envelope (S06 §11.4): only the newest signature is compared with the SMTP
  envelope: ``mf=`` exactly (domain case-insensitive), every RCPT TO among
  ``rt=``.  Without an envelope we say "envelope not checked" instead of guessing.
* Inside the chain: every signature's ``mf=`` domain is at or below its
  ``d=`` (skipped for ``<>``; checked for every hop, A20); hop *k*'s ``mf=``
  domain relaxed-matches an ``rt=`` domain of hop *k-1*; after an ``nd=``
  signature ``d=`` must equal ``nd=``; an ``nd=`` or ``mf=<>`` signature
  relaxed-matches its ``d=`` instead (A19).  S06 has no string of its own for
  the inter-hop check; "MAIL FROM <value> did not match" is used (Annex C 1).
"""

from __future__ import annotations

from ..findings import Finding, Severity, State, Step, note
from .grammar import GrammarError, normalise_envelope_address, relaxed_domain_match
from .walk import Walk


def check_envelope(walk: Walk) -> None:
    sigs = walk.prep.signatures
    if not sigs:
        return
    top_i = max(sigs)
    top = sigs[top_i]
    if top.next_domain is not None:
        walk.add_custody(
            Finding(
                "custody.unexpected-nd",
                State.PERMERROR,
                f"PERMERROR: DKIM2-Signature i={top_i} unexpected nd= tag",
                Step.ENVELOPE,
                hop=top_i,
                detail=(
                    f"the newest signature hands the message on to "
                    f"nd={top.next_domain}, which never signed; there is no "
                    "envelope binding to check"
                ),
                spec="S06 §9.3, §11.4",
            )
        )
        return
    if walk.envelope is None:
        walk.add(
            note(
                "envelope.not-checked",
                "Envelope not checked",
                Step.ENVELOPE,
                severity=Severity.INFO,
                hop=top_i,
                detail=(
                    "No SMTP envelope was supplied, so the newest signature's mf=/rt= "
                    "were not compared with how the message was delivered "
                    "(the replay defence)."
                ),
                spec="S06 §11.4",
            )
        )
        return
    if top.mail_from is None or top.rcpt_to is None:
        return
    env_from = walk.envelope.mail_from.strip()
    try:
        given = normalise_envelope_address(env_from or "<>", allow_null=True)
        want = given.normalised()
    except GrammarError:
        want = env_from
    if top.mail_from.normalised() != want:
        walk.add_custody(
            Finding(
                "custody.mail-from-mismatch",
                State.PERMERROR,
                f"PERMERROR: DKIM2-Signature i={top_i} MAIL FROM {want} did not match",
                Step.ENVELOPE,
                hop=top_i,
                detail=(
                    f"the envelope MAIL FROM is {want}; the newest signature "
                    f"names mf={top.mail_from.text}"
                ),
                spec="S06 §11.4",
            )
        )
    signed = {a.normalised() for a in top.rcpt_to}
    for rcpt in walk.envelope.rcpt_to:
        try:
            norm = normalise_envelope_address(rcpt, allow_null=False).normalised()
        except GrammarError:
            norm = rcpt.strip()
        if norm not in signed:
            walk.add_custody(
                Finding(
                    "custody.rcpt-to-mismatch",
                    State.PERMERROR,
                    f"PERMERROR: DKIM2-Signature i={top_i} RCPT TO {norm} did not match",
                    Step.ENVELOPE,
                    hop=top_i,
                    detail=(
                        f"the message was delivered to {norm}, which the newest "
                        f"signature does not list (rt={', '.join(sorted(signed))})"
                    ),
                    spec="S06 §11.4",
                )
            )


def check_chain(walk: Walk) -> None:
    sigs = walk.prep.signatures
    for i in sorted(sigs):
        sig = sigs[i]
        link = "first" if i == 1 else "ok"
        mf = sig.mail_from
        if (
            mf is not None
            and not mf.is_null
            and mf.domain
            and not relaxed_domain_match(mf.domain, sig.domain)
        ):
            walk.add_custody(
                Finding(
                    "custody.mf-d-mismatch",
                    State.PERMERROR,
                    f"PERMERROR: DKIM2-Signature i={i} MAIL FROM and d= do not match",
                    Step.CHAIN,
                    hop=i,
                    detail=(
                        f"mf= domain {mf.domain} is neither d={sig.domain} nor a subdomain of it"
                    ),
                    spec="S06 §8.8, §11.4",
                )
            )
        prev = sigs.get(i - 1)
        if i > 1 and prev is None:
            link = "unknown"
        elif prev is not None:
            if prev.next_domain is not None:
                if sig.domain != prev.next_domain:
                    link = "broken"
                    walk.add_custody(
                        Finding(
                            "custody.nd-mismatch",
                            State.PERMERROR,
                            f"PERMERROR: DKIM2-Signature i={i} MAIL nd= does not match",
                            Step.CHAIN,
                            hop=i,
                            detail=(
                                f"hop {i - 1} named nd={prev.next_domain} as the next "
                                f"signer, but hop {i} signed as d={sig.domain}"
                            ),
                            spec="S06 §8.7, §11.4",
                        )
                    )
            elif prev.rcpt_to is not None:
                rt_domains = [a.domain for a in prev.rcpt_to if a.domain]
                if mf is not None and not mf.is_null and mf.domain:
                    probe, what = mf.domain, f"MAIL FROM {mf.text}"
                else:
                    probe, what = sig.domain, f"d={sig.domain}"
                if not any(relaxed_domain_match(probe, rd) for rd in rt_domains):
                    link = "broken"
                    value = mf.text if (mf is not None and not mf.is_null) else sig.domain
                    walk.add_custody(_chain_link(walk, i, value, what, rt_domains))
        walk.custody[i] = link


def _chain_link(walk: Walk, i: int, value: str, what: str, rt_domains: list[str]) -> Finding:
    """The inter-hop custody failure.  S06 has no string of its own and borrows "MAIL FROM
    <value> did not match" (SPEC-NOTES Annex C 1); from -07 the check has its own
    (Stalwart 0.14 CustodyMailFromMismatch / CustodyDomainMismatch, SPEC-09-NOTES 1.13,
    whose exact text is not public: the wording here is provisional)."""
    revision = walk.prep.options.revision
    detail = (
        f"inter-hop custody: hop {i}'s {what} is not at or below any RCPT TO domain of "
        f"hop {i - 1} ({', '.join(rt_domains) or 'none'})"
    )
    if not revision.custody_strings:
        return Finding(
            "custody.chain-link",
            State.PERMERROR,
            f"PERMERROR: DKIM2-Signature i={i} MAIL FROM {value} did not match",
            Step.CHAIN,
            hop=i,
            detail=detail,
            spec="S06 §9.2, §9.4; SPEC-NOTES Annex C 1",
        )
    kind = "MAIL FROM" if "@" in value or value.startswith("<") else "d="
    return Finding(
        "custody.chain-link",
        State.PERMERROR,
        f"PERMERROR: DKIM2-Signature i={i} custody {kind} {value} does not follow from i={i - 1}",
        Step.CHAIN,
        hop=i,
        detail=detail,
        spec=revision.source("custody_strings").text(),
        data={"provisional_string": True},
    )
