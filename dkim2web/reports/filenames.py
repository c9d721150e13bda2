"""Filenames given with a message: printable text on one line, or refused with a reason.

Refused: every control character (C0 such as NUL, CR, LF and TAB; DEL; C1), the line and
paragraph separators, and the bidirectional formatting characters (U+202E RIGHT-TO-LEFT
OVERRIDE and its kin), which make ``evil[U+202E]gpj.eml`` display as ``evillme.jpg``. A NUL
cannot even be stored in a PostgreSQL text column. Everything else a name may hold (quotes,
non-Latin letters, emoji, blanks) is kept: names are shown escaped and sent in headers
encoded.

Django's multipart parser already drops non-printable characters from an uploaded file's
own name; the API's ``filename`` field and parameter are text and reach this check as sent.
"""

from __future__ import annotations

import unicodedata

# The abbreviations of U+0000 to U+001F.
C0_NAMES = (
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
    "ESC", "FS", "GS", "RS", "US",
)  # fmt: skip
BIDI_FORMATTING = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
LINE_BREAKS = frozenset("\u2028\u2029")


def is_refused(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in BIDI_FORMATTING or char in LINE_BREAKS


def describe(char: str) -> str:
    """``U+0000 (NUL, a control character)``, ``U+202E (RIGHT-TO-LEFT OVERRIDE, a
    bidirectional formatting character)``."""
    code = ord(char)
    point = f"U+{code:04X}"
    if code < 0x20:
        return f"{point} ({C0_NAMES[code]}, a control character)"
    if code == 0x7F:
        return f"{point} (DEL, a control character)"
    if unicodedata.category(char) == "Cc":
        return f"{point} (a C1 control character)"
    kind = "a line break" if char in LINE_BREAKS else "a bidirectional formatting character"
    return f"{point} ({unicodedata.name(char)}, {kind})"


SHOWN_CHARACTERS = 100


def shown(name: str) -> str:
    """The name with every refused character written as ``[U+XXXX]``, safe to show; cut
    after SHOWN_CHARACTERS characters."""
    cut = name[:SHOWN_CHARACTERS]
    text = "".join(f"[U+{ord(c):04X}]" if is_refused(c) else c for c in cut)
    return text + ("…" if len(name) > SHOWN_CHARACTERS else "")


def filename_problem(
    name: str,
    *,
    label: str = "The filename",
    advice: str = "remove it and send the message again.",
) -> str | None:
    """None for an acceptable name; otherwise a sentence naming the first refused character
    and its position (counted in characters from 1), and what to do."""
    for position, char in enumerate(name, start=1):
        if is_refused(char):
            return (
                f'{label} "{shown(name)}" has {describe(char)} at character {position}. '
                "A filename must be printable text on one line, without control or "
                f"bidirectional formatting characters: {advice}"
            )
    return None
