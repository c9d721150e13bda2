"""Bounces (DSNs): read one, and judge whether DKIM2 allowed it or it is backscatter.

No Django here. The DSN's own structure (RFC 3464 / RFC 6522) is read with the email
package's header parser; the returned message is sliced out byte for byte by
:mod:`dkim2web.intake.mime`, because its header hash must be recomputed over exactly the
bytes that came back.

The rules (SPEC-NOTES §6.6, §8.1; S06 §12, §12.1.2; §11 A33)
--------------------------------------------------------------
A DKIM2 system may bounce a message only to the decoded ``mf=`` of the message's newest
DKIM2-Signature, never when that ``mf=`` is ``<>``; the bounce is sent with MAIL FROM
``<>`` and is itself DKIM2-signed (its ``mf=`` is ``<>``, its ``rt=`` the address it is
sent to); and whoever receives it checks that (1) the bounce's signing domain is aligned
with a recipient in the ``rt=`` of the returned message's newest signature, (2) that
newest signature was the receiver's own (its ``mf=`` is where the bounce went), and
(3) the returned header block (and body, when the whole message came back) matches the
hashes of the newest Message-Instance. A bounce that fails any of these went somewhere
DKIM2 does not allow: backscatter.

Interpretations, each named in the checks' text:
* "The bounce's signature" is its ``i=1`` DKIM2-Signature: the bouncing system signs the
  new message as its originator; later signatures are hops that relayed the bounce on
  (the user's own forwarding, for instance).
* Alignment (A33) is S06 §9.4's relaxed match: the bounce's ``d=`` equals an ``rt=`` domain
  of the returned message's newest signature or is below it.
* When the returned message carries no DKIM2-Signature, DKIM2's rules say nothing about
  where its bounce may go: the verdict is "undetermined", never "allowed".
* Whether the bounce's own signature verifies is the engine's job (the DSN is analysed
  like any message); this module judges where it went and what it returned.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from analysis.dkim2.canonical import header_hash_input
from analysis.dkim2.fields import (
    MI_NAME,
    SIG_NAME,
    Dkim2Signature,
    MessageInstance,
    parse_message_instance,
    parse_signature,
)
from analysis.dkim2.grammar import GrammarError, normalise_envelope_address, relaxed_domain_match
from analysis.message import ParsedMessage, parse_message

from .mime import Entity, Walk, decode_body

REPORT_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
RETURNED_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
RETURNED_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})
MAX_STATUS_BYTES = 64 * 1024

ALLOWED = "allowed"
BACKSCATTER = "backscatter"
UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class Check:
    code: str
    ok: bool | None  # None: could not be decided
    title: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "ok": self.ok, "title": self.title, "detail": self.detail}


@dataclass
class Dsn:
    """A multipart/report; report-type=delivery-status, taken apart."""

    human: str  # the first text part, shortened
    per_message: dict[str, str]  # Reporting-MTA, Arrival-Date, ... (names lower-cased)
    recipients: list[dict[str, str]]  # Final-Recipient, Action, Status, Diagnostic-Code, ...
    returned: bytes | None  # the returned message or header block, exactly
    returned_kind: str  # "message", "headers" or "" (nothing returned)
    returned_path: str  # MIME part number
    returned_encoding: str  # a transfer encoding undone on it, "" when none
    notes: list[str] = field(default_factory=list)

    def status_json(self) -> dict[str, Any]:
        return {
            "per_message": self.per_message,
            "recipients": self.recipients,
            "returned_kind": self.returned_kind,
            "returned_part": self.returned_path,
            "returned_encoding": self.returned_encoding,
            "human": self.human,
            "notes": list(self.notes),
        }


@dataclass
class Verdict:
    verdict: str  # ALLOWED, BACKSCATTER or UNDETERMINED
    summary: str
    checks: list[Check]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "summary": self.summary,
            "checks": [c.to_json() for c in self.checks],
            "spec": "S06 §12, §12.1.2; SPEC-NOTES §6.6, §8.1, §11 A33",
        }


def is_dsn(entity: Entity) -> bool:
    return (
        entity.content_type == "multipart/report"
        and entity.params.get("report-type", "").strip().lower() == "delivery-status"
    )


def _field_blocks(text: bytes) -> list[dict[str, str]]:
    """RFC 3464 §2.1: blocks of header-like fields separated by blank lines."""
    blocks: list[dict[str, str]] = []
    data = text[:MAX_STATUS_BYTES].replace(b"\r\n", b"\n")
    for chunk in data.split(b"\n\n"):
        if not chunk.strip():
            continue
        msg = BytesHeaderParser(policy=compat32).parsebytes(chunk.strip(b"\n") + b"\n\n")
        fields = {}
        for name, value in msg.items():
            fields[str(name).lower()] = " ".join(str(value).split())[:1000]
        if fields:
            blocks.append(fields)
    return blocks


def parse(walked: Walk, report: Entity) -> Dsn:
    """Read the DSN whose multipart/report entity is ``report`` (from ``walked``)."""
    children = [e for e in walked.entities if e.path and e.path.rpartition(".")[0] == report.path]
    human = ""
    per_message: dict[str, str] = {}
    recipients: list[dict[str, str]] = []
    returned: bytes | None = None
    returned_kind = returned_path = returned_encoding = ""
    notes: list[str] = []
    for child in children:
        if child.content_type in REPORT_TYPES and not per_message and not recipients:
            decoded = decode_body(child)
            blocks = _field_blocks(decoded.data)
            if blocks:
                per_message, recipients = blocks[0], blocks[1:]
        elif child.content_type in RETURNED_MESSAGE_TYPES and returned is None:
            decoded = decode_body(child)
            returned, returned_kind = decoded.data, "message"
            returned_path, returned_encoding = child.path, decoded.encoding
            if decoded.problem:
                notes.append(decoded.problem)
        elif child.content_type in RETURNED_HEADER_TYPES and returned is None:
            decoded = decode_body(child)
            returned, returned_kind = decoded.data, "headers"
            returned_path, returned_encoding = child.path, decoded.encoding
            if decoded.problem:
                notes.append(decoded.problem)
        elif child.maintype == "text" and not human:
            human = decode_body(child).data[:2000].decode("utf-8", "replace").strip()
    if not per_message and not recipients:
        notes.append("no message/delivery-status part was found")
    if returned is None:
        notes.append("the bounce returned neither the message nor its header block")
    return Dsn(
        human,
        per_message,
        recipients,
        returned,
        returned_kind,
        returned_path,
        returned_encoding,
        notes,
    )


@dataclass
class _Chain:
    parsed: ParsedMessage
    signatures: dict[int, Dkim2Signature]
    instances: dict[int, MessageInstance]

    @property
    def newest(self) -> Dkim2Signature | None:
        return self.signatures[max(self.signatures)] if self.signatures else None

    @property
    def first(self) -> Dkim2Signature | None:
        return self.signatures[min(self.signatures)] if self.signatures else None

    @property
    def newest_instance(self) -> MessageInstance | None:
        return self.instances[max(self.instances)] if self.instances else None


def _chain(raw: bytes) -> _Chain:
    parsed = parse_message(raw)
    sigs: dict[int, Dkim2Signature] = {}
    mis: dict[int, MessageInstance] = {}
    for f in parsed.fields:
        if f.lname == SIG_NAME:
            sig, _ = parse_signature(f)
            if sig is not None and sig.hop not in sigs:
                sigs[sig.hop] = sig
        elif f.lname == MI_NAME:
            mi, _ = parse_message_instance(f)
            if mi is not None and mi.instance not in mis:
                mis[mi.instance] = mi
    return _Chain(parsed, sigs, mis)


def _norm(address: str) -> str:
    try:
        return normalise_envelope_address(address or "<>", allow_null=True).normalised()
    except GrammarError:
        return address.strip()


def judge(
    dsn_raw: bytes,
    dsn: Dsn,
    *,
    smtp_mail_from: str | None = None,
) -> Verdict:
    """The verdict on the bounce ``dsn_raw`` (parsed as ``dsn``).

    ``smtp_mail_from`` is the MAIL FROM the bounce arrived with when it reached the intake
    straight from the bouncing system (one DKIM2 signature, direct delivery); None when
    it came some other way (forwarded, attached).
    """
    checks: list[Check] = []
    if dsn.returned is None:
        return Verdict(
            UNDETERMINED,
            "The bounce returned neither the message nor its header block, so nothing can "
            "be checked against the DKIM2 rules.",
            [],
        )
    returned = _chain(dsn.returned)
    bounce = _chain(dsn_raw)
    target = returned.newest
    if target is None:
        return Verdict(
            UNDETERMINED,
            "The returned message carries no DKIM2-Signature, so DKIM2's rules say nothing "
            "about where its bounce could go. (Without DKIM2, a bounce goes to the MAIL FROM "
            "of the message, which anyone can forge: that is how backscatter happens.)",
            [
                Check(
                    "dsn.returned-unsigned",
                    None,
                    "The returned message is DKIM2-signed",
                    "no readable DKIM2-Signature in the returned "
                    + ("message" if dsn.returned_kind == "message" else "header block"),
                )
            ],
        )

    # (a) The bounced message may be bounced at all, and only to its newest mf=.
    if target.mail_from is None:
        checks.append(
            Check(
                "dsn.returned-no-mf",
                False,
                "The returned message's newest signature names a bounce address",
                f"its newest signature (i={target.hop}, d={target.domain}) carries "
                f"nd={target.next_domain} and no mf=, so there is no address a bounce may go to",
            )
        )
        bounce_to = None
    elif target.mail_from.is_null:
        checks.append(
            Check(
                "dsn.returned-null-mf",
                False,
                "The returned message may be bounced",
                f"its newest signature (i={target.hop}, d={target.domain}) has mf=<>: a "
                "bounce MUST NOT be sent for it (S06 §12)",
            )
        )
        bounce_to = None
    else:
        bounce_to = target.mail_from.normalised()
        checks.append(
            Check(
                "dsn.returned-mf",
                True,
                "The returned message may be bounced",
                f"its newest signature (i={target.hop}, d={target.domain}) names "
                f"mf={bounce_to}: a bounce may go there and only there",
            )
        )

    own = bounce.first
    # (b) The bounce is sent with MAIL FROM <> and signed so (mf=<>).
    if own is None:
        checks.append(
            Check(
                "dsn.unsigned",
                False,
                "The bounce is DKIM2-signed",
                "the bounce carries no readable DKIM2-Signature; S06 §12.1 requires a "
                "bounce to be DKIM2-signed, and without a signature its origin and "
                "destination cannot be checked",
            )
        )
    else:
        null_sender = own.mail_from is not None and own.mail_from.is_null
        checks.append(
            Check(
                "dsn.null-sender",
                null_sender,
                "The bounce was sent with MAIL FROM <>",
                f"the bounce's own signature (i={own.hop}, d={own.domain}) has "
                + (
                    "mf=<>"
                    if null_sender
                    else f"mf={own.mail_from.text if own.mail_from else '(none)'}, "
                    "not <> (S06 §12.1)"
                ),
            )
        )
        if smtp_mail_from is not None and len(bounce.signatures) == 1:
            env = _norm(smtp_mail_from)
            checks.append(
                Check(
                    "dsn.smtp-null-sender",
                    env == "<>",
                    "The bounce arrived with MAIL FROM <>",
                    f"the SMTP MAIL FROM of its delivery here was {env}",
                )
            )
        # (c) Addressed to the returned message's newest mf=.
        sent_to = [a.normalised() for a in own.rcpt_to or []]
        if bounce_to is not None:
            if not sent_to:
                checks.append(
                    Check(
                        "dsn.addressed",
                        False,
                        "The bounce went to the returned message's newest mf=",
                        f"the bounce's signature has no rt= (nd={own.next_domain}), so it does "
                        f"not say it went to {bounce_to}",
                    )
                )
            else:
                checks.append(
                    Check(
                        "dsn.addressed",
                        bounce_to in sent_to,
                        "The bounce went to the returned message's newest mf=",
                        f"the bounce was sent to rt={', '.join(sent_to)}; the returned "
                        f"message's newest signature allows only {bounce_to}",
                    )
                )
        # (d) The bouncer is aligned with a recipient the returned message was sent to.
        rt_domains = sorted({a.domain for a in target.rcpt_to or [] if a.domain})
        if target.next_domain:
            rt_domains.append(target.next_domain)
        aligned = any(relaxed_domain_match(own.domain, d) for d in rt_domains)
        checks.append(
            Check(
                "dsn.aligned",
                aligned,
                "The bounce was signed by a domain the message was sent to",
                f"the bounce is signed by d={own.domain}; the returned message's newest "
                f"signature sent it to {', '.join(rt_domains) or '(no domain)'} "
                "(relaxed match, SPEC-NOTES §11 A33)",
            )
        )

    # (e) The returned bytes are what the newest Message-Instance describes.
    checks.append(_hash_check(returned, target, dsn.returned_kind))

    failed = [c for c in checks if c.ok is False]
    unknown = [c for c in checks if c.ok is None]
    if failed:
        verdict = BACKSCATTER
        summary = "Backscatter: this bounce went where DKIM2 does not allow. " + " ".join(
            f"{c.detail[:1].upper()}{c.detail[1:]}." for c in failed
        )
    elif unknown:
        verdict = UNDETERMINED
        summary = "Some of the DKIM2 bounce rules could not be checked: " + " ".join(
            f"{c.title}: {c.detail}." for c in unknown
        )
    else:
        verdict = ALLOWED
        summary = (
            f"This bounce went where DKIM2 allows: to {bounce_to}, the newest mf= of the "
            f"returned message, from d={own.domain if own else '?'}, a domain that message "
            "was sent to, with MAIL FROM <>, and the returned message is the one that was "
            "signed."
        )
    return Verdict(verdict, summary, checks)


def _hash_check(returned: _Chain, target: Dkim2Signature, kind: str) -> Check:
    title = "The returned message is the one its newest Message-Instance describes"
    # The instance the newest signature vouches for (its m=), which is the newest one.
    mi = returned.instances.get(target.instance) or returned.newest_instance
    if mi is None:
        return Check(
            "dsn.returned-hash", False, title, "the returned message has no Message-Instance"
        )
    known = [h for h in mi.hashes if h.algorithm in ("sha256", "sha512")]
    if not known:
        return Check(
            "dsn.returned-hash",
            None,
            title,
            f"Message-Instance m={mi.instance} uses no hash algorithm this tool knows",
        )
    hinput = header_hash_input(returned.parsed.fields)
    problems = []
    for h in known:
        if hashlib.new(h.algorithm, hinput).digest() != h.header_hash:
            problems.append(f"header hash ({h.algorithm}) does not match")
        if kind == "message" and returned.parsed.body.hash(h.algorithm) != h.body_hash:
            problems.append(f"body hash ({h.algorithm}) does not match")
    if problems:
        return Check(
            "dsn.returned-hash",
            False,
            title,
            f"Message-Instance m={mi.instance}: "
            + "; ".join(problems)
            + " — the returned message is not the one that was signed",
        )
    what = "header block and body" if kind == "message" else "header block"
    return Check(
        "dsn.returned-hash",
        True,
        title,
        f"the returned {what} match the hashes of Message-Instance m={mi.instance}",
    )
