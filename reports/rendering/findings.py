"""Key findings written from the data: each sentence is a catalogue message filled with figures.

A finding is only said when its figures exist (a warehouse without a model
run gets no model findings), so the text can never contradict the tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from markupsafe import Markup

from reports.data.statistics import Association, CategoricalComparison, NumericComparison
from reports.data.summaries import ClassBalance, Confusion
from reports.rendering.common import finite
from reports.rendering.i18n import Messages


def class_balance_finding(t: Messages, balance: ClassBalance) -> Markup:
    return t(
        "finding.class_balance",
        share=t.percent(balance.share_declined),
        n_declined=t.number(balance.n_declined),
        n=t.number(balance.n),
    )


def data_quality_finding(t: Messages, audit_summary: pd.DataFrame, n_label_fix_rows: int) -> Markup:
    def customers(reason: str) -> int:
        rows = audit_summary[audit_summary["reason"] == reason]
        return int(rows["n_customers"].sum())

    return t(
        "finding.data_quality",
        n_inactive=t.number(customers("inactive_zero_revenue")),
        n_implausible=t.number(customers("implausible_revenue")),
        n_duplicates=t.number(customers("possible_duplicate")),
        n_repeated=t.number(customers("repeated_id")),
        n_label_rows=t.number(n_label_fix_rows),
    )


def key_segment_finding(t: Messages, summary: pd.DataFrame, name: str) -> Markup | None:
    key = summary[summary["is_key_segment"].astype(bool)]
    if key.empty:
        return None
    row = key.iloc[0]
    total_risk = float(summary["total_profit_at_risk"].sum())
    share_of_risk = float(row["total_profit_at_risk"]) / total_risk if total_risk else math.nan
    return t(
        "finding.key_segment",
        name=name,
        share=t.percent(row["customer_share"]),
        n=t.number(row["n_customers"]),
        profit_at_risk=t.unit(row["total_profit_at_risk"], "profit"),
        share_of_risk=t.percent(share_of_risk),
    )


def model_finding(
    t: Messages, family: str, holdout_auc: float | None, confusion: Confusion | None
) -> Markup | None:
    if holdout_auc is None or not finite(holdout_auc):
        return None
    sentence = t("finding.model", family=family, auc=t.number(holdout_auc, 3))
    if confusion is not None and finite(confusion.recall) and finite(confusion.precision):
        sentence += Markup(" ") + t(
            "finding.threshold",
            threshold=t.number(confusion.threshold, 2),
            recall=t.percent(confusion.recall, 0),
            precision=t.percent(confusion.precision, 0),
        )
    return sentence


def top_driver_finding(t: Messages, importance: pd.DataFrame) -> Markup | None:
    ranked = importance.dropna(subset=["shap_mean_abs"])
    if ranked.empty:
        return None
    top = ranked.iloc[:3]
    names = [t.feature(f) for f in top["feature"]]
    return t(
        "finding.top_drivers",
        first=names[0],
        value=t.number(top["shap_mean_abs"].iloc[0], 3),
        others=", ".join(names[1:]) or "—",
    )


def profile_finding(t: Messages, profile: pd.DataFrame, comparison_name: str) -> Markup | None:
    """The (up to) three significant differences of the key segment, largest first."""
    if profile.empty:
        return None
    significant = profile[profile["is_significant"].astype(bool)].sort_values("difference_rank")
    if significant.empty:
        return t("finding.profile_none", comparison=comparison_name)
    parts = [
        t(
            "finding.profile_item",
            feature=t.feature(row.feature),
            key=t.feature_value(row.key_mean, row.feature),
            comparison=t.feature_value(row.comparison_mean, row.feature),
        )
        for row in significant.head(3).itertuples()
    ]
    return t("finding.profile", comparison=comparison_name, items=Markup("; ").join(parts))


def offers_finding(t: Messages, by_channel: pd.DataFrame, n_key_customers: int) -> Markup | None:
    if by_channel.empty:
        return None
    top = by_channel.iloc[0]
    return t(
        "finding.offers",
        n_offers=t.number(by_channel["n_offers"].sum()),
        n_customers=t.number(by_channel["n_customers"].max()),
        n_key=t.number(n_key_customers),
        channel=t.label("channel", top["channel"]),
        n_channel=t.number(top["n_offers"]),
    )


# --- EDA --------------------------------------------------------------------------------------


def eda_numeric_finding(
    t: Messages, comparisons: Sequence[NumericComparison], adjusted: Sequence[float]
) -> Markup | None:
    """The three numeric features whose classes differ most (significant after Holm)."""
    ranked = sorted(
        (
            (abs(c.rank_biserial), c, p)
            for c, p in zip(comparisons, adjusted, strict=True)
            if finite(p) and p < 0.05 and finite(c.rank_biserial)
        ),
        key=lambda item: (-item[0], item[1].feature),
    )
    if not ranked:
        return t("finding.eda_numeric_none")
    items = [
        t(
            "finding.eda_numeric_item",
            feature=t.feature(c.feature),
            declined=t.feature_value(c.median_declined, c.feature),
            same=t.feature_value(c.median_same, c.feature),
            effect=t.number(c.rank_biserial, 2),
        )
        for _, c, _ in ranked[:3]
    ]
    return t("finding.eda_numeric", n=t.number(len(ranked)), items=Markup("; ").join(items))


def eda_categorical_finding(
    t: Messages, comparisons: Sequence[CategoricalComparison], adjusted: Sequence[float]
) -> Markup | None:
    candidates = [(c, p) for c, p in zip(comparisons, adjusted, strict=True) if finite(c.cramers_v)]
    if not candidates:
        return None
    c, p = max(candidates, key=lambda item: (item[0].cramers_v, item[0].feature))
    key = "finding.eda_categorical" if finite(p) and p < 0.05 else "finding.eda_categorical_ns"
    return t(key, feature=t.feature(c.feature), v=t.number(c.cramers_v, 2), p=t.p_value(p))


def eda_collinearity_finding(t: Messages, pairs: Sequence[Association]) -> Markup:
    if not pairs:
        return t("finding.eda_collinearity_none")
    items = [
        t(
            "finding.eda_pair",
            a=t.feature(p.a),
            b=t.feature(p.b),
            value=t.number(p.value, 2),
            method=t.label("method", p.method),
        )
        for p in pairs[:5]
    ]
    return t("finding.eda_collinearity", n=t.number(len(pairs)), items=Markup("; ").join(items))


def eda_trend_finding(t: Messages, periods: pd.DataFrame, measure: str) -> Markup | None:
    """How the mean of *measure* moved from the first to the last period, per class."""
    rows = periods[periods["measure"] == measure]
    if rows.empty:
        return None
    values = {}
    for declined, group in rows.groupby("declined"):
        values[bool(declined)] = (group["mean"].iloc[0], group["mean"].iloc[-1])
    if set(values) != {True, False}:
        return None
    unit = "revenue" if measure == "revenue" else "min"
    return t(
        f"finding.eda_trend_{measure}",
        declined_from=t.unit(values[True][0], unit, 0),
        declined_to=t.unit(values[True][1], unit, 0),
        same_from=t.unit(values[False][0], unit, 0),
        same_to=t.unit(values[False][1], unit, 0),
    )
