"""Chains of issue #11's findings on size and memory, for the engine's and the web's tests.

* :func:`long_line_chain` (finding 1): a valid 16-hop chain whose body has eight lines of
  2.2 MB, each hop after the first replacing one short line between them;
* :func:`footer_chain` (finding 9): a legitimate chain where every hop adds a footer;
* :func:`shape` (finding 2): messages of a given size holding what once took memory in
  proportion to their number of lines or of hops: short lines with both ends rewritten
  (the whole body is the changed part), the same with bare LF line ends, megabyte lines,
  many rewriting hops, lines appended after signing.

Chains of two instances are made by hand (:func:`two_instances`: the fields' hashes are the
support module's own, written independently of the engine), so a large body costs no
recipe computation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from analysis import State
from tests.support.chains import (
    T0,
    Chain,
    Hop,
    append_body,
    build_chain,
    instance_field,
    message,
    prepend_fields,
    replace_body_line,
    resign,
    signature_field,
    zone_for,
)

ALICE = Hop("example.com", "<alice@example.com>", ["<bob@h1.example>"])


def hop(k: int, **kwargs: Any) -> Hop:
    """Hop ``k`` (from 1) after ALICE: domain hk.example, sending on to h(k+1).example."""
    return Hop(f"h{k}.example", f"<list@h{k}.example>", [f"<bob@h{k + 1}.example>"], **kwargs)


#: Finding 1's lines: eight of 2.2 MB, a short one before each.
LONG_LINE = b"y" * 2_200_000


@functools.cache
def long_line_chain() -> Chain:
    """Finding 1: 16 hops; hop k > 1 replaces short line k mod 8 (body line 2k mod 16 + 1)."""
    lines: list[bytes] = []
    for k in range(8):
        lines += [b"short line %d" % k, LONG_LINE]
    body = b"".join(line + b"\r\n" for line in lines)
    hops = [ALICE] + [
        hop(k, modify=replace_body_line(2 * (k % 8) + 1, f"hop {k} was here")) for k in range(1, 16)
    ]
    return build_chain(message(body=body), hops)


#: Finding 9's body: 100 KB of text, most of the message (as in real mail).
TEXT_BODY = b"The quick brown fox jumps over the lazy dog, again and again.\r\n" * 1600


@functools.cache
def footer_chain(hops: int = 50) -> Chain:
    """Finding 9: ``hops`` hops, each after the first adding a footer line."""
    return build_chain(
        message(body=TEXT_BODY),
        [ALICE] + [hop(k, modify=append_body(f"-- footer of hop {k}")) for k in range(1, hops)],
    )


@dataclass(frozen=True)
class Shape:
    raw: bytes
    zone: dict[str, dict[str, list[list[str]]]]
    now: int
    result: State  # the DKIM2 verdict (auto: by -09 rules)
    #: Octets of the message as the engine hashes it (CRLF line ends).
    normalised: int


def two_instances(
    original: bytes, modified: bytes, recipe: dict[str, Any], *, lf: bool = False
) -> Shape:
    """``original`` signed by example.com (m=1), then ``modified`` by h1.example (m=2) with
    ``recipe``; ``lf``: the message saved with bare LF line ends."""
    raw = resign(
        prepend_fields(
            modified,
            signature_field(
                2,
                2,
                domain="h1.example",
                mail_from="<list@h1.example>",
                rcpt_to=("<bob@h2.example>",),
                t=T0 + 60,
            ),
            instance_field(2, modified, recipe),
            signature_field(1, 1, rcpt_to=("<bob@h1.example>",)),
            instance_field(1, original),
        )
    )
    normalised = len(raw)
    if lf:
        raw = raw.replace(b"\r\n", b"\n")
    zone = zone_for(["example.com", "h1.example"])
    return Shape(raw, zone, T0 + 120, State.PASS, normalised)


def _both_ends(size: int, *, lf: bool) -> Shape:
    per_line = 2 if lf else 3  # "x" and its line end, as saved
    n = (size - 4096) // per_line
    original = message(body=b"x\r\n" * n)
    modified = message(body=b"first\r\n" + b"x\r\n" * (n - 2) + b"last\r\n")
    recipe = {"b": [{"d": ["x"]}, {"c": [2, n - 1]}, {"d": ["x"]}]}
    return two_instances(original, modified, recipe, lf=lf)


def _one_hop(body: bytes, *, after: bytes = b"", result: State = State.PASS) -> Shape:
    chain = build_chain(message(body=body), [ALICE])
    raw = chain.message + after
    return Shape(raw, chain.zone, chain.now, result, len(raw))


def _rewriting_hops(size: int, hops: int = 16) -> Shape:
    line = b"y" * ((size - 8192) // 8)
    lines: list[bytes] = []
    for k in range(8):
        lines += [b"short line %d" % k, line]
    body = b"".join(x + b"\r\n" for x in lines)
    chain = build_chain(
        message(body=body),
        [ALICE]
        + [
            hop(k, modify=replace_body_line(2 * (k % 8) + 1, f"hop {k} was here"))
            for k in range(1, hops)
        ],
    )
    return Shape(chain.message, chain.zone, chain.now, State.PASS, len(chain.message))


#: The shapes of finding 2, by name.
SHAPES = (
    "short lines, both ends rewritten",
    "short lines, both ends rewritten, bare LF",
    "megabyte lines",
    "many rewriting hops",
    "lines appended after signing",
)


@functools.cache
def shape(name: str, size: int) -> Shape:
    """The message ``name`` of :data:`SHAPES`, about ``size`` octets as saved."""
    if name == "short lines, both ends rewritten":
        return _both_ends(size, lf=False)
    if name == "short lines, both ends rewritten, bare LF":
        return _both_ends(size, lf=True)
    if name == "megabyte lines":
        line = b"z" * (1 << 20) + b"\r\n"
        return _one_hop(line * max(1, (size - 8192) // len(line)))
    if name == "many rewriting hops":
        return _rewriting_hops(size)
    if name == "lines appended after signing":
        appended = b"appended after signing\r\n" * 1000
        return _one_hop(
            b"x\r\n" * ((size - 8192 - len(appended)) // 3), after=appended, result=State.FAIL
        )
    raise KeyError(name)
