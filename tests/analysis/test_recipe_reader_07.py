"""The -07 recipe reader is made once, not per recipe (issue #13), and reads every text as
``json.loads`` with its hooks did: the same recipes, the same words for what is wrong."""

from __future__ import annotations

import json

import pytest

from analysis.dkim2.recipes import RecipeError, decode_recipe


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            b'\xef\xbb\xbf{"b":[]}',
            "not JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1 column 1",
        ),
        (b'{"b":NaN}', "not JSON: NaN is not a JSON value"),
        (b'{"h":{"x":[]},"h":{}}', "an object in the JSON text has the key 'h' twice"),
        (b"[1", "not JSON: Expecting ',' delimiter at line 1 column 3"),
        (b"", "not JSON: Expecting value at line 1 column 1"),
    ],
)
def test_what_the_07_reader_refuses_is_said_as_before(text: bytes, words: str) -> None:
    with pytest.raises(RecipeError) as caught:
        decode_recipe(text, grammar="07")
    assert str(caught.value) == words


def test_the_07_reader_reads_what_json_loads_reads() -> None:
    text = b'{"h":{"subject":[{"c":[1,1]},{"d":["x"]}]},"b":[{"c":[1,3]},{"d":["foo",""]}]}'
    recipe = decode_recipe(text, grammar="07")
    assert recipe == decode_recipe(text, grammar="06")
    assert json.loads(recipe.encode()) == json.loads(text)
