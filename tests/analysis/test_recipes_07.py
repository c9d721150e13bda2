"""analysis.dkim2.recipes under the -07 grammar (SPEC-09-NOTES 1.9): the "u" step, the stricter
invalid-JSON cases, the lone-surrogate fix (both grammars), compute-then-apply with octets that
are not UTF-8, and the revision's unsigned-field list (Auto-Submitted, SPEC-09-NOTES 1.8).

tests/analysis/test_recipes.py pins the -06 behaviour; this file adds the -07 side and the
cases where the two grammars part."""

from __future__ import annotations

import random
import sys
from typing import Literal

import pytest

from analysis.dkim2 import revisions
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
from analysis.message import Body, HeaderField, parse_message

BIG = 1 << 30
U06 = (
    """unknown step 'u' (only "c" and "d" exist in -06): "u" steps (literal octets as base64) """
    "exist from -07 (SPEC-09-NOTES 1.9)"
)
ONE_OF_06 = 'must be an object with exactly one of "c" or "d"'
ONE_OF_07 = 'must be an object with exactly one of "c", "d" or "u"'
NOT_CANONICAL = '"b" step 1: "u" string 1 is not canonical base64: '
PADDING = 'the padding is wrong (a multiple of 4 characters, at most two "=" and only at the end)'
SURROGATE = "a literal contains a lone surrogate (U+{:04X}), which has no UTF-8 form"


def budget() -> OutputBudget:
    return OutputBudget(BIG)


def fields(*lines: bytes) -> list[HeaderField]:
    """Header fields from b'Name: value' lines (no folding)."""
    return parse_message(b"".join(x + b"\r\n" for x in lines) + b"\r\n").fields


def body(*lines: bytes) -> Body:
    return Body.of(b"".join(x + b"\r\n" for x in lines))


def raws(fs: list[HeaderField]) -> list[bytes]:
    return [f.raw for f in fs]


# -- decode_recipe: one row per input, the outcome under -06 and under -07 -------------------------
#
# An outcome is the Recipe decoded, or the exact RecipeError text.  Rows are grouped as
# SPEC-09-NOTES 1.9 lists its invalid-JSON cases; "both" rows were already invalid under -06.

