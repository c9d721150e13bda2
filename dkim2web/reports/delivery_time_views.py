"""The "Delivery time" section of the result page, from the report's ``delivery_time`` part.

Plain functions over the stored report: no queries, no requests. Text from the message stays
a plain ``str`` for the template to escape. The chart is an SVG the template draws from the
numbers here: bars placed in percentages of the chart's width (so it fits any screen and its
text keeps its size), classes for colour (the CSP forbids inline styles), no script.
Reports stored before the section existed have no ``delivery_time``: the view is None and
the page leaves the section out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis import limits
from analysis.delivery_time import LONG_DELAY_SECONDS, LONG_SHARE_MIN_SECONDS, format_duration

from .presenters import format_utc

#: Most bars drawn: past it, the hops with the shortest delays are left out of the chart (the
#: list below it still shows every hop), so a trace of 200 hops does not draw a 7,000-px chart.
CHART_MAX_ROWS = 40

#: Height of one chart row in pixels: a line of text, then the bar under it.
CHART_ROW_PX = 34

#: Characters of a host name shown in the chart (the list shows it whole).
CHART_HOST_CHARS = 28

_ANCHORS = {"dkim2": "hop-{}", "dkim1": "dkim1-{}", "arc": "arc-{}"}


@dataclass
class PlacementView:
    label: str
    anchor: str  # "" when there is nothing on the page to link to
    domain: str
    confirmed: bool  # the d= organisation is a host's at that hop
    text: str  # the whole sentence, naming the signature and the hop
    why: str  # the evidence alone, shown under the hop


@dataclass
class HopRow:
    index: int
    title: str  # "Written" or "Hop 3"
    host: str
    client: str
    when: str  # UTC, or "" when unreadable
    date_text: str
    delay: str  # "+2 min 14 s", "2 min earlier than the hop below (clocks disagree)", ""
    long: bool
    clock_problem: bool
    left_out: bool  # unusable stamp: unreadable or in the future
    placements: list[PlacementView] = field(default_factory=list)


@dataclass
class ChartBar:
    index: int
    text: str  # the row's label: "Hop 3 · mx.example · +2 min 14 s"
    title: str  # tooltip
    x: str  # "12.5%"
    width: str
    text_y: int
    bar_y: int
    css: str  # dt-bar, dt-bar-long, dt-bar-back, dt-start


@dataclass
class DeliveryTimeView:
    summary: str
    total: str  # "46 s", or "" when unknown
    transit: str
    start_label: str  # "the Date field" / "the first Received field"
    written: str  # the Date in UTC
    delivered: str  # the last stamp in UTC
    rows: list[HopRow]
    flags: list[str]
    flags_omitted: int
    unplaced: list[PlacementView]
    placements_omitted: int
    received_unread: int
    placements_limit: int
    long_words: str
    bars: list[ChartBar]
    chart_height: int
    chart_omitted: int
    axis_start: str
    axis_end: str

    @property
    def axis_y(self) -> int:
        return self.chart_height - 4


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _signed(seconds: int) -> str:
    return ("\N{MINUS SIGN}" if seconds < 0 else "+") + format_duration(seconds)


def _pct(value: float) -> str:
    return f"{max(0.0, min(100.0, value)):.2f}%"


def _delay_words(delay: int | None) -> str:
    if delay is None:
        return ""
    if delay < 0:
        return f"{format_duration(delay)} earlier than the stamp before it (clocks disagree)"
    return f"+{format_duration(delay)}"


def _placement(p: Mapping[str, Any]) -> PlacementView:
    kind, number = _str(p.get("kind")), _int(p.get("number"))
    pattern = _ANCHORS.get(kind)
    return PlacementView(
        label=_str(p.get("label")) or kind,
        anchor=pattern.format(number) if pattern and number is not None else "",
        domain=_str(p.get("domain")),
        confirmed=p.get("basis") == "position and domain",
        text=_str(p.get("text")),
        why=_str(p.get("why")) or _str(p.get("text")),
    )


def _short(text: str, limit: int = CHART_HOST_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def delivery_time_view(data: Mapping[str, Any] | None) -> DeliveryTimeView | None:
    """The section, or None for a report stored before delivery time was measured."""
    if not isinstance(data, Mapping):
        return None
    points = [p for p in data.get("points") or [] if isinstance(p, Mapping)]
    placed: dict[int, list[PlacementView]] = {}
    unplaced: list[PlacementView] = []
    for p in data.get("placements") or []:
        if not isinstance(p, Mapping):
            continue
        hop = _int(p.get("hop"))
        if hop is None:
            unplaced.append(_placement(p))
        else:
            placed.setdefault(hop, []).append(_placement(p))
    rows: list[HopRow] = []
    has_date = any(_int(p.get("index")) == 0 for p in points)
    if not has_date and 0 in placed:
        # Signed before any server stamped it, and no Date field to hang that on.
        rows.append(_sending_row(placed[0]))
    for p in points:
        index = _int(p.get("index")) or 0
        stamp = _int(p.get("timestamp"))
        rows.append(
            HopRow(
                index=index,
                title="Written (Date field)" if index == 0 else f"Hop {index}",
                host="" if index == 0 else _str(p.get("host")),
                client=_str(p.get("client")),
                when=format_utc(stamp) if stamp is not None else "",
                date_text=_str(p.get("date_text")),
                delay=_delay_words(_int(p.get("delay_seconds"))),
                long=p.get("long") is True,
                clock_problem=bool(p.get("flags")),
                left_out=p.get("usable") is False,
                placements=placed.get(index, []),
            )
        )
    total, transit = _int(data.get("total_seconds")), _int(data.get("transit_seconds"))
    start, end = _int(data.get("start")), _int(data.get("end"))
    flags = [_str(f.get("text")) for f in data.get("flags") or [] if isinstance(f, Mapping)]
    bars, height, omitted, lo, hi = _chart(points)
    long_seconds = _int(data.get("long_delay_seconds")) or LONG_DELAY_SECONDS
    return DeliveryTimeView(
        summary=_str(data.get("summary")),
        total=format_duration(total) if total is not None else "",
        transit=format_duration(transit) if transit is not None else "",
        start_label="the Date field"
        if data.get("start_source") == "date"
        else ("the first Received field"),
        written=format_utc(start) if start is not None else "",
        delivered=format_utc(end) if end is not None else "",
        rows=rows,
        flags=[f for f in flags if f],
        flags_omitted=_int(data.get("flags_omitted")) or 0,
        unplaced=unplaced,
        placements_omitted=_int(data.get("placements_omitted")) or 0,
        received_unread=_int(data.get("received_unread")) or 0,
        placements_limit=limits.MAX_DELIVERY_PLACEMENTS,
        long_words=(
            f"longer than {format_duration(long_seconds)}, or more than half of the total "
            f"and at least {format_duration(LONG_SHARE_MIN_SECONDS)}"
        ),
        bars=bars,
        chart_height=height,
        chart_omitted=omitted,
        axis_start=_signed(lo) if lo else "0 s",
        axis_end=_signed(hi),
    )


def _sending_row(placements: list[PlacementView]) -> HopRow:
    return HopRow(
        index=0,
        title="Sent",
        host="the sending system",
        client="",
        when="",
        date_text="",
        delay="",
        long=False,
        clock_problem=False,
        left_out=False,
        placements=placements,
    )


def _chart(points: list[Mapping[str, Any]]) -> tuple[list[ChartBar], int, int, int, int]:
    """The bars (one per usable stamp), the chart's height, how many bars were left out,
    and the span drawn (seconds from the start, lowest and highest)."""
    usable = [
        p
        for p in points
        if p.get("usable") is not False and _int(p.get("offset_seconds")) is not None
    ]
    if len(usable) < 2:
        return [], 0, 0, 0, 0
    spans: list[tuple[Mapping[str, Any], int, int]] = []  # point, from, to (offsets)
    for p in usable:
        offset = _int(p.get("offset_seconds")) or 0
        delay = _int(p.get("delay_seconds"))
        spans.append((p, offset - (delay or 0), offset))
    lo = min(min(a, b) for _, a, b in spans)
    hi = max(max(a, b) for _, a, b in spans)
    width = hi - lo
    omitted = 0
    if len(spans) > CHART_MAX_ROWS:
        # Keep the start and the longest delays, in hop order.
        ranked = sorted(
            range(1, len(spans)),
            key=lambda k: -abs(_int(spans[k][0].get("delay_seconds")) or 0),
        )
        keep = {0, *ranked[: CHART_MAX_ROWS - 1]}
        omitted = len(spans) - len(keep)
        spans = [s for k, s in enumerate(spans) if k in keep]
    bars: list[ChartBar] = []
    for row, (p, a, b) in enumerate(spans):
        index = _int(p.get("index")) or 0
        delay = _int(p.get("delay_seconds"))
        host = "Date field" if index == 0 else _short(_str(p.get("host")) or "unnamed host")
        name = "Written" if index == 0 else f"Hop {index}"
        left, right = (a, b) if a <= b else (b, a)
        x = (left - lo) / width * 100 if width else 0.0
        w = (right - left) / width * 100 if width else 0.0
        if delay is None:
            css, words = "dt-start", "start"
            w = 0.6
            x = min(x, 99.4)
        elif delay < 0:
            css, words = "dt-bar-back", f"{format_duration(delay)} earlier (clocks disagree)"
        else:
            css = "dt-bar-long" if p.get("long") is True else "dt-bar"
            words = f"+{format_duration(delay)}"
            if w < 0.6:  # a zero-second hop still shows a sliver
                w = 0.6
                x = min(x, 99.4)
        y = row * CHART_ROW_PX
        bars.append(
            ChartBar(
                index=index,
                text=f"{name} · {host} · {words}",
                title=f"{name} ({_str(p.get('host')) or 'Date field'}): {words}",
                x=_pct(x),
                width=_pct(w),
                text_y=y + 13,
                bar_y=y + 18,
                css=css,
            )
        )
    return bars, len(bars) * CHART_ROW_PX + 18, omitted, lo, hi
