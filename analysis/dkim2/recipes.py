"""Recipes: decode, validate, apply (undo a hop's change) and compute (for signers).

S06 §5 and §7.2; SPEC-NOTES §4 and §11 A7-A13, A26, A35; the -07 grammar of SPEC-09-NOTES 1.9.

Theory of operation
-------------------
A recipe in ``r=`` describes how to turn the instance that carries it back
into the previous one.  ``"h"`` maps lower-case field names to step lists;
``"b"`` is a step list or ``null``.  Steps are ``{"c": [start, end]}`` (copy
items, inclusive) or ``{"d": [strings]}`` (emit literals).  From -07 a third step
``{"u": [base64]}`` emits literal octets that are not UTF-8 (SPEC-09-NOTES 1.9); which
grammar applies is the caller's choice (``Revision.recipe_grammar``).

Interpretations chosen (each cited where it is implemented):

* Unknown top-level members are ignored; a step with anything but exactly one
  ``c`` or ``d`` key is invalid (A7).  Keys are matched case-insensitively and
  two keys equal but for case are invalid (A8).
* Copy ranges must be ascending, non-overlapping and inside the current data;
  a literal may not contain CR or LF.  Any violation is "contains invalid
  JSON" (A12), as S07 implementations do.
* Header fields of one name are numbered bottom-up; the rebuilt fields take
  the place of the topmost field of that name (or go on top when the hop
  added every field of that name) (A10).  Literal values keep their leading
  space (A13); ``name ":" value CRLF`` is emitted.
* Body lines are split on CRLF only; a trailing partial line is a line (A11).
* ``"b": null`` makes the earlier body unknown (S06 §5.2).
* A ``d`` literal is emitted as the UTF-8 of its JSON string (A35); a string
  with a lone surrogate (JSON ``"\\ud800"``) has no UTF-8 form and is invalid
  under every grammar.
* Output is bounded: one application may produce at most
  ``RECIPE_OUTPUT_FACTOR`` times the message size (plus slack), so a recipe
  of many overlapping copy steps cannot exhaust memory.  A rebuilt body shares
  the octets it copies with the body it was rebuilt from (pieces of the same
  buffers); only literals are new octets (:attr:`OutputBudget.made`).

The -07 grammar (-07 §5 as reported by Mail::DKIM2 0.23, SPEC-09-NOTES 1.9; one
source) adds to the above:

* the ``u`` step: a non-empty array of canonical base64 strings (standard
  alphabet, exact padding, zero pad bits, no whitespace) whose octets contain
  no CR or LF;
* the JSON text is strict: a key twice in one object, or two keys equal but for
  case, is invalid in *every* object (also inside ignored members), and the
  non-JSON constants ``NaN``/``Infinity`` that Python's parser accepts are
  refused.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .. import limits
from ..message import CRLF, Body, HeaderField, Piece, shared_lines
from . import canonical

#: A recipe grammar: "06" (steps "c", "d") or "07" (also "u"; stricter JSON).
Grammar = Literal["06", "07"]
_GRAMMARS = ("06", "07")
_ONE_OF: dict[str, str] = {"06": '"c" or "d"', "07": '"c", "d" or "u"'}
_ALL_OF: dict[str, str] = {"06": '"c" and "d"', "07": '"c", "d" and "u"'}
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


class RecipeError(ValueError):
    """The recipe is not valid JSON of the S06 §5 (or -07) shape, or cannot be applied."""


@dataclass(frozen=True)
class Copy:
    start: int
    end: int

    def to_json(self) -> dict[str, list[int]]:
        return {"c": [self.start, self.end]}


@dataclass(frozen=True)
class Data:
    items: tuple[str, ...]

    def to_json(self) -> dict[str, list[str]]:
        return {"d": list(self.items)}


@dataclass(frozen=True)
class Octets:
    """Literal octets that are not UTF-8: the ``u`` step of -07 (SPEC-09-NOTES 1.9)."""

    items: tuple[bytes, ...]

    def to_json(self) -> dict[str, list[str]]:
        return {"u": [base64.b64encode(b).decode("ascii") for b in self.items]}


Step = Copy | Data | Octets


@dataclass(frozen=True)
class Recipe:
    headers: dict[str, list[Step]] | None  # "h": lower-case name -> steps; None = absent
    body: list[Step] | None  # "b": steps; None = absent or null (see body_null)
    body_null: bool = False  # "b": null -- the previous body cannot be recreated

    @property
    def changes_body(self) -> bool:
        return self.body is not None or self.body_null

    @property
    def uses_octets(self) -> bool:
        """Some step is a "u" step (-07 on): a signer of -07 or later made this recipe."""
        steps = [*(self.body or []), *(s for v in (self.headers or {}).values() for s in v)]
        return any(isinstance(s, Octets) for s in steps)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.headers is not None:
            out["h"] = {k: [s.to_json() for s in v] for k, v in self.headers.items()}
        if self.body_null:
            out["b"] = None
        elif self.body is not None:
            out["b"] = [s.to_json() for s in self.body]
        return out

    def encode(self) -> bytes:
        """Compact JSON text (the form signers put, base64-encoded, into ``r=``)."""
        return json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False).encode()


# -- decoding and validation ---------------------------------------------------


def decode_recipe(text: bytes, *, grammar: Grammar = "06") -> Recipe:
    """Parse and validate the decoded ``r=`` JSON (S06 §5 schema plus A7, A8, A12; with
    ``grammar="07"`` also the -07 rules of SPEC-09-NOTES 1.9)."""
    if grammar not in _GRAMMARS:
        raise ValueError(f"unknown recipe grammar {grammar!r}; known: {', '.join(_GRAMMARS)}")
    try:
        if grammar == "07":
            obj = _loads_07(text.decode("utf-8"))
        else:
            obj = json.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RecipeError(f"the JSON text is not UTF-8 (octet at {exc.start})") from exc
    except RecursionError as exc:
        raise RecipeError("the JSON text is nested too deeply") from exc
    except RecipeError:
        raise  # from the -07 hooks
    except json.JSONDecodeError as exc:
        raise RecipeError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except ValueError as exc:
        # The only other ValueError json.loads raises: Python refuses to convert an integer
        # of more than sys.get_int_max_str_digits() digits.  Hostile input, not a crash.
        raise RecipeError(
            f"a number in the JSON text has more than {sys.get_int_max_str_digits()} digits"
        ) from exc
    if not isinstance(obj, dict):
        raise RecipeError(f"the recipe must be a JSON object, not {_kind(obj)}")
    members = _casefold_keys(obj, "recipe")
    if "h" not in members and "b" not in members:
        raise RecipeError('the recipe has neither "h" nor "b" (S06 §5 schema: at least one)')
    headers: dict[str, list[Step]] | None = None
    if "h" in members:
        h = members["h"]
        if not isinstance(h, dict):
            raise RecipeError(f'"h" must be an object of field names, not {_kind(h)}')
        if not h:
            raise RecipeError('"h" must name at least one field (S06 §5 schema: minProperties 1)')
        headers = {}
        for name, steps in _casefold_keys(h, '"h"').items():
            if not name or any(ord(c) < 33 or ord(c) > 126 or c == ":" for c in name):
                raise RecipeError(f'"h" key {name[:40]!r} is not a header field name')
            headers[name] = _steps(steps, f'"h"."{name[:40]}"', grammar)
    body: list[Step] | None = None
    body_null = False
    if "b" in members:
        if members["b"] is None:
            body_null = True
        else:
            body = _steps(members["b"], '"b"', grammar)
    return Recipe(headers, body, body_null)


def _kind(v: object) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(v), "a value")


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """-07: keys are matched case-insensitively at every level, and two keys equal but for
    case are a duplicate, so invalid JSON (-07 §5 as reported by Mail::DKIM2 0.23,
    SPEC-09-NOTES 1.9).  A key spelled the same twice is a duplicate too."""
    seen: dict[str, str] = {}
    for key, _ in pairs:
        lkey = key.lower()
        if lkey in seen:
            if seen[lkey] == key:
                raise RecipeError(f"an object in the JSON text has the key {key[:40]!r} twice")
            raise RecipeError(
                f"an object in the JSON text has keys that differ only in case "
                f"({seen[lkey][:40]!r} and {key[:40]!r})"
            )
        seen[lkey] = key
    return dict(pairs)


def _no_constant(name: str) -> Any:
    """-07: NaN, Infinity and -Infinity are not JSON (RFC 8259 §6); Python accepts them."""
    raise RecipeError(f"not JSON: {name} is not a JSON value")


#: The -07 reader, made once (``json.loads`` with hooks makes a decoder on every call).
_STRICT_07 = json.JSONDecoder(object_pairs_hook=_strict_object, parse_constant=_no_constant)


def _loads_07(text: str) -> Any:
    """``json.loads(text, object_pairs_hook=_strict_object, parse_constant=_no_constant)``,
    its byte-order-mark check included, through the decoder made once."""
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _STRICT_07.decode(text)


def _casefold_keys(obj: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        lk = k.lower()
        if lk in out:
            raise RecipeError(f"{where} has keys that differ only in case ({k!r})")
        out[lk] = v
    return out


def _steps(value: object, where: str, grammar: Grammar) -> list[Step]:
    if not isinstance(value, list):
        raise RecipeError(f"{where} must be an array of steps, not {_kind(value)}")
    if len(value) > limits.MAX_RECIPE_STEPS:
        raise RecipeError(f"{where} has {len(value)} steps; at most {limits.MAX_RECIPE_STEPS}")
    steps: list[Step] = []
    last_end = 0
    for idx, raw in enumerate(value, 1):
        here = f"{where} step {idx}"
        if not isinstance(raw, dict) or len(raw) != 1:
            raise RecipeError(f"{here} must be an object with exactly one of {_ONE_OF[grammar]}")
        ((key, arg),) = raw.items()
        key = key.lower()
        if key == "c":
            if (
                not isinstance(arg, list)
                or len(arg) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in arg)
            ):
                raise RecipeError(f'{here}: "c" must be [start, end] with two integers')
            start, end = arg
            if start < 1 or end < 1:
                raise RecipeError(f"{here}: copy range [{start}, {end}] must start at 1 or more")
            if end < start:
                raise RecipeError(f"{here}: copy range [{start}, {end}] is descending")
            if start <= last_end:
                raise RecipeError(
                    f"{here}: copy range [{start}, {end}] overlaps or precedes an earlier range "
                    f"ending at {last_end} (ranges must ascend)"
                )
            last_end = end
            steps.append(Copy(start, end))
        elif key == "d":
            if not isinstance(arg, list) or not arg or not all(isinstance(x, str) for x in arg):
                raise RecipeError(f'{here}: "d" must be a non-empty array of strings')
            for s in arg:
                if "\r" in s or "\n" in s:
                    raise RecipeError(f"{here}: a literal contains CR or LF")
                _check_utf8(s, here)
            steps.append(Data(tuple(arg)))
        elif key == "u" and grammar == "07":
            if not isinstance(arg, list) or not arg or not all(isinstance(x, str) for x in arg):
                raise RecipeError(f'{here}: "u" must be a non-empty array of strings')
            octets = tuple(
                _canonical_base64(s, f'{here}: "u" string {n}') for n, s in enumerate(arg, 1)
            )
            for n, o in enumerate(octets, 1):
                if b"\r" in o or b"\n" in o:
                    raise RecipeError(f'{here}: "u" string {n} decodes to octets with CR or LF')
            # A "u" string whose octets are valid UTF-8 is accepted.  Signers use "u" only for
            # octets that are not UTF-8, but whether a verifier must refuse the other case is
            # not known (SPEC-09-NOTES 1.9 does not list it among the invalid-JSON cases), so
            # the verifier is lenient: the octets are the same either way.
            steps.append(Octets(octets))
        elif key == "u":
            raise RecipeError(
                f'{here}: unknown step \'u\' (only "c" and "d" exist in -06): "u" steps '
                "(literal octets as base64) exist from -07 (SPEC-09-NOTES 1.9)"
            )
        else:
            raise RecipeError(
                f"{here}: unknown step {key[:20]!r} (only {_ALL_OF[grammar]} exist in -{grammar})"
            )
    return steps


def _check_utf8(s: str, where: str) -> None:
    """A ``d`` literal is emitted as the UTF-8 of its JSON string (A35); a lone surrogate
    (JSON ``"\\ud800"``) has none, under every grammar."""
    bad = next((c for c in s if "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        raise RecipeError(
            f"{where}: a literal contains a lone surrogate (U+{ord(bad):04X}), "
            "which has no UTF-8 form"
        )


def _canonical_base64(s: str, where: str) -> bytes:
    """The octets of a ``u`` string, which must be canonical base64 (RFC 4648 §4: standard
    alphabet, padding to a multiple of 4, zero pad bits, no whitespace) (SPEC-09-NOTES 1.9)."""
    bad = next((c for c in s if c not in _B64_ALPHABET and c != "="), None)
    if bad is not None:
        raise RecipeError(
            f"{where} is not canonical base64: {bad!r} is not in the standard alphabet"
        )
    data = s.rstrip("=")
    if len(s) % 4 or "=" in data or len(s) - len(data) > 2:
        raise RecipeError(
            f"{where} is not canonical base64: the padding is wrong (a multiple of 4 "
            'characters, at most two "=" and only at the end)'
        )
    try:
        octets = base64.b64decode(s, validate=True)
    except binascii.Error as exc:  # not reached after the checks above; kept for safety
        raise RecipeError(f"{where} is not canonical base64: {exc}") from exc
    if base64.b64encode(octets).decode("ascii") != s:
        raise RecipeError(
            f"{where} is not canonical base64: the unused bits of its last character are not zero"
        )
    return octets


# -- application (verifier) ------------------------------------------------------


class RecipeTooLarge(RecipeError):
    """Applying the recipe would exceed the analyser's bound on reconstruction."""


