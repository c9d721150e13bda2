"""The intake's DATA reader reads in large pieces and still ends exactly at the final dot.

Compared with the plain reading of RFC 5321 (line by line: the line "." ends the data, one
leading dot is removed from every other line), over messages built to put the end, dots, CRs
and line ends at every kind of piece boundary: fed a few bytes at a time into read buffers
as small as 8 bytes, each followed by the client's next command, which must stay unread.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from dkim2web.intake import server as intake_server
from dkim2web.intake.server import END_OF_DATA, _DataOutcome, _IntakeProtocol

NEXT_COMMAND = b"MAIL FROM:<next@origin.example>\r\n"


def line_by_line(stream: bytes) -> bytes:
    """The data the stream's DATA section holds, read the way RFC 5321 §4.5.2 puts it."""
    lines = []
    position = 0
    while True:
        end = stream.index(b"\r\n", position) + 2
        line = stream[position:end]
        position = end
        if line == b".\r\n":
            return b"".join(lines)
        lines.append(line[1:] if line.startswith(b".") else line)


class Session(_IntakeProtocol):
    """Just what _read_data uses of an SMTP session."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self.transport: Any = self
        self.replies: list[str] = []
        self.closed = False

    def _progress(self) -> None:
        pass

    async def push(self, status: str | bytes) -> None:
        self.replies.append(str(status))

    def close(self) -> None:  # the transport's
        self.closed = True


def read(stream: bytes, *, buffer: int, piece_sizes: list[int], limit: int = 0) -> Any:
    """Feed ``stream`` in pieces of these sizes (in turn) while reading; the outcome, what
    the session said, and what is left unread."""

    async def run() -> tuple[Any, list[str], bytes]:
        reader = asyncio.StreamReader(limit=buffer)
        session = Session(reader)

        async def feed() -> None:
            position, n = 0, 0
            while position < len(stream):
                size = piece_sizes[n % len(piece_sizes)]
                reader.feed_data(stream[position : position + size])
                position += size
                n += 1
                await asyncio.sleep(0)
            reader.feed_eof()

        feeding = asyncio.create_task(feed())
        outcome = await session._read_data(limit)
        await feeding
        return outcome, session.replies, await reader.read()

    return asyncio.run(run())


def stuffed(message: bytes) -> bytes:
    """What a client sends for ``message`` (which ends with CRLF): dots doubled, the end."""
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..") + b".\r\n"


TRICKY_LINES = [
    b"",
    b".",
    b"..",
    b"...",
    b". ",
    b".x",
    b"x.",
    b"\r",
    b"\r.",
    b".\r",
    b"\n.",
    b"a\rb\nc",
    b"a\n.\r",
    b"tail \r",
    b"From: someone",
    b"x" * 40,
]


def messages(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    return [
        b"".join(rng.choice(TRICKY_LINES) + b"\r\n" for _ in range(rng.randint(0, 12)))
        for _ in range(count)
    ]


@pytest.mark.parametrize("seed", range(8))
def test_every_message_reads_as_line_by_line_and_the_next_command_stays_unread(
    seed: int,
) -> None:
    rng = random.Random(1000 + seed)
    for message in messages(seed, 60):
        stream = stuffed(message)
        assert line_by_line(stream) == message
        buffer = rng.choice([8, 9, 13, 64, 65536])
        pieces = [rng.randint(1, 23) for _ in range(5)]
        outcome, replies, left = read(stream + NEXT_COMMAND, buffer=buffer, piece_sizes=pieces)
        assert (outcome, replies, left) == (message, [], NEXT_COMMAND), (stream, buffer, pieces)


def test_the_end_split_at_every_byte_is_found() -> None:
    message = b"Subject: x\r\n\r\n.starts with a dot\r\nlast\r\n"
    stream = stuffed(message) + NEXT_COMMAND
    end = stream.index(END_OF_DATA)
    for cut in range(end - 2, end + len(END_OF_DATA) + 1):
        for buffer in (8, 64, 65536):
            first, rest = cut, len(stream) - cut
            outcome, _, left = read(stream, buffer=buffer, piece_sizes=[first, rest])
            assert (outcome, left) == (message, NEXT_COMMAND), (cut, buffer)


def test_an_empty_message_and_a_first_line_that_is_only_dots() -> None:
    for message in (b"", b".\r\n", b"..\r\n", b".\r\n.\r\n"):
        outcome, _, left = read(stuffed(message) + NEXT_COMMAND, buffer=8, piece_sizes=[1, 2, 3])
        assert (outcome, left) == (message, NEXT_COMMAND)


def test_lines_longer_than_the_buffer_are_kept_whole() -> None:
    message = b"Subject: long\r\n\r\n" + b"y" * 1000 + b"\r\n." + b"z" * 300 + b"\r\n"
    outcome, _, left = read(stuffed(message) + NEXT_COMMAND, buffer=16, piece_sizes=[7, 50])
    assert (outcome, left) == (message, NEXT_COMMAND)


def test_the_size_limit_counts_the_message_not_its_dots_or_end() -> None:
    message = b".x\r\n" + b"a" * 94 + b"\r\n"  # 100 bytes; 101 with its dot doubled
    for buffer in (8, 65536):
        exactly = read(
            stuffed(message) + NEXT_COMMAND, buffer=buffer, piece_sizes=[3, 11], limit=101
        )
        assert exactly == (message, [], NEXT_COMMAND)
        over = read(stuffed(message) + NEXT_COMMAND, buffer=buffer, piece_sizes=[3, 11], limit=100)
        assert over == (_DataOutcome.TOO_BIG, [], NEXT_COMMAND)


def test_a_client_sending_far_past_the_limit_is_told_552_and_cut_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intake_server, "DRAIN_BOUND", 1000)
    stream = stuffed((b"z" * 98 + b"\r\n") * 50)
    outcome, replies, left = read(stream, buffer=64, piece_sizes=[40], limit=500)
    assert outcome is None
    assert replies == [
        "552 5.3.4 Message too big: the limit is 500 bytes; nothing was stored. Closing "
        "the connection"
    ]
    assert len(left) < len(stream) - 1500  # nothing much more was read once past the bound


def test_a_client_that_goes_away_mid_data_leaves_nothing() -> None:
    outcome, replies, left = read(
        b"Subject: half\r\n\r\nonly the first half", buffer=8, piece_sizes=[5]
    )
    assert (outcome, replies, left) == (None, [], b"")
