"""The ``authres`` package reads Authentication-Results values the same through our cheaper
header class (analysis.authres._fast_header_class) as through its own.

The package consumes a value pattern by pattern, compiling each pattern and copying the rest of
the text at every step; ours compiles each pattern once, matches instead of substituting and
skips CFWS where none can start.  Each property compares the two readings of the same value:
the same authserv-id, version, results and properties, or the same exception with the same
message (our refusal sentence quotes it).  Derandomised, like the other property tests.
"""

from __future__ import annotations

from typing import Any

import authres  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import authres as ours

PROPERTY = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

REAL = [
    "mx.google.com; dkim=pass header.i=@example.com header.s=s1 header.b=abc; "
    "spf=pass (google.com: domain of a@example.com designates 192.0.2.1 as permitted "
    "sender) smtp.mailfrom=a@example.com; dmarc=pass (p=NONE sp=NONE dis=NONE) "
    "header.from=example.com",
    "mx.d3.example; arc=pass; spf=pass smtp.mailfrom=d2.example; dkim=pass header.d=d0.example",
    'example.org 1; auth=pass (cram-md5) smtp.auth="user"@example.org; none',
    "example.com; none",
    'example.com (a comment (nested \\) here)) 1 (v); dkim/1 = pass reason="ok" '
    "policy.x=@d.example",
    "example.com; dkim=fail reason=bad header.d=x; x-custom=y ptype.p=v",
    'example.com; spf=pass smtp.mailfrom="a b"@d.example; iprev=pass policy.iprev=192.0.2.1',
    'example.com; dkim=pass header.b="abc" ; ',
    "example.com; dkim=pass header.d=",
    "example.com;dkim=pass\r\n header.d=a.example",
    "example.com; dkim=pass (unclosed",
    "; dkim=pass",
    "example.com; foo.bar=baz; dkim = pass",
    "example.com 2; dkim=pass",
    "example.com; dmarc=pass header.from=d.example (p=reject) policy.dmarc=reject",
]

ALPHABET = st.sampled_from(
    [
        *' \t\r\n;=.()/"\\@-_!#x',
        *["a", "A", "1", "dkim", "spf", "pass", "none", "reason", "header", "smtp", "policy"],
        *["body", "mx.example", "d=", "header.d", "smtp.mailfrom", " (c) ", '"q s"', "\\(", "é"],
    ]
)


def reading(features: Any, value: str) -> tuple[str, Any]:
    try:
        header = features.parse_value(value)
    except Exception as exc:  # the package's SyntaxError & co
        return "raised", (type(exc).__name__, str(exc))
    results = [
        (
            str(getattr(r, "method", None)),
            str(getattr(r, "version", None)),
            str(getattr(r, "result", None)),
            str(getattr(r, "reason", None)),
            [(p.type, p.name, p.value) for p in getattr(r, "properties", [])],
            type(r).__name__,
        )
        for r in header.results
    ]
    try:
        text = str(header)
    except Exception as exc:  # the package cannot write some of what it reads
        text = repr(exc)
    return "read", (header.authserv_id, header.version, results, text)


@pytest.fixture(scope="module")
def both() -> tuple[Any, Any]:
    plain = authres.all_features()
    fast = authres.all_features()
    fast.header_class = ours._fast_header_class(fast.header_class)
    return plain, fast


@pytest.mark.parametrize("value", REAL)
def test_real_values_read_the_same(both: tuple[Any, Any], value: str) -> None:
    plain, fast = both
    assert reading(fast, value) == reading(plain, value)


@PROPERTY
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_random_values_read_the_same(value: str) -> None:
    plain = authres.all_features()
    fast = authres.all_features()
    fast.header_class = ours._fast_header_class(fast.header_class)
    assert reading(fast, value) == reading(plain, value)


@PROPERTY
@given(st.sampled_from(REAL), st.integers(0, 200), st.sampled_from(list(' ;=()"\\.x\r\n\t')))
def test_edited_real_values_read_the_same(base: str, at: int, char: str) -> None:
    value = base[:at] + char + base[at:]
    plain = authres.all_features()
    fast = authres.all_features()
    fast.header_class = ours._fast_header_class(fast.header_class)
    assert reading(fast, value) == reading(plain, value)


def test_a_pattern_with_a_top_level_alternative_is_left_to_the_package() -> None:
    assert ours._anchored_throughout(r"(?:[\t ]*(?:\r\n|\n))?[\t ]+")
    assert ours._anchored_throughout(r"[A-Za-z{|}]+")
    assert ours._anchored_throughout(r"\|x")
    assert not ours._anchored_throughout(r"a|b")
    assert not ours._anchored_throughout(r"[a]|\(")
