"""The association heatmap: a matrix of cells shaded by strength, values written in."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

from reports.figures import svg


def heatmap(
    chart_id: str,
    text: svg.ChartText,
    labels: Sequence[str],
    strengths: Sequence[Sequence[float]],
    cell_text: Sequence[Sequence[str]],
    flagged: Sequence[Sequence[bool]] | None = None,
) -> Markup:
    """A square matrix coloured by strength: rows named, columns numbered (keyed by the rows)."""
    n = len(labels)
    numbered = [f"{i + 1}. {label}" for i, label in enumerate(labels)]
    left = svg.label_margin(numbered, maximum=300)
    cell = 30.0
    top = 28.0
    width = left + cell * n + 16
    height = top + cell * n + 40
    parts = []
    for j in range(n):
        parts.append(
            Markup('<text x="{x}" y="{y}" text-anchor="middle" class="tick">{k}</text>').format(
                x=svg.coord(left + j * cell + cell / 2), y=svg.coord(top - 8), k=j + 1
            )
        )
    for i, label in enumerate(numbered):
        y = top + i * cell
        parts.append(svg.row_label(label, left, y + cell / 2 + 4))
        for j in range(n):
            s = strengths[i][j]
            s = 0.0 if s is None or not math.isfinite(s) else abs(s)
            fill = svg.blend("#ffffff", "#08519c", s)
            ink = "#ffffff" if s > 0.55 else "#000000"
            is_flagged = bool(flagged and flagged[i][j])
            parts.append(
                Markup(
                    '<rect x="{x}" y="{y}" width="{c}" height="{c}" fill="{f}" stroke="{s}"'
                    ' stroke-width="{sw}"/><text x="{tx}" y="{ty}" text-anchor="middle" '
                    'class="cell" fill="{ink}">{v}</text>'
                ).format(
                    x=svg.coord(left + j * cell),
                    y=svg.coord(y),
                    c=svg.coord(cell),
                    f=fill,
                    s="#D55E00" if is_flagged else "#ffffff",
                    sw="3" if is_flagged else "1",
                    tx=svg.coord(left + j * cell + cell / 2),
                    ty=svg.coord(y + cell / 2 + 4),
                    ink=ink,
                    v=cell_text[i][j],
                )
            )
    parts.append(
        Markup('<text x="{x}" y="{y}" text-anchor="middle" class="axis-label">{xl}</text>').format(
            x=svg.coord(left + cell * n / 2), y=svg.coord(height - 10), xl=text.x_label
        )
    )
    return svg.figure(chart_id, text, Markup("").join(parts), width=width, height=height)
