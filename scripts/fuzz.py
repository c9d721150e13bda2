#!/usr/bin/env python
"""Fuzz the engine with mutated corpus messages, for a time budget, and print what it found.

    .venv/bin/python scripts/fuzz.py [--minutes 3] [--out /tmp/dkim2web-fuzz] [--seed N]
    make fuzz [FUZZ_MINUTES=N]

Seeds are the hostile-input corpus (tests/corpus/catalogue.py, the "sizes" category left
out: its cases have budgets of their own), each with the zone its signers published, its
envelope, clock and revision.  Each input is a seed (or an earlier input that gave an outcome
not seen before) after one to four mutations: octets flipped, inserted or deleted; the message
cut short; a tag of a DKIM2, DKIM1, ARC or Authentication-Results field dropped, repeated or
given an odd value; a field repeated, moved or dropped; a line that is no field inserted; a
recipe's JSON changed and the chain re-signed (so the walk gets past the signatures to the
recipe); two messages spliced; line ends changed; a line repeated; the revision or the
envelope changed; a published key record edited.

Every input goes through ``analysis.message_report.analyze_message`` (every mechanism, as the
web side stores it) and ``analysis.cli.main(["verify", ...])`` (the ``dkim2`` command, in
this process).  A finding is:

* ``crash``: an exception out of either (the CLI must answer with an exit status);
* ``hang``: an input still running after --hang-seconds; ``slow``: analysed in more than
  --slow-seconds (1 s; measured twice, so a busy machine does not report);
* ``over-budget``: a stored report larger than analysis.limits.MAX_REPORT_BYTES, or one that
  cannot be trimmed to it (ReportTooLarge), or a CLI report line larger than it;
* ``mismatch``: the CLI's DKIM2 result differs from the whole-message report's.

Each finding is minimised (whole lines, then fields, then octets, while it still gives the same
finding) and saved under ``--out/findings/<kind>-<id>/``: ``input.eml`` as found,
``minimized.eml``, ``zone.json`` (the keys of this run) and ``finding.json`` (the traceback,
the mutations, the seed, and the ``dkim2 verify`` command that reproduces it).  One input per
distinct outcome goes to ``--out/outcomes/``.  Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import cProfile
import dataclasses
import hashlib
import io
import json
import pstats
import random
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis import limits, report_budget  # noqa: E402
from analysis.cli import main as cli_main  # noqa: E402
from analysis.dkim2 import Envelope  # noqa: E402
from analysis.dkim2.revisions import CHOICES  # noqa: E402
from analysis.message_report import analyze_message  # noqa: E402
from analysis.resolvers import StaticResolver  # noqa: E402
from tests.corpus import catalogue  # noqa: E402
from tests.corpus.model import Case, Zone, outcome_of, outcome_of_message_report  # noqa: E402
from tests.support import chains  # noqa: E402

CRLF = b"\r\n"
#: Inputs are kept below this size, so "under a second" stays a fair budget.
MAX_INPUT_BYTES = 256 * 1024
#: Tokens inserted into messages and field values: the grammar's separators and oddities.
TOKENS = [
    b";", b"=", b":", b",", b"|", b"<>", b"<", b">", b"@", b'"', b"\\", b"(", b")", b"--",
    b"\r\n", b"\r\n ", b"\r\n\r\n", b"\r", b"\n", b"\t", b" ", b"\x00", b"\x7f", b"\xff",
    b"\xc3\xa9", b"=?utf-8?q?=C3=A9?=", b"\xe2\x80\xae", b"9" * 25, b"-1", b"0",
]  # fmt: skip
ODD_VALUES = [
    "", " ", "0", "-1", "1", "2", "50", "51", "9999", "10000", "99999999999999999999999",
    "1.5", "<>", "<a@b>", "a@b", "|", ",", ":", ";", "a|b", "x" * 300, "=" * 4, "AAAA",
    "AAA", "YQ==", "YQ=", "!!!!", "sha256:AAAA:AAAA", "s1:ed25519-sha256:AAAA",
    "ed1:ed25519-sha256:" + "A" * 86 + "==", "rsa1:rsa-sha256:", "pq1:mldsa44:AAAA|ed1:x:AAAA",
    "relaxed/relaxed", "simple/bogus", "example.com", "EXAMPLE.COM.", "-example.com",
    "a" * 64 + ".com", "\u00e9", "donotmodify,exploded", "y", "s", "k=rsa",
]  # fmt: skip
TAG_FIELDS = (
    "dkim2-signature", "message-instance", "dkim-signature", "arc-seal",
    "arc-message-signature", "arc-authentication-results", "authentication-results",
)  # fmt: skip


# -- inputs ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Input:
    case: Case  # the seed: its clock and id
    raw: bytes
    zone: Zone  # the keys published (the seed's, perhaps edited)
    revision: str
    mail_from: str | None
    rcpt_to: tuple[str, ...]
    ops: tuple[str, ...] = ()

    def but(self, op: str, **changes: Any) -> Input:
        return dataclasses.replace(self, ops=(*self.ops, op), **changes)


def seed_of(case: Case) -> Input:
    return Input(case, case.raw, case.zone, case.revision, case.mail_from, tuple(case.rcpt_to))


def split(raw: bytes) -> tuple[list[bytes], bytes]:
    return chains.split(raw)


def join(fields: list[bytes], body: bytes) -> bytes:
    return chains.join(fields, body)


def name_of(raw_field: bytes) -> str:
    return raw_field.split(b":", 1)[0].strip().decode("latin-1").lower()


# -- mutations ---------------------------------------------------------------------------------

Mutation = Callable[[random.Random, Input, list[Input]], Input | None]


def flip_octets(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    if not inp.raw:
        return None
    data = bytearray(inp.raw)
    where = sorted(rnd.randrange(len(data)) for _ in range(rnd.randint(1, 4)))
    for at in where:
        data[at] = rnd.choice([data[at] ^ (1 << rnd.randrange(8)), rnd.randrange(256)])
    return inp.but(f"flip octets at {where}", raw=bytes(data))


def insert_token(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    at = rnd.randint(0, len(inp.raw))
    token = rnd.choice(TOKENS)
    return inp.but(f"insert {token!r} at {at}", raw=inp.raw[:at] + token + inp.raw[at:])


def delete_octets(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    if not inp.raw:
        return None
    at = rnd.randrange(len(inp.raw))
    n = rnd.choice([1, 1, 2, 8, 64, 512])
    return inp.but(f"delete {n} octets at {at}", raw=inp.raw[:at] + inp.raw[at + n :])


def truncate(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    if not inp.raw:
        return None
    at = rnd.randrange(len(inp.raw))
    if rnd.random() < 0.5:  # at a line end
        at = max(0, inp.raw.rfind(CRLF, 0, at) + 2)
    return inp.but(f"truncate at {at}", raw=inp.raw[:at])


def _tags(value: str) -> list[list[str]]:
    return [p.split("=", 1) if "=" in p else [p] for p in value.split(";")]


def edit_tag(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    """Drop, repeat, rename or re-value one tag of a tag-list field."""
    fields, body = split(inp.raw)
    targets = [k for k, f in enumerate(fields) if name_of(f) in TAG_FIELDS]
    if not targets:
        return None
    k = rnd.choice(targets)
    name, _, value = fields[k].partition(b":")
    tags = _tags(value.removesuffix(CRLF).decode("latin-1"))
    t = rnd.randrange(len(tags))
    op = rnd.choice(["drop", "repeat", "value", "value", "value", "case", "fold", "swap"])
    if op == "drop":
        del tags[t]
    elif op == "repeat":
        tags.insert(rnd.randint(0, len(tags)), [tags[t][0], rnd.choice(ODD_VALUES)])
    elif op == "value":
        tags[t] = [tags[t][0], rnd.choice(ODD_VALUES)]
    elif op == "case":
        tags[t] = [tags[t][0].swapcase(), *tags[t][1:]]
    elif op == "fold":
        tags[t] = [x.replace(",", ",\r\n ") for x in tags[t]]
    else:
        u = rnd.randrange(len(tags))
        tags[t], tags[u] = [tags[t][0], *tags[u][1:]], [tags[u][0], *tags[t][1:]]
    text = ";".join("=".join(x) for x in tags).encode("latin-1", "replace")
    tag = tags[t][0].strip() if t < len(tags) else "?"
    fields[k] = name + b":" + text + CRLF
    return inp.but(f"{op} tag {tag}= of {name_of(fields[k])} field {k}", raw=join(fields, body))


def repeat_field(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    """Repeat a field (up to past the DKIM2 field limits), move it, or drop it."""
    fields, body = split(inp.raw)
    if not fields:
        return None
    k = rnd.randrange(len(fields))
    op = rnd.choice(["repeat", "repeat", "move", "drop"])
    f = fields[k]
    if op == "repeat":
        n = rnd.choice([1, 1, 2, 5, limits.MAX_SIGNATURES + 1])
        fields[k:k] = [f] * n
        op = f"repeat {n} times"
    elif op == "move":
        del fields[k]
        fields.insert(rnd.randint(0, len(fields)), f)
    else:
        del fields[k]
    return inp.but(f"{op} field {k} ({name_of(f)})", raw=join(fields, body))


def broken_line(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    """A header line that is no field: a field's name without a colon, or a continuation with
    nothing to continue (recipes number fields by name; such a line is left out of hashes)."""
    fields, body = split(inp.raw)
    if not fields:
        return None
    name = fields[rnd.randrange(len(fields))].split(b":", 1)[0].split(CRLF)[0]
    line = rnd.choice([name, name + b" and words", b" " + name, name + b"\r\n\tx: y"]) + CRLF
    at = rnd.randint(0, len(fields))
    fields.insert(at, line)
    return inp.but(f"line {line!r} inserted as field {at}", raw=join(fields, body))


def _mutate_json(rnd: random.Random, value: Any) -> Any:
    """One change somewhere inside a JSON value."""
    odd = rnd.choice(
        [
            0, -1, 1, 2**31, 10**30, 1.5, True, None, "", "\r\n", "\ud800", [], {},
            [1], [2, 1], [1, 99999], {"c": [1, 1]}, {"d": ["x"]}, {"u": ["/w=="]},
            {"u": ["/w="]}, {"C": [1, 1], "c": [1, 1]}, [[[[[]]]]], {"c": [1, 2], "d": ["x"]},
        ]
    )  # fmt: skip
    if isinstance(value, dict) and value and rnd.random() < 0.8:
        key = rnd.choice(list(value))
        choice = rnd.random()
        if choice < 0.15:
            del value[key]
        elif choice < 0.3:
            value[rnd.choice([key.upper(), key + "x", "u", "b", "h"])] = value.pop(key)
        else:
            value[key] = _mutate_json(rnd, value[key])
        return value
    if isinstance(value, list) and value and rnd.random() < 0.8:
        k = rnd.randrange(len(value))
        choice = rnd.random()
        if choice < 0.15:
            del value[k]
        elif choice < 0.3:
            value.insert(k, value[k])
        elif choice < 0.4:
            value.reverse()
        else:
            value[k] = _mutate_json(rnd, value[k])
        return value
    return odd


def edit_recipe(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    """Change one recipe's JSON (as JSON, or as text), then re-sign the chain."""
    fields, body = split(inp.raw)
    targets = [k for k, f in enumerate(fields) if name_of(f) == "message-instance" and b"r=" in f]
    if not targets:
        return None
    k = rnd.choice(targets)
    name, _, value = fields[k].partition(b":")
    tags = _tags(value.removesuffix(CRLF).decode("latin-1"))
    r = next((t for t in tags if t[0].strip().lower() == "r" and len(t) == 2), None)
    if r is None:
        return None
    try:
        text = base64.b64decode("".join(r[1].split()))
    except (binascii.Error, ValueError):
        return None
    how = "as JSON"
    try:
        obj = json.loads(text)
        new = json.dumps(_mutate_json(rnd, obj), separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )
    except (ValueError, RecursionError):
        obj = None
        new = text
    if obj is None or rnd.random() < 0.2:
        how = "as text"
        at = rnd.randint(0, len(new))
        new = new[:at] + rnd.choice([b",", b"]", b"}", b'"', b"NaN", b'"C":1,', b""]) + new[at:]
    r[1] = base64.b64encode(new).decode("ascii")
    fields[k] = name + b":" + ";".join("=".join(x) for x in tags).encode("latin-1") + CRLF
    raw = join(fields, body)
    signed = "unsigned"
    if rnd.random() < 0.7:
        with contextlib.suppress(Exception):  # the re-signer needs a readable chain
            raw, signed = chains.resign(raw), "re-signed"
    return inp.but(f"recipe of field {k} {how} ({signed}): {new[:200]!r}", raw=raw)