DECODE_CASES: list[tuple[str, bytes, Recipe | str, Recipe | str]] = [
    # -- the "u" step: valid from -07, an unknown step under -06 --
    (
        "u one string",
        b'{"b":[{"u":["/w=="]}]}',
        f'"b" step 1: {U06}',
        Recipe(None, [Octets((b"\xff",))]),
    ),
    (
        "u in a header recipe",
        b'{"h":{"subject":[{"u":["IENhZuk="]}]}}',
        f'"h"."subject" step 1: {U06}',
        Recipe({"subject": [Octets((b" Caf\xe9",))]}, None),
    ),
    (
        "u key matched without regard to case",
        b'{"B":[{"U":["/w==","/v8="]}]}',
        f'"b" step 1: {U06}',
        Recipe(None, [Octets((b"\xff", b"\xfe\xff"))]),
    ),
    (
        "u beside c and d, empty u string",
        b'{"b":[{"c":[1,1]},{"u":["gA=="]},{"d":["\xc3\xa9"]},{"u":[""]}]}',
        f'"b" step 2: {U06}',
        Recipe(None, [Copy(1, 1), Octets((b"\x80",)), Data(("é",)), Octets((b"",))]),
    ),
    # A "u" string whose octets are UTF-8: accepted (the choice written in recipes.py).
    (
        "u that decodes to UTF-8",
        b'{"b":[{"u":["aGk="]}]}',
        f'"b" step 1: {U06}',
        Recipe(None, [Octets((b"hi",))]),
    ),
    # -- bare arrays/strings as steps, empty step, two keys, unknown key (both) --
    (
        "bare array as a step",
        b'{"b":[["x"]]}',
        f'"b" step 1 {ONE_OF_06}',
        f'"b" step 1 {ONE_OF_07}',
    ),
    ("bare string as a step", b'{"b":["x"]}', f'"b" step 1 {ONE_OF_06}', f'"b" step 1 {ONE_OF_07}'),
    ("empty step", b'{"b":[{}]}', f'"b" step 1 {ONE_OF_06}', f'"b" step 1 {ONE_OF_07}'),
    (
        "two keys",
        b'{"b":[{"c":[1,1],"d":["x"]}]}',
        f'"b" step 1 {ONE_OF_06}',
        f'"b" step 1 {ONE_OF_07}',
    ),
    (
        "u and d in one step",
        b'{"b":[{"u":["/w=="],"d":["x"]}]}',
        f'"b" step 1 {ONE_OF_06}',
        f'"b" step 1 {ONE_OF_07}',
    ),
    (
        "two step keys equal but for case",
        b'{"b":[{"c":[1,1],"C":[2,2]}]}',
        f'"b" step 1 {ONE_OF_06}',
        "an object in the JSON text has keys that differ only in case ('c' and 'C')",
    ),
    (
        "unknown step key",
        b'{"b":[{"x":[1]}]}',
        """"b" step 1: unknown step 'x' (only "c" and "d" exist in -06)""",
        """"b" step 1: unknown step 'x' (only "c", "d" and "u" exist in -07)""",
    ),
    (
        "Mail::DKIM2's interim b step",
        b'{"b":[{"b":["eA=="]}]}',
        """"b" step 1: unknown step 'b' (only "c" and "d" exist in -06)""",
        """"b" step 1: unknown step 'b' (only "c", "d" and "u" exist in -07)""",
    ),
    # -- a "u" string that is not canonical base64 (new under -07) --
    ("u padding missing", b'{"b":[{"u":["/w"]}]}', f'"b" step 1: {U06}', NOT_CANONICAL + PADDING),
    ("u padding short", b'{"b":[{"u":["/w="]}]}', f'"b" step 1: {U06}', NOT_CANONICAL + PADDING),
    (
        "u padding too long",
        b'{"b":[{"u":["/w======"]}]}',
        f'"b" step 1: {U06}',
        NOT_CANONICAL + PADDING,
    ),
    (
        "u three pad characters",
        b'{"b":[{"u":["/===",""]}]}',
        f'"b" step 1: {U06}',
        NOT_CANONICAL + PADDING,
    ),
    (
        "u padding inside",
        b'{"b":[{"u":["/w==/w=="]}]}',
        f'"b" step 1: {U06}',
        NOT_CANONICAL + PADDING,
    ),
    (
        "u pad bits not zero",
        b'{"b":[{"u":["/x=="]}]}',
        f'"b" step 1: {U06}',
        NOT_CANONICAL + "the unused bits of its last character are not zero",
    ),
    (
        "u pad bits not zero, one pad character",
        b'{"b":[{"u":["/v9="]}]}',
        f'"b" step 1: {U06}',
        NOT_CANONICAL + "the unused bits of its last character are not zero",
    ),
    (
        "u with a space",
        b'{"b":[{"u":["/w= ="]}]}',
        f'"b" step 1: {U06}',
        NOT_CANONICAL + "' ' is not in the standard alphabet",
    ),
    (
        "u with a folded line",
        b'{"b":[{"u":["/w==\\r\\n"]}]}',
        f'"b" step 1: {U06}',
        NOT_CANONICAL + "'\\r' is not in the standard alphabet",
    ),
    (
        "u URL-safe alphabet",
        b'{"b":[{"u":["_w=="]}]}',
        f'"b" step 1: {U06}',
        NOT_CANONICAL + "'_' is not in the standard alphabet",
    ),
    (
        "u non-ASCII",
        '{"b":[{"u":["é="]}]}'.encode(),
        f'"b" step 1: {U06}',
        NOT_CANONICAL + "'é' is not in the standard alphabet",
    ),
    (
        "u second string bad",
        b'{"b":[{"u":["/w==","/w"]}]}',
        f'"b" step 1: {U06}',
        '"b" step 1: "u" string 2 is not canonical base64: ' + PADDING,
    ),
    (
        "u empty array",
        b'{"b":[{"u":[]}]}',
        f'"b" step 1: {U06}',
        '"b" step 1: "u" must be a non-empty array of strings',
    ),
    (
        "u not an array",
        b'{"b":[{"u":"/w=="}]}',
        f'"b" step 1: {U06}',
        '"b" step 1: "u" must be a non-empty array of strings',
    ),
    (
        "u not strings",
        b'{"b":[{"u":[255]}]}',
        f'"b" step 1: {U06}',
        '"b" step 1: "u" must be a non-empty array of strings',
    ),
    # -- a decoded "u" or a "d" with CR or LF --
    (
        "u decodes to CR",
        b'{"b":[{"u":["YQ1i"]}]}',
        f'"b" step 1: {U06}',
        '"b" step 1: "u" string 1 decodes to octets with CR or LF',
    ),
    (
        "u decodes to LF",
        b'{"h":{"to":[{"u":["/w==","Cg=="]}]}}',
        f'"h"."to" step 1: {U06}',
        '"h"."to" step 1: "u" string 2 decodes to octets with CR or LF',
    ),
    (
        "d with CR",
        b'{"b":[{"d":["a\\rb"]}]}',
        '"b" step 1: a literal contains CR or LF',
        '"b" step 1: a literal contains CR or LF',
    ),
    (
        "d with LF",
        b'{"b":[{"d":["\\n"]}]}',
        '"b" step 1: a literal contains CR or LF',
        '"b" step 1: a literal contains CR or LF',
    ),
    # -- a "c" that is not two integers >= 1 (both) --
    (
        "c with one integer",
        b'{"b":[{"c":[1]}]}',
        '"b" step 1: "c" must be [start, end] with two integers',
        '"b" step 1: "c" must be [start, end] with two integers',
    ),
    (
        "c with a float",
        b'{"b":[{"c":[1.0,2]}]}',
        '"b" step 1: "c" must be [start, end] with two integers',
        '"b" step 1: "c" must be [start, end] with two integers',
    ),
    (
        "c from 0",
        b'{"b":[{"c":[0,1]}]}',
        '"b" step 1: copy range [0, 1] must start at 1 or more',
        '"b" step 1: copy range [0, 1] must start at 1 or more',
    ),
    # -- "h": {}, "h": null, neither "h" nor "b" (both) --
    (
        "h empty",
        b'{"h":{}}',
        '"h" must name at least one field (S06 §5 schema: minProperties 1)',
        '"h" must name at least one field (S06 §5 schema: minProperties 1)',
    ),
    (
        "h null",
        b'{"h":null}',
        '"h" must be an object of field names, not null',
        '"h" must be an object of field names, not null',
    ),
    (
        "neither h nor b",
        b'{"r":[]}',
        'the recipe has neither "h" nor "b" (S06 §5 schema: at least one)',
        'the recipe has neither "h" nor "b" (S06 §5 schema: at least one)',
    ),
    # -- a recipe that does not undo: out of order, overlapping (both; past the end: apply) --
    (
        "copies out of order",
        b'{"b":[{"c":[3,4]},{"c":[1,2]}]}',
        '"b" step 2: copy range [1, 2] overlaps or precedes an earlier range ending at 4 '
        "(ranges must ascend)",
        '"b" step 2: copy range [1, 2] overlaps or precedes an earlier range ending at 4 '
        "(ranges must ascend)",
    ),
    (
        "copies overlapping",
        b'{"h":{"foo":[{"c":[1,3]},{"u":["/w=="]},{"c":[3,4]}]}}',
        f'"h"."foo" step 2: {U06}',
        '"h"."foo" step 3: copy range [3, 4] overlaps or precedes an earlier range ending at 3 '
        "(ranges must ascend)",
    ),
    # -- keys matched without regard to case at every level; duplicates --
    (
        "top-level keys equal but for case",
        b'{"b":[],"B":[]}',
        "recipe has keys that differ only in case ('B')",
        "an object in the JSON text has keys that differ only in case ('b' and 'B')",
    ),
    (
        "h keys equal but for case",
        b'{"h":{"to":[],"TO":[]}}',
        "\"h\" has keys that differ only in case ('TO')",
        "an object in the JSON text has keys that differ only in case ('to' and 'TO')",
    ),
    (
        "keys equal but for case inside an ignored member",
        b'{"b":[],"x-ext":{"a":1,"A":2}}',
        Recipe(None, []),
        "an object in the JSON text has keys that differ only in case ('a' and 'A')",
    ),
    (
        "top-level key twice",
        b'{"b":[],"b":[{"c":[1,1]}]}',
        Recipe(None, [Copy(1, 1)]),
        "an object in the JSON text has the key 'b' twice",
    ),
    (
        "h key twice",
        b'{"h":{"to":[],"to":[{"d":[" x"]}]}}',
        Recipe({"to": [Data((" x",))]}, None),
        "an object in the JSON text has the key 'to' twice",
    ),
    (
        "step key twice",
        b'{"b":[{"c":[1,1],"c":[2,2]}]}',
        Recipe(None, [Copy(2, 2)]),
        "an object in the JSON text has the key 'c' twice",
    ),
    # -- JSON text must be UTF-8, and JSON --
    (
        "text not UTF-8",
        b'{"b":[{"d":["\xff"]}]}',
        "the JSON text is not UTF-8 (octet at 13)",
        "the JSON text is not UTF-8 (octet at 13)",
    ),
    (
        "text holds an encoded surrogate",
        b'{"b":[{"d":["\xed\xa0\x80"]}]}',
        "the JSON text is not UTF-8 (octet at 13)",
        "the JSON text is not UTF-8 (octet at 13)",
    ),
    (
        "text starts with a BOM",
        b'\xef\xbb\xbf{"b":[]}',
        "not JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1 column 1",
        "not JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1 column 1",
    ),
    ("NaN", b'{"b":[],"x":NaN}', Recipe(None, []), "not JSON: NaN is not a JSON value"),
    (
        "Infinity",
        b'{"b":[],"x":[Infinity]}',
        Recipe(None, []),
        "not JSON: Infinity is not a JSON value",
    ),
    (
        "-Infinity",
        b'{"b":[],"x":-Infinity}',
        Recipe(None, []),
        "not JSON: -Infinity is not a JSON value",
    ),
    # -- a "d" whose string has no UTF-8 form (fixed under both grammars) --
    (
        "d lone high surrogate",
        b'{"b":[{"d":["\\ud800"]}]}',
        '"b" step 1: ' + SURROGATE.format(0xD800),
        '"b" step 1: ' + SURROGATE.format(0xD800),
    ),
    (
        "d lone low surrogate in a header recipe",
        b'{"h":{"subject":[{"d":[" ok"," \\udcff"]}]}}',
        '"h"."subject" step 1: ' + SURROGATE.format(0xDCFF),
        '"h"."subject" step 1: ' + SURROGATE.format(0xDCFF),
    ),
    (
        "d surrogates in the wrong order",
        b'{"b":[{"c":[1,1]},{"d":["\\ude00\\ud83d"]}]}',
        '"b" step 2: ' + SURROGATE.format(0xDE00),
        '"b" step 2: ' + SURROGATE.format(0xDE00),
    ),
    (
        "d surrogate pair is one character",
        b'{"b":[{"d":["\\ud83d\\ude00"]}]}',
        Recipe(None, [Data(("\U0001f600",))]),
        Recipe(None, [Data(("\U0001f600",))]),
    ),
    # -- a number too long for Python's int conversion: a RecipeError, not a ValueError --
    (
        "integer of 5000 digits",
        b'{"b":[{"c":[1,' + b"9" * 5000 + b"]}]}",
        f"a number in the JSON text has more than {sys.get_int_max_str_digits()} digits",
        f"a number in the JSON text has more than {sys.get_int_max_str_digits()} digits",
    ),
]


