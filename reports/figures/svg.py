"""Charts as inline SVG, built from escaped parts: no plotting library, no external files.

Each function returns a whole ``<figure>``: a visible title and caption, the
SVG with ``<title>``/``<desc>`` and ``role="img"`` (the text alternative), axis
labels, and an HTML legend. Every piece of text goes through ``Markup.format``,
which escapes it, so a hostile label renders as text; the result is marked
safe only because it was assembled that way. Numbers on axes are formatted
by the caller's functions, so the charts speak the page's language.

No ``style`` attributes anywhere: the pages' Content-Security-Policy allows
only the one hashed stylesheet, and SVG presentation attributes (fill,
stroke) are not styles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from markupsafe import Markup
from scipy.stats import rankdata

Formatter = Callable[[float], str]

# Okabe–Ito: distinguishable with the common colour-vision deficiencies and in grey print.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DECLINED_COLOUR = "#D55E00"
SAME_COLOUR = "#0072B2"
NEUTRAL_COLOUR = "#8c8c8c"
GRID_COLOUR = "#e3e3e3"
AXIS_COLOUR = "#555555"

# A white halo keeps a reference line's label readable over the points beneath it.
REF_LABEL_ATTRS = 'class="ref-label" stroke="#fff" stroke-width="3" paint-order="stroke"'

WIDTH = 640
HEIGHT = 360
CHAR_WIDTH = 6.4  # rough width of one character at the 11px axis font, for margins


@dataclass(frozen=True)
class ChartText:
    """The words of a chart, already in the page's language."""

    title: str
    x_label: str
    y_label: str
    desc: str  # the text alternative: what the chart shows and its main figures
    caption: str = ""  # visible note under the title (sources, sampling)


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


@dataclass(frozen=True)
class Frame:
    """The plotting area inside the SVG and the data domain mapped onto it."""

    x_domain: tuple[float, float]
    y_domain: tuple[float, float]
    width: float = WIDTH
    height: float = HEIGHT
    left: float = 64
    right: float = 16
    top: float = 12
    bottom: float = 48
    x_ticks: Sequence[tuple[float, str]] = field(default_factory=list)
    y_ticks: Sequence[tuple[float, str]] = field(default_factory=list)

    def x(self, value: float) -> float:
        lo, hi = self.x_domain
        span = (hi - lo) or 1.0
        return self.left + (value - lo) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        lo, hi = self.y_domain
        span = (hi - lo) or 1.0
        return (
            self.height - self.bottom - (value - lo) / span * (self.height - self.top - self.bottom)
        )


