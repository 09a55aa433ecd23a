"""The exploratory analysis page (eda.html): each feature against the class, periods,
associations between features.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from reports import figures
from reports.data import statistics
from reports.data.export import PERIOD_ORDER
from reports.data.load import ReportData
from reports.data.warehouse import Part
from reports.figures import BarGroup, ChartText, Series
from reports.rendering import findings, naming
from reports.rendering.common import (
    Page,
    chart_text,
    records,
)
from reports.rendering.i18n import Messages


def sample_note(t: Messages, part: Part) -> Markup | None:
    """What the exploratory statistics were computed on, when not on every customer."""
    if not part.is_partial:
        return None
    return t("eda.sampled", n=t.number(part.n), total=t.number(part.n_total))


def class_bars(t: Messages, declined: list[float], same: list[float]) -> list[BarGroup]:
    """The two bars of a class comparison: declined first, in the declined colour."""
    return [
        BarGroup(t.text("class.declined"), declined, figures.DECLINED_COLOUR),
        BarGroup(t.text("class.same"), same, figures.SAME_COLOUR),
    ]


def histogram_chart(
    t: Messages, comparison: statistics.NumericComparison, values: pd.Series, target: pd.Series
) -> Markup:
    """A numeric feature's distribution in each class (shares of the class per bin)."""
    feature = comparison.feature
    edges, declined, same = statistics.class_histograms(values, target)
    return figures.histogram_by_class(
        f"chart-hist-{naming.slug(feature)}",
        ChartText(
            title=t.feature(feature),
            x_label=t.feature(feature),
            y_label=t.text("chart.histogram.y"),
            desc=t.text(
                "chart.histogram.desc",
                feature=t.feature(feature),
                declined=t.feature_value(comparison.median_declined, feature),
                same=t.feature_value(comparison.median_same, feature),
            ),
        ),
        edges,
        class_bars(t, list(declined), list(same)),
        fmt_x=lambda v: t.number(v, 0 if abs(v) >= 10 else 1),
        fmt_y=lambda v: t.percent(v, 0),
    )


def categorical_chart(t: Messages, comparison: statistics.CategoricalComparison) -> Markup:
    """A categorical feature's levels: the share of each class at each level."""
    feature, shares = comparison.feature, comparison.shares
    return figures.bar_chart(
        f"chart-cat-{naming.slug(feature)}",
        ChartText(
            title=t.feature(feature),
            x_label=t.text("chart.categorical.x"),
            y_label="",
            desc=t.text(
                "chart.categorical.desc",
                feature=t.feature(feature),
                v=t.number(comparison.cramers_v, 2),
            ),
        ),
        [t.label(f"level.{feature}", level) for level in shares.index],
        class_bars(t, shares["declined"].fillna(0).tolist(), shares["same"].fillna(0).tolist()),
        fmt_value=lambda v: t.percent(v, 0),
        value_domain=(0.0, 1.0),
    )


def association_heatmap(
    t: Messages,
    columns: list[str],
    matrix: list[list[statistics.Association]],
    pairs: list[statistics.Association],
) -> Markup:
    """Every pairwise association as a heatmap, the strongly associated pairs flagged."""
    strong = {(p.a, p.b) for p in pairs} | {(p.b, p.a) for p in pairs}
    return figures.heatmap(
        "chart-associations",
        chart_text(
            t, "associations", caption=t.text("chart.associations.caption"), n=t.number(len(pairs))
        ),
        [t.feature(c) for c in columns],
        [[a.strength for a in row] for row in matrix],
        [[t.number(a.value, 2) for a in row] for row in matrix],
        flagged=[[(a.a, a.b) in strong for a in row] for row in matrix],
    )


