"""Bar charts: grouped bars with optional error bars, and class histograms."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from reports.figures import svg


@dataclass(frozen=True)
class BarGroup:
    """One series of a (grouped) horizontal bar chart."""

    name: str
    values: Sequence[float]
    colour: str
    errors: Sequence[float] | None = None


def _value_range(groups: Sequence[BarGroup]) -> tuple[float, float]:
    """Lowest value (or 0) and highest value plus its error bar (or 1 when all are 0)."""
    values = [v for g in groups for v in g.values if v is not None and math.isfinite(v)]
    tops = [
        v + (e or 0)
        for g in groups
        for v, e in zip(g.values, g.errors or [0] * len(g.values), strict=True)
        if v is not None and math.isfinite(v)
    ]
    return min([0.0, *values]), max([0.0, *tops]) or 1.0


def _bar(
    frame: svg.Frame,
    zero: float,
    y: float,
    bar: float,
    value: float,
    error: float | None,
    colour: str,
) -> tuple[float, Markup]:
    """A bar from *zero* to *value*, and where its printed value starts (past the error)."""
    x = frame.x(value)
    text_x = x - 4 if value < 0 else max(zero, x) + 4 + (frame.x(value + error) - x if error else 0)
    rect = Markup('<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}"/>').format(
        x=svg.coord(min(zero, x)),
        y=svg.coord(y),
        w=svg.coord(abs(x - zero)),
        h=svg.coord(bar - 2),
        c=colour,
    )
    return text_x, rect


def _error_bar(frame: svg.Frame, y: float, bar: float, value: float, error: float) -> Markup:
    """A whisker from *value* − *error* to *value* + *error* across the bar's middle."""
    e0, e1 = frame.x(value - error), frame.x(value + error)
    ym = y + (bar - 2) / 2
    return Markup('<path d="M{e0} {ym}H{e1}M{e0} {ya}V{yb}M{e1} {ya}V{yb}" stroke="#000"/>').format(
        e0=svg.coord(e0),
        e1=svg.coord(e1),
        ym=svg.coord(ym),
        ya=svg.coord(ym - 3),
        yb=svg.coord(ym + 3),
    )


def bar_chart(
    chart_id: str,
    text: svg.ChartText,
    labels: Sequence[str],
    groups: Sequence[BarGroup],
    fmt_value: svg.Formatter,
    value_domain: tuple[float, float] | None = None,
    show_legend: bool = True,
) -> Markup:
    """Horizontal bars, one row per label and one bar per group, value printed at the end."""
    n_groups = max(len(groups), 1)
    bar = 14.0 if n_groups == 1 else 11.0
    row = bar * n_groups + 10
    left = svg.label_margin(labels)
    height = 12 + 48 + row * len(labels)
    lo, hi = _value_range(groups)
    # room beyond the longest bar for its printed value, on whichever side it points
    value_domain = value_domain or (lo * 1.25 if lo < 0 else lo, hi * 1.12)
    frame = svg.Frame(
        x_domain=value_domain,
        y_domain=(0, 1),
        height=height,
        left=left,
        right=56,
        x_ticks=svg.tick_labels(svg.nice_ticks(*value_domain), fmt_value),
    )
    parts = [svg.axes(frame, svg.ChartText(text.title, text.x_label, "", text.desc))]
    zero = frame.x(max(value_domain[0], 0.0))
    for i, label in enumerate(labels):
        y_row = frame.top + i * row + 5
        parts.append(svg.row_label(label, left, y_row + row / 2))
        for j, g in enumerate(groups):
            value = g.values[i]
            if value is None or not math.isfinite(value):
                continue
            y = y_row + j * bar
            error = g.errors[i] if g.errors else None
            text_x, rect = _bar(frame, zero, y, bar, value, error, g.colour)
            parts.append(
                rect
                + Markup(
                    '<text x="{xt}" y="{yt}" text-anchor="{anchor}" class="value">{v}</text>'
                ).format(
                    xt=svg.coord(text_x),
                    yt=svg.coord(y + bar - 4),
                    anchor="end" if value < 0 else "start",
                    v=fmt_value(value),
                )
            )
            if error is not None and math.isfinite(error):
                parts.append(_error_bar(frame, y, bar, value, error))
    items = [(g.name, g.colour) for g in groups] if show_legend and len(groups) > 1 else []
    return svg.figure(chart_id, text, Markup("").join(parts), height=height, legend_items=items)


def histogram_by_class(
    chart_id: str,
    text: svg.ChartText,
    edges: Sequence[float],
    groups: Sequence[BarGroup],
    fmt_x: svg.Formatter,
    fmt_y: svg.Formatter,
    width: float = 420,
    height: float = 240,
) -> Markup:
    """Side-by-side bars per bin, one bar per class (shares within the class)."""
    edges = list(edges)
    top = max((v for g in groups for v in g.values), default=1.0) or 1.0
    frame = svg.Frame(
        x_domain=(edges[0], edges[-1]),
        y_domain=(0, top * 1.1),
        width=width,
        height=height,
        left=52,
        x_ticks=svg.tick_labels(svg.nice_ticks(edges[0], edges[-1], 4), fmt_x),
        y_ticks=svg.tick_labels(svg.nice_ticks(0, top * 1.1, 4), fmt_y),
    )
    parts = [svg.axes(frame, text)]
    n = max(len(groups), 1)
    for i in range(len(edges) - 1):
        x0, x1 = frame.x(edges[i]), frame.x(edges[i + 1])
        slot = (x1 - x0) / n
        for j, g in enumerate(groups):
            value = g.values[i]
            y = frame.y(value)
            parts.append(
                Markup('<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}"/>').format(
                    x=svg.coord(x0 + j * slot + 0.5),
                    y=svg.coord(y),
                    w=svg.coord(max(slot - 1, 0.5)),
                    h=svg.coord(frame.y(0) - y),
                    c=g.colour,
                )
            )
    return svg.figure(
        chart_id,
        text,
        Markup("").join(parts),
        width=width,
        height=height,
        legend_items=[(g.name, g.colour) for g in groups],
    )
