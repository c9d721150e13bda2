"""The stored-size budget of a report: what is trimmed, in which order, and saying so.

Every part of a report derived from the message is bounded where it is made (diff lines,
diff octets, header field values, evidence records...), so a report is normally far below
:data:`~analysis.limits.MAX_REPORT_BYTES`.  :func:`fit` is the last word before a report
is stored: it measures the report as JSON and, past the budget, trims the largest derived
parts first, each named in ``report["trimmed"]`` with the octets it gave back, so the page
and the API can say what is missing and where to get it (the full diff is recomputed from
the stored message on demand).  What cannot be trimmed enough raises
:class:`ReportTooLarge`: the same message would fail the same way, so the caller must not
retry.

The size is the length of the text a database driver is handed: the report as compact JSON
(no blanks after ``,`` and ``:``), ASCII-escaped (:mod:`analysis.textsize` measures texts
that way): the text ``json.dumps(report, separators=(",", ":"))`` gives.  orjson writes it
and the few characters outside ASCII are then escaped as json.dumps escapes them: a quarter
of json.dumps's time on a 50 KB report (issue #13: encoding was 7% of a worker's analysis);
what orjson refuses (a lone surrogate, a key that is not a string, an integer past
64 bits) is written by ``json.dumps`` itself.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, MutableMapping
from typing import Any

import numpy as np
import orjson

from . import limits

__all__ = ["ReportTooLarge", "encode", "fit", "fit_text", "size_of"]

#: Characters a text keeps when the last trimming step cuts every long text of the report.
SHORT_TEXT_CHARS = 200


class ReportTooLarge(Exception):
    """Even trimmed, the report is larger than its stored-size budget."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"the report of this message is {size:,} octets even with its derived parts "
            f"trimmed; at most {limit:,} can be stored"
        )


def encode(report: Any) -> str:
    """``report`` as the compact, ASCII-escaped JSON text it is stored as (see the module
    docs): ``json.dumps(report, separators=(",", ":"))`` in value, orjson's where it can."""
    try:
        octets = orjson.dumps(report)
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, a key not a string...
        return json.dumps(report, separators=_COMPACT)
    # orjson writes characters outside ASCII as they are, and only inside strings: escaped
    # here as json.dumps escapes them.  A report holds a few (the engine's own "§", "—"),
    # found by numpy and replaced one by one; a report holding many (a message's text in
    # some script) goes through the codec's error handler, called once per run of them
    # (decoding the whole text and encoding it again costs as much as json.dumps itself).
    if not octets.isascii():
        octets = _escaped(octets)
    # DEL, which json.dumps escapes too (orjson escapes the controls below SP as it does).
    if b"\x7f" in octets:
        octets = octets.replace(b"\x7f", b"\\u007f")
    return octets.decode("ascii")


def _escaped(octets: bytes) -> bytes:
    """UTF-8 JSON text with every character outside ASCII written ``\\uXXXX``."""
    array = np.frombuffer(octets, dtype=np.uint8)
    # The first octet of each character outside ASCII (continuation octets are 0x80-0xBF).
    starts = np.flatnonzero(array >= 0xC0)
    if len(starts) > _ESCAPED_ONE_BY_ONE:
        return octets.decode("utf-8").encode("ascii", _ESCAPE_ERRORS)
    pieces = []
    done = 0
    for start in starts.tolist():
        lead = octets[start]
        end = start + (2 if lead < 0xE0 else 3 if lead < 0xF0 else 4)
        pieces.append(octets[done:start])
        pieces.append(_json_escape(octets[start:end].decode("utf-8")).encode("ascii"))
        done = end
    pieces.append(octets[done:])
    return b"".join(pieces)


_COMPACT = (",", ":")
_ESCAPE_ERRORS = "analysis.report_budget.json-escape"
#: Characters outside ASCII escaped one by one, at most; past it the codec escapes them.
_ESCAPED_ONE_BY_ONE = 256


def _json_escape(char: str) -> str:
    """A character outside ASCII as json.dumps writes it: ``\\uXXXX``, a surrogate pair
    past the BMP."""
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}"


