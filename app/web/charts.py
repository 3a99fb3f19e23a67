"""Server-rendered inline SVG charts (no JavaScript): bars per topic, a line of scores over time."""

from __future__ import annotations

from html import escape


def bar_chart(rows: list[tuple[str, float]], *, title: str, width: int = 560) -> str:
    """Horizontal bars, one per (label, score in 0..1)."""
    bar_h, gap, label_w, pad = 22, 8, 150, 8
    height = max(1, len(rows)) * (bar_h + gap) + pad * 2
    plot_w = width - label_w - 60
    parts = [f'<svg class="chart bar-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for i, (label, score) in enumerate(rows):
        y = pad + i * (bar_h + gap)
        w = max(0.0, min(1.0, score)) * plot_w
        cls = "bar weak" if score < 0.6 else "bar"
        short = label if len(label) <= 12 else label[:11] + "…"
        parts.append(f'<text class="label" x="{label_w - 6}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">'
                     f"{escape(short)}</text>")
        parts.append(f'<rect class="track" x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" rx="3"/>')
        parts.append(f'<rect class="{cls}" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3"/>')
        parts.append(f'<text class="value" x="{label_w + plot_w + 6}" y="{y + bar_h * 0.7:.1f}">'
                     f"{round(score * 100)}%</text>")
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
