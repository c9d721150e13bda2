"""Mutation history: what each hop changed, from the reconstructed instances.

For each pair of consecutive instances a structured diff: signed header fields
added, removed or changed (old and new values), and the body as a unified line
diff.  The diff is computed from the instances the recipes rebuilt, so it shows
what the chain *says* happened; an instance whose hashes do not match marks the
change as one the recipes cannot explain.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import limits
from ..findings import State
from ..message import Body, HeaderField
from .canonical import is_unsigned
from .report import ChainReport, FieldChange, Instance, InstanceDiff

if TYPE_CHECKING:
    from .fields import Dkim2Signature


def _signed_groups(
    fields: list[HeaderField], unsigned: Callable[[str], bool] = is_unsigned
) -> dict[str, list[HeaderField]]:
    groups: dict[str, list[HeaderField]] = {}
    for f in fields:
        if f.valid and not unsigned(f.lname):
            groups.setdefault(f.lname, []).append(f)
    return groups


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
        matcher = difflib.SequenceMatcher(
            a=[f.raw for f in old_bu], b=[f.raw for f in new_bu], autojunk=False
        )
        for tag, a1, a2, b1, b2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            olds, news = old_bu[a1:a2], new_bu[b1:b2]
            for k in range(max(len(olds), len(news))):
                o = olds[k] if k < len(olds) else None
                n = news[k] if k < len(news) else None
                kind = "changed" if o and n else ("added" if n else "removed")
                changes.append(
                    FieldChange(display, kind, o.text() if o else None, n.text() if n else None)
                )
    return changes


_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common prefix of two byte strings, in C-speed comparisons."""
    n = min(len(a), len(b))
    step = 1 << 16
    pos = 0
    while pos < n and a[pos : pos + step] == b[pos : pos + step]:
        pos += step
    if pos >= n:
        return n
    lo, hi = pos, min(pos + step, n)  # the first difference lies in [lo, hi)
    while lo < hi:
        mid = (lo + hi) // 2
        if a[lo : mid + 1] == b[lo : mid + 1]:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """Length of the common suffix, at most ``limit`` octets."""
    n = min(len(a), len(b), limit)
    step = 1 << 16
    k = 0
    while (
        k < n
        and a[len(a) - min(k + step, n) : len(a) - k] == b[len(b) - min(k + step, n) : len(b) - k]
    ):
        k = min(k + step, n)
    if k >= n:
        return n
    lo, hi = k, min(k + step, n)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid : len(a) - k] == b[len(b) - mid : len(b) - k]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _split_lines(data: bytes) -> list[bytes]:
    if not data:
        return []
    parts = data.split(b"\r\n")
    if data.endswith(b"\r\n"):
        parts.pop()
    return parts


def body_diff(before: Body, after: Body, *, context: int = 3) -> tuple[list[str], bool]:
    """Unified diff of two bodies' lines, bounded to ``MAX_DIFF_LINES`` lines.

    The common prefix and suffix are found with byte comparisons; only the
    differing middle (plus context lines) is split into lines and diffed.
    """
    a = before.to_bytes()
    b = after.to_bytes()
    if a == b:
        return [], False
    p = _common_prefix(a, b)
    p = a.rfind(b"\r\n", 0, p - 1) + 2 if p > 0 else 0  # back to the start of a line
    if p > len(a) or not (a[:p].endswith(b"\r\n") or p == 0):
        p = 0
    s = _common_suffix(a, b, min(len(a), len(b)) - p)
    # keep whole lines in the suffix: it must start right after a CRLF
    while s > 0 and not (a[: len(a) - s].endswith(b"\r\n") and b[: len(b) - s].endswith(b"\r\n")):
        s -= 1
    # widen by `context` lines on each side
    start = p
    for _ in range(context):
        if start == 0:
            break
        q = a.rfind(b"\r\n", 0, start - 2) if start >= 2 else -1
        start = q + 2 if q >= 0 else 0
    stop_a, stop_b = len(a) - s, len(b) - s
    for _ in range(context):
        nxt = a.find(b"\r\n", stop_a)
        if nxt < 0:
            stop_a, stop_b = len(a), len(b)
            break
        stop_b += nxt + 2 - stop_a
        stop_a = nxt + 2
    first_line = a.count(b"\r\n", 0, start)  # lines before the window
    a_mid = _split_lines(a[start:stop_a])
    b_mid = _split_lines(b[start:stop_b])
    text_a = [x.decode("utf-8", "replace") for x in a_mid]
    text_b = [x.decode("utf-8", "replace") for x in b_mid]
    if len(text_a) * len(text_b) > DIFF_WORK_LIMIT:
        return _coarse_diff(text_a, text_b, first_line)
    lines: list[str] = []
    for line in difflib.unified_diff(
        text_a, text_b, lineterm="", n=context, fromfile="before", tofile="after"
    ):
        m = _HUNK.match(line)
        if m:
            line = (
                f"@@ -{int(m.group(1)) + first_line}{m.group(2) or ''} "
                f"+{int(m.group(3)) + first_line}{m.group(4) or ''} @@"
            )
        lines.append(line)
        if len(lines) >= limits.MAX_DIFF_LINES:
            return lines, True
    return lines, False


#: Above this many line comparisons (lines before x lines after, in the differing window)
#: the minimal diff is not computed (difflib is quadratic): the window is shown replaced.
DIFF_WORK_LIMIT = 4_000_000


def _coarse_diff(a: list[str], b: list[str], first_line: int) -> tuple[list[str], bool]:
    """One hunk: the shared lines at both ends as context, everything between replaced."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    lines = [
        "--- before",
        "+++ after",
        f"@@ -{first_line + 1},{len(a)} +{first_line + 1},{len(b)} @@",
    ]
    body = (
        [" " + x for x in a[:head]]
        + ["-" + x for x in a[head : len(a) - tail]]
        + ["+" + x for x in b[head : len(b) - tail]]
        + [" " + x for x in a[len(a) - tail :]]
    )
    room = limits.MAX_DIFF_LINES - len(lines)
    return lines + body[:room], len(body) > room


def build_diffs(
    instances: list[Instance],
    signatures: dict[int, Dkim2Signature],
    *,
    is_unsigned: Callable[[str], bool] = is_unsigned,
) -> list[InstanceDiff]:
    by_m = {i.instance: i for i in instances}
    diffs: list[InstanceDiff] = []
    for inst in instances:
        prev = by_m.get(inst.instance - 1)
        if prev is None or inst.instance == 0:
            continue
        hop = inst.introduced_by_hop
        domain = signatures[hop].domain if hop in signatures else None
        changes = header_changes(prev.fields, inst.fields, is_unsigned)
        if prev.body is None or inst.body is None:
            body_changed: bool | None = None
            dlines: list[str] = []
            truncated = False
        elif prev.body.same_as(inst.body):
            body_changed, dlines, truncated = False, [], False
        else:
            dlines, truncated = body_diff(prev.body, inst.body)
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
                body_diff=dlines,
                body_diff_truncated=truncated,
                explained=explained,
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