@pytest.mark.parametrize("grammar", ["06", "07"])
@pytest.mark.parametrize(
    ("text", "under_06", "under_07"),
    [pytest.param(text, o6, o7, id=name) for name, text, o6, o7 in DECODE_CASES],
)
def test_decode_recipe_under_each_grammar(
    grammar: Literal["06", "07"], text: bytes, under_06: Recipe | str, under_07: Recipe | str
) -> None:
    expected = under_06 if grammar == "06" else under_07
    if isinstance(expected, Recipe):
        assert decode_recipe(text, grammar=grammar) == expected
    else:
        with pytest.raises(RecipeError) as caught:
            decode_recipe(text, grammar=grammar)
        assert str(caught.value) == expected


def test_decode_recipe_defaults_to_the_06_grammar() -> None:
    with pytest.raises(RecipeError) as caught:
        decode_recipe(b'{"b":[{"u":["/w=="]}]}')
    assert str(caught.value) == f'"b" step 1: {U06}'


def test_decode_recipe_refuses_an_unknown_grammar() -> None:
    with pytest.raises(ValueError, match="unknown recipe grammar '08'; known: 06, 07"):
        decode_recipe(b'{"b":[]}', grammar="08")  # type: ignore[arg-type]


# -- Octets: JSON form -----------------------------------------------------------------------------


