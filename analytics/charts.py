"""Charts drawn on the server as inline SVG: no JavaScript library, nothing from a CDN.

Each chart is an <svg role="img"> with a <title> and a <desc> (what it shows, in words); the
pages put the same numbers in a table next to it. Every piece of text is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Okabe-Ito colours (distinguishable with colour blindness), plus dash patterns so lines also
# differ without colour.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
DASHES = ["", "6 3", "2 3", "8 3 2 3", "", "6 3", "2 3"]


@dataclass
class Series:
    label: str
    points: Sequence[tuple[float, float | None]]  # (x, y); y None = no value (a gap)
    color: str = PALETTE[0]
    dash: str = ""
    muted: bool = False  # drawn thin and faint (e.g. the previous period)


def style(index: int) -> tuple[str, str]:
    """(colour, dash pattern) of the index-th series."""
    return PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)]


def nice_step(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^n at or above `value`."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10.0**exponent
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def y_axis(highest: float, *, whole: bool = True) -> tuple[float, int]:
    """(maximum, intervals) of a y axis from 0 whose grid lines fall on round numbers: 3 to 5
    intervals of 1, 2 or 5 x 10^n, the lowest maximum that holds `highest`. Whole numbers
    (counts) never get a step below 1."""
    best: tuple[float, int] | None = None
    for intervals in (4, 5, 3):
        step = nice_step(highest / intervals) if highest > 0 else 1.0
        if whole:
            step = max(step, 1.0)
        top = step * intervals
        if best is None or top < best[0] - 1e-9:
            best = (top, intervals)
    return best


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    series: Sequence[Series],
    x_range: tuple[float, float],
    x_ticks: Sequence[tuple[float, str]],
    y_format: Callable[[float], str],
    width: int = 600,
    height: int = 200,
    legend: bool = False,
    whole: bool = True,
) -> SafeString:
    """A line chart: y from 0 to a round maximum with 3-5 grid intervals, x linear in x_range.
    `whole`: the values are counts (no grid line between two whole numbers)."""
    left, right, top = 56, 12, 10
    bottom = 24
    legend_height = 18 * math.ceil(len(series) / 3) if legend else 0
    plot_w = width - left - right
    plot_h = height - top - bottom - legend_height
    x0, x1 = x_range
    span = (x1 - x0) or 1.0
    highest = max((y for s in series for _x, y in s.points if y is not None), default=0)
    y_max, intervals = y_axis(highest, whole=whole)

    def px(x: float) -> float:
        return left + (x - x0) / span * plot_w

    def py(y: float) -> float:
        return top + plot_h - (y / y_max) * plot_h

    cid = escape(chart_id)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{cid}-title {cid}-desc" data-testid="chart">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
        '<g class="chart-grid">',
    ]
    for step in range(intervals + 1):
        value = y_max * step / intervals
        y = _n(py(value))
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}"/>')
        out.append(
            f'<text x="{left - 6}" y="{y}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(y_format(value))}</text>"
        )
    out.append('</g><g class="chart-x">')
    for x, label in x_ticks:
        out.append(
            f'<text x="{_n(px(x))}" y="{top + plot_h + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    out.append("</g>")
    for s in series:
        width_attr = "1.5" if s.muted else "2.5"
        opacity = ' stroke-opacity="0.45"' if s.muted else ""
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        for segment in _segments(s.points):
            coords = " ".join(f"{_n(px(x))},{_n(py(y))}" for x, y in segment)
            if len(segment) == 1:
                x, y = segment[0]
                out.append(f'<circle cx="{_n(px(x))}" cy="{_n(py(y))}" r="3" fill="{s.color}"/>')
                continue
            out.append(
                f'<polyline fill="none" stroke="{s.color}" stroke-width="{width_attr}"'
                f'{opacity}{dash} stroke-linejoin="round" points="{coords}"/>'
            )
    if legend:
        out.append('<g class="chart-legend">')
        for index, s in enumerate(series):
            col, row = index % 3, index // 3
            lx = left + col * (plot_w / 3)
            ly = height - legend_height + row * 18 + 9
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            out.append(
                f'<line x1="{_n(lx)}" x2="{_n(lx + 22)}" y1="{ly}" y2="{ly}" stroke="{s.color}" '
                f'stroke-width="2.5"{dash}/>'
                f'<text x="{_n(lx + 28)}" y="{ly}" dominant-baseline="middle">'
                f"{escape(s.label)}</text>"
            )
        out.append("</g>")
    out.append("</svg>")
    return mark_safe("".join(out))  # every text above went through escape()


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of points with a value; a None breaks the line."""
    segments: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((x, y))
    return [s for s in segments if s]


@dataclass(frozen=True)
class Cell:
    row: int
    column: int
    intensity: float | None  # 0..1; None = not enough data (drawn hatched)
    label: str  # the cell's tooltip, e.g. "Tue 18:00: 4.2 % (5 posts)"
    text: str = ""  # written inside the cell (the best slots)


def heatmap_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[str],
    columns: Sequence[str],
    cells: Sequence[Cell],
    column_every: int = 3,
    cell: int = 26,
) -> SafeString:
    """A grid of len(rows) x len(columns) cells shaded by intensity; empty cells stay blank."""
    left, top = 40, 20
    width = left + cell * len(columns) + 4
    height = top + cell * len(rows) + 4
    cid = escape(chart_id)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-heatmap" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'data-testid="heatmap">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
        "<defs>"
        f'<pattern id="{cid}-thin" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#adb5bd" '
        'stroke-width="2"/></pattern></defs>',
        '<g class="chart-x">',
    ]
    for index, label in enumerate(columns):
        if index % column_every == 0:
            x = left + index * cell + cell / 2
            out.append(
                f'<text x="{_n(x)}" y="{top - 6}" text-anchor="middle">{escape(label)}</text>'
            )
    out.append('</g><g class="chart-y">')
    for index, label in enumerate(rows):
        y = top + index * cell + cell / 2
        out.append(
            f'<text x="{left - 6}" y="{_n(y)}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(label)}</text>"
        )
    out.append('</g><g class="chart-cells">')
    for index in range(len(rows) * len(columns)):
        row, column = divmod(index, len(columns))
        out.append(
            f'<rect class="chart-cell-empty" x="{left + column * cell}" y="{top + row * cell}" '
            f'width="{cell - 2}" height="{cell - 2}" rx="3"/>'
        )
    for c in cells:
        x, y = left + c.column * cell, top + c.row * cell
        if c.intensity is None:
            fill = f'fill="url(#{cid}-thin)"'
        else:
            # From a pale to a strong blue: light cells stay visible on white paper.
            fill = (
                f'fill="#0b5ed7" fill-opacity="{0.12 + 0.88 * max(0.0, min(1.0, c.intensity)):.2f}"'
            )
        out.append(
            f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" rx="3" {fill}>'
            f"<title>{escape(c.label)}</title></rect>"
        )
        if c.text:
            colour = "#fff" if (c.intensity or 0) > 0.55 else "#212529"
            out.append(
                f'<text x="{_n(x + (cell - 2) / 2)}" y="{_n(y + (cell - 2) / 2)}" '
                f'text-anchor="middle" dominant-baseline="central" fill="{colour}" '
                f'class="chart-cell-text">{escape(c.text)}</text>'
            )
    out.append("</g></svg>")
    return mark_safe("".join(out))  # every text above went through escape()
