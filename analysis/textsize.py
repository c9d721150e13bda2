"""How much room a text takes in a stored report, and cutting a text to a room.

A report is stored as ASCII-escaped JSON (:mod:`analysis.report_budget`),
so a character outside ASCII takes 6 octets (``\\ufffd``, the replacement for each octet of a
field that is not UTF-8) or 12 (a character outside the BMP, a surrogate pair).  Cutting texts
by characters alone lets a field of octets that are not UTF-8 take six times its budget (issue
#11: 200 such Received fields made 2.4 MB of one report); the cutters of the report
(``received.bounded_text``, ``dkim1.clip``, ``dkim2.report.cut_text``) measure with
:func:`json_octets` instead, which for ASCII text is its length.
"""

from __future__ import annotations

__all__ = ["json_octets", "prefix_within"]


def json_octets(text: str) -> int:
    """Octets of ``text`` inside a JSON string written ASCII-escaped (quotes, backslashes and
    control characters counted as one octet: a close bound, not the exact figure)."""
    if text.isascii():
        return len(text)
    bmp = len(text.encode("utf-16-le", "surrogatepass")) // 2  # astral characters count 2
    wide = bmp - len(text.encode("ascii", "ignore"))
    return len(text.encode("ascii", "ignore")) + 6 * wide


def prefix_within(text: str, octets: int) -> int:
    """The most characters of ``text``, from its start, that take at most ``octets``."""
    if json_octets(text) <= octets:
        return len(text)
    lo, hi = 0, min(len(text), octets)  # every character takes at least one octet
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if json_octets(text[:mid]) <= octets:
            lo = mid
        else:
            hi = mid - 1
    return lo
