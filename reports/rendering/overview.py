"""The overview page (index.html): data quality, class balance, the model, the segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
from markupsafe import Markup

from reports import figures
from reports.data import summaries
from reports.data.load import ReportData
from reports.data.model import ModelData, ModelRun
from reports.data.quality import label_fixes
from reports.data.segments import SegmentData
from reports.data.warehouse import Part
from reports.figures import BarGroup, PointGroup, Series, SwarmRow
from reports.rendering import findings
from reports.rendering.common import (
    Page,
    candidates_of,
    chart_text,
    finite,
    listed_part,
    of_segment,
    offer_texts,
    records,
    run_filename,
    segment_colours,
    segment_display_name,
    segment_filenames,
    segment_names,
)
from reports.rendering.i18n import Messages


def quality_context(data: ReportData, t: Messages) -> dict:
    fixes = label_fixes(data.label_spellings, data.label_map)
    listed = Part(len(data.audit_records), int(data.audit_summary["n_records"].sum()))
    return {
        "rows_per_file": records(data.rows_per_file),
        "audit_summary": records(data.audit_summary),
        "audit_records": records(data.audit_records),
        "audit_records_note": t(
            "quality.audit_records_capped",
            shown=t.number(listed.n),
            total=t.number(listed.n_total),
            per_reason=t.number(data.limits.audit_records_per_reason),
        )
        if listed.is_partial
        else None,
        "label_fixes": records(fixes),
        "n_label_fix_rows": int(fixes["n_rows"].sum()) if not fixes.empty else 0,
    }


def class_balance_chart(t: Messages, balance: summaries.ClassBalance) -> Markup:
    labels = [t.text("class.declined"), t.text("class.same")]
    return figures.bar_chart(
        "chart-class-balance",
        chart_text(
            t,
            "class_balance",
            n_declined=t.number(balance.n_declined),
            n_same=t.number(balance.n_same),
            share=t.percent(balance.share_declined),
        ),
        labels,
        [
            BarGroup(
                t.text("chart.class_balance.x"),
                [balance.n_declined, balance.n_same],
                figures.DECLINED_COLOUR,
            )
        ],
        fmt_value=lambda v: t.number(v),
    )


def candidates_chart(t: Messages, candidates: pd.DataFrame, chosen: str | None) -> Markup | None:
    rows = candidates.dropna(subset=["cv_roc_auc_mean"])
    if rows.empty:
        return None
    labels = [t.label("family", f) for f in rows["family"]]
    best = rows.iloc[0]
    return figures.bar_chart(
        "chart-candidates",
        chart_text(
            t,
            "candidates",
            n=t.number(len(rows)),
            best=t.label("family", best["family"]),
            auc=t.number(best["cv_roc_auc_mean"], 3),
        ),
        labels,
        [
            BarGroup(
                t.text("chart.candidates.x"),
                [float(v) for v in rows["cv_roc_auc_mean"]],
                figures.SAME_COLOUR,
                errors=[float(v) if finite(v) else 0.0 for v in rows["cv_roc_auc_std"]],
            )
        ],
        fmt_value=lambda v: t.number(v, 3),
        value_domain=(0.0, 1.0),
    )


def _curve_series(
    t: Messages, curves: pd.DataFrame, curve: str, markers: bool = False
) -> list[Series]:
    series = []
    for i, (dataset, points) in enumerate(curves[curves["curve"] == curve].groupby("dataset")):
        points = points.sort_values("point_index")
        sizes = None
        if markers and points["bin_count"].notna().any():
            counts = points["bin_count"].fillna(0).to_numpy(dtype=float)
            sizes = list(2.5 + 5.5 * np.sqrt(counts / max(counts.max(), 1)))
        series.append(
            Series(
                name=t.label("dataset", dataset),
                xs=points["x"].astype(float).tolist(),
                ys=points["y"].astype(float).tolist(),
                colour=figures.PALETTE[i % len(figures.PALETTE)],
                markers=markers,
                marker_sizes=sizes,
            )
        )
    return series


def curve_chart(t: Messages, curves: pd.DataFrame, curve: str, run: ModelRun) -> Markup | None:
    """ROC, precision-recall or calibration chart of a run from ml.evaluation_curves."""
    series = _curve_series(t, curves, curve, markers=curve == "calibration")
    if not series:
        return None
    fmt = lambda v: t.number(v, 1)  # noqa: E731
    return figures.line_chart(
        f"chart-{curve}",
        chart_text(
            t,
            curve,
            y_label=t.text(f"chart.{curve}.y"),
            caption=t.text(f"chart.{curve}.caption"),
            datasets=", ".join(s.name for s in series),
            holdout=t.number(run.holdout_roc_auc, 3),
            oof=t.number(run.oof_roc_auc, 3),
        ),
        series,
        fmt_x=fmt,
        fmt_y=fmt,
        x_domain=(0.0, 1.0),
        y_domain=(0.0, 1.0),
        diagonal=curve in ("roc", "calibration"),
    )


def importance_chart(t: Messages, importance: pd.DataFrame) -> Markup | None:
    rows = importance.dropna(subset=["shap_mean_abs"])
    if rows.empty:
        return None
    return figures.bar_chart(
        "chart-importance",
        chart_text(
            t,
            "importance",
            first=t.feature(rows["feature"].iloc[0]),
            value=t.number(rows["shap_mean_abs"].iloc[0], 3),
        ),
        [t.feature(f) for f in rows["feature"]],
        [BarGroup("", rows["shap_mean_abs"].astype(float).tolist(), figures.SAME_COLOUR)],
        fmt_value=lambda v: t.number(v, 3),
    )


def beeswarm_chart(t: Messages, model: ModelData) -> Markup | None:
    """One row per feature (most important first), a dot per customer, thinned evenly.

    The dots were thinned while reading (data/model.py read_shap_points); the caption
    says how many of the stored values they are. Dots are coloured by the
    rank of the feature value the model saw (ml.shap_values.feature_value_num);
    categorical features stay grey.
    """
    if model.shap.empty:
        return None
    dots = dict(tuple(model.shap.groupby("feature", sort=False)))
    order = [f for f in model.importance["feature"] if f in dots]
    rows = []
    for feature in order:
        part = dots[feature]
        ranks = None
        values = part["feature_value_num"]
        if values.notna().all():
            ranks = figures.value_ranks(values.astype(float).to_numpy())
        rows.append(SwarmRow(t.feature(feature), part["shap_value"].astype(float).tolist(), ranks))
    shown = Part(sum(len(dots[f]) for f in order), sum(model.shap_counts.get(f, 0) for f in order))
    caption = t.text("chart.beeswarm.caption")
    if shown.is_partial:
        caption += " " + t.text(
            "chart.beeswarm.thinned", shown=t.number(shown.n), total=t.number(shown.n_total)
        )
    return figures.beeswarm(
        "chart-beeswarm",
        chart_text(t, "beeswarm", caption=caption, n=t.number(len(rows))),
        rows,
        fmt_x=lambda v: t.number(v, 2),
        low_label=t.text("chart.beeswarm.low"),
        high_label=t.text("chart.beeswarm.high"),
        other_label=t.text("chart.beeswarm.other"),
    )


def model_context(data: ReportData, t: Messages) -> dict | None:
    model = data.model
    if model is None:
        return None
    run = model.run
    confusions = summaries.run_confusions(run, model.predictions)
    candidates = candidates_of(data, run.run_id)
    return {
        "run": run,
        "run_page": run_filename(data, run.run_id),
        "family": t.label("family", run.model_family) if run.model_family else "—",
        "candidates": records(candidates),
        "candidates_chart": candidates_chart(t, candidates, run.model_family),
        "confusions": confusions,
        "confusion": confusions[0][0] if confusions else None,
        "roc_chart": curve_chart(t, model.curves, "roc", run),
        "pr_chart": curve_chart(t, model.curves, "pr", run),
        "calibration_chart": curve_chart(t, model.curves, "calibration", run),
        "importance": records(model.importance),
        "importance_chart": importance_chart(t, model.importance),
        "beeswarm_chart": beeswarm_chart(t, model),
    }


def segment_map_chart(t: Messages, segments: SegmentData) -> Markup | None:
    """Customers by risk and profit, coloured by segment (points thinned while reading)."""
    points = segments.map_points
    if points.empty:
        return None
    colours = segment_colours(segments.summary)
    names = segment_names(t, segments.summary)
    groups = []
    for segment in colours:  # summary order: the legend lists segments as the table does
        part = points[points["segment"] == segment]
        if not part.empty:
            groups.append(
                PointGroup(
                    names.get(segment, segment),
                    part["p_decline"].astype(float).tolist(),
                    part["profit"].astype(float).tolist(),
                    colours[segment],
                )
            )
    risk, profit = segments.risk_threshold, segments.profit_threshold
    return figures.scatter(
        "chart-segment-map",
        chart_text(
            t,
            "segment_map",
            y_label=t.with_money_unit(t.text("chart.segment_map.y"), "profit"),
            n=t.number(sum(segments.sizes.values())),
            risk=t.number(risk, 2),
            profit=t.unit(profit, "profit", 2),
        ),
        groups,
        fmt_x=lambda v: t.number(v, 1),
        fmt_y=lambda v: t.number(v, 0),
        vlines=[(risk, t.text("chart.segment_map.risk_line", value=t.number(risk, 2)))]
        if finite(risk)
        else [],
        hlines=[(profit, t.text("chart.segment_map.profit_line", value=t.number(profit, 2)))]
        if finite(profit)
        else [],
        x_domain=(0.0, 1.0),
    )


def segments_context(data: ReportData, t: Messages) -> dict | None:
    segments = data.segments
    if segments is None:
        return None
    files = segment_filenames(segments)
    summary = [
        {**row, "name": segment_display_name(t, row), "href": files[row["segment"]]}
        for row in records(segments.summary)
    ]
    key = summaries.key_segment(segments.summary)
    context: dict = {
        "summary": summary,
        "map_chart": segment_map_chart(t, segments),
        "risk_threshold": segments.risk_threshold,
        "profit_threshold": segments.profit_threshold,
        "key": None,
    }
    if key is not None:
        name = segment_display_name(t, key)
        by_code = of_segment(segments.offers_by_code, key["segment"])
        texts = offer_texts(t, data.offer_catalogue)
        by_code["offer"] = [
            texts.get(code, fallback if isinstance(fallback, str) else code)
            for code, fallback in zip(by_code["offer_code"], by_code["offer"], strict=True)
        ]
        listed = listed_part(segments, key["segment"])
        context["key"] = {
            "name": name,
            "href": files[key["segment"]],
            "link": t("segments.key_link_top", name=name, n=t.number(listed.n))
            if listed.is_partial
            else t("segments.key_link", name=name),
            "by_channel": records(of_segment(segments.offers_by_channel, key["segment"])),
            "by_code": records(by_code),
        }
    return context


def overview_findings(
    data: ReportData, t: Messages, quality: dict, model: dict | None, segments: dict | None
) -> list[Markup]:
    balance = data.balance
    out: list[Markup | None] = [
        findings.class_balance_finding(t, balance),
        findings.data_quality_finding(t, data.audit_summary, quality["n_label_fix_rows"]),
    ]
    if data.segments is not None:
        key = summaries.key_segment(data.segments.summary)
        if key is not None:
            out.append(
                findings.key_segment_finding(t, data.segments.summary, segment_display_name(t, key))
            )
            profile = data.segments.key_profile
            if not profile.empty:
                comparison = profile["comparison_segment"].iloc[0]
                names = segment_names(t, data.segments.summary)
                out.append(findings.profile_finding(t, profile, names.get(comparison, comparison)))
            by_channel = of_segment(data.segments.offers_by_channel, key["segment"])
            out.append(findings.offers_finding(t, by_channel, int(key["n_customers"])))
    if data.model is not None and model is not None:
        out.append(
            findings.model_finding(
                t, model["family"], data.model.run.holdout_roc_auc, model["confusion"]
            )
        )
        out.append(findings.top_driver_finding(t, data.model.importance))
    return [f for f in out if f is not None]


def overview_page(data: ReportData, t: Messages) -> Page:
    quality = quality_context(data, t)
    balance = data.balance
    model = model_context(data, t)
    segments = segments_context(data, t)
    return Page(
        filename="index.html",
        template="index.html",
        title=t.text("index.title"),
        context={
            "quality": quality,
            "balance": balance,
            "balance_chart": class_balance_chart(t, balance),
            "model": model,
            "segments": segments,
            "findings": overview_findings(data, t, quality, model, segments),
        },
    )
