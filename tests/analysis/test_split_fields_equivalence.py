"""The message splitter's fast paths (analysis.message, issue #13) agree with plain references.

* The header block is cut at the CRLFs that end fields by one compiled search, and well-formed
  names are recognised by one match: the fields and the findings are those of a reference that
  walks the block line by line (the splitter as it was before), on random header blocks with
  continuations, bare CR and LF, colon-less lines, leading WSP, empty values and 8-bit octets,
  and at the field limit.
* ``HeaderField.value`` and ``text()`` are kept from construction: they are the octets after
  the first colon without the final CRLF, and their display form, as computed on demand.
* ``line_octets`` counts CRs, LFs and CRLFs as ``bytes.count`` does, at any block size, and the
  line-end findings of ``parse_message`` are those its counts imply.

Derandomised and database-less.
"""

from __future__ import annotations

import itertools
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import limits
from analysis import message as message_module
from analysis.findings import Finding, Step, note
from analysis.message import CRLF, HeaderField, line_octets, parse_message

PROPERTY = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Pieces of header lines: names, colons, blanks, folds, bare CR and LF, 8-bit and control octets.
PIECE = st.sampled_from(
    [
        b"Subject",
        b"DKIM2-Signature",
        b"X-A",
        b"a b",
        b":",
        b": ",
        b" ",
        b"\t",
        b"\r",
        b"\n",
        b"\r\n",
        b"\r\n ",
        b"\r\n\t",
        b"v",
        b"\xe9",
        b"\xff",
        b"\x00",
        b"\x7f",
        b";",
    ]
)
LINE = st.lists(PIECE, max_size=8).map(b"".join)
#: A header block as parse_message hands it over: lines, each ended by CRLF, or the last not.
BLOCK = st.builds(
    lambda lines, ended: CRLF.join(lines) + (CRLF if ended and lines else b""),
    st.lists(LINE, max_size=12),
    st.booleans(),
)


def reference_split(data: bytes, header_end: int) -> tuple[list[HeaderField], list[Finding], bool]:
    """The splitter as it was: one ``find`` per line, then each field examined."""
    fields: list[HeaderField] = []
    findings: list[Finding] = []
    starts: list[int] = []
    pos = 0
    malformed = 0
    while pos < header_end:
        eol = data.find(CRLF, pos, header_end)
        nxt = header_end if eol < 0 else eol + 2
        if data[pos] in (0x20, 0x09):
            if not starts:
                starts.append(pos)
        else:
            starts.append(pos)
        pos = nxt
        if len(starts) > limits.MAX_HEADER_FIELDS:
            findings.append(
                Finding(
                    code="limits.too-many-header-fields",
                    state=message_module.State.PERMERROR,
                    message="Message has more header fields than the analyser accepts",
                    step=Step.MESSAGE,
                    detail=f"More than {limits.MAX_HEADER_FIELDS} header fields.",
                )
            )
            return [], findings, True
    starts.append(header_end)
    bad_examples: list[str] = []
    for a, b in itertools.pairwise(starts):
        raw = data[a:b]
        colon = raw.find(b":")
        eol = raw.find(CRLF)
        if colon < 0 or (0 <= eol < colon) or raw[:1] in (b" ", b"\t"):
            fields.append(HeaderField(raw[: max(0, eol)].decode("latin-1")[:60], raw, valid=False))
            malformed += 1
            if len(bad_examples) < 3:
                bad_examples.append(raw[:60].decode("latin-1", "replace"))
            continue
        name = raw[:colon].rstrip(b" \t").decode("latin-1")
        valid = bool(name) and all(33 <= c <= 126 for c in raw[: len(name)])
        if not valid:
            malformed += 1
            if len(bad_examples) < 3:
                bad_examples.append(raw[:60].decode("latin-1", "replace"))
        fields.append(HeaderField(name, raw, valid=valid))
    if malformed:
        findings.append(
            note(
                "message.malformed-header-line",
                "Header block contains lines that are not header fields",
                Step.MESSAGE,
                detail=(
                    f"{malformed} line(s) without a valid 'name:' form, e.g. {bad_examples!r}. "
                    "They are left out of the header hash; the message was probably damaged "
                    "(a broken fold, a pasted fragment) after signing or before analysis."
                ),
                spec="RFC 5322 §2.2",
            )
        )
    return fields, findings, False


