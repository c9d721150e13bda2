"""Work the engine does once, or only when asked (issue #13).

* A verification builds no diff: the diffs (difflib, most of a rewriting chain's time) and
  the one-line summary that reads them are made when something reads them (the stored
  report, the command's text, the page), and then once.
* Lines are counted once: the message's line ends, counted when it is parsed, let a body's
  lines be counted from what lies outside it.
* Nothing is hashed twice: an instance's ``body_sha256`` in the report is the body hash the
  verification made when the body is its own canonical form (one CRLF at its end), and a
  second pass over the octets only when it is not.
"""

from __future__ import annotations

import hashlib
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import State, message
from analysis.dkim2 import analyze, history
from analysis.message import LineIndex
from analysis.resolvers import StaticResolver
from tests.analysis.hostile_chains import ALICE, footer_chain
from tests.support.chains import build_chain
from tests.support.chains import message as make_message


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = history.build_diffs

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(history, "build_diffs", counting)
    # verify.py imported the name: patch it where it is called from too.
    from analysis.dkim2 import verify

    monkeypatch.setattr(verify, "build_diffs", counting)
    return calls


def test_a_verification_builds_no_diff_until_one_is_read(built: list[int]) -> None:
    chain = footer_chain(5)
    report = analyze(chain.message, lookup=StaticResolver(chain.zone), now=chain_now())
    assert report.result == State.PASS
    assert built == []
    first = report.diffs
    assert built == [1]
    assert [(d.before, d.after, d.body_changed) for d in first] == [
        (1, 2, True),
        (2, 3, True),
        (3, 4, True),
        (4, 5, True),
    ]
    assert report.diffs is first  # kept: read twice, made once
    assert report.summary.startswith("Pass")
    assert "added 1 body line" in report.summary
    report.to_json()
    assert built == [1]


def test_the_summary_alone_makes_the_diffs_once(built: list[int]) -> None:
    chain = footer_chain(3)
    report = analyze(chain.message, lookup=StaticResolver(chain.zone), now=chain_now())
    summary = report.summary
    assert built == [1]
    assert report.to_json()["summary"] == summary
    assert built == [1]


def chain_now() -> int:
    from tests.support.chains import T0

    return T0 + 600