def test_octets_to_json_is_canonical_base64() -> None:
    assert Octets((b"\xff", b"", b" Caf\xe9", b"\xfe\xff")).to_json() == {
        "u": ["/w==", "", "IENhZuk=", "/v8="]
    }


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(
            {"subject": [Octets((b" Caf\xe9",))]},
            [Copy(1, 2), Octets((b"\x80", b"\xff")), Data(("é",))],
        ),
        Recipe(None, [Octets((b"",))]),
        Recipe({"foo": [Copy(1, 1), Octets((b"\xc3",)), Copy(3, 3)]}, None),
    ],
)
def test_encode_then_decode_under_07(recipe: Recipe) -> None:
    assert decode_recipe(recipe.encode(), grammar="07") == recipe


def test_encode_writes_u_steps_compactly() -> None:
    r = Recipe({"subject": [Octets((b" Caf\xe9",))]}, [Copy(1, 1), Octets((b"\xff",))])
    assert r.encode() == b'{"h":{"subject":[{"u":["IENhZuk="]}]},"b":[{"c":[1,1]},{"u":["/w=="]}]}'


# -- apply: Octets steps ---------------------------------------------------------------------------


def test_apply_body_recipe_emits_octets_as_lines() -> None:
    steps = decode_recipe(b'{"b":[{"c":[1,1]},{"u":["/w==",""]},{"c":[2,2]}]}', grammar="07").body
    assert steps is not None
    rebuilt = apply_body_recipe(Body.of(b"a\r\nc\r\n"), steps, budget())
    assert rebuilt.to_bytes() == b"a\r\n\xff\r\n\r\nc\r\n"


