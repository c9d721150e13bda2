"""Property-based tests of the Message-Instance recipes (analysis.dkim2.recipes; S06 §5, §7.2,
SPEC-NOTES §11 A7-A13, A35; the -07 grammar of SPEC-09-NOTES 1.9), under both grammars.

Properties: any octets, and any JSON value, decode to a Recipe or raise RecipeError, under -06
and -07; encoding a recipe and decoding it gives the same recipe; what -07 accepts without a
"u" step, -06 accepts too, and the reverse holds for JSON without keys equal but for case;
applying body steps agrees with a naive application over ``split(CRLF)`` and stays within the
output budget; a recipe computed between two messages and applied to the newer one gives the
older one's header and body hashes back.  Derandomised and database-less.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analysis.dkim2.canonical import header_hash_input
from analysis.dkim2.recipes import (
    Copy,
    Data,
    Octets,
    OutputBudget,
    Recipe,
    RecipeError,
    RecipeTooLarge,
    Step,
    apply_body_recipe,
    apply_header_recipe,
    compute_recipe,
    decode_recipe,
)
from analysis.message import CRLF, Body, parse_message

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Grammar = Literal["06", "07"]
GRAMMARS = st.sampled_from(["06", "07"])
BIG = 1 << 30

# -- strategies ---------------------------------------------------------------------------------

#: Literal text: no CR, LF or lone surrogate (decode_recipe refuses those, A12, A35).
LITERAL = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12
)
OCTETS = st.binary(max_size=12).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@st.composite
def step_lists(draw: st.DrawFn, *, octets: bool) -> list[Step]:
    """Ascending, non-overlapping copy ranges with literal steps between them."""
    steps: list[Step] = []
    last = 0
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["c", "d", "u"] if octets else ["c", "d"]))
        if kind == "c":
            start = last + 1 + draw(st.integers(0, 3))
            last = start + draw(st.integers(0, 4))
            steps.append(Copy(start, last))
        elif kind == "d":
            steps.append(Data(tuple(draw(st.lists(LITERAL, min_size=1, max_size=3)))))
        else:
            steps.append(Octets(tuple(draw(st.lists(OCTETS, min_size=1, max_size=3)))))
    return steps


FIELD_NAME = st.text(
    "".join(chr(c) for c in range(33, 127) if c != ord(":") and not chr(c).isupper()),
    min_size=1,
    max_size=8,
)


@st.composite
def recipes(draw: st.DrawFn, *, octets: bool) -> Recipe:
    headers = draw(
        st.none() | st.dictionaries(FIELD_NAME, step_lists(octets=octets), min_size=1, max_size=3)
    )
    body_kind = draw(st.sampled_from(["absent", "null", "steps"]))
    if headers is None and body_kind == "absent":
        body_kind = "steps"
    body = draw(step_lists(octets=octets)) if body_kind == "steps" else None
    return Recipe(headers, body, body_null=body_kind == "null")


#: Keys that make recipe-like JSON: the members and steps, in both cases, and others.
KEY = st.sampled_from(["h", "H", "b", "B", "c", "C", "d", "D", "u", "U", "from", "x", ""])
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEY, inner, max_size=4),
    max_leaves=20,
)


def case_duplicates(value: Any) -> bool:
    """Whether some object inside ``value`` has two keys equal but for case."""
    if isinstance(value, dict):
        lower = [k.lower() for k in value]
        if len(lower) != len(set(lower)):
            return True
        return any(case_duplicates(v) for v in value.values())
    if isinstance(value, list):
        return any(case_duplicates(v) for v in value)
    return False


def decoded(text: bytes, grammar: Grammar) -> Recipe | RecipeError:
    try:
        return decode_recipe(text, grammar=grammar)
    except RecipeError as exc:
        return exc


# -- decoding ---------------------------------------------------------------------------------


@PROPERTY
@given(st.binary(max_size=80), GRAMMARS)
def test_any_octets_decode_to_a_recipe_or_a_recipe_error(text: bytes, grammar: Grammar) -> None:
    assert isinstance(decoded(text, grammar), Recipe | RecipeError)


@PROPERTY
@given(JSON_VALUES)
def test_json_that_minus_07_accepts_without_u_steps_minus_06_accepts_alike(value: Any) -> None:
    text = json.dumps(value).encode()
    r06, r07 = decoded(text, "06"), decoded(text, "07")
    if isinstance(r07, Recipe) and not r07.uses_octets:
        assert r06 == r07
    if isinstance(r06, Recipe) and not case_duplicates(value):
        assert r07 == r06
    if isinstance(r06, Recipe):
        assert not r06.uses_octets


@PROPERTY
@given(recipes(octets=False), GRAMMARS)
def test_a_recipe_encoded_and_decoded_is_the_same_recipe(recipe: Recipe, grammar: Grammar) -> None:
    assert decode_recipe(recipe.encode(), grammar=grammar) == recipe


@PROPERTY
@given(recipes(octets=True))
def test_u_steps_round_trip_under_minus_07_and_are_refused_under_minus_06(recipe: Recipe) -> None:
    text = recipe.encode()
    assert decode_recipe(text, grammar="07") == recipe
    r06 = decoded(text, "06")
    if recipe.uses_octets:
        assert isinstance(r06, RecipeError)
        assert 'unknown step \'u\' (only "c" and "d" exist in -06)' in str(r06)
    else:
        assert r06 == recipe


@PROPERTY
@given(recipes(octets=False))
def test_a_member_written_twice_is_refused_under_minus_07_only(recipe: Recipe) -> None:
    obj = recipe.to_json()
    key = next(iter(obj))
    member = json.dumps(obj[key], separators=(",", ":"))
    text = json.dumps(obj, separators=(",", ":"))[:-1] + f',"{key}":{member}}}'
    assert decode_recipe(text.encode(), grammar="06") == recipe
    r07 = decoded(text.encode(), "07")
    assert isinstance(r07, RecipeError)
    assert str(r07) == f"an object in the JSON text has the key {key!r} twice"


# -- applying body steps: a naive reference over split(CRLF) --------------------------------------

BODY = st.lists(st.sampled_from([b"a", b"bc", b"\r\n", b"\r\n", b"\r", b"\n", b"\xff", b" "])).map(
    b"".join
)


def naive_lines(body: bytes) -> list[bytes]:
    """Lines separated by CRLF; a trailing partial line is a line (A11)."""
    parts = body.split(CRLF)
    if parts[-1] == b"":
        parts.pop()
    return parts


def naive_apply(body: bytes, steps: list[Step], allowance: int) -> bytes | type[RecipeError]:
    """The output of ``steps`` on ``body``, counting every octet against ``allowance``."""
    lines = naive_lines(body)
    out = b""
    for step in steps:
        if isinstance(step, Copy):
            if step.end > len(lines):
                return RecipeError
            emitted = [line + CRLF for line in lines[step.start - 1 : step.end]]
        elif isinstance(step, Data):
            emitted = [s.encode() + CRLF for s in step.items]
        else:
            emitted = [o + CRLF for o in step.items]
        out += b"".join(emitted)
        if len(out) > allowance:
            return RecipeTooLarge
    return out


@st.composite
def split_bodies(draw: st.DrawFn) -> Body:
    """A body of one buffer, or of several pieces of other buffers (as rebuilt bodies are)."""
    data = draw(BODY)
    if draw(st.booleans()):
        return Body.of(data)
    lines = [line + CRLF for line in data.split(CRLF)]
    lines[-1] = lines[-1][:-2]
    pieces = []
    for line in lines:
        pad = draw(st.binary(max_size=3))
        buf = pad + line + draw(st.binary(max_size=3))
        pieces.append((buf, len(pad), len(pad) + len(line)))
    return Body.from_pieces(pieces)


@st.composite
def body_steps(draw: st.DrawFn, body: Body) -> list[Step]:
    """Steps for ``body``: copies mostly inside its lines (the last one included), literals."""
    lines = len(naive_lines(body.to_bytes()))
    steps = draw(step_lists(octets=True))
    out: list[Step] = []
    last = 0
    for step in steps:
        if isinstance(step, Copy):
            if last >= lines + 1:
                continue
            start = draw(st.integers(last + 1, lines + 1))
            last = max(start, draw(st.sampled_from([lines, lines + 1, start])))
            step = Copy(start, last)
        out.append(step)
    return out


@PROPERTY
@given(
    split_bodies().flatmap(lambda b: st.tuples(st.just(b), body_steps(b))),
    st.sampled_from([-2, -1, 0, 1, 3]),
)
# Found: the CRLF a copy adds after a last line without one was not counted (fixed).
@example(case=(Body.of(b"ab\r\ncd"), [Copy(1, 2)]), slack=-1)
def test_body_steps_apply_as_a_naive_application_over_lines_says(
    case: tuple[Body, list[Step]], slack: int
) -> None:
    body, steps = case
    # The allowance is around what the steps make, to test the budget at its edge.
    full = naive_apply(body.to_bytes(), steps, BIG)
    allowance = max(0, (len(full) if isinstance(full, bytes) else 0) + slack)
    expected = naive_apply(body.to_bytes(), steps, allowance)
    budget = OutputBudget(allowance)
    try:
        got: bytes | type[RecipeError] = apply_body_recipe(body, steps, budget).to_bytes()
    except RecipeTooLarge:
        got = RecipeTooLarge
    except RecipeError:
        got = RecipeError
    assert got == expected
    if isinstance(got, bytes):
        assert len(got) <= allowance


# -- compute, then apply: the older instance's hashes come back -----------------------------------

NAMES = ["From", "To", "Subject", "subject", "Foo", "X-Tag", "Received"]
VALUE = st.sampled_from([b"one", b"two", b" spaced  out ", b"\xe9t\xe9", b"fold\r\n more", b""])


@st.composite
def header_lines(draw: st.DrawFn) -> list[bytes]:
    """Header lines: fields, and now and then a line without a colon that bears a field's name
    (malformed, left out of the header hash)."""
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(NAMES)).encode()
        if draw(st.integers(0, 9)) == 0:
            lines.append(name + CRLF)
        else:
            lines.append(name + b":" + draw(VALUE) + CRLF)
    return lines


LINE = st.sampled_from([b"", b"a", b"b", b"-- ", b"footer", b"caf\xe9", b"x\ry", b" "])


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """An older message and a newer one made from it by a hop's edits."""
    fields = draw(header_lines())
    body = draw(st.lists(LINE, max_size=8))
    new_fields = list(fields)
    new_body = list(body)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["add field", "drop field", "add line", "drop line", "edit"]))
        if op == "add field":
            new_fields[draw(st.integers(0, len(new_fields))) : 0] = draw(header_lines())
        elif op == "drop field" and new_fields:
            del new_fields[draw(st.integers(0, len(new_fields) - 1))]
        elif op == "add line":
            new_body.insert(draw(st.integers(0, len(new_body))), draw(LINE))
        elif op == "drop line" and new_body:
            del new_body[draw(st.integers(0, len(new_body) - 1))]
        elif op == "edit" and new_body:
            new_body[draw(st.integers(0, len(new_body) - 1))] = draw(LINE)
    final = draw(st.booleans())  # the body's last line ends with CRLF

    def message(fs: list[bytes], lines: list[bytes]) -> bytes:
        text = CRLF.join(lines) + (CRLF if lines and final else b"")
        return b"From: a\r\n" + b"".join(fs) + CRLF + text

    return message(fields, body), message(new_fields, new_body)