def eda_context(data: ReportData, t: Messages) -> dict:
    """The exploratory analysis: statistics on data.features (every customer or a stated
    sample), class counts and per-period figures over every customer."""
    features, cols = data.features, data.columns
    target = features[cols.target].astype(bool)
    numeric = [statistics.compare_numeric(f, features[f], target) for f in cols.numeric]
    numeric_adj = statistics.holm([c.p_value for c in numeric])
    categorical = [statistics.compare_categorical(f, features[f], target) for f in cols.categorical]
    categorical_adj = statistics.holm([c.p_value for c in categorical])
    periods = statistics.order_periods(data.periods, PERIOD_ORDER)
    period_charts = [period_chart(t, periods, measure) for measure in ("revenue", "minutes")]
    matrix_columns = [cols.target, *cols.features]
    matrix = statistics.association_matrix(
        features, matrix_columns, {cols.target, *cols.categorical}
    )
    # multicollinearity: features only, not the target
    pairs = statistics.strong_pairs([row[1:] for row in matrix[1:]])
    target_row = {a.b: a for a in matrix[0]}
    eda_findings = [
        findings.class_balance_finding(t, data.balance),
        findings.eda_numeric_finding(t, numeric, numeric_adj),
        findings.eda_categorical_finding(t, categorical, categorical_adj),
        findings.eda_trend_finding(t, periods, "revenue"),
        findings.eda_trend_finding(t, periods, "minutes"),
        findings.eda_collinearity_finding(t, pairs),
    ]
    return {
        "balance": data.balance,
        "sample_note": sample_note(t, data.feature_part),
        "numeric": [
            {
                "c": c,
                "p_adj": p,
                "chart": histogram_chart(t, c, features[c.feature], target),
                "target_assoc": target_row.get(c.feature),
            }
            for c, p in zip(numeric, numeric_adj, strict=True)
        ],
        "categorical": [
            {"c": c, "p_adj": p, "chart": categorical_chart(t, c), "levels": list(c.shares.index)}
            for c, p in zip(categorical, categorical_adj, strict=True)
        ],
        "periods": records(periods),
        "period_charts": [c for c in period_charts if c is not None],
        "heatmap": association_heatmap(t, matrix_columns, matrix, pairs),
        "pairs": pairs,
        "findings": [f for f in eda_findings if f is not None],
    }


def period_chart(t: Messages, periods: pd.DataFrame, measure: str) -> Markup | None:
    rows = periods[periods["measure"] == measure]
    if rows.empty:
        return None
    order = [p for p in PERIOD_ORDER if p in set(rows["period"])]
    order += sorted(set(rows["period"]) - set(order))
    position = {p: i for i, p in enumerate(order)}
    series = []
    for declined, colour in ((True, figures.DECLINED_COLOUR), (False, figures.SAME_COLOUR)):
        part = rows[rows["declined"] == declined].sort_values(
            "period", key=lambda s: s.map(position)
        )
        series.append(
            Series(
                name=t.text("class.declined" if declined else "class.same"),
                xs=[float(position[p]) for p in part["period"]],
                ys=part["mean"].astype(float).tolist(),
                colour=colour,
                markers=True,
            )
        )
    unit = "revenue" if measure == "revenue" else "min"
    y_values = rows["mean"].astype(float)
    lo, hi = float(y_values.min()), float(y_values.max())
    pad = (hi - lo) * 0.15 or abs(hi) * 0.1 or 1.0
    return figures.line_chart(
        f"chart-period-{measure}",
        ChartText(
            title=t.text(f"chart.period_{measure}.title"),
            x_label=t.text("chart.period.x"),
            y_label=(
                t.with_money_unit(t.text(f"chart.period_{measure}.y"), "revenue")
                if measure == "revenue"
                else t.text(f"chart.period_{measure}.y")
            ),
            desc=t.text(f"chart.period_{measure}.desc"),
        ),
        series,
        fmt_x=lambda v: "",
        fmt_y=lambda v: t.unit(v, unit, 0),
        x_domain=(-0.3, len(order) - 0.7),
        y_domain=(lo - pad, hi + pad),
        x_ticks=[(float(i), t.label("period", p)) for i, p in enumerate(order)],
    )


def eda_page(data: ReportData, t: Messages) -> Page:
    return Page(
        filename="eda.html",
        template="eda.html",
        title=t.text("eda.title"),
        context={"eda": eda_context(data, t)},
    )
