"""Two small hand-written SVG charts for the report: a histogram and a line chart.

Hand-written rather than matplotlib: the report must be one self-contained file, the
charts are simple, and the library would add ~40 MB and a second of import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 44
COLOURS = ("#2563eb", "#16a34a", "#ea580c", "#9333ea")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    points: tuple[tuple[float, float], ...]


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


class _Frame:
    """Maps data coordinates into the plot area and draws the axes."""

    def __init__(self, x: tuple[float, float], y: tuple[float, float]):
        self.x0, self.x1 = x if x[1] > x[0] else (x[0] - 0.5, x[0] + 0.5)
        self.y0, self.y1 = y if y[1] > y[0] else (y[0], y[0] + 1)
        self.w = WIDTH - LEFT - RIGHT
        self.h = HEIGHT - TOP - BOTTOM

    def px(self, x: float) -> float:
        return LEFT + (x - self.x0) / (self.x1 - self.x0) * self.w

    def py(self, y: float) -> float:
        return TOP + self.h - (y - self.y0) / (self.y1 - self.y0) * self.h

    def axes(self, x_label: str, y_label: str) -> list[str]:
        out = [
            f'<rect x="{LEFT}" y="{TOP}" width="{self.w}" height="{self.h}" '
            'fill="none" stroke="#94a3b8"/>'
        ]
        for t in _ticks(self.x0, self.x1):
            x = self.px(t)
            out.append(
                f'<text x="{x:.1f}" y="{TOP + self.h + 16}" text-anchor="middle">{_fmt(t)}</text>'
            )
        for t in _ticks(self.y0, self.y1):
            y = self.py(t)
            out.append(
                f'<line x1="{LEFT}" x2="{LEFT + self.w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            )
            out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
        out.append(
            f'<text x="{LEFT + self.w / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
            f"{escape(x_label)}</text>"
        )
        out.append(
            f'<text transform="translate(14 {TOP + self.h / 2}) rotate(-90)" '
            f'text-anchor="middle">{escape(y_label)}</text>'
        )
        return out


def _svg(body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}" '
        'font-family="system-ui, sans-serif" font-size="11" fill="#334155">'
        + "".join(body)
        + "</svg>"
    )


def histogram(
    values: Sequence[float],
    *,
    x_label: str,
    title: str,
    bins: int = 24,
    markers: Sequence[tuple[str, float]] = (),
) -> str:
    """Bars of counts. A long tail past 3x the 95th percentile is folded into the last bar."""
    if not values:
        return _svg([f'<text x="{LEFT}" y="40">no data</text>'], title)
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    lo = min(0.0, ordered[0])
    hi = ordered[-1] if ordered[-1] <= 3 * p95 or p95 <= 0 else 3 * p95
    hi = hi if hi > lo else lo + 1
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in ordered:
        counts[min(bins - 1, max(0, int((v - lo) / width)))] += 1
    frame = _Frame((lo, hi), (0, max(counts)))
    body = frame.axes(x_label, "questions")
    for i, c in enumerate(counts):
        if c:
            x, y = frame.px(lo + i * width), frame.py(c)
            bar_w = frame.px(lo + (i + 1) * width) - x - 1
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w, 1):.1f}" '
                f'height="{frame.py(0) - y:.1f}" fill="{COLOURS[0]}"><title>{c}</title></rect>'
            )
    for i, (name, value) in enumerate(markers):
        body.extend(_marker(frame, min(value, hi), name, i))
    return _svg(body, title)


def _stepped(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for i, (x, y) in enumerate(points):
        if i:
            out.append((points[i - 1][0], y))
        out.append((x, y))
    return out


def _marker(frame: _Frame, x_value: float, name: str, i: int) -> list[str]:
    x = frame.px(x_value)
    # Labels in the right third go on the line's left, so they stay inside the chart.
    right = x > LEFT + frame.w * 2 / 3
    anchor, tx = ("end", x - 4) if right else ("start", x + 4)
    return [
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + frame.h}" stroke="#0f172a" '
        'stroke-dasharray="4 3"/>',
        f'<text x="{tx:.1f}" y="{TOP + 12 + 13 * i}" text-anchor="{anchor}" fill="#0f172a">'
        f"{escape(name)}</text>",
    ]


def line_chart(
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    title: str,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] = (0.0, 1.0),
    markers: Sequence[tuple[str, float]] = (),
    steps: bool = False,
) -> str:
    """Lines through the points; with `steps`, each y holds from the previous x up to its
    own x (a threshold curve: the outcome is constant between two confidences)."""
    xs = [x for s in series for x, _ in s.points]
    if not xs:
        return _svg([f'<text x="{LEFT}" y="40">no data</text>'], title)
    frame = _Frame(x_range or (min(xs), max(xs)), y_range)
    body = frame.axes(x_label, y_label)
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        points = _stepped(s.points) if steps else list(s.points)
        pts = " ".join(
            f"{frame.px(x):.1f},{frame.py(y):.1f}"
            for x, y in points
            if frame.x0 <= x <= frame.x1
        )
        body.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        lx = LEFT + 8
        ly = HEIGHT - BOTTOM - 10 - 14 * (len(series) - 1 - i)
        body.append(f'<rect x="{lx}" y="{ly - 8}" width="10" height="10" fill="{colour}"/>')
        body.append(f'<text x="{lx + 14}" y="{ly + 1}">{escape(s.name)}</text>')
    for i, (name, value) in enumerate(markers):
        if frame.x0 <= value <= frame.x1:
            body.extend(_marker(frame, value, name, i))
    return _svg(body, title)
