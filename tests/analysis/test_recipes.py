"""analysis.dkim2.recipes: decode (every error class), apply (SPEC-NOTES §4.5 a, b, c exactly),
compute (the signer's side), and compute-then-apply round trips."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from analysis.dkim2.recipes import (
    Copy,
    Data,
    OutputBudget,
    Recipe,
    RecipeError,
    RecipeTooLarge,
    apply_body_recipe,
    apply_header_recipe,
    compute_recipe,
    decode_recipe,
)
from analysis.message import Body, HeaderField, parse_message

BIG = 1 << 30


def budget() -> OutputBudget:
    return OutputBudget(BIG)


def fields(*lines: str) -> list[HeaderField]:
    """Header fields from 'Name: value' lines (no folding)."""
    raw = "".join(f"{x}\r\n" for x in lines).encode() + b"\r\n"
    return parse_message(raw).fields


def raws(fs: list[HeaderField]) -> list[bytes]:
    return [f.raw for f in fs]


def body(*lines: str) -> Body:
    return Body.of("".join(f"{x}\r\n" for x in lines).encode())


# -- decode_recipe ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "recipe"),
    [
        ('{"b":null}', Recipe(None, None, body_null=True)),
        ('{"b":[]}', Recipe(None, [])),
        ('{"h":{"list-id":[]}}', Recipe({"list-id": []}, None)),
        (
            '{"h":{"subject":[{"d":[" Hello"]}]},"b":[{"c":[1,3]}]}',
            Recipe({"subject": [Data((" Hello",))]}, [Copy(1, 3)]),
        ),
        (
            '{"H":{"Subject":[{"D":[""]}]},"B":[{"C":[2,2]}]}',
            Recipe({"subject": [Data(("",))]}, [Copy(2, 2)]),
        ),
        ('{"b":[{"c":[1,1]}],"x-extension":{"any":1},"z":null}', Recipe(None, [Copy(1, 1)])),
        (
            '{"b":[{"c":[1,2]},{"d":["a","b"]},{"c":[3,3]}]}',
            Recipe(None, [Copy(1, 2), Data(("a", "b")), Copy(3, 3)]),
        ),
        ('{"b":[{"d":["é日本"]}]}', Recipe(None, [Data(("é日本",))])),
        ('  {"b" : [ ] }  ', Recipe(None, [])),
    ],
)
def test_decode_recipe(text: str, recipe: Recipe) -> None:
    assert decode_recipe(text.encode()) == recipe


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"b":[\xff]}', r"the JSON text is not UTF-8 \(octet at 6\)"),
        (b"[" * 100_000, "the JSON text is nested too deeply"),
        (b"", "not JSON: Expecting value at line 1 column 1"),
        (b'{"b":[}', "not JSON"),
        (b'{"b":[]} x', "not JSON: Extra data"),
        (b"[]", "the recipe must be a JSON object, not an array"),
        (b'"b"', "not a string"),
        (b"null", "not null"),
        (b"{}", 'the recipe has neither "h" nor "b"'),
        (b'{"x":1}', 'neither "h" nor "b"'),
        (b'{"b":[],"B":[]}', r"recipe has keys that differ only in case \('B'\)"),
        (b'{"h":[]}', '"h" must be an object of field names, not an array'),
        (b'{"h":null}', '"h" must be an object of field names, not null'),
        (b'{"h":{}}', "must name at least one field"),
        (b'{"h":{"to":[],"TO":[]}}', r'"h" has keys that differ only in case'),
        (b'{"h":{"":[]}}', "is not a header field name"),
        (b'{"h":{"a b":[]}}', "is not a header field name"),
        (b'{"h":{"a:b":[]}}', "is not a header field name"),
        ('{"h":{"é":[]}}'.encode(), "is not a header field name"),
        (b'{"h":{"to":{}}}', r'"h"."to" must be an array of steps, not an object'),
        (b'{"b":"c"}', '"b" must be an array of steps, not a string'),
        (b'{"b":[1]}', r'"b" step 1 must be an object with exactly one of "c" or "d"'),
        (b'{"b":[{}]}', "exactly one of"),
        (b'{"b":[{"c":[1,1],"d":["x"]}]}', "exactly one of"),
        (b'{"b":[{"c":[1,1]},["x"]]}', '"b" step 2 must be an object'),
        (b'{"b":[{"u":["eA=="]}]}', r"""unknown step 'u' \(only "c" and "d" exist in -06\)"""),
        (b'{"b":[{"c":[1]}]}', r'"c" must be \[start, end\] with two integers'),
        (b'{"b":[{"c":[1,2,3]}]}', "two integers"),
        (b'{"b":[{"c":[1,2.0]}]}', "two integers"),
        (b'{"b":[{"c":["1","2"]}]}', "two integers"),
        (b'{"b":[{"c":[true,true]}]}', "two integers"),
        (b'{"b":[{"c":{"start":1}}]}', "two integers"),
        (b'{"b":[{"c":[0,1]}]}', r"copy range \[0, 1\] must start at 1 or more"),
        (b'{"b":[{"c":[-2,1]}]}', "must start at 1"),
        (b'{"b":[{"c":[2,1]}]}', r"copy range \[2, 1\] is descending"),
        (
            b'{"b":[{"c":[1,3]},{"c":[3,4]}]}',
            r'"b" step 2: copy range \[3, 4\] overlaps or precedes an earlier range ending at 3',
        ),
        (b'{"b":[{"c":[5,6]},{"d":["x"]},{"c":[1,2]}]}', "overlaps or precedes"),
        (b'{"h":{"to":[{"c":[2,2]},{"c":[1,1]}]}}', r'"h"."to" step 2: copy range'),
        (b'{"b":[{"d":[]}]}', '"d" must be a non-empty array of strings'),
        (b'{"b":[{"d":"x"}]}', "non-empty array of strings"),
        (b'{"b":[{"d":[null]}]}', "non-empty array of strings"),
        (b'{"b":[{"d":["a\\r"]}]}', "a literal contains CR or LF"),
        (b'{"b":[{"d":["a\\nb"]}]}', "a literal contains CR or LF"),
    ],
)
def test_decode_recipe_errors(text: bytes, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        decode_recipe(text)


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(None, None, body_null=True),
        Recipe({"subject": [Data((" Hello",))], "list-id": []}, [Copy(1, 3)]),
        Recipe(None, [Copy(1, 9), Data(("old line 10",)), Copy(11, 40)]),
        Recipe({"foo": [Copy(1, 2), Copy(4, 4)]}, None),
    ],
)
def test_encode_then_decode(recipe: Recipe) -> None:
    assert decode_recipe(recipe.encode()) == recipe


def test_encode_is_compact_utf8() -> None:
    r = Recipe({"subject": [Data((" Grüße",))]}, [Copy(1, 3)])
    assert r.encode() == '{"h":{"subject":[{"d":[" Grüße"]}]},"b":[{"c":[1,3]}]}'.encode()


# -- apply: SPEC-NOTES §4.5 worked examples --------------------------------------------------------


def test_spec_example_a_mailing_list() -> None:
    """(a) Subject tagged, List-Id added, 2-line footer on a 3-line body."""
    recipe = decode_recipe(
        b'{"h":{"subject":[{"d":[" Hello   list"]}],"list-id":[]},"b":[{"c":[1,3]}]}'
    )
    current = fields(
        "From: alice@example.com",
        "Subject: [list] Hello list",
        "List-Id: <list.lists.example.org>",
        "To: list@lists.example.org",
    )
    assert recipe.headers is not None and recipe.body is not None
    previous = apply_header_recipe(current, recipe.headers, budget())
    assert raws(previous) == [
        b"From: alice@example.com\r\n",
        b"Subject: Hello   list\r\n",
        b"To: list@lists.example.org\r\n",
    ]
    rebuilt = apply_body_recipe(body("one", "two", "three", "-- ", "footer"), recipe.body, budget())
    assert rebuilt.to_bytes() == b"one\r\ntwo\r\nthree\r\n"


def test_spec_example_b_same_name_field_inserted_in_the_middle() -> None:
    """(b) Foo C, NEW, B, A (bottom-up 4, 3, 2, 1) back to C, B, A."""
    recipe = decode_recipe(b'{"h":{"foo":[{"c":[1,2]},{"c":[4,4]}]}}')
    current = fields("To: x", "Foo: C", "Foo: NEW", "Foo: B", "Foo: A", "Date: d")
    assert recipe.headers is not None
    previous = apply_header_recipe(current, recipe.headers, budget())
    assert raws(previous) == [
        b"To: x\r\n",
        b"Foo: C\r\n",
        b"Foo: B\r\n",
        b"Foo: A\r\n",
        b"Date: d\r\n",
    ]


def test_spec_example_c_line_replaced() -> None:
    """(c) line 10 of 40 replaced."""
    recipe = decode_recipe(b'{"b":[{"c":[1,9]},{"d":["old line 10"]},{"c":[11,40]}]}')
    lines = [f"line {n}" for n in range(1, 41)]
    current = body(*[x if x != "line 10" else "new line 10" for x in lines])
    previous = body(*[x if x != "line 10" else "old line 10" for x in lines])
    assert recipe.body is not None
    assert apply_body_recipe(current, recipe.body, budget()).to_bytes() == previous.to_bytes()


# -- apply: the rest of S06 §5.1 / §5.2 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipe", "current", "previous"),
    [
        # [] removes every field of the name (the hop added them).
        ({"foo": []}, ["Foo: 1", "To: t", "foo: 2"], ["To: t"]),
        # A name with no current field: rebuilt fields go on top (A10), spelled as in the recipe.
        ({"comments": [{"d": [" x", " y"]}]}, ["To: t"], ["comments: y", "comments: x", "To: t"]),
        # Steps emit bottom-up: the first step ends up lowest.
        ({"foo": [{"d": [" new1"]}, {"c": [1, 1]}]}, ["Foo: a"], ["Foo: a", "Foo: new1"]),
        # Rebuilt fields of one name go where the topmost of them was.
        ({"foo": [{"c": [1, 2]}]}, ["Foo: 1", "To: t", "Foo: 2"], ["Foo: 1", "Foo: 2", "To: t"]),
        # Names are matched without regard to case; the current spelling is kept.
        ({"subject": [{"d": [" old"]}]}, ["SUBJECT: new"], ["SUBJECT: old"]),
        # An empty literal gives "name:" and nothing else.
        ({"keywords": [{"d": [""]}]}, ["Keywords: k"], ["Keywords:"]),
        # A9: recipes for unsigned fields are ignored.
        ({"received": []}, ["Received: r", "To: t"], ["Received: r", "To: t"]),
        ({"x-spam": [{"d": [" no"]}]}, ["X-Spam: yes"], ["X-Spam: yes"]),
        # Other names are untouched.
        ({"to": [{"d": [" b"]}]}, ["From: f", "To: a", "Date: d"], ["From: f", "To: b", "Date: d"]),
    ],
)
def test_apply_header_recipe(
    recipe: dict[str, Any], current: list[str], previous: list[str]
) -> None:
    headers = decode_recipe(json.dumps({"h": recipe}).encode()).headers
    assert headers is not None
    result = apply_header_recipe(fields(*current), headers, budget())
    assert raws(result) == [f"{x}\r\n".encode() for x in previous]


def test_apply_header_recipe_copy_beyond_the_fields() -> None:
    headers = decode_recipe(b'{"h":{"foo":[{"c":[1,3]}]}}').headers
    assert headers is not None
    with pytest.raises(RecipeError, match=r'"h"."foo": copy range \[1, 3\] is beyond the 2'):
        apply_header_recipe(fields("Foo: 1", "Foo: 2"), headers, budget())


def test_apply_header_recipe_keeps_folded_fields_byte_for_byte() -> None:
    current = parse_message(b"Foo: a\r\n  folded\r\nFoo: b\r\nTo: t\r\n\r\n").fields
    headers = decode_recipe(b'{"foo":null,"h":{"foo":[{"c":[2,2]}]}}').headers
    assert headers is not None
    assert raws(apply_header_recipe(current, headers, budget())) == [
        b"Foo: a\r\n  folded\r\n",
        b"To: t\r\n",
    ]


@pytest.mark.parametrize(
    ("steps", "current", "previous"),
    [
        ([], b"a\r\nb\r\n", b""),
        ([{"c": [1, 2]}], b"a\r\nb\r\nc\r\n", b"a\r\nb\r\n"),
        ([{"c": [2, 3]}], b"x\r\na\r\nb\r\n", b"a\r\nb\r\n"),
        ([{"c": [1, 1]}, {"d": ["gone"]}, {"c": [2, 2]}], b"a\r\nc\r\n", b"a\r\ngone\r\nc\r\n"),
        ([{"d": ["", ""]}], b"", b"\r\n\r\n"),
        ([{"d": ["Grüße"]}], b"x\r\n", "Grüße\r\n".encode()),
        # A11: a trailing partial line is a line; copied, it gets its CRLF.
        ([{"c": [1, 2]}], b"a\r\npartial", b"a\r\npartial\r\n"),
        ([{"c": [2, 2]}], b"a\r\npartial", b"partial\r\n"),
        # Bare CR and LF are ordinary octets inside a line.
        ([{"c": [1, 1]}], b"a\rb\nc\r\nd\r\n", b"a\rb\nc\r\n"),
        # Empty lines are lines.
        ([{"c": [2, 4]}], b"top\r\n\r\n\r\nend\r\n", b"\r\n\r\nend\r\n"),
    ],
)
def test_apply_body_recipe(steps: list[object], current: bytes, previous: bytes) -> None:
    recipe = decode_recipe(json.dumps({"b": steps}).encode())
    assert recipe.body is not None
    assert apply_body_recipe(Body.of(current), recipe.body, budget()).to_bytes() == previous


@pytest.mark.parametrize(
    ("steps", "current", "message"),
    [
        ([{"c": [1, 3]}], b"a\r\nb\r\n", r'"b": copy range \[1, 3\] is beyond the 2 line\(s\)'),
        ([{"c": [1, 1]}], b"", "beyond the 0 line"),
        ([{"c": [3, 3]}], b"a\r\npartial", "beyond the 2 line"),
    ],
)
def test_apply_body_recipe_errors(steps: list[object], current: bytes, message: str) -> None:
    recipe = decode_recipe(json.dumps({"b": steps}).encode())
    assert recipe.body is not None
    with pytest.raises(RecipeError, match=message):
        apply_body_recipe(Body.of(current), recipe.body, budget())


def test_apply_body_recipe_on_a_view_of_a_larger_buffer() -> None:
    buf = b"HEADER\r\n\r\nl1\r\nl2\r\nl3"
    view = Body(buf, 10, len(buf))
    assert apply_body_recipe(view, [Copy(2, 3)], budget()).to_bytes() == b"l2\r\nl3\r\n"


def test_output_budget_stops_header_amplification() -> None:
    headers = decode_recipe(json.dumps({"h": {"n" * 1000: [{"d": [""] * 1000}]}}).encode()).headers
    assert headers is not None
    with pytest.raises(RecipeTooLarge, match="more than 10000 octets"):
        apply_header_recipe(fields("To: t"), headers, OutputBudget(10_000))
    assert len(apply_header_recipe(fields("To: t"), headers, OutputBudget(1003 * 1000))) == 1001


def test_output_budget_counts_body_copies() -> None:
    current = Body.of(b"x" * 98 + b"\r\n")
    apply_body_recipe(current, [Copy(1, 1)], OutputBudget(100))
    with pytest.raises(RecipeTooLarge):
        apply_body_recipe(current, [Copy(1, 1)], OutputBudget(99))


def test_many_copy_steps_apply_quickly() -> None:
    """30k single-line copies (about what fits in one header block) over a 60k-line body."""
    n = 30_000
    current = Body.of(b"".join(b"%d\r\n" % k for k in range(1, 2 * n + 1)))
    steps = decode_recipe(
        json.dumps({"b": [{"c": [k, k]} for k in range(2, 2 * n + 1, 2)]}).encode()
    ).body
    assert steps is not None and len(steps) == n
    started = time.perf_counter()
    previous = apply_body_recipe(current, steps, budget())
    assert time.perf_counter() - started < 5
    assert previous.to_bytes() == b"".join(b"%d\r\n" % k for k in range(2, 2 * n + 1, 2))


# -- compute_recipe (signer) -----------------------------------------------------------------------

PREV_FIELDS = ("From: a@example.com", "Subject: Hello", "To: b@example.net")
PREV_BODY = ("one", "two", "three")


@pytest.mark.parametrize(
    ("cur_fields", "cur_body", "expected"),
    [
        (PREV_FIELDS, PREV_BODY, None),
        (
            ("From: a@example.com", "Subject: [l] Hello", "To: b@example.net"),
            PREV_BODY,
            {"h": {"subject": [{"d": [" Hello"]}]}},
        ),
        ((*PREV_FIELDS, "List-Id: <l>"), PREV_BODY, {"h": {"list-id": []}}),
        (PREV_FIELDS[1:], PREV_BODY, {"h": {"from": [{"d": [" a@example.com"]}]}}),
        (PREV_FIELDS, (*PREV_BODY, "-- ", "footer"), {"b": [{"c": [1, 3]}]}),
        (PREV_FIELDS, ("[EXT]", *PREV_BODY), {"b": [{"c": [2, 4]}]}),
        (PREV_FIELDS, ("one", "three"), {"b": [{"c": [1, 1]}, {"d": ["two"]}, {"c": [2, 2]}]}),
        (PREV_FIELDS, ("one", "2", "three"), {"b": [{"c": [1, 1]}, {"d": ["two"]}, {"c": [3, 3]}]}),
        (PREV_FIELDS, (), {"b": [{"d": ["one", "two", "three"]}]}),
        # Only empty lines at the end differ: the body hash is the same (S06 §6.1).
        (PREV_FIELDS, (*PREV_BODY, "", ""), None),
        # Unsigned fields (S06 §4) are never recorded.
        (("Received: by mx", *PREV_FIELDS, "X-Spam: no"), PREV_BODY, None),
        # Moving fields of different names is no change (the header hash sorts by name).
        (
            ("Subject: Hello", "From: a@example.com", "To: b@example.net"),
            PREV_BODY,
            None,
        ),
    ],
)
def test_compute_recipe(
    cur_fields: tuple[str, ...], cur_body: tuple[str, ...], expected: object
) -> None:
    recipe = compute_recipe(
        fields(*PREV_FIELDS), body(*PREV_BODY), fields(*cur_fields), body(*cur_body)
    )
    assert (recipe.to_json() if recipe else None) == expected


def test_compute_recipe_spec_example_b() -> None:
    prev = fields("Foo: C", "Foo: B", "Foo: A")
    cur = fields("Foo: C", "Foo: NEW", "Foo: B", "Foo: A")
    recipe = compute_recipe(prev, body(), cur, body())
    assert recipe is not None
    assert recipe.to_json() == {"h": {"foo": [{"c": [1, 2]}, {"c": [4, 4]}]}}


def test_compute_recipe_spec_example_c() -> None:
    prev = [f"line {n}" for n in range(1, 41)]
    prev[9] = "old line 10"
    cur = list(prev)
    cur[9] = "new line 10"
    recipe = compute_recipe(fields("To: t"), body(*prev), fields("To: t"), body(*cur))
    assert recipe is not None
    assert recipe.to_json() == {"b": [{"c": [1, 9]}, {"d": ["old line 10"]}, {"c": [11, 40]}]}


def test_compute_recipe_body_unrecoverable() -> None:
    prev_f, cur_f = fields(*PREV_FIELDS), fields("From: x@example.com", *PREV_FIELDS[1:])
    recipe = compute_recipe(prev_f, body("a"), cur_f, body("b"), body_unrecoverable=True)
    assert recipe is not None
    assert recipe.to_json() == {"h": {"from": [{"d": [" a@example.com"]}]}, "b": None}


def _random_edit(rng: random.Random, lines: list[str]) -> list[str]:
    out = list(lines)
    for _ in range(rng.randrange(1, 8)):
        op = rng.choice(["insert", "delete", "replace", "duplicate"])
        pos = rng.randrange(len(out) + 1)
        if op == "insert" or not out:
            out.insert(pos, rng.choice(["new", "", "x", "line 1", "ü"]))
        elif op == "delete":
            del out[min(pos, len(out) - 1)]
        elif op == "replace":
            out[min(pos, len(out) - 1)] = f"changed {rng.random():.3f}"
        else:
            out.insert(pos, out[min(pos, len(out) - 1)])
    return out


@pytest.mark.parametrize("seed", range(40))
def test_compute_then_apply_gives_back_the_previous_instance(seed: int) -> None:
    rng = random.Random(seed)
    prev_lines = [rng.choice(["line 1", "line 2", "", "x", "footer", "é"]) for _ in range(30)]
    cur_lines = _random_edit(rng, prev_lines)
    prev_hdr = [f"Foo: {rng.choice('abc')}" for _ in range(5)] + ["To: t"]
    cur_hdr = [f"Foo: {x[5:]}" for x in _random_edit(rng, [h for h in prev_hdr if h[:4] == "Foo:"])]
    prev_f, cur_f = fields(*prev_hdr), fields(*cur_hdr, "To: t")
    prev_b, cur_b = body(*prev_lines), body(*cur_lines)
    recipe = compute_recipe(prev_f, prev_b, cur_f, cur_b)
    if recipe is None:
        assert prev_b.hash("sha256") == cur_b.hash("sha256")
        return
    again = decode_recipe(recipe.encode())  # what a verifier reads back
    if again.headers:
        rebuilt = apply_header_recipe(cur_f, again.headers, budget())
        assert sorted(raws(rebuilt)) == sorted(raws(prev_f))
        assert [f.raw for f in rebuilt if f.lname == "foo"] == [
            f.raw for f in prev_f if f.lname == "foo"
        ]
    if again.body is not None:
        rebuilt_body = apply_body_recipe(cur_b, again.body, budget())
        assert rebuilt_body.hash("sha256") == prev_b.hash("sha256")