def splice(rnd: random.Random, inp: Input, pool: list[Input]) -> Input | None:
    other = rnd.choice(pool)
    fields, body = split(inp.raw)
    ofields, obody = split(other.raw)
    choice = rnd.random()
    if choice < 0.4 and ofields:
        f = rnd.choice(ofields)
        fields.insert(rnd.randint(0, len(fields)), f)
        what = f"a {name_of(f)} field"
    elif choice < 0.7:
        body = obody
        what = "the body"
    else:
        fields = ofields
        what = "the header fields"
    return inp.but(f"splice {what} of {other.case.id}", raw=join(fields, body))


def line_ends(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    choice = rnd.random()
    if choice < 0.4:
        return inp.but("all CRLF to LF", raw=inp.raw.replace(CRLF, b"\n"))
    at = inp.raw.find(CRLF, rnd.randint(0, len(inp.raw)))
    if at < 0:
        return None
    new = rnd.choice([b"\n", b"\r", b"\r\r\n", b"\n\r"])
    return inp.but(f"line end at {at} to {new!r}", raw=inp.raw[:at] + new + inp.raw[at + 2 :])


def repeat_line(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    lines = inp.raw.split(CRLF)
    k = rnd.randrange(len(lines))
    n = rnd.choice([2, 10, 1000, 5000])
    line = lines[k]
    if len(inp.raw) + n * (len(line) + 2) > MAX_INPUT_BYTES:
        return None
    lines[k:k] = [line] * n
    return inp.but(f"repeat line {k} {n} times", raw=CRLF.join(lines))


def change_revision(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    revision = rnd.choice(CHOICES)
    return inp.but(f"revision {revision}", revision=revision)


def change_envelope(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    mail_from = rnd.choice([None, "<>", "", "bad", "<a@b>", "<@x:a@b>", "a" * 300, "<a@\u00e9.x>"])
    rcpt = rnd.choice([(), ("<>",), ("x",), ("<a@b>", "<c@d>"), tuple(inp.rcpt_to) * 3])
    return inp.but(f"envelope {mail_from!r} {rcpt!r}", mail_from=mail_from, rcpt_to=rcpt)


def edit_key_record(rnd: random.Random, inp: Input, _: list[Input]) -> Input | None:
    """Change one published TXT record: a tag's value, a cut, a second record, a record of
    another key, or an odd character (the zone is JSON: it may hold any text)."""
    names = [(d, n) for d, entries in inp.zone.items() for n in entries]
    if not names:
        return None
    domain, name = rnd.choice(names)
    zone = {d: {n: [list(r) for r in rs] for n, rs in e.items()} for d, e in inp.zone.items()}
    records = zone[domain][name]
    txt = [r for r in records if r and r[0] == "txt" and len(r) == 2]
    if not txt:
        return None
    record = rnd.choice(txt)
    choice = rnd.random()
    if choice < 0.4:
        tags = _tags(record[1])
        t = rnd.randrange(len(tags))
        tags[t] = [tags[t][0], rnd.choice([*ODD_VALUES, "MIIB", "ed25519", "mldsa44", "y:s"])]
        record[1] = ";".join("=".join(x) for x in tags)
        what = f"tag {tags[t][0].strip()}= changed"
    elif choice < 0.6:
        record[1] = record[1][: rnd.randrange(len(record[1]) + 1)]
        what = "cut"
    elif choice < 0.7:
        records.append(["txt", rnd.choice(["v=DKIM1; p=", "junk", record[1]])])
        what = "a second record"
    elif choice < 0.8:
        other = rnd.choice([r for e in zone.values() for rs in e.values() for r in rs])
        record[1:] = other[1:]
        what = "another key's record"
    else:
        at = rnd.randint(0, len(record[1]))
        odd = rnd.choice(["\x00", "\x1c", "\ud800", "\u00e9", ";", "=", " ", "\r\n"])
        record[1] = record[1][:at] + odd + record[1][at:]
        what = f"{odd!r} inserted"
    return inp.but(f"key record {name}.{domain}: {what}", zone=zone)


MUTATIONS: list[tuple[Mutation, int]] = [
    (flip_octets, 3),
    (insert_token, 3),
    (delete_octets, 2),
    (truncate, 1),
    (edit_tag, 6),
    (repeat_field, 3),
    (broken_line, 1),
    (edit_recipe, 5),
    (splice, 2),
    (line_ends, 1),
    (repeat_line, 1),
    (change_revision, 1),
    (change_envelope, 1),
    (edit_key_record, 2),
]


def mutate(rnd: random.Random, inp: Input, pool: list[Input]) -> Input:
    functions, weights = zip(*MUTATIONS, strict=True)
    for _ in range(rnd.choice([1, 1, 2, 2, 3, 4])):
        fn = rnd.choices(functions, weights)[0]
        new = fn(rnd, inp, pool)
        if new is not None and len(new.raw) <= MAX_INPUT_BYTES:
            inp = new
    return inp


# -- running one input -------------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the alarm inside a run that took too long (not an Exception: the engine's own
    handlers must not swallow it)."""


@contextlib.contextmanager
def alarm(seconds: float) -> Iterator[None]:
    def ring(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclasses.dataclass
class Run:
    """What one input did: its outcome, or the finding it makes (kind and identity)."""

    seconds: float = 0.0
    outcome: tuple[str, ...] = ()
    codes: frozenset[str] = frozenset()
    report_bytes: int = 0
    finding: str = ""  # "", crash, hang, slow, over-budget, mismatch
    key: str = ""  # what makes two findings the same
    detail: str = ""


def _where(exc: BaseException) -> str:
    """The innermost frame of the project's code in a traceback: file:function."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if "/analysis/" in f.filename or "/scripts/" in f.filename
    ]
    f = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
    return f"{Path(f.filename).name}:{f.name}"


def envelope_of(inp: Input) -> Envelope | None:
    if inp.mail_from is None:
        return None
    return Envelope(inp.mail_from, list(inp.rcpt_to))


def run_engine(inp: Input, hang_seconds: float) -> Run:
    started = time.perf_counter()
    try:
        with alarm(hang_seconds):
            report = analyze_message(
                inp.raw,
                lookup=StaticResolver(inp.zone),
                envelope=envelope_of(inp),
                now=inp.case.now,
                revision=inp.revision,
            )
            data = report.to_json()
            size = report_budget.size_of(data)
    except report_budget.ReportTooLarge as exc:
        return Run(time.perf_counter() - started, finding="over-budget", key="ReportTooLarge",
                   detail=str(exc))  # fmt: skip
    except Hang as exc:
        return Run(hang_seconds, finding="hang", key="hang", detail=str(exc))
    except Exception as exc:
        key = f"{type(exc).__name__} at {_where(exc)}"
        return Run(time.perf_counter() - started, finding="crash", key=key,
                   detail=traceback.format_exc())  # fmt: skip
    seconds = time.perf_counter() - started
    outcome = outcome_of_message_report(data)
    run = Run(
        seconds,
        (str(outcome.verdict), outcome.result, outcome.failure[0] if outcome.failure else "-"),
        outcome.codes,
        size,
    )
    if size > limits.MAX_REPORT_BYTES:
        run.finding, run.key = "over-budget", "stored report"
        run.detail = f"the stored report is {size} octets; the limit is {limits.MAX_REPORT_BYTES}"
    return run


def hot_module(inp: Input, hang_seconds: float) -> str:
    """Where a slow input spends its time: the module of the innermost function of the
    project's code that runs at most twice and takes at least half of the time (a phase,
    not the helper it calls many times), e.g. ``change_search.py``."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        run_engine(inp, hang_seconds)
    finally:
        profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = max((v[3] for v in stats.values()), default=0.0)
    phases = [
        (cumulative, Path(where[0]).name)
        for where, (_, calls, _, cumulative, _) in stats.items()
        if "/analysis/" in where[0] and calls <= 2 and cumulative >= total / 2
    ]
    return min(phases)[1] if phases else "?"


def cli_args(inp: Input, message: Path, zone: Path) -> list[str]:
    args = ["verify", str(message), "--json", "--dns-json", str(zone), "--now", str(inp.case.now)]
    args += ["--revision", inp.revision]
    if inp.mail_from is not None:
        args.append(f"--mail-from={inp.mail_from}")
        args += [f"--rcpt-to={r}" for r in inp.rcpt_to]
    return args


def run_cli(inp: Input, folder: Path, engine: Run, hang_seconds: float) -> Run | None:
    """The ``dkim2 verify`` command on ``inp``: a Run with a finding, or None."""
    message, zone = folder / "message.eml", folder / "zone.json"
    message.write_bytes(inp.raw)
    zone.write_text(json.dumps(inp.zone))
    out, err = io.StringIO(), io.StringIO()
    try:
        with alarm(hang_seconds), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli_main(cli_args(inp, message, zone))
    except Hang as exc:
        return Run(hang_seconds, finding="hang", key="cli hang", detail=str(exc))
    except BaseException as exc:  # SystemExit too: the command must return a status
        key = f"cli {type(exc).__name__} at {_where(exc)}"
        return Run(finding="crash", key=key, detail=traceback.format_exc() + err.getvalue())
    lines = out.getvalue().splitlines()
    if status not in (0, 1, 2, 3, 4) or len(lines) != 1 or err.getvalue():
        return Run(finding="crash", key=f"cli exit {status}",
                   detail=f"exit {status}; stderr {err.getvalue()[:2000]!r}")  # fmt: skip
    if len(lines[0]) > limits.MAX_REPORT_BYTES:
        return Run(finding="over-budget", key="cli report",
                   detail=f"the CLI's report line is {len(lines[0])} octets")  # fmt: skip
    result = outcome_of(json.loads(lines[0])).result
    if engine.outcome and result != engine.outcome[1]:
        return Run(finding="mismatch", key=f"cli {result} / report {engine.outcome[1]}",
                   detail=f"dkim2 verify says {result}; the whole-message report's DKIM2 "
                   f"section says {engine.outcome[1]}")  # fmt: skip
    return None


# -- minimising and saving findings ------------------------------------------------------------


def pieces_of(raw: bytes, unit: str) -> list[bytes]:
    if unit == "lines":
        return [line + CRLF for line in raw.split(CRLF)[:-1]] + [raw.split(CRLF)[-1]]
    if unit == "fields":
        fields, body = split(raw)
        return [*fields, CRLF + body]
    return [raw[k : k + 1] for k in range(len(raw))]


def minimise(inp: Input, same: Callable[[Input], bool], budget: float) -> Input:
    """The smallest input found in ``budget`` seconds that still gives the same finding:
    chunks of lines, of fields, then (for small inputs) of octets are dropped while it does."""
    deadline = time.monotonic() + budget
    for unit in ("fields", "lines", "octets"):
        if unit == "octets" and len(inp.raw) > 4096:
            break
        parts = pieces_of(inp.raw, unit)
        chunk = max(1, len(parts) // 2)
        while chunk >= 1 and time.monotonic() < deadline:
            k = 0
            while k < len(parts) and time.monotonic() < deadline:
                trial = parts[:k] + parts[k + chunk :]
                candidate = dataclasses.replace(inp, raw=b"".join(trial))
                if trial and same(candidate):
                    parts = trial
                    inp = candidate  # the pieces of an input put back may differ from it
                else:
                    k += chunk
            chunk //= 2
    return inp


def save_finding(out: Path, inp: Input, small: Input, run: Run) -> Path:
    ident = hashlib.sha256(run.key.encode()).hexdigest()[:10]
    folder = out / "findings" / f"{run.finding}-{ident}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "input.eml").write_bytes(inp.raw)
    (folder / "minimized.eml").write_bytes(small.raw)
    (folder / "zone.json").write_text(json.dumps(inp.zone, indent=1))
    command = ["dkim2", *cli_args(small, folder / "minimized.eml", folder / "zone.json")]
    info = {
        "kind": run.finding,
        "key": run.key,
        "detail": run.detail,
        "seconds": round(run.seconds, 3),
        "seed": inp.case.id,
        "mutations": list(inp.ops),
        "revision": inp.revision,
        "envelope": [inp.mail_from, list(inp.rcpt_to)],
        "now": inp.case.now,
        "input_bytes": len(inp.raw),
        "minimized_bytes": len(small.raw),
        "command": command,
    }
    (folder / "finding.json").write_text(json.dumps(info, indent=1))
    return folder


# -- the loop ----------------------------------------------------------------------------------


def fuzz(args: argparse.Namespace) -> int:
    rnd = random.Random(args.seed)
    out: Path = args.out
    (out / "outcomes").mkdir(parents=True, exist_ok=True)
    seeds = [seed_of(c) for c in catalogue.all_cases() if c.category != "sizes"]
    pool = list(seeds)
    outcomes: dict[tuple[str, ...], int] = Counter()
    code_sets: set[frozenset[str]] = set()
    codes_seen: set[str] = set()
    findings: dict[tuple[str, str], tuple[Path, int]] = {}
    kinds: Counter[str] = Counter()
    runs = cli_runs = 0
    slowest = (0.0, "")
    largest_report = 0
    started = time.monotonic()
    deadline = started + args.minutes * 60
    next_progress = started + 30
    print(
        f"fuzzing for {args.minutes:g} min (seed {args.seed}) from {len(seeds)} corpus "
        f"messages; findings and outcomes go to {out}",
        flush=True,
    )

    def record(inp: Input, run: Run) -> None:
        key = (run.finding, run.key)
        kinds[run.finding] += 1
        if key in findings:
            findings[key] = (findings[key][0], findings[key][1] + 1)
            return

        def same(candidate: Input) -> bool:
            again = check(candidate, folder)
            return again is not None and (again.finding, again.key) == key

        small = minimise(inp, same, args.minimize_seconds)
        path = save_finding(out, inp, small, run)
        findings[key] = (path, 1)
        print(f"  finding: {run.finding} {run.key} -> {path}", flush=True)

    def check(inp: Input, folder: Path) -> Run | None:
        """A finding the input makes, or None (the outcome is recorded in ``last``)."""
        run = run_engine(inp, args.hang_seconds)
        last[0] = run
        if not run.finding and run.seconds > args.slow_seconds:
            again = run_engine(inp, args.hang_seconds)  # once more: a busy machine is no finding
            if again.seconds > args.slow_seconds:
                run.finding, run.key = "slow", f"slow in {hot_module(inp, args.hang_seconds)}"
                run.detail = f"{run.seconds:.2f} s then {again.seconds:.2f} s"
        if run.finding:
            return run
        return run_cli(inp, folder, run, args.hang_seconds)

    last: list[Run] = [Run()]
    with tempfile.TemporaryDirectory(prefix="dkim2web-fuzz-") as tmp:
        folder = Path(tmp)
        while time.monotonic() < deadline:
            base = rnd.choice(pool) if rnd.random() < 0.5 else rnd.choice(seeds)
            inp = mutate(rnd, base, pool)
            try:
                found = check(inp, folder)
            except KeyboardInterrupt:  # Ctrl-C: stop, and print the figures so far
                break
            runs += 1
            run = last[0]
            cli_runs += not run.finding
            if run.seconds > slowest[0]:
                slowest = (run.seconds, f"{inp.case.id} after {len(inp.ops)} mutations")
            largest_report = max(largest_report, run.report_bytes)
            if found is not None:
                record(inp, found)
            elif run.outcome:
                if run.outcome not in outcomes:
                    n = len(outcomes)
                    (out / "outcomes" / f"{n:04d}.eml").write_bytes(inp.raw)
                    info = {"outcome": run.outcome, "seed": inp.case.id, "ops": inp.ops,
                            "revision": inp.revision, "envelope": [inp.mail_from, inp.rcpt_to],
                            "codes": sorted(run.codes)}  # fmt: skip
                    (out / "outcomes" / f"{n:04d}.json").write_text(json.dumps(info, indent=1))
                new = run.outcome not in outcomes or not run.codes <= codes_seen
                if new and run.seconds < args.slow_seconds / 4:
                    # A new outcome or finding code: worth mutating further (unless slow, which
                    # would make the inputs made from it slow too).
                    pool.append(inp)
                outcomes[run.outcome] += 1
                codes_seen.update(run.codes)
                code_sets.add(run.codes)
            if time.monotonic() > next_progress:
                next_progress += 30
                elapsed = time.monotonic() - started
                print(
                    f"[{elapsed / 60:4.1f} min] {runs:,} inputs ({runs / elapsed:.0f}/s), "
                    f"{len(outcomes)} outcomes, {len(codes_seen)} finding codes, "
                    f"{len(findings)} findings",
                    flush=True,
                )
    elapsed = time.monotonic() - started
    print()
    print(f"time fuzzed:       {elapsed / 60:.1f} min ({elapsed:.0f} s)")
    print(f"inputs run:        {runs:,} through analyze_message, {cli_runs:,} also through the CLI")
    print(f"inputs/s:          {runs / elapsed:.1f}")
    print(f"distinct outcomes: {len(outcomes)} (verdict, DKIM2 result, deciding finding)")
    print(f"finding codes:     {len(codes_seen)} distinct, in {len(code_sets)} combinations")
    print(f"inputs kept:       {len(pool) - len(seeds)} (new outcome or code), besides the seeds")
    print(f"slowest input:     {slowest[0]:.3f} s ({slowest[1]})")
    print(f"largest report:    {largest_report:,} octets (limit {limits.MAX_REPORT_BYTES:,})")
    print(f"findings:          {len(findings)} distinct, {sum(kinds.values())} inputs")
    for (kind, key), (path, count) in sorted(findings.items()):
        print(f"  {kind:11} {key} ({count} inputs) -> {path}")
    return 1 if findings else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="time budget (default 3)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/dkim2web-fuzz"))
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the time)")
    parser.add_argument("--slow-seconds", type=float, default=1.0)
    parser.add_argument("--hang-seconds", type=float, default=20.0)
    parser.add_argument("--minimize-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = int(time.time())
    return fuzz(args)


if __name__ == "__main__":
    sys.exit(main())
