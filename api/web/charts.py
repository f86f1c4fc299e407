"""Line charts as inline SVG, drawn on the server: no JavaScript, no CDN, no dependency.

A chart is a few lines of ``(t, value)`` points (Unix seconds; optional min and max after the value,
which only the summary uses). Points further apart than ``gap_s`` are not joined: a monitor that was
down shows as a gap, not as a straight line across it. Everything is drawn in ``currentColor`` with
dash patterns telling lines apart, so the page's light or dark text colour carries over and no line
is told apart by colour alone. The output is deterministic (same input, same bytes): it can be
cached and compared in tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

MAX_POINTS = 300  # per line: more than the plot's width in pixels would add bytes, not detail
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 40  # margins for the axis labels
DASHES = ("", "6 3", "2 3", "8 3 2 3")  # line 1 solid, then dashed, dotted, dash-dot
STYLES = ("solid", "dashed", "dotted", "dash-dot")  # the same, in words for the table

Point = tuple[float, ...]  # (t, value) or (t, value, min, max)


@dataclass(frozen=True)
class Line:
    label: str
    points: Sequence[Point]


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str  # shown after every value: "%", "MB", "req/s"
    since: float  # Unix seconds: the x axis spans since..until whatever the data covers
    until: float
    lines: Sequence[Line] = field(default_factory=tuple)
    gap_s: float = math.inf  # consecutive points further apart than this are not joined
    y_max: float | None = None  # a fixed top (100 for percentages); else a round number above the data
    description: str = ""


@dataclass(frozen=True)
class Summary:
    label: str
    min: float
    avg: float
    max: float
    latest: float
    points: int
    style: str  # how its line is drawn, so the table says which line is which without colour


def _with_unit(text: str, unit: str) -> str:
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}".rstrip()


def fmt(value: float, unit: str) -> str:
    """A value with its unit, with as many decimals as its size needs."""
    digits = 0 if value == 0 or abs(value) >= 100 else 1 if abs(value) >= 1 else 2
    return _with_unit(f"{value:.{digits}f}", unit)


def tick(value: float, unit: str) -> str:
    """An axis label: axis values are round, so no trailing zeros ("50%", "2.5 MB")."""
    return _with_unit(f"{value:g}", unit)


def downsample(points: Sequence[Point], limit: int = MAX_POINTS) -> list[Point]:
    """At most ``limit`` points: consecutive runs averaged (min of mins, max of maxes)."""
    if len(points) <= limit:
        return list(points)
    size = math.ceil(len(points) / limit)
    out: list[Point] = []
    for start in range(0, len(points), size):
        chunk = points[start:start + size]
        avg = sum(p[1] for p in chunk) / len(chunk)
        low = min(p[2] if len(p) > 3 else p[1] for p in chunk)
        high = max(p[3] if len(p) > 3 else p[1] for p in chunk)
        out.append((chunk[0][0], avg, low, high))
    return out


def summarize(line: Line, *, style: str = STYLES[0]) -> Summary | None:
    """min/avg/max/latest of a line, the text alternative to its drawing; None when it is empty."""
    points = line.points
    if not points:
        return None
    return Summary(label=line.label,
                   min=min(p[2] if len(p) > 3 else p[1] for p in points),
                   avg=sum(p[1] for p in points) / len(points),
                   max=max(p[3] if len(p) > 3 else p[1] for p in points),
                   latest=points[-1][1], points=len(points), style=style)


def summaries(chart: Chart) -> list[Summary]:
    """The table beside a chart: one row per line that has points."""
    rows = (summarize(line, style=STYLES[i % len(STYLES)]) for i, line in enumerate(chart.lines))
    return [row for row in rows if row is not None]


def segments(points: Sequence[Point], gap_s: float) -> list[list[Point]]:
    """Runs of points to join; a step in time wider than ``gap_s`` starts a new run."""
    runs: list[list[Point]] = []
    for point in points:
        if runs and point[0] - runs[-1][-1][0] <= gap_s:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value`` (a readable axis top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value * (1 - 1e-9))


def _time_ticks(since: float, until: float) -> list[tuple[float, str]]:
    """Every 6 hours (HH:MM) up to two days, else every midnight (MM-DD); UTC, like the axis says."""
    hours = 6 if until - since <= 2 * 86400 else 24
    step = hours * 3600
    ticks = []
    t = math.ceil(since / step) * step
    while t <= until:
        moment = datetime.fromtimestamp(t, tz=UTC)
        ticks.append((t, moment.strftime("%H:%M" if hours < 24 else "%m-%d")))
        t += step
    return ticks


def _polyline(run: list[Point], x, y, dash: str) -> str:  # type: ignore[no-untyped-def]
    if len(run) == 1:  # a lone point between gaps: a dot, since a one-point line draws nothing
        return f'<circle cx="{x(run[0][0]):.1f}" cy="{y(run[0][1]):.1f}" r="2" fill="currentColor"/>'
    coords = " ".join(f"{x(p[0]):.1f},{y(p[1]):.1f}" for p in run)
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline points="{coords}" fill="none" stroke="currentColor" stroke-width="1.5"'
            f' stroke-linejoin="round"{dashed}/>')


def _axes(chart: Chart, top: float, x, y) -> list[str]:  # type: ignore[no-untyped-def]
    parts = []
    for value in (0.0, top / 2, top):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}"'
                     ' stroke="currentColor" stroke-opacity="0.2"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
                     f'{escape(tick(value, chart.unit))}</text>')
    for t, label in _time_ticks(chart.since, chart.until):
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"'
                     ' stroke="currentColor" stroke-opacity="0.1"/>')
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 4}" text-anchor="middle">'
                 'time (UTC)</text>')
    return parts


def svg(chart: Chart, *, chart_id: str) -> str:
    """The chart as an inline ``<svg role="img">`` with a <title> and <desc>; "no data yet" text when
    no line has a point, rather than an empty box."""
    lines = [Line(line.label, downsample(line.points)) for line in chart.lines]
    if not any(line.points for line in lines):
        return f'<p class="muted chart-empty" id="{escape(chart_id)}">{escape(chart.title)}: no data yet</p>'
    data_max = max(p[1] for line in lines for p in line.points)
    top = chart.y_max if chart.y_max is not None else nice_ceiling(data_max)
    span = max(chart.until - chart.since, 1e-9)
    x = lambda t: LEFT + (t - chart.since) / span * (WIDTH - LEFT - RIGHT)  # noqa: E731
    y = lambda v: TOP + (1 - min(max(v, 0.0), top) / top) * (HEIGHT - TOP - BOTTOM)  # noqa: E731
    ident = escape(chart_id)
    desc = chart.description or "; ".join(
        f"{s.label}: min {fmt(s.min, chart.unit)}, average {fmt(s.avg, chart.unit)}, "
        f"max {fmt(s.max, chart.unit)}, latest {fmt(s.latest, chart.unit)}"
        for s in summaries(Chart(chart.title, chart.unit, chart.since, chart.until, lines)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{ident}" viewBox="0 0 {WIDTH} {HEIGHT}"'
             f' width="100%" role="img" aria-labelledby="{ident}-title {ident}-desc" font-size="12"'
             ' fill="currentColor">',
             f'<title id="{ident}-title">{escape(chart.title)}</title>',
             f'<desc id="{ident}-desc">{escape(desc)}</desc>',
             *_axes(chart, top, x, y)]
    for index, line in enumerate(lines):
        dash = DASHES[index % len(DASHES)]
        parts.append(f'<g class="series"><title>{escape(line.label)}</title>')
        parts.extend(_polyline(run, x, y, dash) for run in segments(line.points, chart.gap_s))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