def test_apply_header_recipe_makes_octets_the_field_value() -> None:
    headers = decode_recipe(b'{"h":{"subject":[{"u":["IENhZuk="]}]}}', grammar="07").headers
    assert headers is not None
    current = fields(b"From: a@example.com", b"Subject: [list] Caf\xc3\xa9", b"To: t")
    assert raws(apply_header_recipe(current, headers, budget())) == [
        b"From: a@example.com\r\n",
        b"Subject: Caf\xe9\r\n",
        b"To: t\r\n",
    ]


def test_octets_count_against_the_output_budget_in_the_body() -> None:
    steps: list[Step] = [Octets((b"\xff" * 8,))]  # 10 octets with its CRLF
    assert (
        apply_body_recipe(Body.of(b""), steps, OutputBudget(10)).to_bytes() == b"\xff" * 8 + b"\r\n"
    )
    with pytest.raises(RecipeTooLarge, match="more than 9 octets"):
        apply_body_recipe(Body.of(b""), steps, OutputBudget(9))


def test_octets_count_against_the_output_budget_in_the_header() -> None:
    headers: dict[str, list[Step]] = {"subject": [Octets((b" \xff",))]}
    current = fields(b"Subject: x")
    assert raws(apply_header_recipe(current, headers, OutputBudget(12))) == [b"Subject: \xff\r\n"]
    with pytest.raises(RecipeTooLarge, match="more than 11 octets"):
        apply_header_recipe(current, headers, OutputBudget(11))


@pytest.mark.parametrize("grammar", ["06", "07"])
def test_a_copy_past_the_end_does_not_undo(grammar: Literal["06", "07"]) -> None:
    steps = decode_recipe(b'{"b":[{"c":[1,3]}]}', grammar=grammar).body
    assert steps is not None
    with pytest.raises(RecipeError) as caught:
        apply_body_recipe(Body.of(b"a\r\nb\r\n"), steps, budget())
    assert str(caught.value) == '"b": copy range [1, 3] is beyond the 2 line(s) of the body'


# -- the lone-surrogate fix: no UnicodeEncodeError from apply --------------------------------------


def test_a_lone_surrogate_in_a_data_step_is_a_recipe_error_in_the_body() -> None:
    """decode_recipe refuses it; a Data built in code that holds one is refused by apply too
    (before the fix both raised UnicodeEncodeError)."""
    with pytest.raises(RecipeError) as caught:
        apply_body_recipe(Body.of(b"x\r\n"), [Data(("ok", "\ud800"))], budget())
    assert str(caught.value) == '"b": ' + SURROGATE.format(0xD800)