#: What a rebuilt header field and a piece of a rebuilt body hold in memory besides their
#: octets (Python objects: the field, its bytes; the piece's tuple, its offset and line
#: counts), in octets, as OutputBudget.made counts them.
FIELD_COST = 160
PIECE_COST = 160


class OutputBudget:
    """Counts octets produced by recipe application against a fixed allowance.

    ``spend`` counts every octet of the output (copies included) against the allowance;
    ``make`` counts, without a limit, the octets of new buffers (literals), which are what
    the output holds in memory beyond the body and fields it copied from."""

    def __init__(self, allowance: int) -> None:
        self.remaining = allowance
        self.allowance = allowance
        self.made = 0

    def spend(self, n: int) -> None:
        self.remaining -= n
        if self.remaining < 0:
            raise RecipeTooLarge(
                f"applying the recipe would produce more than {self.allowance} octets "
                "(the analyser's bound on reconstruction)"
            )

    def make(self, n: int) -> None:
        self.made += n


def apply_header_recipe(
    fields: list[HeaderField],
    headers: dict[str, list[Step]],
    budget: OutputBudget,
    *,
    is_unsigned: Callable[[str], bool] = canonical.is_unsigned,
) -> list[HeaderField]:
    """Undo a hop's header changes (S06 §5.1).  Returns a new field list.

    ``is_unsigned`` is the revision's unsigned-field list (``Revision.is_unsigned``; S06's by
    default): e.g. an Auto-Submitted recipe is applied under -08, ignored under -06."""
    result = list(fields)
    for lname, steps in headers.items():
        # A9: recipes for unsigned fields are ignored (they cannot change a hash).
        if is_unsigned(lname):
            continue
        # A line without a colon (HeaderField.valid False) is not a header field: the numbering
        # skips it as the header hash does (S06 §6.2) and as compute_recipe does, and it stays
        # where it is.  Counting it would make a copy step take it instead of the field.
        positions = [i for i, f in enumerate(result) if f.valid and f.lname == lname]
        current = [result[i] for i in positions]
        bottom_up = current[::-1]  # number n is bottom_up[n - 1]
        emitted: list[HeaderField] = []
        display_name = current[0].name if current else lname
        for step in steps:
            if isinstance(step, Copy):
                if step.end > len(bottom_up):
                    raise RecipeError(
                        f'"h"."{lname}": copy range [{step.start}, {step.end}] is beyond the '
                        f"{len(bottom_up)} {lname} field(s) present"
                    )
                chunk = bottom_up[step.start - 1 : step.end]
                budget.spend(sum(len(f.raw) for f in chunk))
                emitted.extend(chunk)
            else:
                # A literal (d: its UTF-8; u: its octets) is the field value (A13).
                for value in _literal_octets(step, f'"h"."{lname[:40]}"'):
                    f = HeaderField.build(display_name, value, lname=lname)
                    budget.spend(len(f.raw))
                    budget.make(len(f.raw) + FIELD_COST)
                    emitted.append(f)
        rebuilt = emitted[::-1]  # each emitted field goes above the previous ones
        if positions:
            anchor = positions[0]
            keep = [f for f in result if not (f.valid and f.lname == lname)]
            # Where the topmost field of this name was, among the fields kept.
            before = sum(1 for f in result[:anchor] if not (f.valid and f.lname == lname))
            result = keep[:before] + rebuilt + keep[before:]
        else:
            result = rebuilt + result
    return result


