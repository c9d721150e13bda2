"""The "Bounce" section of the result page, from the report's ``dsn`` part (analysis.dsn).

:func:`dsn_view` is a plain function over the stored report: no queries. Text from the
message (addresses, server replies, the bounce's own words) stays a plain ``str`` for the
template to escape. :func:`link_returned` is the one query: the analysis of the message the
bounce returned, found by its bytes among the analyses the visitor may see (an upload's, or
the mailbox's, or one made with the button on the page). Reports stored before the section
existed have no ``dsn``: the view is None and the page leaves the section out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from . import selectors
from .mechanism_views import badge, mechanism_label

#: Action (RFC 3464 §2.3.3) -> (label, badge class).
ACTIONS = {
    "failed": ("Not delivered", "fail"),
    "delayed": ("Delayed", "temperror"),
    "delivered": ("Delivered", "pass"),
    "expanded": ("Delivered to a list", "pass"),
    "relayed": ("Relayed", "none"),
}


@dataclass
class StatusView:
    code: str
    valid: bool
    headline: str  # "Permanent failure: the mailbox does not exist ..."
    title: str  # the registry's title, "" when unregistered
    subject: str
    who: str
    source: str
    problem: str


@dataclass
class RecipientView:
    address: str
    original: str  # the Original-Recipient when it differs from the address
    action: str
    label: str
    badge: str
    action_text: str
    status_field: str
    status: StatusView | None
    diagnostic: str
    diagnostic_type: str
    diagnostic_status: StatusView | None
    remote_mta: str
    who: str  # who can act, from the most specific code
    last_attempt: str
    retry_until: str
    problems: list[str] = field(default_factory=list)


@dataclass
class ReturnedView:
    kind: str  # "message" or "headers"
    subject: str
    size: int
    part: str
    content_type: str
    encoding: str
    sha256: str
    is_bounce: bool
    analysis: dict[str, Any] | None = None  # set by link_returned: id, name, result, label


@dataclass
class DsnView:
    summary: str
    reporting_mta: str
    arrival_date: str
    recipients: list[RecipientView]
    more: int  # recipients counted, not listed
    human: str
    returned: ReturnedView | None
    notes: list[str]
    spec: str


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _status(data: Any) -> StatusView | None:
    if not isinstance(data, Mapping):
        return None
    return StatusView(
        code=_text(data, "code"),
        valid=bool(data.get("valid")),
        headline=_text(data, "headline"),
        title=_text(data, "title"),
        subject=_text(data, "subject"),
        who=_text(data, "who"),
        source=_text(data, "source"),
        problem=_text(data, "problem"),
    )


def _recipient(data: Mapping[str, Any]) -> RecipientView:
    action = _text(data, "action")
    label, css = ACTIONS.get(action, (action or "No known action", "none"))
    address = _text(data, "address")
    original = _text(data, "original_recipient")
    problems = data.get("problems")
    return RecipientView(
        address=address,
        original=original if original and original.lower() != address.lower() else "",
        action=action,
        label=label,
        badge=css,
        action_text=_text(data, "action_text"),
        status_field=_text(data, "status_field"),
        status=_status(data.get("status")),
        diagnostic=_text(data, "diagnostic_code"),
        diagnostic_type=_text(data, "diagnostic_type"),
        diagnostic_status=_status(data.get("diagnostic_status")),
        remote_mta=_text(data, "remote_mta"),
        who=_text(data, "who"),
        last_attempt=_text(data, "last_attempt_date"),
        retry_until=_text(data, "will_retry_until"),
        problems=[p for p in problems if isinstance(p, str)] if isinstance(problems, list) else [],
    )


def _returned(data: Any) -> ReturnedView | None:
    if not isinstance(data, Mapping):
        return None
    size = data.get("size")
    return ReturnedView(
        kind=_text(data, "kind"),
        subject=_text(data, "subject"),
        size=size if isinstance(size, int) else 0,
        part=_text(data, "part"),
        content_type=_text(data, "content_type"),
        encoding=_text(data, "encoding"),
        sha256=_text(data, "sha256"),
        is_bounce=bool(data.get("is_bounce")),
    )


def dsn_view(section: Any) -> DsnView | None:
    """The page's view of a report's ``dsn`` part; None when there is none (not a bounce, or
    a report stored before bounces were read)."""
    if not isinstance(section, Mapping):
        return None
    per_message = section.get("per_message")
    per_message = per_message if isinstance(per_message, Mapping) else {}
    raw_recipients = section.get("recipients")
    recipients = [
        _recipient(r)
        for r in (raw_recipients if isinstance(raw_recipients, list) else [])
        if isinstance(r, Mapping)
    ]
    total = section.get("recipients_total")
    notes = section.get("notes")
    return DsnView(
        summary=_text(section, "summary"),
        reporting_mta=_text(section, "reporting_mta"),
        arrival_date=_text(per_message, "arrival-date"),
        recipients=recipients,
        more=max(0, total - len(recipients)) if isinstance(total, int) else 0,
        human=_text(section, "human"),
        returned=_returned(section.get("returned")),
        notes=[
            str(n.get("text"))
            for n in (notes if isinstance(notes, list) else [])
            if isinstance(n, Mapping) and n.get("code") != "dsn.recipients-cut"
        ],
        spec=_text(section, "spec"),
    )


def link_returned(context: dict[str, Any], *, request: HttpRequest) -> None:
    """Give the page's bounce section the analysis of the message it returned, when the
    visitor may see one (found by the returned bytes' SHA-256)."""
    view = context.get("dsn")
    if not isinstance(view, DsnView) or view.returned is None:
        return
    returned = view.returned
    if returned.kind != "message" or not returned.sha256:
        return
    found = selectors.analysis_visible_by_sha256(
        sha256=returned.sha256, user=request.user, session=request.session
    )
    if found is None:
        return
    run = selectors.analysis_latest_run(analysis=found) if found.status == "done" else None
    returned.analysis = {
        "id": found.pk,
        "name": found.filename or str(found.pk),
        "status": found.status,
        "result": run.result if run is not None else "",
        "label": mechanism_label(run.result) if run is not None else "",
        "badge": badge(run.result) if run is not None else "none",
    }