def _n(value: float) -> str:
    """A coordinate, short and locale-independent."""
    return f"{value:.1f}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick positions covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi == lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def padded_domain(values: Sequence[float], pad: float = 0.05) -> tuple[float, float]:
    """Min and max of *values* widened by *pad* of the span (never empty)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return (0.0, 1.0)
    lo, hi = min(finite), max(finite)
    if lo == hi:
        return (lo - 1, hi + 1)
    span = hi - lo
    return (lo - span * pad, hi + span * pad)


def _axes(frame: Frame, text: ChartText) -> Markup:
    """Grid, tick labels and axis labels."""
    parts = []
    x0, x1 = frame.left, frame.width - frame.right
    y0, y1 = frame.height - frame.bottom, frame.top
    for value, label in frame.y_ticks:
        y = frame.y(value)
        parts.append(
            Markup(
                '<line x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="{grid}"/>'
                '<text x="{xt}" y="{yt}" text-anchor="end" class="tick">{label}</text>'
            ).format(
                x0=_n(x0),
                x1=_n(x1),
                y=_n(y),
                grid=GRID_COLOUR,
                xt=_n(x0 - 6),
                yt=_n(y + 4),
                label=label,
            )
        )
    for value, label in frame.x_ticks:
        x = frame.x(value)
        parts.append(
            Markup(
                '<line x1="{x}" x2="{x}" y1="{y0}" y2="{y1}" stroke="{grid}"/>'
                '<text x="{x}" y="{yt}" text-anchor="middle" class="tick">{label}</text>'
            ).format(x=_n(x), y0=_n(y0), y1=_n(y1), grid=GRID_COLOUR, yt=_n(y0 + 16), label=label)
        )
    parts.append(
        Markup(
            '<path d="M{x0} {y1}V{y0}H{x1}" fill="none" stroke="{axis}"/>'
            '<text x="{xm}" y="{yl}" text-anchor="middle" class="axis-label">{xlabel}</text>'
            '<text transform="translate({xl} {ym}) rotate(-90)" text-anchor="middle" '
            'class="axis-label">{ylabel}</text>'
        ).format(
            x0=_n(x0),
            x1=_n(x1),
            y0=_n(y0),
            y1=_n(y1),
            axis=AXIS_COLOUR,
            xm=_n((x0 + x1) / 2),
            yl=_n(frame.height - 8),
            xlabel=text.x_label,
            xl=_n(14),
            ym=_n((y0 + y1) / 2),
            ylabel=text.y_label,
        )
    )
    return Markup("").join(parts)


def legend(items: Sequence[tuple[str, str]]) -> Markup:
    """An HTML legend: a colour swatch and a name per item."""
    if not items:
        return Markup("")
    entries = [
        Markup(
            '<li><svg class="swatch" width="12" height="12" aria-hidden="true">'
            '<rect width="12" height="12" fill="{colour}"/></svg>{name}</li>'
        ).format(colour=colour, name=name)
        for name, colour in items
    ]
    return Markup('<ul class="legend">{}</ul>').format(Markup("").join(entries))


def figure(
    chart_id: str,
    text: ChartText,
    body: Markup,
    width: float = WIDTH,
    height: float = HEIGHT,
    legend_items: Sequence[tuple[str, str]] = (),
) -> Markup:
    """Wrap SVG *body* into an accessible figure with title, caption and legend."""
    caption = Markup('<span class="caption">{}</span>').format(text.caption) if text.caption else ""
    return Markup(
        '<figure class="chart" id="{id}">'
        '<figcaption><span class="chart-title">{title}</span>{caption}</figcaption>'
        '<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-labelledby="{id}-title {id}-desc">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        "{body}</svg>{legend}</figure>"
    ).format(
        id=chart_id,
        title=text.title,
        caption=caption,
        w=_n(width),
        h=_n(height),
        desc=text.desc,
        body=body,
        legend=legend(legend_items),
    )


def _ticks(values: Sequence[float], fmt: Formatter) -> list[tuple[float, str]]:
    return [(v, fmt(v)) for v in values]


def line_chart(
    chart_id: str,
    text: ChartText,
    series: Sequence[Series],
    fmt_x: Formatter,
    fmt_y: Formatter,
    x_domain: tuple[float, float] | None = None,
    y_domain: tuple[float, float] | None = None,
    x_ticks: Sequence[tuple[float, str]] | None = None,
    diagonal: bool = False,
) -> Markup:
    """Lines (optionally with markers) on shared axes; *diagonal* draws y = x for reference."""
    xs = [x for s in series for x in s.xs]
    ys = [y for s in series for y in s.ys]
    x_domain = x_domain or padded_domain(xs)
    y_domain = y_domain or padded_domain(ys)
    frame = Frame(
        x_domain=x_domain,
        y_domain=y_domain,
        x_ticks=x_ticks if x_ticks is not None else _ticks(nice_ticks(*x_domain), fmt_x),
        y_ticks=_ticks(nice_ticks(*y_domain), fmt_y),
    )
    parts = [_axes(frame, text)]
    if diagonal:
        lo = max(x_domain[0], y_domain[0])
        hi = min(x_domain[1], y_domain[1])
        parts.append(
            Markup(
                '<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="{c}" '
                'stroke-dasharray="4 4"/>'
            ).format(
                x0=_n(frame.x(lo)),
                y0=_n(frame.y(lo)),
                x1=_n(frame.x(hi)),
                y1=_n(frame.y(hi)),
                c=NEUTRAL_COLOUR,
            )
        )
    for s in series:
        points = [
            (frame.x(x), frame.y(y))
            for x, y in zip(s.xs, s.ys, strict=True)
            if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
        ]
        if not points:
            continue
        path = " ".join(f"{_n(px)},{_n(py)}" for px, py in points)
        parts.append(
            Markup(
                '<polyline points="{p}" fill="none" stroke="{c}" stroke-width="2"{dash}/>'
            ).format(
                p=path,
                c=s.colour,
                dash=Markup(' stroke-dasharray="6 3"') if s.dashed else "",
            )
        )
        if s.markers:
            sizes = s.marker_sizes or [3.0] * len(points)
            for (px, py), size in zip(points, sizes, strict=False):
                parts.append(
                    Markup('<circle cx="{x}" cy="{y}" r="{r}" fill="{c}"/>').format(
                        x=_n(px), y=_n(py), r=_n(size), c=s.colour
                    )
                )
    return figure(
        chart_id, text, Markup("").join(parts), legend_items=[(s.name, s.colour) for s in series]
    )


@dataclass(frozen=True)
class PointGroup:
    """Points of one colour in a scatter plot."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float]
    colour: str


