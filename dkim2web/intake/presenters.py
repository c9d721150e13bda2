"""What the result page shows about an analysis that came in by mail.

:func:`intake_context` is all the page needs for ``templates/intake/_analysis_panel.html``:
the SMTP envelope of the delivery (with the client address, the HELO name and the time),
where an original was found or which originals were found, the inline-forward
explanation, and the bounce verdict. ``{"present": False}`` for an uploaded analysis.
"""

from __future__ import annotations

from typing import Any

from analysis import dsn as dsn_rules
from dkim2web.reports.models import Analysis
from dkim2web.reports.selectors import analysis_latest_run

from .models import Delivery, IntakePart
from .selectors import intake_children, intake_part_for_analysis

VERDICTS = {
    dsn_rules.ALLOWED: ("Bounce allowed by DKIM2", "pass"),
    dsn_rules.BACKSCATTER: ("Backscatter", "fail"),
    dsn_rules.UNDETERMINED: ("Bounce not judged", "none"),
}

FOUND_IN = {
    IntakePart.Kind.ATTACHED: "This is an original found inside your forward",
    IntakePart.Kind.RETURNED: "This is the message a bounce returned",
}


def _delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "protocol": delivery.get_protocol_display(),
        "mail_from": delivery.mail_from or "<>",
        "rcpt_to": list(delivery.rcpt_to),
        "other_recipients": delivery.other_recipients,
        "client_ip": delivery.client_ip,
        "client_port": delivery.client_port,
        "helo": delivery.helo,
        "received_at": delivery.received_at,
        "size": delivery.size,
        "reply": {
            "state": delivery.reply_state,
            "label": delivery.get_reply_state_display(),
            "to": delivery.reply_to,
            "detail": delivery.reply_detail,
            "at": delivery.replied_at,
        },
    }


def _mark(ok: bool | None) -> str:
    return {True: "pass", False: "fail", None: "none"}[ok]


def _dsn(part: IntakePart, analysis: Analysis) -> dict[str, Any] | None:
    if not part.dsn:
        return None
    stored = part.dsn.get("verdict") or {}
    verdict = str(stored.get("verdict") or dsn_rules.UNDETERMINED)
    summary = str(stored.get("summary") or "")
    checks = [dict(c) for c in stored.get("checks") or [] if isinstance(c, dict)]
    # Where the bounce went is judged at intake; whether its own signature verifies is the
    # engine's answer, known once the analysis has run.
    run = analysis_latest_run(analysis=analysis)
    chain = (run.document.get("dkim2") if run is not None else None) or {}
    hops = chain.get("hops") or []
    first = next((h for h in hops if isinstance(h, dict) and h.get("i") == 1), None)
    if first is not None:
        selectors = [s for s in first.get("selectors") or [] if isinstance(s, dict)]
        verified = bool(selectors) and all(s.get("result") == "pass" for s in selectors)
        checks.append(
            {
                "code": "dsn.signature",
                "ok": verified,
                "title": "The bounce's own DKIM2 signature verifies",
                "detail": f"i=1, d={first.get('d')}: "
                + (
                    ", ".join(f"{s.get('selector')} {s.get('result')}" for s in selectors)
                    or "no signature to check"
                ),
            }
        )
        if not verified and verdict == dsn_rules.ALLOWED:
            verdict = dsn_rules.UNDETERMINED
            summary = (
                "The bounce's own DKIM2 signature did not verify, so its signing domain "
                "proves nothing about where it came from. " + summary
            )
    elif run is None and verdict == dsn_rules.ALLOWED:
        summary += " (Whether the bounce's own signature verifies is shown once the analysis ran.)"
    label, css = VERDICTS.get(verdict, VERDICTS[dsn_rules.UNDETERMINED])
    for check in checks:
        check["mark"] = _mark(check.get("ok"))
    status = part.dsn.get("status") or {}
    return {
        "verdict": verdict,
        "label": label,
        "css": css,
        "summary": summary,
        "checks": checks,
        "spec": stored.get("spec", ""),
        "reporting_mta": (status.get("per_message") or {}).get("reporting-mta", ""),
        "recipients": [
            {
                "final_recipient": r.get("final-recipient", ""),
                "action": r.get("action", ""),
                "status": r.get("status", ""),
                "diagnostic": r.get("diagnostic-code", ""),
            }
            for r in status.get("recipients") or []
            if isinstance(r, dict)
        ],
        "returned_kind": status.get("returned_kind", ""),
        "notes": list(status.get("notes") or []),
    }


def _child(part: IntakePart) -> dict[str, Any]:
    child = part.analysis
    run = analysis_latest_run(analysis=child) if child.status == Analysis.Status.DONE else None
    return {
        "id": child.pk,
        "name": child.filename or str(child.pk),
        "kind": part.kind,
        "kind_label": part.get_kind_display(),
        "mime_part": part.mime_part,
        "transfer_encoding": part.transfer_encoding,
        "status": child.status,
        "result": run.result if run is not None else "",
        "verdict": ((part.dsn or {}).get("verdict") or {}).get("verdict", ""),
    }


def intake_context(analysis: Analysis) -> dict[str, Any]:
    """The intake panel of ``analysis``'s result page (``present`` False: not by mail)."""
    part = intake_part_for_analysis(analysis=analysis)
    if part is None:
        return {"present": False}
    notes = [n for n in part.notes or [] if isinstance(n, dict)]
    inline = next((n for n in notes if n.get("code") == "intake.inline-forward"), None)
    parent = None
    if part.parent_id is not None and part.parent is not None:
        parent = {
            "id": part.parent_id,
            "name": part.parent.filename or str(part.parent_id),
        }
    return {
        "present": True,
        "kind": part.kind,
        "kind_label": part.get_kind_display(),
        "delivered": part.parent_id is None
        and part.kind not in (IntakePart.Kind.ATTACHED, IntakePart.Kind.RETURNED),
        "found_in": FOUND_IN.get(part.kind, "") if part.kind in FOUND_IN else "",
        "parent": parent,
        "mime_part": part.mime_part,
        "transfer_encoding": part.transfer_encoding,
        "delivery": _delivery(part.delivery),
        "children": [_child(c) for c in intake_children(analysis=analysis)],
        "inline": inline,
        "notes": [n for n in notes if n is not inline],
        "dsn": _dsn(part, analysis),
    }
