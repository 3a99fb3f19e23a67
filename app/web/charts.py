"""Server-rendered inline SVG charts (no JavaScript): bars per topic, a line of scores over time, and a
calendar heatmap of activity."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from html import escape


def _percent(value: float) -> str:
    return f"{round(value * 100)}%"


def bar_chart(rows: list[tuple[str, float]], *, title: str, width: int = 560, scale: float = 1.0,
              value_text: Callable[[float], str] = _percent, weak_below: float | None = 0.6) -> str:
    """Horizontal bars, one per (label, value in 0..scale): scores by default; counts with scale and
    value_text. Bars under `weak_below` (of the scale) are marked weak."""
    bar_h, gap, label_w, pad = 22, 8, 150, 8
    height = max(1, len(rows)) * (bar_h + gap) + pad * 2
    plot_w = width - label_w - 60
    parts = [f'<svg class="chart bar-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(rows):
        y = pad + i * (bar_h + gap)
        share = max(0.0, min(1.0, value / scale)) if scale > 0 else 0.0
        w = share * plot_w
        cls = "bar weak" if weak_below is not None and share < weak_below else "bar"
        short = label if len(label) <= 12 else label[:11] + "…"
        parts.append(f'<text class="label" x="{label_w - 6}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">'
                     f"{escape(short)}</text>")
        parts.append(f'<rect class="track" x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" rx="3"/>')
        parts.append(f'<rect class="{cls}" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3"/>')
        parts.append(f'<text class="value" x="{label_w + plot_w + 6}" y="{y + bar_h * 0.7:.1f}">'
                     f"{escape(value_text(value))}</text>")
    parts.append("</svg>")
    return "".join(parts)


def line_chart(points: list[tuple[str, float]], *, title: str, width: int = 560, height: int = 220) -> str:
    """Scores (0..1) in order, labelled by date strings."""
    left, right, top, bottom = 40, 16, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg class="chart line-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{round(frac * 100)}</text>')
    n = len(points)
    coords = []
    for i, (_, score) in enumerate(points):
        x = left + (plot_w * (i / (n - 1)) if n > 1 else plot_w / 2)
        y = top + plot_h * (1 - max(0.0, min(1.0, score)))
        coords.append((x, y))
    if len(coords) > 1:
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline class="line" points="{d}"/>')
    for (x, y), (label, score) in zip(coords, points, strict=True):
        parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="4"><title>{escape(label)}: '
                     f"{round(score * 100)}</title></circle>")
    if points:
        parts.append(f'<text class="axis" x="{left}" y="{height - 8}">{escape(points[0][0])}</text>')
        if n > 1:
            parts.append(f'<text class="axis" x="{left + plot_w}" y="{height - 8}" text-anchor="end">'
                         f"{escape(points[-1][0])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def heat_level(count: int, peak: int) -> int:
    """0 for no activity, else 1..4 by the share of the busiest day (GitHub-style quartiles)."""
    if count <= 0 or peak <= 0:
        return 0
    return min(4, max(1, -(-count * 4 // peak)))


def heatmap_start(today: date, weeks: int) -> date:
    """The Monday that opens the heatmap's first column."""
    return today - timedelta(days=today.weekday() + 7 * (weeks - 1))


def calendar_heatmap(per_day: Mapping[str, int], *, today: date, title: str, weeks: int = 52,
                     day_title: Callable[[str, int], str], month_names: Sequence[str],
                     weekday_names: Sequence[str], less: str, more: str) -> str:
    """Activity per day (ISO date -> count) as weeks in columns, Monday on top, ending with today's week.

    Every day carries a <title> with its date and count; the legend runs from `less` to `more`."""
    cell, step, left, top = 11, 13, 30, 18
    first = heatmap_start(today, weeks)
    peak = max((n for d, n in per_day.items() if first.isoformat() <= d <= today.isoformat()), default=0)
    width, height = left + (weeks + 1) * step, top + 7 * step + 26
    parts = [f'<svg class="chart heatmap" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for row in (0, 2, 4):
        parts.append(f'<text class="axis" x="{left - 4}" y="{top + row * step + cell - 1}" text-anchor="end">'
                     f"{escape(weekday_names[row])}</text>")
    for week in range(weeks):
        monday = first + timedelta(days=7 * week)
        x = left + week * step
        if monday.day <= 7 and week < weeks - 1:  # the column where a month begins
            parts.append(f'<text class="axis" x="{x}" y="{top - 6}">{escape(month_names[monday.month - 1])}</text>')
        for wd in range(7):
            day = monday + timedelta(days=wd)
            if day > today:
                break
            iso = day.isoformat()
            n = per_day.get(iso, 0)
            parts.append(f'<rect class="day l{heat_level(n, peak)}" x="{x}" y="{top + wd * step}" width="{cell}" '
                         f'height="{cell}" rx="2"><title>{escape(day_title(iso, n))}</title></rect>')
    parts.append(_heat_legend(width, top + 7 * step + 8, cell, step, less, more))
    parts.append("</svg>")
    return "".join(parts)


def _heat_legend(width: int, y: int, cell: int, step: int, less: str, more: str) -> str:
    right = width - 4 - step * 5 - 34
    cells = "".join(f'<rect class="day l{level}" x="{right + level * step}" y="{y}" width="{cell}" height="{cell}" '
                    f'rx="2"/>' for level in range(5))
    return (f'<g class="legend" aria-hidden="true"><text class="axis" x="{right - 4}" y="{y + cell - 1}" '
            f'text-anchor="end">{escape(less)}</text>{cells}<text class="axis" x="{right + 5 * step + 2}" '
            f'y="{y + cell - 1}">{escape(more)}</text></g>')