def apply_body_recipe(body: Body, steps: list[Step], budget: OutputBudget) -> Body:
    """Undo a hop's body change (S06 §5.2).  Lines are numbered top-down from 1.

    The result shares the octets it copies with ``body`` (pieces of the same buffers, see
    :class:`~analysis.message.Body`); only literal lines are new buffers, one per step."""
    pieces: list[Piece] = []
    total = body.line_count()
    for step in steps:
        if isinstance(step, Copy):
            if step.end > total:
                raise RecipeError(
                    f'"b": copy range [{step.start}, {step.end}] is beyond the {total} line(s) '
                    "of the body"
                )
            a, b = body.lines_span(step.start, step.end)
            budget.spend(b - a)
            if body.ends_with_line_end(b):
                pieces.extend(piece for _, piece in body.spans(a, b))
                continue
            # The body's last line has no CRLF: it is emitted as a line (A11), so it becomes a
            # new buffer with its CRLF (a piece may not end without one unless it is last).
            last = body.line_start(step.end)
            pieces.extend(piece for _, piece in body.spans(a, last))
            line = body.to_bytes(last, b) + CRLF
            budget.spend(len(CRLF))  # the CRLF added is output too (b - a did not count it)
            budget.make(len(line))
            pieces.append((line, 0, len(line)))
        else:
            lines = [value + CRLF for value in _literal_octets(step, '"b"')]
            for line in lines:
                budget.spend(len(line))
            data = b"".join(lines)
            budget.make(len(data))
            pieces.append((data, 0, len(data)))
    rebuilt = Body.from_pieces(pieces, body.index)
    budget.make(PIECE_COST * len(rebuilt.pieces))
    return rebuilt


