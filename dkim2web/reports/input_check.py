"""Whether submitted bytes can be an e-mail message at all: one rule for the upload form,
the API and the mailbox.

Refused everywhere: input with no header fields (:func:`analysis.submission.missing_header`:
a text file, a pasted paragraph, an HTML page, a copied body, another format). The upload
form also refuses a file that is plainly something else even behind a header (binary data:
:func:`presenters.sniff_input`). Each refusal says what was checked, what was found and what
to do.
"""

from __future__ import annotations

import re

from analysis.submission import missing_header

from .presenters import sniff_input

#: The title of a refusal for want of header fields.
NO_HEADER_TITLE = "This is not an e-mail message: it has no header fields"

#: The text of the mailbox's 550 5.6.0 reply to such data (RFC 3463 X.6.0: a problem
#: with the message's content).
SMTP_NO_HEADER = (
    "Not an e-mail message: the data does not start with a header field and has no From: "
    "field; nothing was stored"
)


def refusal(raw: bytes) -> str | None:
    """Why the upload form refuses ``raw``, in words (title, then explanation); None when it
    may be a message. Binary data is refused even behind a header (a browser upload of a
    NUL-bearing file is another format, saved by mistake)."""
    note = sniff_input(raw)
    if note is not None and not note.accepted:
        return f"{note.title}. {note.text}"
    return header_refusal(raw)


def header_refusal(raw: bytes) -> str | None:
    """Why the API refuses ``raw``: no header fields (:func:`missing_header`), in the words
    of the format it plainly is (an Outlook .msg, a PDF) when it is one; None otherwise.
    The API takes any bytes that start like a message, NUL octets and all."""
    missing = missing_header(raw)
    if missing is None:
        return None
    note = sniff_input(raw)
    if note is not None and not note.accepted:
        return f"{note.title}. {note.text}"
    return f"{NO_HEADER_TITLE}. {missing.explanation}"


#: A header field's name and its colon at the very start of the data: printable US-ASCII but
#: the colon, then blanks (RFC 5322 §2.2; the engine's own test of a field's name). Looked for
#: within the first _FIELD_FIRST_BYTES octets only.
_FIELD_FIRST = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_FIELD_FIRST_BYTES = 4096


def smtp_refusal(raw: bytes) -> str | None:
    """The text of the mailbox's refusal of ``raw`` (after ``550 5.6.0``), or None. Only
    the header rule applies: SMTP carries any octets (8BITMIME, BINARYMIME), and whatever
    starts like a message is stored as delivered.

    Data whose first line starts with a well-formed field name and its colon is a message
    by that rule whatever follows (:func:`missing_header` accepts any input whose first
    field is well formed, however long its head), so real mail is let through on that
    test alone, without the header block being parsed here as well as in the analysis
    (issue #13). Anything else -- an mbox ``From`` line, which the rule drops first, a byte
    order mark, an empty first line, a line that is no field -- is judged by the rule."""
    if not raw.startswith(b"From ") and _FIELD_FIRST.match(raw, 0, _FIELD_FIRST_BYTES):
        return None
    return SMTP_NO_HEADER if missing_header(raw) is not None else None
