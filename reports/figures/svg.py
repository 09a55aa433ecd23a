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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

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


def coord(value: float) -> str:
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


def _with_coords(template: str, coords: Mapping[str, float], **text: object) -> Markup:
    """*template* filled in: every value of *coords* written by :func:`coord`, *text* escaped."""
    return Markup(template).format(**{k: coord(v) for k, v in coords.items()}, **text)


def _grid_line(
    x1: float, x2: float, y1: float, y2: float, text_at: tuple[float, float, str], label: str
) -> Markup:
    """A grid line from (x1, y1) to (x2, y2) and its tick label at (x, y, text-anchor)."""
    tx, ty, anchor = text_at
    return _with_coords(
        '<line x1="{x1}" x2="{x2}" y1="{y1}" y2="{y2}" stroke="{grid}"/>'
        '<text x="{tx}" y="{ty}" text-anchor="{anchor}" class="tick">{label}</text>',
        {"x1": x1, "x2": x2, "y1": y1, "y2": y2, "tx": tx, "ty": ty},
        grid=GRID_COLOUR,
        anchor=anchor,
        label=label,
    )


def axes(frame: Frame, text: ChartText) -> Markup:
    """Grid, tick labels and axis labels."""
    parts = []
    x0, x1 = frame.left, frame.width - frame.right
    y0, y1 = frame.height - frame.bottom, frame.top
    for value, label in frame.y_ticks:
        y = frame.y(value)
        parts.append(_grid_line(x0, x1, y, y, (x0 - 6, y + 4, "end"), label))
    for value, label in frame.x_ticks:
        x = frame.x(value)
        parts.append(_grid_line(x, x, y0, y1, (x, y0 + 16, "middle"), label))
    frame_coords = {"x0": x0, "x1": x1, "y0": y0, "y1": y1}
    label_coords = {"xm": (x0 + x1) / 2, "yl": frame.height - 8, "xl": 14, "ym": (y0 + y1) / 2}
    parts.append(
        _with_coords(
            '<path d="M{x0} {y1}V{y0}H{x1}" fill="none" stroke="{axis}"/>'
            '<text x="{xm}" y="{yl}" text-anchor="middle" class="axis-label">{xlabel}</text>'
            '<text transform="translate({xl} {ym}) rotate(-90)" text-anchor="middle" '
            'class="axis-label">{ylabel}</text>',
            frame_coords | label_coords,
            axis=AXIS_COLOUR,
            xlabel=text.x_label,
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
        w=coord(width),
        h=coord(height),
        desc=text.desc,
        body=body,
        legend=legend(legend_items),
    )


def tick_labels(values: Sequence[float], fmt: Formatter) -> list[tuple[float, str]]:
    return [(v, fmt(v)) for v in values]


def label_margin(labels: Sequence[str], minimum: float = 60, maximum: float = 280) -> float:
    longest = max((len(label) for label in labels), default=0)
    return min(max(minimum, longest * CHAR_WIDTH + 14), maximum)


def clip_label(label: str, margin: float) -> str:
    """Shorten a label to fit the margin (the full label stays in the table beside)."""
    room = int((margin - 14) / CHAR_WIDTH)
    return label if len(label) <= room else label[: max(room - 1, 1)] + "…"


def row_label(label: str, margin: float, y: float) -> Markup:
    """A row's label right-aligned in the left *margin*, clipped to fit; the whole label
    is its tooltip."""
    return Markup(
        '<text x="{x}" y="{y}" text-anchor="end" class="tick">{label}<title>{full}</title></text>'
    ).format(x=coord(margin - 6), y=coord(y), label=clip_label(label, margin), full=label)


def blend(low: str, high: str, t: float) -> str:
    """Colour between *low* (t = 0) and *high* (t = 1)."""
    a = [int(low[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(high[i : i + 2], 16) for i in (1, 3, 5)]
    t = min(max(t, 0.0), 1.0)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))
