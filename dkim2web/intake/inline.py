"""Recognise a message forwarded inline, and say what that costs (no Django here).

An inline forward copies the original's text into a new message; the original's header
block (its DKIM2 fields above all) and its exact body bytes are gone, so the original can
no longer be verified. The mail clients mark the copied part with a line of their own, or
with a few header lines written out as text; either is looked for in the text parts of
the message (never inside an attached message: that would be a forward as attachment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

from .mime import Entity, Walk, decode_body

MAX_TEXT_CHARS = 1024 * 1024  # per text part; a marker sits near the top in practice
MAX_EXCERPT_LINES = 8

# (pattern over one line with quoting and surrounding blanks removed, what wrote it)
_MARKERS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Gmail writes "---------- Forwarded message ---------", Thunderbird
    # "-------- Forwarded Message --------": told apart by the capital M.
    (re.compile(r"-{5,}\s*Forwarded message\s*-{5,}"), "Gmail"),
    (re.compile(r"-{5,}\s*Forwarded Message\s*-{5,}"), "Thunderbird"),
    (re.compile(r"Begin forwarded message:", re.I), "Apple Mail"),
    (re.compile(r"-{3,}\s*Original Message\s*-{3,}", re.I), "Outlook"),
    (re.compile(r"-{3,}\s*Forwarded message\s*-{3,}", re.I), "a mail client"),
)
_HEADER_LINE = re.compile(r"(From|Sent|Date|To|Cc|Subject|Reply-To)\s*:\s*\S", re.I)
# In the lower-cased text: where a run of copied header lines could start (see find_in_text).
_FROM_FIELD = re.compile(r"from\s*:")
_QUOTE = re.compile(r"^(?:\s*>)+")
_TAG = re.compile(r"<[^>]{0,2000}>")
_BREAK_TAGS = re.compile(r"<\s*(?:br|/p|/div|/tr|hr)\b[^>]{0,200}>", re.I)

#: Shown on the page and in the reply: how to forward as an attachment, one line per client.
FORWARD_AS_ATTACHMENT: tuple[tuple[str, str], ...] = (
    (
        "Gmail",
        "open the message, click ⋮ (More) next to Reply, then choose “Forward as attachment”.",
    ),
    (
        "Outlook",
        "in classic Outlook for Windows select the message and choose Home > More (beside "
        "Forward) > Forward as Attachment, or press Ctrl+Alt+F; in the new Outlook and "
        "Outlook on the web choose … (More actions) > Forward > Forward as attachment.",
    ),
    ("Apple Mail", "select the message, then choose Message > Forward as Attachment."),
    (
        "Thunderbird",
        "select the message, then choose Message > Forward As > Attachment (or right-click "
        "it > Forward As > Attachment).",
    ),
)

TITLE = "Forwarded inline: the original's headers are gone"
TEXT = (
    "This message was forwarded inline: the mail client copied the original's text into a "
    "new message and kept at most a few of its header lines, as plain text. The original's "
    "DKIM2-Signature and Message-Instance fields, the rest of its header and its exact body "
    "bytes did not arrive, so the original cannot be verified. What was analysed is what is "
    "left: your forward itself, with the SMTP envelope it was delivered with. To have the "
    "original checked, forward it again as an attachment."
)


@dataclass(frozen=True)
class InlineForward:
    client: str  # who writes that marker ("Gmail", ...; "a mail client" for header lines)
    marker: str  # the marker line as found
    part: str  # MIME part number of the text part ("" for the top)
    excerpt: list[str]  # the copied header lines that follow, as text

    def to_json(self) -> dict[str, object]:
        return {
            "client": self.client,
            "marker": self.marker,
            "part": self.part,
            "excerpt": list(self.excerpt),
        }


def explanation(found: InlineForward) -> dict[str, object]:
    """The note stored on the analysis (finding-like: code, title, text, details)."""
    return {
        "code": "intake.inline-forward",
        "severity": "warning",
        "title": TITLE,
        "text": TEXT,
        "found": found.to_json(),
        "how_to": [{"client": c, "steps": s} for c, s in FORWARD_AS_ATTACHMENT],
    }


def _text_of(entity: Entity) -> str:
    decoded = decode_body(entity)
    charset = entity.params.get("charset", "utf-8") or "utf-8"
    data = decoded.data[: MAX_TEXT_CHARS * 4]
    try:
        text = data.decode(charset, errors="replace")
    except LookupError:
        text = data.decode("utf-8", errors="replace")
    text = text[:MAX_TEXT_CHARS]
    if entity.content_type == "text/html":
        text = _BREAK_TAGS.sub("\n", text)
        text = unescape(_TAG.sub("", text))
    return text


def _clean(line: str) -> str:
    return _QUOTE.sub("", line).strip().strip("*").strip()


def find_in_text(text: str, *, part: str = "") -> InlineForward | None:
    # Which of the two signs can be here at all, from the whole text at once: every marker has
    # a run of dashes or the word "forwarded", a run of copied header lines starts "From:".
    # Testing each line of a text that has neither was most of the intake's time for an
    # ordinary message. (re.I gives these letters no case forms that lower() does not.)
    # Every marker without a run of dashes ends with a colon, as every copied header line
    # has one: a text without a colon (a quick search) is spared lowering and searching
    # for the rest.
    colon = ":" in text
    lowered = text.lower() if colon else ""
    may_have_marker = "---" in text or (colon and "forwarded" in lowered)
    may_have_fields = colon and _FROM_FIELD.search(lowered) is not None
    if not (may_have_marker or may_have_fields):
        return None
    lines = [_clean(x) for x in text.splitlines()]
    for n, line in enumerate(lines if may_have_marker else ()):
        for pattern, client in _MARKERS:
            if pattern.fullmatch(line):
                excerpt = [x for x in lines[n + 1 : n + 1 + MAX_EXCERPT_LINES] if x][
                    :MAX_EXCERPT_LINES
                ]
                headers = [x for x in excerpt if _HEADER_LINE.match(x)]
                return InlineForward(client, line[:200], part, [h[:300] for h in headers])
    # No marker line: a run of copied header lines (From:, Sent:/Date:, To:, Subject:) that
    # starts somewhere below the top of the text (Outlook's forward draws a rule instead).
    for n, line in enumerate(lines if may_have_fields else ()):
        if n == 0 or not _HEADER_LINE.match(line) or not line.lower().startswith("from"):
            continue
        run = [line]
        for nxt in lines[n + 1 : n + 8]:
            if not _HEADER_LINE.match(nxt):
                break
            run.append(nxt)
        names = {x.split(":", 1)[0].strip().lower() for x in run}
        if len(run) >= 3 and "subject" in names and names & {"sent", "date", "to"}:
            return InlineForward("a mail client", "", part, [h[:300] for h in run])
    return None


def find(walked: Walk) -> InlineForward | None:
    """The inline forward in the message's text parts, or None (plain text before HTML)."""
    texts = [e for e in walked.entities if e.content_type == "text/plain"]
    htmls = [e for e in walked.entities if e.content_type == "text/html"]
    for entity in texts + htmls:
        if entity.params.get("name") or "attachment" in _disposition(entity):
            continue
        found = find_in_text(_text_of(entity), part=entity.path)
        if found is not None:
            return found
    return None


def _disposition(entity: Entity) -> str:
    # A field the header block does not name cannot be there: the email package is not
    # asked to read the block again (the MIME walk has read it once already), which for a
    # signed chain's long header block cost as much as the rest of the search.
    if b"content-disposition" not in entity.header.lower():
        return ""
    try:
        return str(entity.header_message().get("content-disposition", "")).lower()
    except Exception:
        return ""