def scatter(
    chart_id: str,
    text: ChartText,
    groups: Sequence[PointGroup],
    fmt_x: Formatter,
    fmt_y: Formatter,
    vlines: Sequence[tuple[float, str]] = (),
    hlines: Sequence[tuple[float, str]] = (),
    x_domain: tuple[float, float] | None = None,
    y_domain: tuple[float, float] | None = None,
) -> Markup:
    """Points coloured by group, with labelled reference lines (thresholds)."""
    xs = [x for g in groups for x in g.xs] + [v for v, _ in vlines]
    ys = [y for g in groups for y in g.ys] + [v for v, _ in hlines]
    x_domain = x_domain or padded_domain(xs)
    y_domain = y_domain or padded_domain(ys)
    frame = Frame(
        x_domain=x_domain,
        y_domain=y_domain,
        x_ticks=_ticks(nice_ticks(*x_domain), fmt_x),
        y_ticks=_ticks(nice_ticks(*y_domain), fmt_y),
    )
    parts = [_axes(frame, text)]
    for g in groups:
        circles = [
            Markup('<circle cx="{x}" cy="{y}" r="2.6"/>').format(x=_n(frame.x(x)), y=_n(frame.y(y)))
            for x, y in zip(g.xs, g.ys, strict=True)
        ]
        parts.append(
            Markup('<g fill="{c}" fill-opacity="0.7">{pts}</g>').format(
                c=g.colour, pts=Markup("").join(circles)
            )
        )
    for value, label in vlines:
        x = frame.x(value)
        parts.append(
            Markup(
                '<line x1="{x}" x2="{x}" y1="{y0}" y2="{y1}" stroke="#000" '
                'stroke-dasharray="5 3"/><text x="{xt}" y="{yt}" '
                + REF_LABEL_ATTRS
                + ">{label}</text>"
            ).format(
                x=_n(x),
                y0=_n(frame.height - frame.bottom),
                y1=_n(frame.top),
                xt=_n(x + 4),
                yt=_n(frame.top + 12),
                label=label,
            )
        )
    for value, label in hlines:
        y = frame.y(value)
        parts.append(
            Markup(
                '<line x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="#000" '
                'stroke-dasharray="5 3"/><text x="{xt}" y="{yt}" text-anchor="end" '
                + REF_LABEL_ATTRS
                + ">{label}</text>"
            ).format(
                x0=_n(frame.left),
                x1=_n(frame.width - frame.right),
                y=_n(y),
                xt=_n(frame.width - frame.right - 4),
                yt=_n(y - 5),
                label=label,
            )
        )
    return figure(
        chart_id, text, Markup("").join(parts), legend_items=[(g.name, g.colour) for g in groups]
    )


