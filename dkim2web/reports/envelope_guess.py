"""The upload form's "Guess the envelope": MAIL FROM and RCPT TO read back from a message's
trace fields, before anything is stored.

The engine's reading is used (:func:`analysis.received.reconstruct_smtp`, the one the
analysis itself reports): the border hop, where the message came in from the outside, gives
RCPT TO (its ``for`` clause, else the topmost X-Original-To, Delivered-To or X-Apparently-To
above it) and the topmost Return-Path gives MAIL FROM. A message with no such hop (no
Received field, or internal ones only) falls back to Return-Path and every Delivered-To and
X-Original-To field. Only the head of the message is read (limits.SUBMISSION_HEAD_BYTES).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis import limits
from analysis.message import ParsedMessage, parse_message
from analysis.received import read_received, reconstruct_smtp

# The fields reconstruct_smtp may take RCPT TO from when the border hop has no for clause.
_RECIPIENT_FIELDS = (
    ("x-original-to", "X-Original-To"),
    ("delivered-to", "Delivered-To"),
    ("x-apparently-to", "X-Apparently-To"),
)


@dataclass
class Hints:
    mail_from: str = ""  # as the form takes it: "<address>", or "<>"
    rcpt_to: list[str] = field(default_factory=list)
    mail_from_source: str = ""  # e.g. "Return-Path"
    rcpt_to_source: str = ""  # e.g. "Received (for clause)", "Delivered-To, X-Original-To"
    sources: list[str] = field(default_factory=list)  # the fields read, for the notice
    detail: str = ""  # the engine's account of the trace, when it found the border hop

    def __bool__(self) -> bool:
        return bool(self.mail_from or self.rcpt_to)


def envelope_guess(raw: bytes) -> Hints:
    """Guesses at the final delivery's envelope from ``raw``'s trace fields."""
    message = parse_message(raw[: limits.SUBMISSION_HEAD_BYTES])
    hops = read_received(message)
    smtp = reconstruct_smtp(message, list(hops))
    if smtp.source != "reconstructed":
        return _from_fields(message)
    hints = Hints(detail=smtp.detail)
    if smtp.mail_from is not None:
        hints.mail_from = f"<{smtp.mail_from}>"
        hints.mail_from_source = "Return-Path"
        hints.sources.append("Return-Path")
    if smtp.rcpt_to:
        hints.rcpt_to = [f"<{address}>" for address in smtp.rcpt_to]
        border = next((h for h in hops if h.index == smtp.hop_index), None)
        if border is not None and border.for_address:
            hints.rcpt_to_source = "Received (for clause)"
            hints.sources.append("Received")
        else:
            label = _field_holding(message, smtp.rcpt_to[0])
            hints.rcpt_to_source = label
            hints.sources.append(label)
    return hints


def _field_holding(message: ParsedMessage, address: str) -> str:
    for name, label in _RECIPIENT_FIELDS:
        if any(address in f.text() for f in message.fields_named(name)):
            return label
    return "the trace fields"


def _from_fields(message: ParsedMessage) -> Hints:
    """No border hop: Return-Path and every Delivered-To and X-Original-To, as written."""
    hints = Hints()
    return_path = message.first_text("return-path")
    if return_path:
        hints.mail_from = return_path
        hints.mail_from_source = "Return-Path"
        hints.sources.append("Return-Path")
    labels = []
    for name, label in (("delivered-to", "Delivered-To"), ("x-original-to", "X-Original-To")):
        for f in message.fields_named(name):
            text = f.text()
            if text and text not in hints.rcpt_to:
                hints.rcpt_to.append(text)
                if label not in labels:
                    labels.append(label)
    hints.sources.extend(labels)
    hints.rcpt_to_source = ", ".join(labels)
    return hints