def test_a_lone_surrogate_in_a_data_step_is_a_recipe_error_in_the_header() -> None:
    with pytest.raises(RecipeError) as caught:
        apply_header_recipe(fields(b"Subject: a"), {"subject": [Data((" \udcff",))]}, budget())
    assert str(caught.value) == '"h"."subject": ' + SURROGATE.format(0xDCFF)


# -- compute (07) then decode (07) then apply: the exact previous bytes ----------------------------


def test_compute_under_07_writes_u_steps_for_lines_and_values_that_are_not_utf8() -> None:
    prev_f = fields(b"From: a@example.com", b"Subject: Caf\xe9", b"To: t")
    cur_f = fields(b"From: a@example.com", b"Subject: [list] Caf\xc3\xa9", b"To: t")
    prev_b = body(b"one", b"caf\xe9", b"\xff\xfe", b"three", b"\xc3\xa9")
    cur_b = body(b"one", b"three", b"-- ", b"footer")
    recipe = compute_recipe(prev_f, prev_b, cur_f, cur_b, grammar="07")
    assert recipe is not None
    assert recipe.to_json() == {
        "h": {"subject": [{"u": ["IENhZuk="]}]},
        "b": [{"c": [1, 1]}, {"u": ["Y2Fm6Q==", "//4="]}, {"c": [2, 2]}, {"d": ["é"]}],
    }
    again = decode_recipe(recipe.encode(), grammar="07")
    assert again.headers is not None and again.body is not None
    assert raws(apply_header_recipe(cur_f, again.headers, budget())) == raws(prev_f)
    assert apply_body_recipe(cur_b, again.body, budget()).to_bytes() == prev_b.to_bytes()


def test_compute_under_06_keeps_surrogate_escapes_that_encode_refuses() -> None:
    """Today's -06 output, kept: the signer catches the UnicodeEncodeError and falls back to a
    null body recipe (sign.py)."""
    prev_b, cur_b = body(b"caf\xe9"), body(b"cafe")
    recipe = compute_recipe(fields(b"To: t"), prev_b, fields(b"To: t"), cur_b)
    assert recipe == Recipe(None, [Data(("caf\udce9",))])
    with pytest.raises(UnicodeEncodeError):
        recipe.encode()


def test_compute_under_07_keeps_multiple_same_name_fields_in_order() -> None:
    prev_f = fields(b"Comments: \xff1", b"To: t", b"Comments: ok", b"Comments: \xfe2")
    cur_f = fields(b"Comments: ok", b"To: t", b"Comments: new")
    recipe = compute_recipe(prev_f, body(), cur_f, body(), grammar="07")
    assert recipe is not None
    assert recipe.to_json() == {
        "h": {"comments": [{"u": ["IP4y"]}, {"c": [2, 2]}, {"u": ["IP8x"]}]}
    }
    again = decode_recipe(recipe.encode(), grammar="07")
    assert again.headers is not None
    assert raws(apply_header_recipe(cur_f, again.headers, budget())) == [
        b"Comments: \xff1\r\n",
        b"Comments: ok\r\n",
        b"Comments: \xfe2\r\n",
        b"To: t\r\n",
    ]


def test_compute_refuses_an_unknown_grammar() -> None:
    with pytest.raises(ValueError, match="unknown recipe grammar '6'"):
        compute_recipe(fields(b"To: t"), body(), fields(b"To: t"), body(), grammar="6")  # type: ignore[arg-type]


VOCABULARY = [b"line 1", b"", b"x", b"footer", b"\xc3\xa9", b"caf\xe9", b"\xff", b"\x80\x80"]
UTF8_ONLY = [b"line 1", b"", b"x", b"footer", b"\xc3\xa9", "日本".encode()]


def _random_edit(rng: random.Random, lines: list[bytes], vocabulary: list[bytes]) -> list[bytes]:
    out = list(lines)
    for _ in range(rng.randrange(1, 8)):
        op = rng.choice(["insert", "delete", "replace", "duplicate"])
        pos = rng.randrange(len(out) + 1)
        if op == "insert" or not out:
            out.insert(pos, rng.choice(vocabulary))
        elif op == "delete":
            del out[min(pos, len(out) - 1)]
        elif op == "replace":
            out[min(pos, len(out) - 1)] = b"changed %d" % rng.randrange(1000)
        else:
            out.insert(pos, out[min(pos, len(out) - 1)])
    return out


