"""What the search for what changed a message costs (issue #12, point 2).

Prints, on this machine, for a 50 KB text message signed with DKIM2 (one Ed25519 hop):

* the DKIM2 verification of the message as signed (nothing to search);
* the same message with a footer appended after signing (the search finds it in a few
  candidates) and with one word changed (no edit explains it: every candidate is tried),
  each verified with and without the search, and the time the search adds;
* the same two edits under DKIM1 (relaxed/simple), the search alone;
* a hostile message: 10,000 MIME parts, and a 12 MiB body, to show the budget holds.

Usage: python bench/change_search.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import dkim1
from analysis.change_search import SearchBudget
from analysis.dkim2 import verify as dkim2_verify
from analysis.message import parse_message
from tests.support.chains import build_chain
from tests.support.changes import HOP, append_lines, dkim1_signed, replace_text
from tests.support.mailauth import NOW

HEAD = (
    "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.net>\r\nSubject: Minutes\r\n"
    "Date: Thu, 15 Jan 2027 10:00:00 +0000\r\nMessage-ID: <minutes@example.com>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
)
LINE = "Item {k:04d}: the meeting agreed to renew the relay certificates on Saturday.\r\n"


def message_50k() -> bytes:
    body = "".join(LINE.format(k=k) for k in range(640))
    return (HEAD + body).encode()


def best(action: Callable[[], object], repeat: int) -> float:
    return min(timeit.repeat(action, number=1, repeat=repeat))


def without_search(action: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        saved = dkim2_verify.search_changes
        dkim2_verify.search_changes = lambda walk, budget=None: None  # type: ignore[assignment]
        try:
            return action()
        finally:
            dkim2_verify.search_changes = saved

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    start = message_50k()
    chain = build_chain(start, [HOP])
    print(f"message: {len(chain.message):,} octets")
    clean = best(lambda: chain.analyze(), repeat)
    print(f"DKIM2, as signed (nothing searched):          {clean * 1000:7.1f} ms")
    edits = {
        "footer appended (found)": append_lines("-- ", "minutes list"),
        "one word changed (not found)": replace_text("Item 0320: the", "Item 0320: a"),
    }
    for name, edit in edits.items():
        raw = edit(chain.message)
        report = chain.analyze(raw)
        (search,) = report.instances[-1].change_searches
        with_it = best(lambda raw=raw: chain.analyze(raw), repeat)
        without = best(without_search(lambda raw=raw: chain.analyze(raw)), repeat)
        print(
            f"DKIM2, {name:29} {with_it * 1000:7.1f} ms with the search, "
            f"{without * 1000:7.1f} ms without: +{(with_it - without) * 1000:.1f} ms "
            f"({search.outcome}, {search.tried} candidates, {search.octets:,} octets hashed)"
        )
    signed = dkim1_signed(start)
    for name, edit in edits.items():
        parsed = parse_message(edit(signed))
        prepared = dkim1.prepare(parsed)

        def run(prepared: dkim1.Dkim1Prepared = prepared) -> dkim1.Dkim1Report:
            return dkim1.verify(prepared, {}, now=NOW, change_budget=SearchBudget())

        sig = run().signatures[0]
        assert sig.change_search is not None
        elapsed = best(run, repeat)
        print(
            f"DKIM1, {name:29} {elapsed * 1000:7.1f} ms verify with the search "
            f"({sig.change_search.outcome}, {sig.change_search.tried} candidates)"
        )
    parts = (
        HEAD.replace("text/plain; charset=utf-8", 'multipart/mixed; boundary="p"')
        + "".join(f"--p\r\nContent-Type: text/plain\r\n\r\npart {k}\r\n" for k in range(10_000))
        + "--p--\r\n"
    ).encode()
    huge = (HEAD + LINE.format(k=1) * (12 * 1024 * 1024 // len(LINE))).encode()
    for name, hostile, edit in (
        ("10,000 MIME parts", parts, replace_text("part 5000\r\n", "part 5001\r\n")),
        ("12 MiB body", huge, append_lines("x")),
    ):
        hostile_chain = build_chain(hostile, [HOP])
        raw = edit(hostile_chain.message)
        t0 = time.perf_counter()
        report = hostile_chain.analyze(raw)
        with_it = time.perf_counter() - t0
        t0 = time.perf_counter()
        without_search(lambda raw=raw, c=hostile_chain: c.analyze(raw))()
        without = time.perf_counter() - t0
        (search,) = report.instances[-1].change_searches
        print(
            f"hostile, {name:27} {with_it * 1000:7.1f} ms with the search, "
            f"{without * 1000:7.1f} ms without ({search.outcome}, {search.tried} candidates, "
            f"{search.octets:,} octets hashed)"
        )


if __name__ == "__main__":
    main()