def _label_margin(labels: Sequence[str], minimum: float = 60, maximum: float = 280) -> float:
    longest = max((len(label) for label in labels), default=0)
    return min(max(minimum, longest * CHAR_WIDTH + 14), maximum)


def _clip(label: str, margin: float) -> str:
    """Shorten a label to fit the margin (the full label stays in the table beside)."""
    room = int((margin - 14) / CHAR_WIDTH)
    return label if len(label) <= room else label[: max(room - 1, 1)] + "…"


@dataclass(frozen=True)
class BarGroup:
    """One series of a (grouped) horizontal bar chart."""

    name: str
    values: Sequence[float]
    colour: str
    errors: Sequence[float] | None = None


def bar_chart(
    chart_id: str,
    text: ChartText,
    labels: Sequence[str],
    groups: Sequence[BarGroup],
    fmt_value: Formatter,
    value_domain: tuple[float, float] | None = None,
    show_legend: bool = True,
) -> Markup:
    """Horizontal bars, one row per label and one bar per group, value printed at the end."""
    n_groups = max(len(groups), 1)
    bar = 14.0 if n_groups == 1 else 11.0
    row = bar * n_groups + 10
    left = _label_margin(labels)
    height = 12 + 48 + row * len(labels)
    values = [v for g in groups for v in g.values if v is not None and math.isfinite(v)]
    tops = [
        v + (e or 0)
        for g in groups
        for v, e in zip(g.values, g.errors or [0] * len(g.values), strict=True)
        if v is not None and math.isfinite(v)
    ]
    lo = min([0.0, *values])
    hi = max([0.0, *tops]) or 1.0
    # room beyond the longest bar for its printed value, on whichever side it points
    value_domain = value_domain or (lo * 1.25 if lo < 0 else lo, hi * 1.12)
    frame = Frame(
        x_domain=value_domain,
        y_domain=(0, 1),
        height=height,
        left=left,
        right=56,
        x_ticks=_ticks(nice_ticks(*value_domain), fmt_value),
    )
    parts = [_axes(frame, ChartText(text.title, text.x_label, "", text.desc))]
    zero = frame.x(max(value_domain[0], 0.0))
    for i, label in enumerate(labels):
        y_row = frame.top + i * row + 5
        parts.append(
            Markup(
                '<text x="{x}" y="{y}" text-anchor="end" class="tick">{label}<title>{full}</title>'
                "</text>"
            ).format(x=_n(left - 6), y=_n(y_row + row / 2), label=_clip(label, left), full=label)
        )
        for j, g in enumerate(groups):
            value = g.values[i]
            if value is None or not math.isfinite(value):
                continue
            x = frame.x(value)
            y = y_row + j * bar
            parts.append(
                Markup(
                    '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}"/>'
                    '<text x="{xt}" y="{yt}" text-anchor="{anchor}" class="value">{v}</text>'
                ).format(
                    anchor="end" if value < 0 else "start",
                    x=_n(min(zero, x)),
                    y=_n(y),
                    w=_n(abs(x - zero)),
                    h=_n(bar - 2),
                    c=g.colour,
                    xt=_n(
                        x - 4
                        if value < 0
                        else max(zero, x)
                        + 4
                        + (frame.x(value + g.errors[i]) - x if g.errors else 0)
                    ),
                    yt=_n(y + bar - 4),
                    v=fmt_value(value),
                )
            )
            if g.errors and g.errors[i] is not None and math.isfinite(g.errors[i]):
                e0, e1 = frame.x(value - g.errors[i]), frame.x(value + g.errors[i])
                ym = y + (bar - 2) / 2
                parts.append(
                    Markup(
                        '<path d="M{e0} {ym}H{e1}M{e0} {ya}V{yb}M{e1} {ya}V{yb}" stroke="#000"/>'
                    ).format(e0=_n(e0), e1=_n(e1), ym=_n(ym), ya=_n(ym - 3), yb=_n(ym + 3))
                )
    items = [(g.name, g.colour) for g in groups] if show_legend and len(groups) > 1 else []
    return figure(chart_id, text, Markup("").join(parts), height=height, legend_items=items)


