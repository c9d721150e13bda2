"""Property-based tests of the MIME pre-scan that takes a forwarded message apart
(dkim2web.intake.mime: plain Python, no Django; RFC 2045, RFC 2046 §5.1.1, §5.2.1).

Properties: any octets walk without an exception, within the depth and part bounds, every
entity inside the message; a multipart tree built here from random parts comes apart into
exactly those parts, byte for byte, with CRLF or LF line ends; attached messages come out as
they went in, also through base64 and quoted-printable.  Derandomised and database-less.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dkim2web.intake import mime

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CHUNK = st.sampled_from(
    [
        b"\r\n",
        b"\n",
        b"--b",
        b"--b--",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: message/rfc822\r\n",
        b'Content-Type: multipart/digest; boundary="b"\r\n',
        b"Content-Transfer-Encoding: base64\r\n",
        b"x",
        b" ",
        b"\xff",
    ]
)
HOSTILE = st.lists(CHUNK, max_size=40).map(b"".join) | st.binary(max_size=100)


@PROPERTY
@given(HOSTILE, st.integers(1, 4), st.integers(1, 12))
def test_any_octets_walk_within_the_bounds_without_an_exception(
    raw: bytes, max_depth: int, max_parts: int
) -> None:
    walk = mime.walk(raw, max_depth=max_depth, max_parts=max_parts)
    assert 1 <= len(walk.entities) <= max_parts
    assert [e.start for e in walk.entities] == sorted(e.start for e in walk.entities)
    paths = [e.path for e in walk.entities]
    assert len(paths) == len(set(paths))
    for e in walk.entities:
        assert 0 <= e.start <= e.body_start <= e.end <= len(raw)
        assert e.depth <= max_depth
        assert e.depth == (0 if not e.path else e.path.count(".") + 1)
        mime.decode_body(e)  # never raises either


# -- trees built from random parts ----------------------------------------------------------------


@dataclass
class Tree:
    """A MIME entity to build: a leaf with a body, or a multipart with children."""

    content_type: str
    body: bytes = b""
    children: tuple[Tree, ...] = ()
    encoding: str = ""


LEAF_BODY = st.lists(st.sampled_from([b"line", b" ", b"-", b"\r\n", b"--", b"\xe9", b"x"])).map(
    b"".join
)
LEAF = st.builds(
    Tree,
    st.sampled_from(["text/plain", "message/rfc822", "application/octet-stream"]),
    LEAF_BODY,
)
TREES = st.recursive(
    LEAF,
    lambda inner: st.builds(
        lambda kids: Tree("multipart/mixed", children=tuple(kids)),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=8,
)


def build(tree: Tree, eol: bytes, depth: int = 0) -> bytes:
    """The entity's octets: its header, a blank line, its body (boundaries "=_b<depth>", which
    the leaves' octets never contain)."""
    if not tree.children:
        header = b"Content-Type: " + tree.content_type.encode() + eol
        if tree.encoding:
            header += b"Content-Transfer-Encoding: " + tree.encoding.encode() + eol
        return header + eol + tree.body
    boundary = f"=_b{depth}".encode()
    out = b'Content-Type: multipart/mixed; boundary="' + boundary + b'"' + eol + eol
    out += b"preamble" + eol
    for child in tree.children:
        out += b"--" + boundary + eol + build(child, eol, depth + 1) + eol
    return out + b"--" + boundary + b"--" + eol + b"epilogue" + eol


def leaves(tree: Tree, path: str = "") -> list[tuple[str, Tree]]:
    if not tree.children:
        return [(path, tree)]
    out = []
    for n, child in enumerate(tree.children, 1):
        out.extend(leaves(child, f"{path}.{n}" if path else str(n)))
    return out


def depth_of(tree: Tree) -> int:
    return 1 + max((depth_of(c) for c in tree.children), default=-1)


@PROPERTY
@given(TREES, st.sampled_from([b"\r\n", b"\n"]))
def test_a_multipart_tree_comes_apart_into_exactly_its_parts(tree: Tree, eol: bytes) -> None:
    assume(depth_of(tree) <= mime.MAX_DEPTH)
    raw = build(tree, eol)
    walk = mime.walk(raw)
    assert not walk.truncated and walk.notes == []
    found = {e.path: e for e in walk.entities if e.maintype != "multipart"}
    expected = dict(leaves(tree))
    assert sorted(found) == sorted(expected)
    for path, leaf in expected.items():
        assert found[path].content_type == leaf.content_type
        assert found[path].body == leaf.body
    assert [e.body for e in walk.messages()] == [
        leaf.body for path, leaf in leaves(tree) if path and leaf.content_type == "message/rfc822"
    ]


@PROPERTY
@given(TREES, st.integers(0, 3))
def test_a_tree_deeper_than_the_bound_is_walked_to_the_bound_and_says_so(
    tree: Tree, max_depth: int
) -> None:
    walk = mime.walk(build(tree, b"\r\n"), max_depth=max_depth)
    assert walk.truncated == (depth_of(tree) > max_depth)
    assert all(e.depth <= max_depth for e in walk.entities)


@PROPERTY
@given(st.lists(LEAF_BODY, min_size=1, max_size=4), st.sampled_from(["base64", "quoted-printable"]))
def test_attached_messages_come_out_as_they_went_in_through_a_transfer_encoding(
    originals: list[bytes], encoding: str
) -> None:
    def encoded(data: bytes) -> bytes:
        if encoding == "base64":
            return base64.encodebytes(data).replace(b"\n", b"\r\n")
        return binascii.b2a_qp(data, istext=False).replace(b"\n", b"\r\n")

    tree = Tree(
        "multipart/mixed",
        children=tuple(Tree("message/rfc822", encoded(o), encoding=encoding) for o in originals),
    )
    entities = mime.walk(build(tree, b"\r\n")).messages()
    assert [mime.decode_body(e) for e in entities] == [mime.Decoded(o, encoding) for o in originals]
