"""The one entry point: every mechanism a message carries, composed into one report.

Theory of operation
-------------------
:func:`analyze_message` is what the web page, the JSON report, the API and both command
lines read.  For one message:

1. The message is parsed once (:func:`analysis.dkim2.prepare`, whose
   :class:`~analysis.message.ParsedMessage` every mechanism then reads).  An input that
   is not a message at all stops here with a permerror verdict.
2. Every DKIM key the message needs -- DKIM2 hops, DKIM1 signatures, ARC seals and
   message signatures -- is asked for in one batch through
   :class:`~analysis.evidence.MessageDns`, so they resolve in parallel under one budget.
3. DKIM2, DKIM1 and ARC verify against those answers.
4. The Received fields are read and timed, each signature placed on the hop that added it
   (:mod:`analysis.delivery_time`); the receivers' Authentication-Results fields are read
   and weighed (:mod:`analysis.authres`).
5. The SMTP context of the hop that took the message in from the outside is the one the
   caller gives (the intake saw it: ``source="smtp"``; the user typed it: ``"given"``) or,
   for the parts it does not give, reconstructed from that receiver's own trace fields
   (``"reconstructed"``, and labelled so).  SPF evaluates it, asking DNS step by step.
6. DMARC (RFC 9989) judges the From domain with every authenticated identifier: SPF,
   each DKIM1 signature and each DKIM2 hop.
7. :func:`analysis.verdict.judge` writes the verdict of the whole message.

Every DNS answer used is kept (:attr:`MessageReport.dns`) with what it was used for.

The stored form is ``MessageReport.to_json()``, schema version 2, at most
``limits.MAX_REPORT_BYTES`` of JSON (:mod:`analysis.report_budget`: past it the largest
derived parts are trimmed and ``trimmed`` says which).  Reports stored by
earlier versions (schema 1: the DKIM2 chain alone) are read through
:func:`upgrade_report`, which says what that run did not check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from . import arc as arc_mechanism
from . import authres, dmarc, limits, received, report_budget, spf, verdict
from . import dkim1 as dkim1_mechanism
from . import dsn as bounce_reader
from .change_search import SearchBudget
from .delivery_time import DeliveryTime
from .delivery_time import delivery_time as measure_delivery
from .dkim2 import ChainReport, Envelope, Options
from .dkim2 import plan as dkim2_plan
from .dkim2 import verify_plan as dkim2_verify
from .dkim2.report import MessageSummary
from .dkim2.revisions import Revision
from .evidence import Evidence, MessageDns, evidence_json
from .lookup import DnsLookup, KeyLookup

__all__ = [
    "ENGINE_VERSION",
    "SCHEMA_VERSION",
    "MessageReport",
    "analyze_message",
    "upgrade_report",
]

#: Version of the whole engine (every mechanism), stored with each run.
ENGINE_VERSION = "0.3.0"

#: Version of the stored JSON report (1: DKIM2 alone; 2: every mechanism).
SCHEMA_VERSION = 2

#: The mechanism sections of a schema 2 report, in the order the page shows them.
SECTIONS = ("dkim2", "dkim1", "arc", "spf", "dmarc", "receivers")


@dataclass
class MessageReport:
    verdict: verdict.Verdict
    message: MessageSummary
    smtp: received.SmtpContext
    verified_at: float | None
    dkim2: ChainReport
    dkim1: dkim1_mechanism.Dkim1Report | None
    arc: arc_mechanism.ArcReport | None
    spf: spf.SpfReport | None
    dmarc: dmarc.DmarcReport | None
    receivers: authres.ReceiverClaims | None
    received: received.ReceivedPath = field(default_factory=received.ReceivedPath)
    dns: list[Evidence] = field(default_factory=list)
    delivery_time: DeliveryTime | None = None  # optional: reports stored before it lack it
    dsn: bounce_reader.Dsn | None = None  # a bounce's report (optional, like delivery_time)

    @property
    def result(self) -> str:
        return self.verdict.result

    @property
    def summary(self) -> str:
        return self.verdict.headline

    def to_json(self, limit: int = limits.MAX_REPORT_BYTES) -> dict[str, Any]:
        """The stored form: at most ``limit`` octets of JSON, trimmed and saying so past it
        (:func:`analysis.report_budget.fit`; ReportTooLarge when even that is too large)."""
        return self.to_json_text(limit)[0]

    def to_json_text(self, limit: int = limits.MAX_REPORT_BYTES) -> tuple[dict[str, Any], str]:
        """:meth:`to_json` and its JSON text (``json.dumps``), encoded once for a caller
        that stores it (:func:`analysis.report_budget.fit_text`)."""
        chain = self.dkim2.to_json()
        chain.pop("message", None)
        chain.pop("schema_version", None)
        report = {
            "schema_version": SCHEMA_VERSION,
            "engine_version": ENGINE_VERSION,
            "result": self.verdict.result,
            "summary": self.verdict.headline,
            "verdict": self.verdict.to_json(),
            "message": self.message.to_json(),
            "smtp": self.smtp.to_json(),
            "verified_at": self.verified_at,
            "dkim2": chain,
            "dkim1": self.dkim1.to_json() if self.dkim1 is not None else None,
            "arc": self.arc.to_json() if self.arc is not None else None,
            "spf": self.spf.to_json() if self.spf is not None else None,
            "dmarc": self.dmarc.to_json() if self.dmarc is not None else None,
            "receivers": self.receivers.to_json() if self.receivers is not None else None,
            "received": self.received.to_json(),
            "dns": evidence_json(self.dns),
            "delivery_time": (
                self.delivery_time.to_json() if self.delivery_time is not None else None
            ),
            "dsn": self.dsn.to_json() if self.dsn is not None else None,
        }
        return report_budget.fit_text(report, limit)


def analyze_message(
    raw: bytes,
    *,
    lookup: KeyLookup | DnsLookup,
    smtp: received.SmtpContext | None = None,
    envelope: Envelope | None = None,
    now: float | None = None,
    options: Options | None = None,
    dns_budget: float = limits.DNS_BUDGET_SECONDS,
    revision: str | Revision = "auto",
) -> MessageReport:
    """Analyse ``raw`` with every mechanism (see the module docs).

    ``smtp``: what is known of the SMTP transaction that delivered the message (client
    IP, HELO, MAIL FROM, RCPT TO and where they came from); missing parts are
    reconstructed from the receiver's trace fields.  ``envelope``: the envelope the DKIM2
    chain is checked against (by default the MAIL FROM and RCPT TO of ``smtp`` when they
    were seen or given, never reconstructed ones).  ``now``: the verification clock in
    unix seconds (None: the real clock; 0: timestamps and expiry are not checked).
    ``revision``: the DKIM2 revision whose rules judge the chain ("auto": the newest, with the
    older ones compared; :mod:`analysis.dkim2.compare`).
    """
    clock = time.time() if now is None else float(now)
    dns = MessageDns(lookup, budget=dns_budget)
    prep = dkim2_plan(raw, options, revision=revision)
    message = prep.message
    given = smtp is not None and smtp.source in ("smtp", "given")
    if envelope is None and smtp is not None and given and (smtp.mail_from or smtp.rcpt_to):
        envelope = Envelope(smtp.mail_from or "<>", list(smtp.rcpt_to))
    if message.fatal:
        chain = dkim2_verify(prep, {}, envelope=envelope, now=now)
        context = smtp or received.SmtpContext(source="none", detail="the input is not a message")
        return MessageReport(
            verdict=verdict.judge(
                dkim2=chain, dkim1=None, arc=None, spf=None, dmarc=None, receivers=None, fatal=True
            ),
            message=chain.message,
            smtp=context,
            verified_at=clock or None,
            dkim2=chain,
            dkim1=None,
            arc=None,
            spf=None,
            dmarc=None,
            receivers=None,
        )

    d1_prep = dkim1_mechanism.prepare(message)
    arc_prep = arc_mechanism.prepare(message)
    keys = dns.lookup_keys(
        {
            "dkim2 key": prep.key_queries,
            "dkim1 key": list(d1_prep.key_queries),
            "arc key": list(arc_prep.key_queries),
        }
    )
    # One budget for every search of what changed the message (analysis.change_search).
    changes = SearchBudget()
    chain = dkim2_verify(prep, keys["dkim2 key"], envelope=envelope, now=now, change_budget=changes)
    d1 = dkim1_mechanism.verify(d1_prep, keys["dkim1 key"], now=clock, change_budget=changes)
    chain_arc = arc_mechanism.verify(arc_prep, keys["arc key"], now=clock)

    hops = received.read_received(message)
    claims = authres.read_receivers(message, hops)
    context = _smtp_context(smtp, received.reconstruct_smtp(message, hops))
    spf_report = spf.evaluate(
        ip=context.client_ip,
        helo=context.helo or "",
        mail_from=context.mail_from or "",
        lookup=dns.for_purpose("spf"),
        source=context.source,
        source_detail=context.detail,
        receiver=context.receiver or "",
    )
    identifiers = _identifiers(chain, d1, spf_report)
    dmarc_report = dmarc.evaluate(
        message=message, identifiers=identifiers, lookup=dns.for_purpose("dmarc")
    )
    judged = verdict.judge(
        dkim2=chain,
        dkim1=d1,
        arc=chain_arc,
        spf=spf_report,
        dmarc=dmarc_report,
        receivers=claims,
    )
    return MessageReport(
        verdict=judged,
        message=chain.message,
        smtp=context,
        verified_at=clock or None,
        dkim2=chain,
        dkim1=d1,
        arc=chain_arc,
        spf=spf_report,
        dmarc=dmarc_report,
        receivers=claims,
        received=hops,
        dns=list(dns.evidence),
        delivery_time=measure_delivery(message, hops, now=clock or None),
        dsn=bounce_reader.read_if_report(raw, message.first_text("content-type")),
    )


def _smtp_context(
    given: received.SmtpContext | None, reconstructed: received.SmtpContext
) -> received.SmtpContext:
    """What the caller knows, completed from the trace fields, saying which is which."""
    if given is None or given.source == "none":
        return reconstructed
    if given.client_ip:
        return given
    # An upload with a typed envelope: the client address and HELO can only come from the
    # trace fields, so the whole context is a reconstruction for SPF.
    if reconstructed.client_ip is None:
        return replace(given, source=given.source, detail=given.detail)
    return replace(
        reconstructed,
        mail_from=given.mail_from or reconstructed.mail_from,
        rcpt_to=list(given.rcpt_to) or list(reconstructed.rcpt_to),
        detail=(
            f"MAIL FROM {given.mail_from or reconstructed.mail_from or '<>'} as given; "
            f"{reconstructed.detail}"
        ),
    )


def _identifiers(
    chain: ChainReport, d1: dkim1_mechanism.Dkim1Report, spf_report: spf.SpfReport
) -> list[dmarc.AuthenticatedIdentifier]:
    """Every authenticated (or attempted) identifier, for DMARC alignment (RFC 9989 §4.4)."""
    out: list[dmarc.AuthenticatedIdentifier] = []
    if spf_report.domain:
        identity = "MAIL FROM" if spf_report.identity == "mailfrom" else "HELO"
        out.append(
            dmarc.AuthenticatedIdentifier(
                "spf",
                spf_report.domain,
                spf_report.result,
                f"SPF ({identity} {spf_report.domain})",
            )
        )
    for sig in d1.signatures:
        if sig.domain:
            out.append(
                dmarc.AuthenticatedIdentifier(
                    "dkim",
                    sig.domain,
                    sig.result,
                    f"DKIM1 signature {sig.index} (d={sig.domain})",
                )
            )
    # A DKIM2 hop vouches for its d= only when the whole chain verifies: the chain's verdict
    # is DKIM2's result (S06 §11; AR00 §3.2.1 makes d= an authenticated identity only for
    # a pass), so a replayed or broken chain lends no hop's domain to DMARC.
    for hop in chain.hops:
        if hop.domain:
            out.append(
                dmarc.AuthenticatedIdentifier(
                    "dkim2",
                    hop.domain,
                    chain.result.value,
                    f"DKIM2 hop i={hop.hop} (d={hop.domain})",
                )
            )
    return out


# -- stored reports of earlier versions --------------------------------------------------------


def upgrade_report(data: dict[str, Any]) -> dict[str, Any]:
    """A stored report in the current schema (a schema 1 report was the DKIM2 chain alone:
    its sections for the other mechanisms are None, and its verdict says so)."""
    if not isinstance(data, dict):
        return {"schema_version": SCHEMA_VERSION, "result": "permerror", "summary": ""}
    if data.get("schema_version") == SCHEMA_VERSION:
        return data
    chain = {k: v for k, v in data.items() if k not in ("schema_version", "message")}
    result = str(data.get("result") or "none")
    summary = str(data.get("summary") or "")
    return {
        "schema_version": SCHEMA_VERSION,
        "upgraded_from": data.get("schema_version", 1),
        "engine_version": data.get("engine_version"),
        "result": result,
        "summary": summary,
        "verdict": {
            "result": result,
            "trusted": None,
            "headline": summary,
            "points": [
                "This run checked DKIM2 only: it was made before dkim2web verified DKIM1, ARC, "
                "SPF and DMARC. Re-run the analysis to see them."
            ],
            "mechanisms": [
                {
                    "mechanism": "dkim2",
                    "label": "DKIM2",
                    "result": result,
                    "summary": summary,
                    "claimed": None,
                    "claimed_by": None,
                    "agrees": None,
                }
            ],
            "disagreements": [],
            "findings": [],
        },
        "message": data.get("message") or {},
        "smtp": None,
        "verified_at": data.get("verified_at"),
        "dkim2": chain,
        "dkim1": None,
        "arc": None,
        "spf": None,
        "dmarc": None,
        "receivers": None,
        "received": None,
        "dns": [
            {**answer, "type": "TXT", "purposes": ["dkim2 key"]}
            for answer in data.get("dns") or []
            if isinstance(answer, dict)
        ],
    }
