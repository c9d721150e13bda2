"""Mutation history: what each hop changed, from the reconstructed instances.

For each pair of consecutive instances a structured diff: signed header fields
added, removed or changed (old and new values), and the body as a unified line
diff.  The diff is computed from the instances the recipes rebuilt, so it shows
what the chain *says* happened; an instance whose hashes do not match marks the
change as one the recipes cannot explain.
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import limits
from ..findings import State
from ..message import Body, HeaderField, Piece, shared_lines
from .canonical import is_unsigned
from .report import ChainReport, FieldChange, Instance, InstanceDiff, cut_text

if TYPE_CHECKING:
    from .fields import Dkim2Signature
    from .revisions import Revision


def _signed_groups(
    fields: list[HeaderField], unsigned: Callable[[str], bool] = is_unsigned
) -> dict[str, list[HeaderField]]:
    groups: dict[str, list[HeaderField]] = {}
    for f in fields:
        if f.valid and not unsigned(f.lname):
            groups.setdefault(f.lname, []).append(f)
    return groups


def _field_opcodes(
    old: list[HeaderField], new: list[HeaderField]
) -> Sequence[tuple[str, int, int, int, int]]:
    """difflib's opcodes for two differing lists of fields, compared by their octets.  The
    common cases are answered without building a matcher, with the opcodes difflib gives
    for them: a field added, a field removed, one field changed for another."""
    if not old:
        return [("insert", 0, 0, 0, len(new))]
    if not new:
        return [("delete", 0, len(old), 0, 0)]
    if len(old) == 1 and len(new) == 1:
        return [("replace", 0, 1, 0, 1)]
    matcher = difflib.SequenceMatcher(
        a=[f.raw for f in old], b=[f.raw for f in new], autojunk=False
    )
    return matcher.get_opcodes()


def header_changes(
    before: list[HeaderField],
    after: list[HeaderField],
    unsigned: Callable[[str], bool] = is_unsigned,
) -> list[FieldChange]:
    """Signed fields added, removed or changed (``unsigned``: the revision's list)."""
    old_groups, new_groups = _signed_groups(before, unsigned), _signed_groups(after, unsigned)
    changes: list[FieldChange] = []
    names = list(old_groups) + [n for n in new_groups if n not in old_groups]
    for name in names:
        old = old_groups.get(name, [])
        new = new_groups.get(name, [])
        if [f.raw for f in old] == [f.raw for f in new]:
            continue
        display = (new or old)[0].name
        # Pair fields bottom-up, the numbering recipes use (S06 §5.1).
        old_bu, new_bu = old[::-1], new[::-1]
        for tag, a1, a2, b1, b2 in _field_opcodes(old_bu, new_bu):
            if tag == "equal":
                continue
            olds, news = old_bu[a1:a2], new_bu[b1:b2]
            for k in range(max(len(olds), len(news))):
                o = olds[k] if k < len(olds) else None
                n = news[k] if k < len(news) else None
                kind = "changed" if o and n else ("added" if n else "removed")
                changes.append(
                    FieldChange(
                        display,
                        kind,
                        cut_text(o.text()) if o else None,
                        cut_text(n.text()) if n else None,
                    )
                )
    return changes


# -- body diffs: bounded in memory, in lines and in octets ----------------------------------------

#: Above this many line comparisons (lines before x lines after, in the differing window)
#: the minimal diff is not computed (difflib is quadratic): the window is shown replaced.
DIFF_WORK_LIMIT = limits.MAX_DIFF_COMPARISONS

#: A line longer than this is compared by its digest, not its octets (memory).
_KEY_OCTETS = 256


#: Fewer octets than this left in the report's budget for diff text: a diff is not begun.
_LEAST_DIFF_OCTETS = 1024


class DiffBudget:
    """Octets of diff text one report may still hold (limits.MAX_REPORT_DIFF_BYTES)."""

    def __init__(self, octets: int = limits.MAX_REPORT_DIFF_BYTES) -> None:
        self.remaining = octets


@dataclass
class BodyDiff:
    """A unified diff of two bodies as kept in a report: ``lines`` (without line ends),
    ``truncated`` when lines were left out, ``note`` saying in words what was cut."""

    lines: list[str] = field(default_factory=list)
    truncated: bool = False
    note: str = ""


@dataclass(frozen=True)
class _Window:
    """Where two bodies differ: ``a[start:stop_a]`` against ``b[start:stop_b]``, whose
    first ``head`` octets and last ``tail`` octets are context shared by both."""

    start: int
    stop_a: int
    stop_b: int
    prefix: int  # end of the shared lines before the change (a line start)
    suffix: int  # octets of shared lines after the change
    first_line: int  # lines before ``start``


def _window(a: Body, b: Body, context: int) -> _Window:
    la, lb = len(a), len(b)
    p, s = shared_lines(a, b)
    start = p
    for _ in range(context):
        if start == 0:
            break
        q = a.rfind_line_end(0, start - 2) if start >= 2 else -1
        start = q + 2 if q >= 0 else 0
    stop_a, stop_b = la - s, lb - s
    for _ in range(context):
        q = a.find_line_end(stop_a)
        if q < 0:
            stop_a, stop_b = la, lb
            break
        stop_b += q + 2 - stop_a
        stop_a = q + 2
    return _Window(start, stop_a, stop_b, p, s, a.count_line_ends(0, start))


def _line_total(body: Body, start: int, stop: int) -> int:
    """Lines starting in ``[start, stop)`` (a last line without CRLF counts)."""
    if stop <= start:
        return 0
    n = body.count_line_ends(start, stop)
    return n if body.ends_with_line_end(stop) else n + 1


def _key(line: Piece) -> bytes | tuple[int, bytes]:
    """What a line is compared by: its octets, or for a long line its length and digest."""
    buf, lo, hi = line
    if hi - lo <= _KEY_OCTETS:
        return buf[lo:hi]
    return (hi - lo, hashlib.blake2b(memoryview(buf)[lo:hi], digest_size=16).digest())


def _shown(prefix: str, line: Piece) -> tuple[str, bool]:
    """``prefix`` and the line as text, cut to MAX_DIFF_LINE_OCTETS octets of the message
    with a marker saying how much was cut; and whether it was cut."""
    buf, lo, hi = line
    limit = limits.MAX_DIFF_LINE_OCTETS
    if hi - lo <= limit:
        return prefix + buf[lo:hi].decode("utf-8", "replace"), False
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text = decoder.decode(buf[lo : lo + limit])  # an unfinished character is held back
    kept = limit - len(decoder.getstate()[0])
    return f"{prefix}{text} … [{hi - lo - kept:,} more octets cut]", True


def _range(start: int, stop: int, first_line: int) -> str:
    """A unified diff hunk range (difflib's own format), numbered from ``first_line``."""
    beginning, length = start + 1 + first_line, stop - start
    if length == 1:
        return f"{beginning}"
    if not length:
        beginning -= 1
    return f"{beginning},{length}"


class _Writer:
    """Diff lines kept until a bound: MAX_DIFF_LINES lines, MAX_DIFF_BYTES octets of text,
    what the report's budget has left."""

    def __init__(self, budget: DiffBudget) -> None:
        self.lines: list[str] = []
        self.room = min(limits.MAX_DIFF_BYTES, budget.remaining)
        self.spent = 0
        self.full = False
        self.cut_lines = 0
        self.by_octets = False

    def add(self, text: str, cut: bool = False) -> bool:
        if self.full or len(self.lines) >= limits.MAX_DIFF_LINES:
            self.full = True
            return False
        cost = len(json.dumps(text)) + 1
        if self.spent + cost > self.room:
            self.full = self.by_octets = True
            return False
        self.lines.append(text)
        self.spent += cost
        self.cut_lines += cut
        return True


def body_diff(
    before: Body, after: Body, *, context: int = 3, budget: DiffBudget | None = None
) -> BodyDiff:
    """Unified diff of two bodies' lines, bounded in lines (MAX_DIFF_LINES), in octets
    (MAX_DIFF_BYTES, and what ``budget`` has left for the report) and in memory.

    The shared beginning and end are found by comparing octets (views of the same octets
    without comparing at all); only the differing window, plus ``context`` lines, is read
    line by line.  A window of at most MAX_DIFF_WINDOW_LINES lines on each side whose
    comparison is affordable gets difflib's minimal diff, compared by the lines' octets (a
    long line by its digest); a larger one is shown replaced: the window's lines before, then
    after, read only as far as the bounds allow.  A line longer than MAX_DIFF_LINE_OCTETS is
    cut with a marker saying how much was cut.
    """
    budget = budget if budget is not None else DiffBudget()
    if before.same_as(after):
        return BodyDiff()
    if budget.remaining < _LEAST_DIFF_OCTETS:
        return BodyDiff(
            [],
            True,
            f"Not kept: the report's {limits.MAX_REPORT_DIFF_BYTES:,} octets for diff text "
            "were spent on the diffs before this one.",
        )
    w = _window(before, after, context)
    n_a = _line_total(before, w.start, w.stop_a)
    n_b = _line_total(after, w.start, w.stop_b)
    out = _Writer(budget)
    out.add("--- before")
    out.add("+++ after")
    small = max(n_a, n_b) <= limits.MAX_DIFF_WINDOW_LINES and n_a * n_b <= DIFF_WORK_LIMIT
    if small:
        complete = _minimal(before, after, w, context, out)
    else:
        complete = _replaced(before, after, w, n_a, n_b, out)
    budget.remaining -= out.spent
    notes = []
    if not complete:
        if out.by_octets and out.room < limits.MAX_DIFF_BYTES:
            notes.append(
                f"cut short at {len(out.lines):,} lines, where the report's "
                f"{limits.MAX_REPORT_DIFF_BYTES:,} octets for diff text ran out"
            )
        elif out.by_octets:
            notes.append(
                f"cut short at {len(out.lines):,} lines, where the diff text reached "
                f"{out.room:,} octets"
            )
        else:
            notes.append(f"cut short at {limits.MAX_DIFF_LINES:,} lines")
    if not small:
        notes.append(
            f"the changed part ({n_a:,} lines before, {n_b:,} after) is too large to compare "
            "line by line, so it is shown as replaced"
        )
    if out.cut_lines:
        notes.append(
            f"{out.cut_lines:,} line{'s' if out.cut_lines != 1 else ''} longer than "
            f"{limits.MAX_DIFF_LINE_OCTETS:,} octets {'were' if out.cut_lines != 1 else 'was'} "
            "cut (each says how much)"
        )
    note_text = "; ".join(notes) + "." if notes else ""
    return BodyDiff(out.lines, not complete, note_text[:1].upper() + note_text[1:])


def _minimal(before: Body, after: Body, w: _Window, context: int, out: _Writer) -> bool:
    lines_a = list(before.line_spans(w.start, w.stop_a))
    lines_b = list(after.line_spans(w.start, w.stop_b))
    matcher = difflib.SequenceMatcher(
        a=[_key(x) for x in lines_a], b=[_key(x) for x in lines_b], autojunk=False
    )
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        hunk = (
            f"@@ -{_range(first[1], last[2], w.first_line)} "
            f"+{_range(first[3], last[4], w.first_line)} @@"
        )
        if not out.add(hunk):
            return False
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                if not all(out.add(*_shown(" ", x)) for x in lines_a[i1:i2]):
                    return False
                continue
            removed = lines_a[i1:i2] if tag in ("replace", "delete") else []
            added = lines_b[j1:j2] if tag in ("replace", "insert") else []
            if not all(out.add(*_shown("-", x)) for x in removed):
                return False
            if not all(out.add(*_shown("+", x)) for x in added):
                return False
    return True


def _replaced(before: Body, after: Body, w: _Window, n_a: int, n_b: int, out: _Writer) -> bool:
    """One hunk: the shared lines around the change as context, every line of the changed
    part of ``before`` removed and every line of ``after``'s added; when that is more than
    the bounds allow, as many of each as fit (half the room each, or what the other leaves),
    each cut side ending with a ``\\`` line saying how many lines it leaves out."""
    la, lb = len(before), len(after)
    head = list(before.line_spans(w.start, w.prefix))
    tail_start = la - w.suffix
    tail = list(before.line_spans(tail_start, w.stop_a))
    minus = _line_total(before, w.prefix, tail_start)
    plus = _line_total(after, w.prefix, lb - w.suffix)
    hunk = f"@@ -{_range(0, n_a, w.first_line)} +{_range(0, n_b, w.first_line)} @@"
    if not out.add(hunk) or not all(out.add(*_shown(" ", x)) for x in head):
        return False
    room = limits.MAX_DIFF_LINES - len(out.lines) - len(tail)
    if minus + plus <= room:
        show_minus, show_plus = minus, plus
    else:
        show_minus = min(minus, max(room // 2, room - plus))
        show_plus = room - show_minus
        # a cut side gives one of its lines to the line saying so
        show_minus -= show_minus < minus
        show_plus -= show_plus < plus
    complete = True
    for prefix, body, start, stop, total, shown, what in (
        ("-", before, w.prefix, tail_start, minus, show_minus, "removed"),
        ("+", after, w.prefix, lb - w.suffix, plus, show_plus, "added"),
    ):
        written = 0
        for line in body.line_spans(start, stop):
            if written >= shown or not out.add(*_shown(prefix, line)):
                break
            written += 1
        if written < total:
            complete = False
            left = total - written
            out.add(f"\\ {left:,} more {what} line{'s' if left != 1 else ''} not shown")
    if not all(out.add(*_shown(" ", x)) for x in tail):
        return False
    return complete and not out.full


# -- the full diff, recomputed on demand ----------------------------------------------------------


def rebuilt_instances(raw: bytes, revision: str | Revision = "auto") -> dict[int, Instance]:
    """Every instance of ``raw`` rebuilt from its recipes by ``revision``'s rules ("auto":
    the newest), without fetching a key or checking a signature: what a download of an
    instance or of a whole diff needs, recomputed from the stored message.  Empty when the
    message has no DKIM2 fields or is not a message."""
    from .compare import resolve
    from .reconstruct import check_hashes
    from .structure import Options, prepare
    from .walk import Walk

    _, judge = resolve(revision)
    prep = prepare(raw, Options(compat=True, revision=judge))
    if prep.message.fatal or not prep.has_dkim2:
        return {}
    walk = Walk(prep, {}, None, 0.0)
    check_hashes(walk)
    return walk.instances


def full_body_diff(raw: bytes, m: int, revision: str | Revision = "auto") -> Iterator[bytes] | None:
    """The whole unified diff of the bodies of instances ``m - 1`` and ``m`` of ``raw``, as
    octets in chunks of about 64 KiB: no line, octet or line-length bound (what the report
    keeps is bounded; this is its complement, for download).  The lines are the message's
    own octets.  None when either instance, or its body, cannot be rebuilt."""
    instances = rebuilt_instances(raw, revision)
    before, after = instances.get(m - 1), instances.get(m)
    if before is None or after is None or before.body is None or after.body is None:
        return None
    return _chunked(_full_lines(before.body, after.body, m))


def _full_lines(before: Body, after: Body, m: int, context: int = 3) -> Iterator[bytes]:
    yield f"--- m={m - 1}\n+++ m={m}\n".encode()
    if before.same_as(after):
        return
    w = _window(before, after, context)
    n_a = _line_total(before, w.start, w.stop_a)
    n_b = _line_total(after, w.start, w.stop_b)

    def line(prefix: bytes, span: Piece) -> bytes:
        buf, lo, hi = span
        return prefix + buf[lo:hi] + b"\n"

    if max(n_a, n_b) <= limits.MAX_DIFF_WINDOW_LINES and n_a * n_b <= DIFF_WORK_LIMIT:
        lines_a = list(before.line_spans(w.start, w.stop_a))
        lines_b = list(after.line_spans(w.start, w.stop_b))
        matcher = difflib.SequenceMatcher(
            a=[_key(x) for x in lines_a], b=[_key(x) for x in lines_b], autojunk=False
        )
        for group in matcher.get_grouped_opcodes(context):
            first, last = group[0], group[-1]
            yield (
                f"@@ -{_range(first[1], last[2], w.first_line)} "
                f"+{_range(first[3], last[4], w.first_line)} @@\n"
            ).encode()
            for tag, i1, i2, j1, j2 in group:
                if tag == "equal":
                    yield from (line(b" ", x) for x in lines_a[i1:i2])
                    continue
                if tag in ("replace", "delete"):
                    yield from (line(b"-", x) for x in lines_a[i1:i2])
                if tag in ("replace", "insert"):
                    yield from (line(b"+", x) for x in lines_b[j1:j2])
        return
    tail_start = len(before) - w.suffix
    yield f"@@ -{_range(0, n_a, w.first_line)} +{_range(0, n_b, w.first_line)} @@\n".encode()
    yield from (line(b" ", x) for x in before.line_spans(w.start, w.prefix))
    yield from (line(b"-", x) for x in before.line_spans(w.prefix, tail_start))
    yield from (line(b"+", x) for x in after.line_spans(w.prefix, len(after) - w.suffix))
    yield from (line(b" ", x) for x in before.line_spans(tail_start, w.stop_a))


def _chunked(lines: Iterator[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    pending: list[bytes] = []
    held = 0
    for line in lines:
        pending.append(line)
        held += len(line)
        if held >= size:
            yield b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)


def build_diffs(
    instances: list[Instance],
    signatures: dict[int, Dkim2Signature],
    *,
    is_unsigned: Callable[[str], bool] = is_unsigned,
    budget: DiffBudget | None = None,
) -> list[InstanceDiff]:
    """What each hop changed; ``budget``: the octets of body diff text the report may hold
    (a new DiffBudget of limits.MAX_REPORT_DIFF_BYTES by default)."""
    budget = budget if budget is not None else DiffBudget()
    by_m = {i.instance: i for i in instances}
    diffs: list[InstanceDiff] = []
    for inst in instances:
        prev = by_m.get(inst.instance - 1)
        if prev is None or inst.instance == 0:
            continue
        hop = inst.introduced_by_hop
        domain = signatures[hop].domain if hop in signatures else None
        changes = header_changes(prev.fields, inst.fields, is_unsigned)
        body = BodyDiff()
        if prev.body is None or inst.body is None:
            body_changed: bool | None = None
        elif prev.body.same_as(inst.body):
            body_changed = False
        else:
            body = body_diff(prev.body, inst.body, budget=budget)
            body_changed = True
        # The recipes explain the change when the rebuilt earlier instance
        # matches its own recorded hashes.
        explained = prev.result == State.PASS and all(c.match is not False for c in prev.checks)
        diffs.append(
            InstanceDiff(
                before=prev.instance,
                after=inst.instance,
                hop=hop,
                hop_domain=domain,
                header_changes=changes,
                body_changed=body_changed,
                body_diff=body.lines,
                body_diff_truncated=body.truncated,
                explained=explained,
                body_diff_note=body.note,
            )
        )
    return diffs


def _change_phrase(diff: InstanceDiff) -> str:
    parts: list[str] = []
    changed = sorted({c.name for c in diff.header_changes if c.kind == "changed"})
    added = sorted({c.name for c in diff.header_changes if c.kind == "added"})
    removed = sorted({c.name for c in diff.header_changes if c.kind == "removed"})
    if changed:
        parts.append("changed " + ", ".join(changed))
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    if diff.body_changed:
        plus = sum(1 for x in diff.body_diff if x.startswith("+") and not x.startswith("+++"))
        minus = sum(1 for x in diff.body_diff if x.startswith("-") and not x.startswith("---"))
        if minus == 0 and plus:
            parts.append(f"added {plus} body line{'s' if plus != 1 else ''}")
        else:
            parts.append("rewrote the body")
    elif diff.body_changed is None:
        parts.append("replaced the body without a way back")
    if not parts:
        return "recorded no visible change"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


_STATE_PREFIX = re.compile(r"^(?:PASS|FAIL|PERMERROR|TEMPERROR):?\s+")


def summarise(report: ChainReport) -> str:
    """The verdict in words, one line."""
    n = len(report.hops)
    if report.result == State.NONE:
        if any(f.code.startswith("draft.") for f in report.findings):
            return "None: no DKIM2 signature in the -06 format (older DKIM2 fields found)"
        return "None: the message carries no DKIM2 signature"
    changes = [
        f"{d.hop_domain or 'hop ' + str(d.hop)} {_change_phrase(d)}"
        for d in report.diffs
        if d.header_changes or d.body_changed is not False
    ]
    hop_word = f"{n} hop{'s' if n != 1 else ''}"
    if report.result == State.PASS:
        text = f"Pass: {hop_word} verified"
        if changes:
            text += "; " + "; ".join(changes)
        return text
    first = next((f for f in report.findings if f.state == report.result), None)
    label = report.result.value.capitalize() if report.result != State.PERMERROR else "Permerror"
    if report.result == State.TEMPERROR:
        label = "Temperror"
    reason = _STATE_PREFIX.sub("", first.message) if first else "see findings"
    return f"{label}: {reason} ({hop_word})"