@pytest.mark.parametrize("seed", range(40))
def test_compute_then_apply_under_07_gives_back_the_exact_previous_bytes(seed: int) -> None:
    rng = random.Random(seed)
    prev_lines = [rng.choice(VOCABULARY) for _ in range(30)]
    cur_lines = _random_edit(rng, prev_lines, VOCABULARY)
    prev_values = [rng.choice([b"a", b"\xe9", b"b\xff", b"\xc3\xa9"]) for _ in range(5)]
    cur_values = _random_edit(rng, prev_values, [b"a", b"\xfe", b"new"])
    prev_f = fields(*[b"Foo: " + v for v in prev_values], b"To: t")
    cur_f = fields(*[b"Foo: " + v for v in cur_values], b"To: t")
    prev_b, cur_b = body(*prev_lines), body(*cur_lines)
    recipe = compute_recipe(prev_f, prev_b, cur_f, cur_b, grammar="07")
    again = decode_recipe(recipe.encode(), grammar="07") if recipe else Recipe(None, None)
    assert again == (recipe or Recipe(None, None))  # what a verifier reads back
    assert raws(apply_header_recipe(cur_f, again.headers or {}, budget())) == raws(prev_f)
    if again.body is None:  # only trailing empty lines differ: the same body hash
        assert cur_b.hash("sha256") == prev_b.hash("sha256")
    else:
        assert apply_body_recipe(cur_b, again.body, budget()).to_bytes() == prev_b.to_bytes()


@pytest.mark.parametrize("seed", range(20))
def test_compute_under_07_equals_06_when_every_literal_is_utf8(seed: int) -> None:
    rng = random.Random(seed)
    prev_lines = [rng.choice(UTF8_ONLY) for _ in range(20)]
    cur_lines = _random_edit(rng, prev_lines, UTF8_ONLY)
    prev_f = fields(b"Subject: " + rng.choice(UTF8_ONLY), b"To: t")
    cur_f = fields(b"Subject: [l]", b"To: t")
    args = (prev_f, body(*prev_lines), cur_f, body(*cur_lines))
    r06 = compute_recipe(*args)
    r07 = compute_recipe(*args, grammar="07")
    assert r06 is not None and r07 is not None
    assert r07 == r06
    assert r07.encode() == r06.encode()


# -- the revision's unsigned-field list: Auto-Submitted (SPEC-09-NOTES 1.8) ------------------------

AUTO_SUBMITTED = b'{"h":{"auto-submitted":[{"d":[" no"]}]}}'
CURRENT_AUTO = (b"From: a@example.com", b"Auto-Submitted: auto-generated", b"To: t")


def test_an_auto_submitted_recipe_is_applied_when_the_revision_signs_the_field() -> None:
    headers = decode_recipe(AUTO_SUBMITTED, grammar="07").headers
    assert headers is not None
    rebuilt = apply_header_recipe(
        fields(*CURRENT_AUTO), headers, budget(), is_unsigned=revisions.get("08").is_unsigned
    )
    assert raws(rebuilt) == [b"From: a@example.com\r\n", b"Auto-Submitted: no\r\n", b"To: t\r\n"]


@pytest.mark.parametrize("revision", ["default", "06", "07"])
def test_an_auto_submitted_recipe_is_ignored_under_the_s06_list(revision: str) -> None:
    headers = decode_recipe(AUTO_SUBMITTED).headers
    assert headers is not None
    current = fields(*CURRENT_AUTO)
    if revision == "default":
        rebuilt = apply_header_recipe(current, headers, budget())
    else:
        rebuilt = apply_header_recipe(
            current, headers, budget(), is_unsigned=revisions.get(revision).is_unsigned
        )
    assert raws(rebuilt) == raws(current)


def test_compute_records_auto_submitted_only_when_the_revision_signs_it() -> None:
    prev_f = fields(b"From: a@example.com", b"Auto-Submitted: no", b"To: t")
    cur_f = fields(*CURRENT_AUTO)
    assert compute_recipe(prev_f, body(b"x"), cur_f, body(b"x")) is None
    recipe = compute_recipe(
        prev_f, body(b"x"), cur_f, body(b"x"), is_unsigned=revisions.get("09").is_unsigned
    )
    assert recipe is not None
    assert recipe.to_json() == {"h": {"auto-submitted": [{"d": [" no"]}]}}