def reference_value(raw: bytes) -> bytes:
    """``HeaderField.value`` as it was computed on every use."""
    colon = raw.find(b":")
    end = len(raw) - 2 if raw.endswith(CRLF) else len(raw)
    return raw[colon + 1 : end] if colon >= 0 else b""


def described(fields: list[HeaderField]) -> list[tuple[object, ...]]:
    return [(f.name, f.lname, f.raw, f.valid, f.value, f.text()) for f in fields]


def agrees(data: bytes, header_end: int) -> None:
    got = message_module._split_fields(data, header_end)
    want = reference_split(data, header_end)
    assert described(got[0]) == described(want[0])
    assert got[1] == want[1]
    assert got[2] == want[2]
    for f in got[0]:
        assert f.value == reference_value(f.raw)
        assert (
            f.text() == reference_value(f.raw).replace(CRLF, b"").decode("utf-8", "replace").strip()
        )


@PROPERTY
@given(BLOCK, st.binary(max_size=6))
def test_the_fields_and_findings_are_the_line_by_line_references(
    block: bytes, after: bytes
) -> None:
    # The block is cut from a longer buffer (the separator and body follow it).
    agrees(block + CRLF + after, len(block))


@PROPERTY
@given(BLOCK)
def test_a_parsed_messages_fields_are_the_references(block: bytes) -> None:
    raw = block + CRLF + CRLF + b"body\r\n"
    parsed = parse_message(raw)
    data = parsed.normalised
    sep = data.find(b"\r\n\r\n")
    header_end = 0 if data.startswith(CRLF) else (len(data) if sep < 0 else sep + 2)
    assert described(parsed.fields) == described(reference_split(data, header_end)[0])


@given(st.integers(1, 4), st.sampled_from([b"", CRLF, b"\r\n cont", b"\r\n\tx\r\n"]), st.booleans())
@settings(deadline=None, derandomize=True, database=None)
def test_the_field_limit_is_the_references(limit: int, tail: bytes, lead: bool) -> None:
    with mock.patch.object(limits, "MAX_HEADER_FIELDS", limit):
        for n in range(limit + 3):
            block = (b" lead\r\n" if lead else b"") + CRLF.join([b"A: b"] * n) + tail
            agrees(block + CRLF, len(block))


@PROPERTY
@given(st.lists(PIECE, max_size=40).map(b"".join), st.integers(1, 9))
def test_line_octets_counts_as_bytes_count_does_at_any_block_size(buf: bytes, bits: int) -> None:
    with (
        mock.patch.object(message_module, "LINE_END_BLOCK", bits),
        mock.patch.object(message_module, "_VECTOR_FROM", 0),
    ):
        assert line_octets(buf) == (buf.count(b"\r"), buf.count(b"\n"), buf.count(CRLF))
    assert line_octets(buf) == (buf.count(b"\r"), buf.count(b"\n"), buf.count(CRLF))


def test_line_octets_of_a_large_buffer_counts_across_its_blocks() -> None:
    # CRLFs straddling every block edge, bare CR and LF between them.
    buf = (b"x" * (message_module.LINE_END_BLOCK - 1) + b"\r\n" + b"\rx\n\n\r") * 5
    assert line_octets(buf) == (buf.count(b"\r"), buf.count(b"\n"), buf.count(CRLF)) == (15, 15, 5)


@PROPERTY
@given(
    st.sampled_from([b"", b"\xef\xbb\xbf", b"From a\rb\r\n", b"\xef\xbb\xbfFrom x\r\n"]),
    st.lists(PIECE, max_size=30).map(b"".join),
)
def test_the_line_end_findings_are_those_of_the_octets(prefix: bytes, rest: bytes) -> None:
    raw = prefix + rest
    parsed = parse_message(raw)
    codes = {f.code: f for f in parsed.findings}
    lf, crlf = raw.count(b"\n"), raw.count(CRLF)
    assert ("message.lf-line-ends" in codes) == (lf > crlf == 0)
    assert ("message.mixed-line-ends" in codes) == (lf > crlf > 0)
    data = parsed.normalised
    bare_cr = data.count(b"\r") - data.count(CRLF)
    assert ("message.bare-cr" in codes) == (bare_cr > 0)
    if bare_cr:
        assert (codes["message.bare-cr"].detail or "").startswith(f"{bare_cr} CR octet(s) ")
    lines = parsed.body.to_bytes().split(CRLF)
    if lines[-1] == b"":
        lines.pop()  # after the final CRLF (or an empty body)
    assert parsed.body.line_count() == len(lines)