def _literal_octets(step: Data | Octets, where: str) -> Iterator[bytes]:
    """The octets a literal step emits: a ``u`` string's octets (-07), or the UTF-8 of a ``d``
    string (A35).  A ``d`` string that has no UTF-8 form (a lone surrogate: decode_recipe
    refuses it, but a Data built in code may hold one) is a RecipeError, not a crash."""
    if isinstance(step, Octets):
        yield from step.items
        return
    for s in step.items:
        try:
            yield s.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise RecipeError(
                f"{where}: a literal contains a lone surrogate (U+{ord(s[exc.start]):04X}), "
                "which has no UTF-8 form"
            ) from exc


# -- computation (signer) ----------------------------------------------------------


def compute_recipe(
    previous_fields: list[HeaderField],
    previous_body: Body,
    current_fields: list[HeaderField],
    current_body: Body,
    *,
    body_unrecoverable: bool = False,
    grammar: Grammar = "06",
    is_unsigned: Callable[[str], bool] = canonical.is_unsigned,
) -> Recipe | None:
    """The recipe that turns (current) back into (previous), or None if nothing
    signed changed.  Header names are ordered as they first appear in the
    previous instance, then names new in the current one.

    Under grammar "06" a literal that is not UTF-8 is a ``d`` string holding
    surrogate escapes, which :meth:`Recipe.encode` refuses (UnicodeEncodeError: the
    signer then falls back to a null body recipe, A35).  Under "07" it is a ``u``
    step (SPEC-09-NOTES 1.9).  ``is_unsigned`` is the revision's unsigned-field list."""
    if grammar not in _GRAMMARS:
        raise ValueError(f"unknown recipe grammar {grammar!r}; known: {', '.join(_GRAMMARS)}")
    prev_groups = _signed_groups(previous_fields, is_unsigned)
    cur_groups = _signed_groups(current_fields, is_unsigned)
    headers: dict[str, list[Step]] = {}
    for name in list(prev_groups) + [n for n in cur_groups if n not in prev_groups]:
        prev = prev_groups.get(name, [])
        cur = cur_groups.get(name, [])
        if [f.raw for f in prev] == [f.raw for f in cur]:
            continue
        headers[name] = _header_steps(prev, cur, grammar)
    body_steps: list[Step] | None = None
    if body_unrecoverable:
        return Recipe(headers or None, None, body_null=True)
    if not previous_body.same_as(current_body):
        body_steps = _body_steps(previous_body, current_body, grammar)
        if previous_body.hash("sha256") == current_body.hash("sha256"):
            body_steps = None  # only trailing empty lines differ: same body hash
    if not headers and body_steps is None:
        return None
    return Recipe(headers or None, body_steps)


