"""Charts as inline SVG figures, from plain numbers and words already in the page's language.

Nothing here reads the warehouse or knows a page: contexts in reports/rendering
pass values, labels and number formatters in, and get escaped markup back.
"""

from reports.figures.bars import BarGroup, bar_chart, histogram_by_class
from reports.figures.heatmap import heatmap
from reports.figures.lines import Series, line_chart
from reports.figures.points import (
    PointGroup,
    SwarmRow,
    beeswarm,
    scatter,
    swarm_offsets,
    value_ranks,
)
from reports.figures.svg import (
    DECLINED_COLOUR,
    NEUTRAL_COLOUR,
    PALETTE,
    SAME_COLOUR,
    ChartText,
    nice_ticks,
    padded_domain,
)

__all__ = [
    "DECLINED_COLOUR",
    "NEUTRAL_COLOUR",
    "PALETTE",
    "SAME_COLOUR",
    "BarGroup",
    "ChartText",
    "PointGroup",
    "Series",
    "SwarmRow",
    "bar_chart",
    "beeswarm",
    "heatmap",
    "histogram_by_class",
    "line_chart",
    "nice_ticks",
    "padded_domain",
    "scatter",
    "swarm_offsets",
    "value_ranks",
]