def histogram_by_class(
    chart_id: str,
    text: ChartText,
    edges: Sequence[float],
    groups: Sequence[BarGroup],
    fmt_x: Formatter,
    fmt_y: Formatter,
    width: float = 420,
    height: float = 240,
) -> Markup:
    """Side-by-side bars per bin, one bar per class (shares within the class)."""
    edges = list(edges)
    top = max((v for g in groups for v in g.values), default=1.0) or 1.0
    frame = Frame(
        x_domain=(edges[0], edges[-1]),
        y_domain=(0, top * 1.1),
        width=width,
        height=height,
        left=52,
        x_ticks=_ticks(nice_ticks(edges[0], edges[-1], 4), fmt_x),
        y_ticks=_ticks(nice_ticks(0, top * 1.1, 4), fmt_y),
    )
    parts = [_axes(frame, text)]
    n = max(len(groups), 1)
    for i in range(len(edges) - 1):
        x0, x1 = frame.x(edges[i]), frame.x(edges[i + 1])
        slot = (x1 - x0) / n
        for j, g in enumerate(groups):
            value = g.values[i]
            y = frame.y(value)
            parts.append(
                Markup('<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}"/>').format(
                    x=_n(x0 + j * slot + 0.5),
                    y=_n(y),
                    w=_n(max(slot - 1, 0.5)),
                    h=_n(frame.y(0) - y),
                    c=g.colour,
                )
            )
    return figure(
        chart_id,
        text,
        Markup("").join(parts),
        width=width,
        height=height,
        legend_items=[(g.name, g.colour) for g in groups],
    )