def _signed_groups(
    fields: list[HeaderField], is_unsigned: Callable[[str], bool]
) -> dict[str, list[HeaderField]]:
    groups: dict[str, list[HeaderField]] = {}
    for f in fields:
        if f.valid and not is_unsigned(f.lname):
            groups.setdefault(f.lname, []).append(f)
    return groups


def _literal(octets: bytes, grammar: Grammar) -> str | bytes:
    """A previous line or field value as a literal: text for a ``d`` step, or (-07, when the
    octets are not UTF-8) the octets themselves for a ``u`` step."""
    if grammar == "06":
        return octets.decode("utf-8", "surrogateescape")
    try:
        return octets.decode("utf-8")
    except UnicodeDecodeError:
        return octets


def _header_steps(prev: list[HeaderField], cur: list[HeaderField], grammar: Grammar) -> list[Step]:
    # Both lists bottom-up: the numbering recipes use (S06 §5.1).
    prev_bu = [f.raw for f in reversed(prev)]
    cur_bu = [f.raw for f in reversed(cur)]
    literal = [_literal(f.value.replace(CRLF, b""), grammar) for f in reversed(prev)]
    return _steps_from_match(prev_bu, cur_bu, literal)


def _terminated(body: Body) -> Body:
    """``body`` with a CRLF after a last line that has none: a recipe numbers that line as
    a line (A11) and a copy of it emits the CRLF, so the two forms have the same lines."""
    if not len(body) or body.ends_with_line_end():
        return body
    last = body.line_start(body.line_count())
    line = body.to_bytes(last, len(body)) + CRLF
    return Body.from_pieces([*(p for _, p in body.spans(0, last)), (line, 0, len(line))])


