"""Point charts: the segment map (scatter) and the SHAP beeswarm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup
from scipy.stats import rankdata

from reports.figures import svg


@dataclass(frozen=True)
class PointGroup:
    """Points of one colour in a scatter plot."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float]
    colour: str


def _vertical_line(frame: svg.Frame, value: float, label: str) -> Markup:
    """A dashed reference line at x = *value*, labelled at its top."""
    x = frame.x(value)
    return Markup(
        '<line x1="{x}" x2="{x}" y1="{y0}" y2="{y1}" stroke="#000" '
        'stroke-dasharray="5 3"/><text x="{xt}" y="{yt}" ' + svg.REF_LABEL_ATTRS + ">{label}</text>"
    ).format(
        x=svg.coord(x),
        y0=svg.coord(frame.height - frame.bottom),
        y1=svg.coord(frame.top),
        xt=svg.coord(x + 4),
        yt=svg.coord(frame.top + 12),
        label=label,
    )


def _horizontal_line(frame: svg.Frame, value: float, label: str) -> Markup:
    """A dashed reference line at y = *value*, labelled at its right end."""
    y = frame.y(value)
    return Markup(
        '<line x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="#000" '
        'stroke-dasharray="5 3"/><text x="{xt}" y="{yt}" text-anchor="end" '
        + svg.REF_LABEL_ATTRS
        + ">{label}</text>"
    ).format(
        x0=svg.coord(frame.left),
        x1=svg.coord(frame.width - frame.right),
        y=svg.coord(y),
        xt=svg.coord(frame.width - frame.right - 4),
        yt=svg.coord(y - 5),
        label=label,
    )


def scatter(
    chart_id: str,
    text: svg.ChartText,
    groups: Sequence[PointGroup],
    fmt_x: svg.Formatter,
    fmt_y: svg.Formatter,
    vlines: Sequence[tuple[float, str]] = (),
    hlines: Sequence[tuple[float, str]] = (),
    x_domain: tuple[float, float] | None = None,
    y_domain: tuple[float, float] | None = None,
) -> Markup:
    """Points coloured by group, with labelled reference lines (thresholds)."""
    xs = [x for g in groups for x in g.xs] + [v for v, _ in vlines]
    ys = [y for g in groups for y in g.ys] + [v for v, _ in hlines]
    x_domain = x_domain or svg.padded_domain(xs)
    y_domain = y_domain or svg.padded_domain(ys)
    frame = svg.Frame(
        x_domain=x_domain,
        y_domain=y_domain,
        x_ticks=svg.tick_labels(svg.nice_ticks(*x_domain), fmt_x),
        y_ticks=svg.tick_labels(svg.nice_ticks(*y_domain), fmt_y),
    )
    parts = [svg.axes(frame, text)]
    for g in groups:
        circles = [
            Markup('<circle cx="{x}" cy="{y}" r="2.6"/>').format(
                x=svg.coord(frame.x(x)), y=svg.coord(frame.y(y))
            )
            for x, y in zip(g.xs, g.ys, strict=True)
        ]
        parts.append(
            Markup('<g fill="{c}" fill-opacity="0.7">{pts}</g>').format(
                c=g.colour, pts=Markup("").join(circles)
            )
        )
    parts += [_vertical_line(frame, value, label) for value, label in vlines]
    parts += [_horizontal_line(frame, value, label) for value, label in hlines]
    return svg.figure(
        chart_id, text, Markup("").join(parts), legend_items=[(g.name, g.colour) for g in groups]
    )


@dataclass(frozen=True)
class SwarmRow:
    """One feature of a beeswarm: SHAP values and the feature's value rank (0–1) or None."""

    label: str
    shap: Sequence[float]
    colour_rank: Sequence[float] | None


def swarm_offsets(pixels: Sequence[float], dot: float, half_height: float) -> list[float]:
    """Vertical offsets that stack dots falling in the same horizontal slot, alternating
    above and below the row's centre line; deterministic, so the page is too.

    A row with more dots than fit is squeezed to *half_height*.
    """
    slots: dict[int, int] = {}
    offsets = []
    for px in pixels:
        slot = int(px // dot)
        k = slots.get(slot, 0)
        slots[slot] = k + 1
        level = (k + 1) // 2
        offsets.append(level * dot * (1 if k % 2 else -1))
    widest = max((abs(o) for o in offsets), default=0.0)
    if widest > half_height:
        scale = half_height / widest
        offsets = [o * scale for o in offsets]
    return offsets


def _swarm_dots(frame: svg.Frame, row: SwarmRow, centre: float, half_height: float) -> Markup:
    """A feature's dots around its row's *centre*, coloured by the feature value's rank."""
    pixels = [frame.x(v) for v in row.shap]
    offsets = swarm_offsets(pixels, 2.4, half_height)
    dots = []
    for k, (px, dy) in enumerate(zip(pixels, offsets, strict=True)):
        colour = (
            svg.blend(svg.SAME_COLOUR, svg.DECLINED_COLOUR, row.colour_rank[k])
            if row.colour_rank is not None
            else svg.NEUTRAL_COLOUR
        )
        dots.append(
            Markup('<circle cx="{x}" cy="{y}" r="1.6" fill="{c}"/>').format(
                x=svg.coord(px), y=svg.coord(centre + dy), c=colour
            )
        )
    return Markup("<g>{}</g>").format(Markup("").join(dots))


def beeswarm(
    chart_id: str,
    text: svg.ChartText,
    rows: Sequence[SwarmRow],
    fmt_x: svg.Formatter,
    low_label: str,
    high_label: str,
    other_label: str,
) -> Markup:
    """SHAP summary: one row per feature, a dot per customer at its SHAP value,
    coloured from low (blue) to high (vermillion) feature value; grey for categories."""
    labels = [r.label for r in rows]
    left = svg.label_margin(labels)
    row_h = 26.0
    height = 12 + 48 + row_h * len(rows)
    values = [v for r in rows for v in r.shap]
    lo, hi = svg.padded_domain(values, 0.04)
    frame = svg.Frame(
        x_domain=(lo, hi),
        y_domain=(0, 1),
        height=height,
        left=left,
        x_ticks=svg.tick_labels(svg.nice_ticks(lo, hi), fmt_x),
    )
    parts = [svg.axes(frame, svg.ChartText(text.title, text.x_label, "", text.desc))]
    zero = frame.x(0.0)
    parts.append(
        Markup('<line x1="{x}" x2="{x}" y1="{y0}" y2="{y1}" stroke="{c}"/>').format(
            x=svg.coord(zero),
            y0=svg.coord(frame.top),
            y1=svg.coord(height - frame.bottom),
            c=svg.AXIS_COLOUR,
        )
    )
    for i, r in enumerate(rows):
        centre = frame.top + i * row_h + row_h / 2
        parts.append(svg.row_label(r.label, left, centre + 4))
        parts.append(_swarm_dots(frame, r, centre, row_h / 2 - 2))
    return svg.figure(
        chart_id,
        text,
        Markup("").join(parts),
        height=height,
        legend_items=[
            (low_label, svg.SAME_COLOUR),
            (high_label, svg.DECLINED_COLOUR),
            (other_label, svg.NEUTRAL_COLOUR),
        ],
    )


def value_ranks(values: Sequence[float]) -> list[float]:
    """Each value's rank scaled to 0–1 (ties share the mean rank), for beeswarm colours."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2:
        return [0.5] * len(array)
    return [float(r) for r in (rankdata(array, method="average") - 1) / (len(array) - 1)]
