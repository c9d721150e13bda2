"""Message-Instance and recipes: every invalid-JSON shape, and the -06 and -07 grammars
(S06 §5; SPEC-NOTES §11 A7-A13, A35; SPEC-09-NOTES 1.9; analysis.dkim2.recipes).

The base chain: example.com -> the list, which appends a footer and records the recipe
``{"b":[{"c":[1,3]}]}`` -> the intake address.  Each case replaces the list's recipe (r= of
Message-Instance m=2) and re-signs, so the recipe alone decides: a recipe that is not of the
schema is "contains invalid JSON" (PERMERROR, A12); one of the schema that rebuilds the
wrong instance is a hash mismatch of m=1 (FAIL).  Cases judged by -06 rules use the -06
grammar (steps c and d); the others the -07 grammar of -09 (also u, and strict JSON).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.support import chains
from tests.support.chains import MI, b64, edit_recipe, resign, set_tag

from .model import Case, E, Expect
from .world import (
    API,
    INTAKE,
    UPLOAD,
    WEB,
    Builder,
    author,
    chain,
    field_append,
    mailing_list,
    two_hops,
)

INVALID_2 = E(
    "permerror", "mi.invalid-json", "PERMERROR Message-Instance m=2 contains invalid JSON", v="fail"
)
HEADER_MISMATCH_1 = E(
    "fail",
    "hash.header-mismatch",
    "FAIL: Message Instance m=1 header hash sha256 mismatch",
    v="fail",
)
BODY_MISMATCH_1 = E(
    "fail", "hash.body-mismatch", "FAIL: Message Instance m=1 body hash sha256 mismatch", v="fail"
)
PASS = E("pass", v="pass")
NULL_BODY = E(
    "permerror",
    "recipe.null-body",
    "PERMERROR Message-Instance m=2 has a null body recipe",
    v="fail",
)

#: (name, title, the decoded r= (a JSON value, or text/bytes used as is), outcome by
#: revision: "auto" (-09, the -07 grammar) and, where given, "06").
Row = tuple[str, str, Any, dict[str, Expect]]

SHAPES: list[Row] = [
    ("not-json", "text that is not JSON", b"not json", {"auto": INVALID_2, "06": INVALID_2}),
    ("truncated", "JSON cut short", b'{"b":[{"c":[1,3]}]', {"auto": INVALID_2}),
    (
        "utf8-bom",
        "JSON text after a UTF-8 byte order mark",
        b'\xef\xbb\xbf{"b":[{"c":[1,3]}]}',
        {"auto": INVALID_2},
    ),
    (
        "not-utf8",
        "JSON text with a Latin-1 octet",
        b'{"b":[{"d":["caf\xe9"]}]}',
        {"auto": INVALID_2},
    ),
    ("top-level-array", "an array, not an object", [{"c": [1, 3]}], {"auto": INVALID_2}),
    ("top-level-string", "a string, not an object", '"b"', {"auto": INVALID_2}),
    ("top-level-number", "a number, not an object", b"42", {"auto": INVALID_2}),
    ("top-level-null", "null, not an object", b"null", {"auto": INVALID_2, "06": INVALID_2}),
    ("top-level-true", "true, not an object", b"true", {"auto": INVALID_2}),
    ("empty-object", "{} (neither h nor b)", {}, {"auto": INVALID_2, "06": INVALID_2}),
    ("unknown-members-only", "only unknown members", {"x": 1, "y": [2]}, {"auto": INVALID_2}),
    ("h-not-object", '"h" is an array', {"h": []}, {"auto": INVALID_2}),
    ("h-empty", '"h" names no field', {"h": {}, "b": [{"c": [1, 3]}]}, {"auto": INVALID_2}),
    (
        "h-name-with-space",
        "a field name with a space",
        {"h": {"sub ject": [{"c": [1, 1]}]}, "b": [{"c": [1, 3]}]},
        {"auto": INVALID_2},
    ),
    (
        "h-name-with-colon",
        "a field name with a colon",
        {"h": {"subject:": [{"c": [1, 1]}]}, "b": [{"c": [1, 3]}]},
        {"auto": INVALID_2},
    ),
    (
        "h-name-empty",
        "an empty field name",
        {"h": {"": [{"c": [1, 1]}]}, "b": [{"c": [1, 3]}]},
        {"auto": INVALID_2},
    ),
    (
        "h-name-non-ascii",
        "a field name with a non-ASCII letter",
        {"h": {"sübject": [{"c": [1, 1]}]}, "b": [{"c": [1, 3]}]},
        {"auto": INVALID_2},
    ),
    (
        "h-copy-beyond-fields",
        "a copy of Subject fields that are not there",
        {"h": {"subject": [{"c": [1, 5]}]}, "b": [{"c": [1, 3]}]},
        {"auto": INVALID_2},
    ),
    ("steps-not-array", '"b" is an object', {"b": {"c": [1, 3]}}, {"auto": INVALID_2}),
    ("step-not-object", "a step that is an array", {"b": [[1, 3]]}, {"auto": INVALID_2}),
    ("step-empty-object", "a step with no key", {"b": [{}]}, {"auto": INVALID_2}),
    (
        "step-two-keys",
        'a step with both "c" and "d"',
        {"b": [{"c": [1, 3], "d": ["x"]}]},
        {"auto": INVALID_2, "06": INVALID_2},
    ),
    ("step-unknown-key", "a step with an unknown key", {"b": [{"x": [1, 3]}]}, {"auto": INVALID_2}),
    ("c-not-array", '"c" is a number', {"b": [{"c": 1}]}, {"auto": INVALID_2}),
    ("c-one-number", '"c" with one number', {"b": [{"c": [1]}]}, {"auto": INVALID_2}),
    ("c-three-numbers", '"c" with three numbers', {"b": [{"c": [1, 2, 3]}]}, {"auto": INVALID_2}),
    ("c-float", '"c" with a float', {"b": [{"c": [1.0, 3]}]}, {"auto": INVALID_2}),
    ("c-boolean", '"c" with a boolean', {"b": [{"c": [True, 3]}]}, {"auto": INVALID_2}),
    ("c-strings", '"c" with strings', {"b": [{"c": ["1", "3"]}]}, {"auto": INVALID_2}),
    ("c-zero", "a copy range starting at 0", {"b": [{"c": [0, 3]}]}, {"auto": INVALID_2}),
    ("c-negative", "a negative copy range", {"b": [{"c": [-3, -1]}]}, {"auto": INVALID_2}),
    ("c-descending", "a descending copy range", {"b": [{"c": [3, 1]}]}, {"auto": INVALID_2}),
    (
        "c-overlapping",
        "overlapping copy ranges",
        {"b": [{"c": [1, 2]}, {"c": [2, 3]}]},
        {"auto": INVALID_2, "06": INVALID_2},
    ),
    (
        "c-beyond-body",
        "a copy range past the last body line",
        {"b": [{"c": [1, 99]}]},
        {"auto": INVALID_2},
    ),
    (
        "c-huge-number",
        "a copy range ending at 10**30",
        {"b": [{"c": [1, 10**30]}]},
        {"auto": INVALID_2},
    ),
    (
        "c-5000-digits",
        "a number of 5000 digits (past Python's int conversion limit)",
        b'{"b":[{"c":[1,' + b"9" * 5000 + b"]}]}",
        {"auto": INVALID_2},
    ),
    ("d-not-array", '"d" is a string', {"b": [{"c": [1, 3]}, {"d": "x"}]}, {"auto": INVALID_2}),
    ("d-empty", '"d" is an empty array', {"b": [{"c": [1, 3]}, {"d": []}]}, {"auto": INVALID_2}),
    ("d-number", '"d" holds a number', {"b": [{"c": [1, 3]}, {"d": [1]}]}, {"auto": INVALID_2}),
    (
        "d-with-cr",
        "a literal with CR",
        {"b": [{"c": [1, 3]}, {"d": ["a\rb"]}]},
        {"auto": INVALID_2, "06": INVALID_2},
    ),
    (
        "d-with-lf",
        "a literal with LF",
        {"b": [{"c": [1, 3]}, {"d": ["a\nb"]}]},
        {"auto": INVALID_2},
    ),
    (
        "d-lone-surrogate",
        "a literal with a lone surrogate (no UTF-8 form)",
        b'{"b":[{"c":[1,3]},{"d":["\\ud800"]}]}',
        {"auto": INVALID_2, "06": INVALID_2},
    ),
    (
        "keys-differ-in-case",
        '"b" and "B" in one object',
        b'{"b":[{"c":[1,3]}],"B":[{"c":[1,3]}]}',
        {"auto": INVALID_2, "06": INVALID_2},
    ),
    (
        "step-key-upper-case",
        'a step key "C" (keys match case-insensitively)',
        {"b": [{"C": [1, 3]}]},
        {"auto": PASS, "06": PASS},
    ),
    (
        "duplicate-key",
        '"b" twice (-07: invalid; -06: the last one counts)',
        b'{"b":[{"c":[1,1]}],"b":[{"c":[1,3]}]}',
        {"auto": INVALID_2, "06": PASS},
    ),
    (
        "duplicate-key-in-ignored-member",
        "a key twice inside an ignored member",
        b'{"x":{"k":1,"k":2},"b":[{"c":[1,3]}]}',
        {"auto": INVALID_2, "06": PASS},
    ),
    (
        "nan",
        "NaN in an ignored member (-07: not JSON)",
        b'{"x":NaN,"b":[{"c":[1,3]}]}',
        {"auto": INVALID_2, "06": PASS},
    ),
    (
        "infinity",
        "-Infinity in an ignored member",
        b'{"x":-Infinity,"b":[{"c":[1,3]}]}',
        {"auto": INVALID_2, "06": PASS},
    ),
    (
        "deep-nesting",
        "arrays nested 10,000 deep",
        b'{"x":' + b"[" * 10_000 + b"]" * 10_000 + b',"b":[{"c":[1,3]}]}',
        {"auto": INVALID_2},
    ),
    (
        "whitespace-everywhere",
        "valid JSON with blanks and line breaks between tokens",
        b' {\n "b" : [ { "c" : [ 1 , 3 ] } ]\r\n } ',
        {"auto": PASS, "06": PASS},
    ),
    (
        "unknown-member-beside-b",
        "an unknown member beside b (ignored)",
        {"future": {"x": 1}, "b": [{"c": [1, 3]}]},
        {"auto": PASS},
    ),
    (
        "b-empty-steps",
        "an empty step list for b: the earlier body was empty",
        {"b": []},
        {"auto": BODY_MISMATCH_1},
    ),
    (
        "b-wrong-literal",
        "a recipe of the schema that rebuilds another body",
        {"b": [{"d": ["Line ONE."]}, {"c": [2, 3]}]},
        {"auto": BODY_MISMATCH_1},
    ),
    (
        "h-unsigned-field-only",
        "a recipe for Received only (unsigned fields are ignored)",
        {"h": {"received": [{"d": [" from x"]}]}},
        {"auto": BODY_MISMATCH_1},
    ),
    (
        "u-step",
        'a valid "u" step (judged by -06 rules: only c and d exist)',
        {"b": [{"c": [1, 3]}, {"u": [b64(b"x")]}]},
        {"06": INVALID_2},
    ),
    (
        "u-not-canonical",
        '"u" with non-zero pad bits',
        {"b": [{"c": [1, 3]}, {"u": ["eB=="]}]},
        {"auto": INVALID_2},
    ),
    (
        "u-bad-padding",
        '"u" without padding',
        {"b": [{"c": [1, 3]}, {"u": ["eA"]}]},
        {"auto": INVALID_2},
    ),
    (
        "u-whitespace",
        '"u" with a blank inside',
        {"b": [{"c": [1, 3]}, {"u": ["eA =="]}]},
        {"auto": INVALID_2},
    ),
    (
        "u-with-crlf",
        '"u" whose octets hold CR LF',
        {"b": [{"c": [1, 3]}, {"u": [b64(b"a\r\nb")]}]},
        {"auto": INVALID_2},
    ),
    ("u-empty", '"u" with no strings', {"b": [{"c": [1, 3]}, {"u": []}]}, {"auto": INVALID_2}),
    ("u-number", '"u" holding a number', {"b": [{"c": [1, 3]}, {"u": [7]}]}, {"auto": INVALID_2}),
]

#: What the deciding finding says of each invalid recipe (its detail contains this).
WHY: dict[str, str] = {
    "not-json": "not JSON: Expecting value",
    "truncated": "not JSON: Expecting ',' delimiter",
    "utf8-bom": "Unexpected UTF-8 BOM",
    "not-utf8": "the JSON text is not UTF-8",
    "top-level-array": "must be a JSON object, not an array",
    "top-level-string": "must be a JSON object, not a string",
    "top-level-number": "must be a JSON object, not a number",
    "top-level-null": "must be a JSON object, not null",
    "top-level-true": "must be a JSON object, not a boolean",
    "empty-object": 'neither "h" nor "b"',
    "unknown-members-only": 'neither "h" nor "b"',
    "h-not-object": '"h" must be an object of field names',
    "h-empty": '"h" must name at least one field',
    "h-name-with-space": "key 'sub ject' is not a header field name",
    "h-name-with-colon": "key 'subject:' is not a header field name",
    "h-name-empty": "key '' is not a header field name",
    "h-name-non-ascii": "is not a header field name",
    "h-copy-beyond-fields": "is beyond the 1 subject field(s) present",
    "steps-not-array": '"b" must be an array of steps',
    "step-not-object": "must be an object with exactly one of",
    "step-empty-object": "must be an object with exactly one of",
    "step-two-keys": "must be an object with exactly one of",
    "step-unknown-key": "unknown step 'x'",
    "c-not-array": '"c" must be [start, end] with two integers',
    "c-one-number": '"c" must be [start, end] with two integers',
    "c-three-numbers": '"c" must be [start, end] with two integers',
    "c-float": '"c" must be [start, end] with two integers',
    "c-boolean": '"c" must be [start, end] with two integers',
    "c-strings": '"c" must be [start, end] with two integers',
    "c-zero": "must start at 1 or more",
    "c-negative": "must start at 1 or more",
    "c-descending": "is descending",
    "c-overlapping": "overlaps or precedes an earlier range",
    "c-beyond-body": "is beyond the 5 line(s) of the body",
    "c-huge-number": "is beyond the 5 line(s) of the body",
    "c-5000-digits": "has more than 4300 digits",
    "d-not-array": '"d" must be a non-empty array of strings',
    "d-empty": '"d" must be a non-empty array of strings',
    "d-number": '"d" must be a non-empty array of strings',
    "d-with-cr": "a literal contains CR or LF",
    "d-with-lf": "a literal contains CR or LF",
    "d-lone-surrogate": "a lone surrogate (U+D800)",
    "keys-differ-in-case": "differ only in case",
    "duplicate-key": "has the key 'b' twice",
    "duplicate-key-in-ignored-member": "has the key 'k' twice",
    "nan": "NaN is not a JSON value",
    "infinity": "-Infinity is not a JSON value",
    "deep-nesting": "nested too deeply",
    "u-step": 'unknown step \'u\' (only "c" and "d" exist in -06)',
    "u-not-canonical": "the unused bits of its last character are not zero",
    "u-bad-padding": "the padding is wrong",
    "u-whitespace": "' ' is not in the standard alphabet",
    "u-with-crlf": "decodes to octets with CR or LF",
    "u-empty": '"u" must be a non-empty array of strings',
    "u-number": '"u" must be a non-empty array of strings',
}


def build() -> list[Case]:
    b = Builder("recipes")
    c = two_hops()
    # Which rows go through which web path (the engine and the CLI take every row).
    web = {"not-json": WEB, "c-overlapping": UPLOAD, "duplicate-key": API, "nan": INTAKE}
    for name, title, recipe, outcomes in SHAPES:
        data = recipe.encode() if isinstance(recipe, str) else recipe
        raw = resign(edit_recipe(c.message, 2, data), from_hop=2)
        for revision, expect in outcomes.items():
            if expect is INVALID_2:
                expect = expect.because(WHY[name])
            suffix = "" if revision == "auto" else f"-rev{revision}"
            b.add(
                f"{name}{suffix}",
                f"r= {title}" + (f" (judged by -{revision} rules)" if suffix else ""),
                raw,
                expect,
                of=c,
                revision=revision,
                paths=web.get(name, ()) if not suffix else (),
            )

    # -- the Message-Instance field and r= itself ---------------------------------------------
    b.add(
        "r-empty",
        "r= with no value",
        resign(set_tag(c.message, MI, 2, "r", ""), from_hop=2),
        E("permerror", "mi.syntax", "PERMERROR Message-Instance m=2 syntax error", v="fail"),
        of=c,
    )
    b.add(
        "r-on-first-instance",
        "r= on Message-Instance m=1 (there is no earlier instance), re-signed",
        resign(set_tag(c.message, MI, 1, "r", b64(b'{"b":[{"c":[1,3]}]}'))),
        PASS,
        of=c,
    )
    b.add(
        "r-missing-on-changed-instance",
        "the list changed the body but m=2 carries no r=, re-signed",
        resign(set_tag(c.message, MI, 2, "r", None), from_hop=2),
        BODY_MISMATCH_1,
        of=c,
        paths=UPLOAD,
    )
    b.add(
        "mi-duplicate-number",
        "two Message-Instance fields m=2",
        chains.prepend_fields(c.message, chains.get_field(c.message, MI, 2)),
        E("permerror", "mi.duplicate", "PERMERROR Message-Instance m=2 syntax error", v="fail"),
        of=c,
    )
    b.add(
        "mi-unsigned-newest",
        "a Message-Instance m=3 no signature covers, added on top",
        chains.prepend_fields(
            c.message, chains.instance_field(3, c.message, {"b": [{"c": [1, 3]}]})
        ),
        E("permerror", "mi.not-signed", "PERMERROR Message-Instance m=3 is not signed", v="fail"),
        of=c,
        paths=API,
    )
    b.add(
        "mi-first-missing",
        "Message-Instance m=1 removed",
        chains.replace_field(c.message, MI, 1, None),
        E("permerror", "mi.missing", "PERMERROR Message-Instance m=1 missing", v="fail"),
        of=c,
    )
    b.add(
        "mi-r-huge-number-of-steps-in-h",
        "a recipe of 2,000 copy steps for one field name that has 1 field",
        resign(
            edit_recipe(
                c.message,
                2,
                {"h": {"subject": [{"c": [k, k]} for k in range(1, 2001)]}, "b": [{"c": [1, 3]}]},
            ),
            from_hop=2,
        ),
        INVALID_2,
        of=c,
    )

    # -- recipes signers made: h steps, null body, and u steps (-07 on) -------------------------
    start = chains.message()
    headers = chain(
        start,
        [
            author("<list@lists.example.org>"),
            mailing_list(
                modify=chains.compose(
                    chains.set_header("Subject", "[list] Hello"),
                    chains.remove_header("Date"),
                    chains.add_header("List-Id", "<list.lists.example.org>", at=-1),
                )
            ),
        ],
    )
    b.add(
        "signer-header-recipe",
        "the list tagged Subject, removed Date and added List-Id; its recipe undoes it",
        headers.message,
        PASS,
        of=headers,
        paths=WEB,
    )
    null_body = chain(
        start,
        [
            author("<list@lists.example.org>"),
            mailing_list(
                modify=chains.append_body("footer"), body_unrecoverable=True, revision="08"
            ),
        ],
    )
    for revision in ("auto", "06"):
        b.add(
            "signer-null-body" + ("" if revision == "auto" else "-rev06"),
            '"b": null, the earlier body unknown'
            + ("" if revision == "auto" else " (judged by -06 rules)"),
            null_body.message,
            NULL_BODY if revision == "auto" else PASS,
            of=null_body,
            revision=revision,
        )
    latin1 = chains.message(body=b"caf\xe9\r\nna\xefve\r\n")
    octets = chain(
        latin1,
        [
            author("<list@lists.example.org>"),
            mailing_list(modify=chains.replace_body_line(1, "cafe")),
        ],
    )
    recipe = chains.recipe_of(octets.message, 2)
    for revision in ("auto", "06"):
        b.add(
            "signer-u-step" + ("" if revision == "auto" else "-rev06"),
            "the list replaced a Latin-1 line; its -09 recipe has a u step "
            f"({json.dumps(recipe)[:60]})" + ("" if revision == "auto" else ", judged by -06"),
            octets.message,
            PASS if revision == "auto" else INVALID_2,
            of=octets,
            revision=revision,
            paths=INTAKE if revision == "auto" else (),
        )
    # The same change signed by a -06 list: a d literal cannot hold the octet, so the signer
    # falls back to a null body recipe (A35; analysis.dkim2.sign asks for it explicitly).
    old_list = chain(
        latin1,
        [
            author("<list@lists.example.org>", revision="06"),
            mailing_list(
                modify=chains.replace_body_line(1, "cafe"),
                revision="06",
                body_unrecoverable=True,
            ),
        ],
    )
    b.add(
        "signer-06-latin1-line",
        "a -06 list replaced a Latin-1 line (no u step in -06)",
        old_list.message,
        NULL_BODY,
        of=old_list,
    )
    literal = _u_recipe_with(b"\x00\x7f\xff")
    b.add(
        "u-control-octets",
        '"u" octets NUL, DEL and 0xFF as the earlier last line (valid; m=1 then mismatches)',
        resign(edit_recipe(c.message, 2, literal), from_hop=2),
        BODY_MISMATCH_1,
        of=c,
    )
    b.add(
        "r-folded",
        "r= folded across lines (FWS inside base64 is ignored)",
        _fold_r(c.message),
        PASS,
        of=c,
    )
    b.add(
        "r-appended-after-signing",
        "a second r= appended to m=2 after signing",
        field_append(c.message, MI, 2, b" r=" + b64(b'{"b":[]}').encode() + b";"),
        E("permerror", "mi.syntax", "PERMERROR Message-Instance m=2 syntax error", v="fail"),
        of=c,
    )
    return b.cases


def _u_recipe_with(octets: bytes) -> dict[str, Any]:
    return {"b": [{"c": [1, 3]}, {"u": [base64.b64encode(octets).decode()]}]}


def _fold_r(msg: bytes) -> bytes:
    raw = chains.get_field(msg, MI, 2)
    value = chains.get_tag(msg, MI, 2, "r")
    folded = (value[:8] + "\r\n " + value[8:]).encode()
    return chains.replace_field(msg, MI, 2, raw.replace(value.encode(), folded, 1))