def _body_steps(previous: Body, current: Body, grammar: Grammar) -> list[Step]:
    """The body steps that turn ``current`` back into ``previous`` (S06 §5.2), the same as
    matching their lists of lines, without making one object per line of the whole body:
    the lines both share at their start and end are found by comparing octets; only the
    lines between are read one by one.  Between them, up to MAX_DIFF_WINDOW_LINES lines a
    side get difflib's matching; more are matched line for line at the same position (an
    edit that replaces lines in place, as a list's footer or a rewritten line does; lines
    shifted by an insertion there become literals)."""
    prev, cur = _terminated(previous), _terminated(current)
    if not len(prev):
        return []
    la, lb = len(prev), len(cur)
    p, s = shared_lines(prev, cur)
    head = prev.count_line_ends(0, p)
    n_prev = prev.count_line_ends(p, la - s)
    n_cur = cur.count_line_ends(p, lb - s)
    tail = prev.count_line_ends(la - s, la)
    blocks: list[tuple[int, int, int]] = []
    if head:
        blocks.append((0, 0, head))
    if n_prev and n_cur:
        a_lines = prev.line_spans(p, la - s)
        b_lines = cur.line_spans(p, lb - s)
        small = max(n_prev, n_cur) <= limits.MAX_DIFF_WINDOW_LINES
        if small and n_prev * n_cur <= limits.MAX_DIFF_COMPARISONS:
            matcher = difflib.SequenceMatcher(
                a=[buf[lo:hi] for buf, lo, hi in a_lines],
                b=[buf[lo:hi] for buf, lo, hi in b_lines],
                autojunk=False,
            )
            blocks.extend(
                (x.a + head, x.b + head, x.size) for x in matcher.get_matching_blocks() if x.size
            )
        else:
            run = 0
            for k, (x, y) in enumerate(zip(a_lines, b_lines, strict=False)):
                if x[2] - x[1] == y[2] - y[1] and x[0].startswith(
                    memoryview(y[0])[y[1] : y[2]], x[1]
                ):
                    run += 1
                    continue
                if run:
                    blocks.append((head + k - run, head + k - run, run))
                run = 0
            k = min(n_prev, n_cur)
            if run:
                blocks.append((head + k - run, head + k - run, run))
    if tail:
        blocks.append((head + n_prev, head + n_cur, tail))
    total = head + n_prev + tail
    steps: list[Step] = []
    pos = 0  # lines of prev accounted for

    def literals(first: int, stop: int) -> list[Step]:
        start, end = prev.line_start(first + 1), prev.line_start(stop + 1)
        return _literal_steps(
            [_literal(buf[lo:hi], grammar) for buf, lo, hi in prev.line_spans(start, end)]
        )

    for a, b, size in blocks:
        if a > pos:
            steps.extend(literals(pos, a))
        steps.append(Copy(b + 1, b + size))
        pos = a + size
    if pos < total:
        steps.extend(literals(pos, total))
    return _merge(steps)