def _json_escapes(exc: UnicodeError) -> tuple[str, int]:
    """The characters an ASCII encoding refused, as json.dumps writes them."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return "".join(_json_escape(c) for c in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(_ESCAPE_ERRORS, _json_escapes)


def size_of(report: Any) -> int:
    """Octets of ``report`` as stored (its JSON text)."""
    return len(encode(report))


def fit(report: dict[str, Any], limit: int = limits.MAX_REPORT_BYTES) -> dict[str, Any]:
    """``report`` trimmed in place to at most ``limit`` octets of JSON (see the module docs);
    ReportTooLarge when that cannot be done."""
    return fit_text(report, limit)[0]


def fit_text(
    report: dict[str, Any], limit: int = limits.MAX_REPORT_BYTES
) -> tuple[dict[str, Any], str]:
    """:func:`fit`, and the report's JSON text that was measured, for a caller that stores
    it: the report is encoded once, not once to measure and again to store."""
    text = encode(report)
    size = len(text)
    if size <= limit:
        return report, text
    original = size
    trimmed: list[dict[str, Any]] = []
    for part, what, trim in _TRIMMERS:
        trim(report)
        now = size_of(report)
        if now < size:
            trimmed.append({"part": part, "what": what, "octets": size - now})
            size = now
        if size <= limit:
            break
    report["trimmed"] = {"size": original, "limit": limit, "parts": trimmed}
    text = encode(report)
    if len(text) > limit:
        raise ReportTooLarge(len(text), limit)
    return report, text


def _chain(report: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    chain = report.get("dkim2")
    return chain if isinstance(chain, MutableMapping) else {}


def _items(container: MutableMapping[str, Any], key: str) -> list[MutableMapping[str, Any]]:
    found = container.get(key)
    if not isinstance(found, list):
        return []
    return [x for x in found if isinstance(x, MutableMapping)]


def _body_diffs(report: MutableMapping[str, Any]) -> None:
    for diff in _items(_chain(report), "diffs"):
        if diff.get("body_diff"):
            diff["body_diff"] = []
            diff["body_diff_truncated"] = True
            diff["body_diff_note"] = (
                "Trimmed: the report was over its stored-size budget, and the body diffs "
                "were the first part left out."
            )


def _instance_fields(report: MutableMapping[str, Any]) -> None:
    chain = _chain(report)
    for inst in _items(chain, "instances"):
        runs = inst.get("header_field_runs")
        if isinstance(runs, list) and runs:
            listed = sum(r[1] for r in runs if isinstance(r, list) and len(r) == 2)
            inst["header_fields_omitted"] = listed + int(inst.get("header_fields_omitted", 0))
            inst["header_field_runs"] = []
    if chain.get("header_field_table"):
        chain["header_field_table"] = []


def _short(text: str) -> str:
    if len(text) <= SHORT_TEXT_CHARS:
        return text
    return f"{text[:SHORT_TEXT_CHARS]} … [{len(text) - SHORT_TEXT_CHARS:,} more characters trimmed]"


def _field_changes(report: MutableMapping[str, Any]) -> None:
    for diff in _items(_chain(report), "diffs"):
        for change in _items(diff, "header_changes"):
            for key in ("old", "new"):
                if isinstance(change.get(key), str):
                    change[key] = _short(change[key])


def _every_text(report: MutableMapping[str, Any]) -> None:
    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return _short(node)
        if isinstance(node, list):
            return [walk(x) for x in node]
        if isinstance(node, MutableMapping):
            return {k: v if k == "trimmed" else walk(v) for k, v in node.items()}
        return node

    for key in list(report):
        if key not in ("trimmed", "schema_version", "engine_version"):
            report[key] = walk(report[key])


#: In order: the largest derived parts a reader can get back another way first.
_TRIMMERS: tuple[tuple[str, str, Callable[[MutableMapping[str, Any]], None]], ...] = (
    (
        "dkim2.diffs.body_diff",
        "the body diffs (download the full diff of each hop)",
        _body_diffs,
    ),
    (
        "dkim2.instances.header_fields",
        "the header fields listed for each instance (download the instances)",
        _instance_fields,
    ),
    (
        "dkim2.diffs.header_changes",
        f"header field values in the changes, cut to {SHORT_TEXT_CHARS} characters",
        _field_changes,
    ),
    (
        "texts",
        f"every text of the report, cut to {SHORT_TEXT_CHARS} characters",
        _every_text,
    ),
)