def unencodable(recipe: Recipe) -> bool:
    steps = [*(recipe.body or []), *(x for v in (recipe.headers or {}).values() for x in v)]
    texts = [t for x in steps if isinstance(x, Data) for t in x.items]
    return any("\udc80" <= c <= "\udcff" for t in texts for c in t)


@PROPERTY
@given(messages(), GRAMMARS)
# Found: a line without a colon bearing the name was numbered with the fields (fixed).
@example(pair=(b"From: a\r\n\r\n", b"From: a\r\nFrom\r\nFrom:one\r\n\r\n"), grammar="06")
def test_a_computed_recipe_applied_to_the_newer_message_gives_the_older_hashes(
    pair: tuple[bytes, bytes], grammar: Grammar
) -> None:
    older, newer = parse_message(pair[0]), parse_message(pair[1])
    recipe = compute_recipe(older.fields, older.body, newer.fields, newer.body, grammar=grammar)
    fields, body = newer.fields, newer.body
    if recipe is not None and grammar == "06" and unencodable(recipe):
        # -06 has no step for octets that are not UTF-8: the literal holds surrogate escapes,
        # which neither encode nor apply (the signer falls back to "b": null, A35).
        try:
            encoded = recipe.encode()
        except UnicodeEncodeError:
            return
        raise AssertionError(f"{encoded!r} was encoded")
    if recipe is not None:
        if recipe.headers is not None:
            fields = apply_header_recipe(fields, recipe.headers, OutputBudget(BIG))
        if recipe.body is not None:
            body = apply_body_recipe(body, recipe.body, OutputBudget(BIG))
    assert header_hash_input(fields) == header_hash_input(older.fields)
    assert body.hash("sha256") == older.body.hash("sha256")


@PROPERTY
@given(messages())
def test_a_computed_minus_07_recipe_survives_its_json_unless_a_literal_holds_a_bare_cr(
    pair: tuple[bytes, bytes],
) -> None:
    older, newer = parse_message(pair[0]), parse_message(pair[1])
    recipe = compute_recipe(older.fields, older.body, newer.fields, newer.body, grammar="07")
    if recipe is None:
        return
    again = decoded(recipe.encode(), "07")
    if isinstance(again, RecipeError):
        # A line or field value with a bare CR (or LF) cannot be a literal (A12).
        assert "CR or LF" in str(again)
        assert b"\r" in older.normalised.replace(CRLF, b"")
    else:
        assert again == recipe