def _literal_steps(items: list[str | bytes]) -> list[Step]:
    """One step per run of text (``d``) or of octets (``u``, -07 only)."""
    steps: list[Step] = []
    for is_octets, run in itertools.groupby(items, key=lambda x: isinstance(x, bytes)):
        run_items = list(run)
        if is_octets:
            steps.append(Octets(tuple(x for x in run_items if isinstance(x, bytes))))
        else:
            steps.append(Data(tuple(x for x in run_items if isinstance(x, str))))
    return steps


def _steps_from_match(
    prev: list[bytes], cur: list[bytes], literal: list[str | bytes]
) -> list[Step]:
    """Copy steps for runs of ``prev`` found in ``cur`` (in order), data for the rest."""
    if not prev:
        return []
    # Common prefix and suffix first (cheap, and the usual case: footers, subject
    # tags); the matcher only sees the middle.
    head = 0
    limit = min(len(prev), len(cur))
    while head < limit and prev[head] == cur[head]:
        head += 1
    tail = 0
    while tail < limit - head and prev[-1 - tail] == cur[-1 - tail]:
        tail += 1
    blocks: list[tuple[int, int, int]] = []
    if head:
        blocks.append((0, 0, head))
    mid_prev = prev[head : len(prev) - tail]
    mid_cur = cur[head : len(cur) - tail]
    if mid_prev and mid_cur:
        matcher = difflib.SequenceMatcher(a=mid_prev, b=mid_cur, autojunk=False)
        blocks.extend(
            (b.a + head, b.b + head, b.size) for b in matcher.get_matching_blocks() if b.size
        )
    if tail:
        blocks.append((len(prev) - tail, len(cur) - tail, tail))
    steps: list[Step] = []
    pos = 0
    for a, b, size in blocks:
        if a > pos:
            steps.extend(_literal_steps(literal[pos:a]))
        steps.append(Copy(b + 1, b + size))
        pos = a + size
    if pos < len(prev):
        steps.extend(_literal_steps(literal[pos:]))
    return _merge(steps)


def _merge(steps: list[Step]) -> list[Step]:
    out: list[Step] = []
    for s in steps:
        if out and isinstance(s, Data) and isinstance(out[-1], Data):
            out[-1] = Data(out[-1].items + s.items)
        elif out and isinstance(s, Octets) and isinstance(out[-1], Octets):
            out[-1] = Octets(out[-1].items + s.items)
        elif (
            out and isinstance(s, Copy) and isinstance(out[-1], Copy) and out[-1].end + 1 == s.start
        ):
            out[-1] = Copy(out[-1].start, s.end)
        else:
            out.append(s)
    return out
