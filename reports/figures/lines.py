"""Line charts: evaluation curves and per-period means."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from reports.figures import svg


@dataclass(frozen=True)
class Series:
    """A line (or points) to draw."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float]
    colour: str
    dashed: bool = False
    markers: bool = False
    marker_sizes: Sequence[float] | None = None


def _diagonal(
    frame: svg.Frame, x_domain: tuple[float, float], y_domain: tuple[float, float]
) -> Markup:
    """The dashed line y = x over the part of the plot both domains share."""
    lo = max(x_domain[0], y_domain[0])
    hi = min(x_domain[1], y_domain[1])
    return Markup(
        '<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="{c}" stroke-dasharray="4 4"/>'
    ).format(
        x0=svg.coord(frame.x(lo)),
        y0=svg.coord(frame.y(lo)),
        x1=svg.coord(frame.x(hi)),
        y1=svg.coord(frame.y(hi)),
        c=svg.NEUTRAL_COLOUR,
    )


def _series(frame: svg.Frame, s: Series) -> Markup:
    """One series as a polyline through its finite points, with its markers if asked."""
    points = [
        (frame.x(x), frame.y(y))
        for x, y in zip(s.xs, s.ys, strict=True)
        if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
    ]
    if not points:
        return Markup("")
    path = " ".join(f"{svg.coord(px)},{svg.coord(py)}" for px, py in points)
    parts = [
        Markup('<polyline points="{p}" fill="none" stroke="{c}" stroke-width="2"{dash}/>').format(
            p=path, c=s.colour, dash=Markup(' stroke-dasharray="6 3"') if s.dashed else ""
        )
    ]
    if s.markers:
        sizes = s.marker_sizes or [3.0] * len(points)
        parts += [
            Markup('<circle cx="{x}" cy="{y}" r="{r}" fill="{c}"/>').format(
                x=svg.coord(px), y=svg.coord(py), r=svg.coord(size), c=s.colour
            )
            for (px, py), size in zip(points, sizes, strict=False)
        ]
    return Markup("").join(parts)


def line_chart(
    chart_id: str,
    text: svg.ChartText,
    series: Sequence[Series],
    fmt_x: svg.Formatter,
    fmt_y: svg.Formatter,
    x_domain: tuple[float, float] | None = None,
    y_domain: tuple[float, float] | None = None,
    x_ticks: Sequence[tuple[float, str]] | None = None,
    diagonal: bool = False,
) -> Markup:
    """Lines (optionally with markers) on shared axes; *diagonal* draws y = x for reference."""
    xs = [x for s in series for x in s.xs]
    ys = [y for s in series for y in s.ys]
    x_domain = x_domain or svg.padded_domain(xs)
    y_domain = y_domain or svg.padded_domain(ys)
    frame = svg.Frame(
        x_domain=x_domain,
        y_domain=y_domain,
        x_ticks=x_ticks
        if x_ticks is not None
        else svg.tick_labels(svg.nice_ticks(*x_domain), fmt_x),
        y_ticks=svg.tick_labels(svg.nice_ticks(*y_domain), fmt_y),
    )
    parts = [svg.axes(frame, text)]
    if diagonal:
        parts.append(_diagonal(frame, x_domain, y_domain))
    parts += [_series(frame, s) for s in series]
    return svg.figure(
        chart_id, text, Markup("").join(parts), legend_items=[(s.name, s.colour) for s in series]
    )