def _blend(low: str, high: str, t: float) -> str:
    """Colour between *low* (t = 0) and *high* (t = 1)."""
    a = [int(low[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(high[i : i + 2], 16) for i in (1, 3, 5)]
    t = min(max(t, 0.0), 1.0)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def heatmap(
    chart_id: str,
    text: ChartText,
    labels: Sequence[str],
    strengths: Sequence[Sequence[float]],
    cell_text: Sequence[Sequence[str]],
    flagged: Sequence[Sequence[bool]] | None = None,
) -> Markup:
    """A square matrix coloured by strength: rows named, columns numbered (keyed by the rows)."""
    n = len(labels)
    numbered = [f"{i + 1}. {label}" for i, label in enumerate(labels)]
    left = _label_margin(numbered, maximum=300)
    cell = 30.0
    top = 28.0
    width = left + cell * n + 16
    height = top + cell * n + 40
    parts = []
    for j in range(n):
        parts.append(
            Markup('<text x="{x}" y="{y}" text-anchor="middle" class="tick">{k}</text>').format(
                x=_n(left + j * cell + cell / 2), y=_n(top - 8), k=j + 1
            )
        )
    for i, label in enumerate(numbered):
        y = top + i * cell
        parts.append(
            Markup(
                '<text x="{x}" y="{y}" text-anchor="end" class="tick">{label}<title>{full}</title>'
                "</text>"
            ).format(x=_n(left - 6), y=_n(y + cell / 2 + 4), label=_clip(label, left), full=label)
        )
        for j in range(n):
            s = strengths[i][j]
            s = 0.0 if s is None or not math.isfinite(s) else abs(s)
            fill = _blend("#ffffff", "#08519c", s)
            ink = "#ffffff" if s > 0.55 else "#000000"
            is_flagged = bool(flagged and flagged[i][j])
            parts.append(
                Markup(
                    '<rect x="{x}" y="{y}" width="{c}" height="{c}" fill="{f}" stroke="{s}"'
                    ' stroke-width="{sw}"/><text x="{tx}" y="{ty}" text-anchor="middle" '
                    'class="cell" fill="{ink}">{v}</text>'
                ).format(
                    x=_n(left + j * cell),
                    y=_n(y),
                    c=_n(cell),
                    f=fill,
                    s="#D55E00" if is_flagged else "#ffffff",
                    sw="3" if is_flagged else "1",
                    tx=_n(left + j * cell + cell / 2),
                    ty=_n(y + cell / 2 + 4),
                    ink=ink,
                    v=cell_text[i][j],
                )
            )
    parts.append(
        Markup('<text x="{x}" y="{y}" text-anchor="middle" class="axis-label">{xl}</text>').format(
            x=_n(left + cell * n / 2), y=_n(height - 10), xl=text.x_label
        )
    )
    return figure(chart_id, text, Markup("").join(parts), width=width, height=height)


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


def beeswarm(
    chart_id: str,
    text: ChartText,
    rows: Sequence[SwarmRow],
    fmt_x: Formatter,
    low_label: str,
    high_label: str,
    other_label: str,
) -> Markup:
    """SHAP summary: one row per feature, a dot per customer at its SHAP value,
    coloured from low (blue) to high (vermillion) feature value; grey for categories."""
    labels = [r.label for r in rows]
    left = _label_margin(labels)
    row_h = 26.0
    height = 12 + 48 + row_h * len(rows)
    values = [v for r in rows for v in r.shap]
    lo, hi = padded_domain(values, 0.04)
    frame = Frame(
        x_domain=(lo, hi),
        y_domain=(0, 1),
        height=height,
        left=left,
        x_ticks=_ticks(nice_ticks(lo, hi), fmt_x),
    )
    parts = [_axes(frame, ChartText(text.title, text.x_label, "", text.desc))]
    zero = frame.x(0.0)
    parts.append(
        Markup('<line x1="{x}" x2="{x}" y1="{y0}" y2="{y1}" stroke="{c}"/>').format(
            x=_n(zero), y0=_n(frame.top), y1=_n(height - frame.bottom), c=AXIS_COLOUR
        )
    )
    for i, r in enumerate(rows):
        centre = frame.top + i * row_h + row_h / 2
        parts.append(
            Markup(
                '<text x="{x}" y="{y}" text-anchor="end" class="tick">{label}<title>{full}</title>'
                "</text>"
            ).format(x=_n(left - 6), y=_n(centre + 4), label=_clip(r.label, left), full=r.label)
        )
        pixels = [frame.x(v) for v in r.shap]
        offsets = swarm_offsets(pixels, 2.4, row_h / 2 - 2)
        dots = []
        for k, (px, dy) in enumerate(zip(pixels, offsets, strict=True)):
            colour = (
                _blend(SAME_COLOUR, DECLINED_COLOUR, r.colour_rank[k])
                if r.colour_rank is not None
                else NEUTRAL_COLOUR
            )
            dots.append(
                Markup('<circle cx="{x}" cy="{y}" r="1.6" fill="{c}"/>').format(
                    x=_n(px), y=_n(centre + dy), c=colour
                )
            )
        parts.append(Markup("<g>{}</g>").format(Markup("").join(dots)))
    return figure(
        chart_id,
        text,
        Markup("").join(parts),
        height=height,
        legend_items=[
            (low_label, SAME_COLOUR),
            (high_label, DECLINED_COLOUR),
            (other_label, NEUTRAL_COLOUR),
        ],
    )


def value_ranks(values: Sequence[float]) -> list[float]:
    """Each value's rank scaled to 0–1 (ties share the mean rank), for beeswarm colours."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2:
        return [0.5] * len(array)
    return [float(r) for r in (rankdata(array, method="average") - 1) / (len(array) - 1)]
