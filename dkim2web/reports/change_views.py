"""What the result page shows of the searches for what changed a message (issue #12).

The engine (``analysis.change_search``) attaches a search to every DKIM2 instance whose body
or header hash fails (``instances[k]["change_searches"]``) and to every DKIM1 signature
whose body hash fails (``signatures[k]["change_search"]``).  Reports stored before the
search existed have neither: a failing DKIM2 hash then still gets a card that says the
content changed in a way that could not be identified, never that nothing changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .presenters import INLINE_DIFF_BYTES, BodyLine, _body_lines, format_size

#: Octets of change-search diff text the page renders inline, every search together.
INLINE_CHANGE_DIFF_BYTES = INLINE_DIFF_BYTES // 4

PART_WORDS = {"body": "Body", "header": "Signed header fields"}
MADE_BY_WORDS = {
    "hop": "a mail system on the way",
    "copy": "your copy of the message",
    "signer": "nobody: the signer followed other rules",
}


@dataclass
class ChangeView:
    part: str  # "body" or "header"
    outcome: str  # identified, unidentified, stopped, unsearched
    kind: str
    made_by: str
    sentence: str
    instance: int | None = None  # DKIM2 m=; None for DKIM1
    hop: int | None = None  # the hop that introduced the instance
    header_changes: list[dict[str, Any]] = field(default_factory=list)
    body_lines: list[BodyLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        where = PART_WORDS.get(self.part, self.part)
        if self.instance is None:
            return where
        return f"m={self.instance}: {where.lower() if self.part == 'body' else where}"

    @property
    def identified(self) -> bool:
        return self.outcome == "identified"

    @property
    def made_by_words(self) -> str:
        return MADE_BY_WORDS.get(self.made_by, "")

    @property
    def anchor(self) -> str:
        return f"change-m{self.instance}-{self.part}" if self.instance is not None else ""


def change_view(
    data: Any, *, budget: list[int] | None = None, instance: int | None = None
) -> ChangeView | None:
    """One stored search as shown (``budget``: octets of diff text the page may still
    render, spent here)."""
    if not isinstance(data, Mapping):
        return None
    budget = budget if budget is not None else [INLINE_CHANGE_DIFF_BYTES]
    raw_lines = data.get("body_diff")
    lines, left_out = _body_lines(raw_lines if isinstance(raw_lines, list) else [], budget)
    notes = [str(data["body_diff_note"])] if data.get("body_diff_note") else []
    if left_out:
        notes.append(
            f"{left_out:,} more line{'s' if left_out != 1 else ''} of this diff are not shown: "
            f"this page shows at most {format_size(INLINE_CHANGE_DIFF_BYTES)} of them."
        )
    changes = data.get("header_changes")
    return ChangeView(
        part=str(data.get("part") or "body"),
        outcome=str(data.get("outcome") or "unidentified"),
        kind=str(data.get("kind") or ""),
        made_by=str(data.get("made_by") or ""),
        sentence=str(data.get("sentence") or ""),
        instance=instance,
        header_changes=[dict(c) for c in changes or [] if isinstance(c, Mapping)],
        body_lines=lines,
        notes=notes,
    )


def _unsearched(part: str, m: int) -> ChangeView:
    what = "The body" if part == "body" else "The signed header fields"
    return ChangeView(
        part=part,
        outcome="unsearched",
        kind="",
        made_by="",
        sentence=(
            f"{what} of Message-Instance m={m} changed in a way that could not be identified: "
            f"its {part} hash does not match, and this run was made before dkim2web searched "
            "for what changed. Re-run the analysis to search."
        ),
        instance=m,
    )


def chain_change_views(chain: Mapping[str, Any]) -> list[ChangeView]:
    """A card for every DKIM2 instance part whose hash fails, newest instance first."""
    budget = [INLINE_CHANGE_DIFF_BYTES]
    views: list[ChangeView] = []
    instances = [x for x in chain.get("instances") or [] if isinstance(x, Mapping)]
    for inst in sorted(instances, key=lambda x: -int(x.get("m") or 0)):
        m = inst.get("m")
        if not isinstance(m, int):
            continue
        searches = {
            str(s.get("part")): s
            for s in inst.get("change_searches") or []
            if isinstance(s, Mapping)
        }
        checks = [c for c in inst.get("checks") or [] if isinstance(c, Mapping)]
        for part in ("body", "header"):
            view = change_view(searches.get(part), budget=budget, instance=m)
            if view is None:
                mine = [c.get("match") for c in checks if c.get("part") == part]
                if not mine or any(x is not False for x in mine):
                    continue
                view = _unsearched(part, m)
            view.hop = inst.get("introduced_by_hop")
            views.append(view)
    return views