def count_digests(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    lengths: list[int] = []
    real = message._digest

    def counting(body: message.Body, *args: object) -> bytes:
        lengths.append(len(body))
        return real(body, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(message, "_digest", counting)
    return lengths


def test_a_canonical_body_is_hashed_once_for_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = footer_chain(3)
    lengths = count_digests(monkeypatch)
    report = analyze(chain.message, lookup=StaticResolver(chain.zone), now=chain_now())
    hashed = len(lengths)
    data = report.to_json()
    assert len(lengths) == hashed  # body_sha256 of every instance: the hashes made already
    body = chain.message.partition(b"\r\n\r\n")[2]
    newest = max(data["instances"], key=lambda i: i["m"])
    assert newest["body_sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    "body",
    [b"text\r\n\r\n\r\n", b"text without a final line end", b""],
    ids=["trailing empty lines", "no final CRLF", "empty"],
)
def test_a_body_that_is_not_canonical_is_digested_as_it_is(
    monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    chain = build_chain(make_message(body=body), [ALICE])  # m=1: the body as received
    report = analyze(chain.message, lookup=StaticResolver(chain.zone), now=chain_now())
    assert report.result == State.PASS, report.summary
    by_m = {i["m"]: i for i in report.to_json()["instances"]}
    assert by_m[1]["body_sha256"] == hashlib.sha256(body).hexdigest()


# -- lines counted once ----------------------------------------------------------------------------


@given(
    st.lists(st.sampled_from([b"a", b"\r\n", b"\r", b"\n", b"bb"]), max_size=60),
    st.data(),
)
def test_a_seeded_index_counts_any_range_as_a_direct_count_does(
    parts: list[bytes], data: st.DataObject
) -> None:
    buf = b"".join(parts)
    start = data.draw(st.integers(0, len(buf)))
    end = data.draw(st.integers(0, len(buf)))
    index = LineIndex()
    index.seed(buf, buf.count(b"\r\n"))
    assert index.count(buf, start, end) == buf[start:end].count(b"\r\n")


def test_a_parsed_bodys_lines_are_counted_from_outside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The body of a parsed message is most of its buffer: counting its lines reads the
    header block and what lies past its end, never the body again."""
    body = b"line\r\n" * 10_000
    parsed = message.parse_message(b"Subject: x\r\nTo: y\r\n\r\n" + body)
    read: list[int] = []
    real_count = bytes.count

    class Counting(bytes):
        def count(self, *args: object) -> int:  # type: ignore[override]
            start = int(args[1]) if len(args) > 1 else 0  # type: ignore[call-overload]
            end = int(args[2]) if len(args) > 2 else len(self)  # type: ignore[call-overload]
            read.append(end - start)
            return real_count(self, *args)  # type: ignore[arg-type]

    buf, lo, hi = parsed.body.pieces[0]
    counted = Counting(buf)
    index = LineIndex()
    index.seed(counted, buf.count(b"\r\n"))
    assert index.count(counted, lo, hi - 12) == 9_998
    assert sum(read) < 100  # the header block and the last two lines


@pytest.mark.parametrize("block", [1, 2, 3, 7, 1 << 18])
@given(
    st.lists(st.sampled_from([b"a", b"\r\n", b"\r", b"\n", b"\n\r", b"zz"]), max_size=80),
    st.data(),
)
def test_line_ends_are_counted_as_bytes_count_counts_them(
    block: int, parts: list[bytes], data: st.DataObject
) -> None:
    buf = b"".join(parts)
    start = data.draw(st.integers(0, len(buf)))
    end = data.draw(st.integers(0, len(buf) + 2))
    with (
        mock.patch.object(message, "LINE_END_BLOCK", block),
        mock.patch.object(message, "_VECTOR_FROM", 0),
    ):
        assert message.count_line_ends(buf, start, end) == buf.count(b"\r\n", start, end)


def test_a_large_buffers_line_ends_are_counted_across_its_blocks() -> None:
    # CRLFs straddling every block edge, bare CR and LF between them.
    buf = (b"x" * (message.LINE_END_BLOCK - 1) + b"\r\n" + b"\rx\n") * 5
    assert message.count_line_ends(buf) == buf.count(b"\r\n") == 5
    assert message.count_line_ends(buf, 3, len(buf) - 3) == buf.count(b"\r\n", 3, len(buf) - 3)


@pytest.mark.parametrize("read", [False, True], ids=["verified", "stored"])
def test_a_report_is_freed_without_the_garbage_collector(read: bool) -> None:
    """A report holds no reference cycle (its deferred makers are handed the report when
    they run, they do not hold it), so it is freed as soon as it is dropped: cyclic garbage
    made the collector walk every report's graph (issue #13)."""
    import gc

    chain = footer_chain(3)
    resolver = StaticResolver(chain.zone)
    analyze(chain.message, lookup=resolver, now=chain_now()).to_json()  # warm every cache
    gc.collect()
    gc.disable()
    try:
        report = analyze(chain.message, lookup=resolver, now=chain_now())
        assert report.result == State.PASS
        if read:
            assert report.summary and report.diffs
            report.to_json()
        del report
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_the_bodies_of_a_chain_adding_footers_are_hashed_about_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each hop of this chain added a footer to a 100 KB body, so the five instances' bodies
    begin alike: the hash states kept every 16 KB let each older body resume where the
    newer one passed, instead of hashing 100 KB again (issue #13: nothing hashed twice)."""
    chain = footer_chain(5)  # signed before hashes are counted: signing hashes too
    hashed: list[int] = []
    real_new = hashlib.new

    class Counting:
        def __init__(self, h: hashlib._Hash) -> None:
            self.h = h

        def update(self, data: bytes) -> None:
            hashed.append(len(data))
            self.h.update(data)

        def copy(self) -> Counting:
            return Counting(self.h.copy())

        def digest(self) -> bytes:
            return self.h.digest()

    monkeypatch.setattr(
        message.hashlib, "new", lambda name, data=b"": Counting(real_new(name, data))
    )
    report = analyze(chain.message, lookup=StaticResolver(chain.zone), now=chain_now())
    assert report.result == State.PASS, report.summary
    body = chain.message.partition(b"\r\n\r\n")[2]
    assert len(body) > 100_000
    assert sum(hashed) < 1.2 * len(body)  # five bodies: 5x without the checkpoints
