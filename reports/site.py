"""The pages of the report site: one context per page, rendered through the Jinja2 templates.

Contexts hold figures and ready-made chart figures; templates only lay them
out and format numbers through the message catalogue. Nothing here reads
the clock, so the same warehouse always renders the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from reports import charts, eda, findings, sections
from reports.charts import BarGroup, ChartText, PointGroup, Series, SwarmRow
from reports.data import PERIOD_ORDER, ModelData, ModelRun, Part, ReportData, SegmentData
from reports.i18n import Messages
from reports.quality import label_fixes

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
ASSETS_DIR = TEMPLATES_DIR / "assets"

# Rows a long table shows per page (the sorting script paginates; print shows all).
# How many rows a page holds at all is capped while reading: reports/config.py.
PAGE_SIZE = 25


@dataclass(frozen=True)
class Page:
    """One HTML file of the site."""

    filename: str
    template: str
    title: str
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Assets:
    """The one stylesheet and one script, inlined, with their CSP hashes."""

    css: str
    js: str

    @staticmethod
    def _hash(text: str) -> str:
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"

    @property
    def csp(self) -> str:
        """Nothing may load; only this stylesheet and this script may run."""
        return (
            "default-src 'none'; "
            f"style-src {self._hash(self.css)}; "
            f"script-src {self._hash(self.js)}; "
            "img-src data:; base-uri 'none'; form-action 'none'"
        )


@cache
def load_assets() -> Assets:
    return Assets(
        css=(ASSETS_DIR / "report.css").read_text(encoding="utf-8"),
        js=(ASSETS_DIR / "tables.js").read_text(encoding="utf-8"),
    )


def environment() -> jinja2.Environment:
    """Autoescaping on for every template: data strings are untrusted."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with every missing value as None, so templates show "—" for it."""
    return [
        {
            k: (None if not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v) else v)
            for k, v in row.items()
        }
        for row in frame.to_dict("records")
    ]


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def segment_display_name(t: Messages, row: pd.Series | dict) -> str:
    """The segment's name in the page language (dbt stores English and Russian)."""
    if t.lang == "ru" and isinstance(row.get("segment_name_ru"), str):
        return row["segment_name_ru"]
    return row.get("segment_name") or row["segment"]


# --- Data quality and class balance -----------------------------------------------------------


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


def class_balance_chart(t: Messages, balance: sections.ClassBalance) -> Markup:
    labels = [t.text("class.declined"), t.text("class.same")]
    return charts.bar_chart(
        "chart-class-balance",
        ChartText(
            title=t.text("chart.class_balance.title"),
            x_label=t.text("chart.class_balance.x"),
            y_label="",
            desc=t.text(
                "chart.class_balance.desc",
                n_declined=t.number(balance.n_declined),
                n_same=t.number(balance.n_same),
                share=t.percent(balance.share_declined),
            ),
        ),
        labels,
        [
            BarGroup(
                t.text("chart.class_balance.x"),
                [balance.n_declined, balance.n_same],
                charts.DECLINED_COLOUR,
            )
        ],
        fmt_value=lambda v: t.number(v),
    )


# --- Model ------------------------------------------------------------------------------------


def candidates_of(data: ReportData, run_id: str) -> pd.DataFrame:
    frame = data.candidates
    if frame.empty:
        return frame
    return frame[frame["run_id"] == run_id].reset_index(drop=True)


def candidates_chart(t: Messages, candidates: pd.DataFrame, chosen: str | None) -> Markup | None:
    rows = candidates.dropna(subset=["cv_roc_auc_mean"])
    if rows.empty:
        return None
    labels = [t.label("family", f) for f in rows["family"]]
    best = rows.iloc[0]
    return charts.bar_chart(
        "chart-candidates",
        ChartText(
            title=t.text("chart.candidates.title"),
            x_label=t.text("chart.candidates.x"),
            y_label="",
            desc=t.text(
                "chart.candidates.desc",
                n=t.number(len(rows)),
                best=t.label("family", best["family"]),
                auc=t.number(best["cv_roc_auc_mean"], 3),
            ),
        ),
        labels,
        [
            BarGroup(
                t.text("chart.candidates.x"),
                [float(v) for v in rows["cv_roc_auc_mean"]],
                charts.SAME_COLOUR,
                errors=[float(v) if _finite(v) else 0.0 for v in rows["cv_roc_auc_std"]],
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
                colour=charts.PALETTE[i % len(charts.PALETTE)],
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
    desc_key = f"chart.{curve}.desc"
    return charts.line_chart(
        f"chart-{curve}",
        ChartText(
            title=t.text(f"chart.{curve}.title"),
            x_label=t.text(f"chart.{curve}.x"),
            y_label=t.text(f"chart.{curve}.y"),
            desc=t.text(
                desc_key,
                datasets=", ".join(s.name for s in series),
                holdout=t.number(run.holdout_roc_auc, 3),
                oof=t.number(run.oof_roc_auc, 3),
            ),
            caption=t.text(f"chart.{curve}.caption"),
        ),
        series,
        fmt_x=fmt,
        fmt_y=fmt,
        x_domain=(0.0, 1.0),
        y_domain=(0.0, 1.0),
        diagonal=curve in ("roc", "calibration"),
    )


def importance_chart(t: Messages, importance: pd.DataFrame) -> Markup | None:
    rows = importance.dropna(subset=["mean_abs_shap"])
    if rows.empty:
        return None
    return charts.bar_chart(
        "chart-importance",
        ChartText(
            title=t.text("chart.importance.title"),
            x_label=t.text("chart.importance.x"),
            y_label="",
            desc=t.text(
                "chart.importance.desc",
                first=t.feature(rows["feature"].iloc[0]),
                value=t.number(rows["mean_abs_shap"].iloc[0], 3),
            ),
        ),
        [t.feature(f) for f in rows["feature"]],
        [BarGroup("", rows["mean_abs_shap"].astype(float).tolist(), charts.SAME_COLOUR)],
        fmt_value=lambda v: t.number(v, 3),
    )


def beeswarm_chart(t: Messages, model: ModelData) -> Markup | None:
    """One row per feature (most important first), a dot per customer, thinned evenly.

    The dots were thinned while reading (data.read_shap_points); the caption
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
            ranks = charts.value_ranks(values.astype(float).to_numpy())
        rows.append(SwarmRow(t.feature(feature), part["shap_value"].astype(float).tolist(), ranks))
    shown = Part(sum(len(dots[f]) for f in order), sum(model.shap_counts.get(f, 0) for f in order))
    caption = t.text("chart.beeswarm.caption")
    if shown.is_partial:
        caption += " " + t.text(
            "chart.beeswarm.thinned", shown=t.number(shown.n), total=t.number(shown.n_total)
        )
    return charts.beeswarm(
        "chart-beeswarm",
        ChartText(
            title=t.text("chart.beeswarm.title"),
            x_label=t.text("chart.beeswarm.x"),
            y_label="",
            desc=t.text("chart.beeswarm.desc", n=t.number(len(rows))),
            caption=caption,
        ),
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
    confusions = sections.run_confusions(run, model.predictions)
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


# --- Segments ---------------------------------------------------------------------------------


def segment_filenames(segments: SegmentData) -> dict[str, str]:
    slugs = sections.unique_slugs(list(segments.summary["segment"]))
    return {segment: f"segment-{s}.html" for segment, s in slugs.items()}


def run_filename(data: ReportData, run_id: str) -> str:
    slugs = sections.unique_slugs([r.run_id for r in data.runs])
    return f"run-{slugs[run_id]}.html"


def segment_colours(summary: pd.DataFrame) -> dict[str, str]:
    order = list(summary["segment"])
    return {s: charts.PALETTE[i % len(charts.PALETTE)] for i, s in enumerate(order)}


def segment_names(t: Messages, summary: pd.DataFrame) -> dict[str, str]:
    """Segment code -> its name in the page language."""
    return {row["segment"]: segment_display_name(t, row) for row in records(summary)}


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
    return charts.scatter(
        "chart-segment-map",
        ChartText(
            title=t.text("chart.segment_map.title"),
            x_label=t.text("chart.segment_map.x"),
            y_label=t.with_money_unit(t.text("chart.segment_map.y"), "profit"),
            desc=t.text(
                "chart.segment_map.desc",
                n=t.number(sum(segments.sizes.values())),
                risk=t.number(risk, 2),
                profit=t.unit(profit, "profit", 2),
            ),
        ),
        groups,
        fmt_x=lambda v: t.number(v, 1),
        fmt_y=lambda v: t.number(v, 0),
        vlines=[(risk, t.text("chart.segment_map.risk_line", value=t.number(risk, 2)))]
        if _finite(risk)
        else [],
        hlines=[(profit, t.text("chart.segment_map.profit_line", value=t.number(profit, 2)))]
        if _finite(profit)
        else [],
        x_domain=(0.0, 1.0),
    )


def offer_texts(t: Messages, catalogue: pd.DataFrame) -> dict[str, str]:
    """Offer code -> the offer in the page language from reference.offer_catalogue.

    dbt wrote the offers in one language; the seed has each. Empty when the
    seed lacks the page's language: the pages then show dbt's text. A dict,
    because it is looked up once per offer row.
    """
    column = f"offer_{t.lang}"
    if catalogue.empty or column not in catalogue:
        return {}
    texts: dict[str, str] = {}
    for code, text in zip(catalogue["offer_code"], catalogue[column], strict=True):
        texts.setdefault(code, str(text))
    return texts


def listed_part(segments: SegmentData, segment: str) -> Part:
    """How many of the segment's customers its page lists (data.read_segment_customers)."""
    n_listed = int((segments.customers["segment"] == segment).sum())
    return Part(n_listed, segments.sizes.get(segment, n_listed))


def _of_segment(frame: pd.DataFrame, segment: str) -> pd.DataFrame:
    return frame[frame["segment"] == segment].reset_index(drop=True)


def segments_context(data: ReportData, t: Messages) -> dict | None:
    segments = data.segments
    if segments is None:
        return None
    files = segment_filenames(segments)
    summary = [
        {**row, "name": segment_display_name(t, row), "href": files[row["segment"]]}
        for row in records(segments.summary)
    ]
    key = sections.key_segment(segments.summary)
    context: dict = {
        "summary": summary,
        "map_chart": segment_map_chart(t, segments),
        "risk_threshold": segments.risk_threshold,
        "profit_threshold": segments.profit_threshold,
        "key": None,
    }
    if key is not None:
        name = segment_display_name(t, key)
        by_code = _of_segment(segments.offers_by_code, key["segment"])
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
            "by_channel": records(_of_segment(segments.offers_by_channel, key["segment"])),
            "by_code": records(by_code),
        }
    return context


def profile_rows(data: ReportData, segment: str, t: Messages) -> tuple[list[dict], str]:
    """The segment's profile rows and the name of its comparison group.

    The key segment uses dbt model key_segment_profile (against the
    comparison segment); every other segment dbt model segment_feature_profile
    (against all other customers). Both apply the same Welch test, in dbt.
    """
    segments = data.segments
    assert segments is not None
    profile = segments.key_profile
    if not profile.empty and (profile["key_segment"] == segment).any():
        rows = profile[profile["key_segment"] == segment].sort_values("difference_rank")
        comparison = rows["comparison_segment"].iloc[0]
        rows = rows.rename(columns={"key_mean": "mean"})
        comparison_name = segment_names(t, segments.summary).get(comparison, comparison)
    else:
        rows = segments.moments[segments.moments["segment"] == segment]
        rows = rows.sort_values("difference_rank")
        comparison_name = t.text("segment.rest")
    shown = ["feature", "mean", "comparison_mean", "difference"]
    shown += ["standardized_difference", "welch_t"]
    return [
        {**{k: r[k] for k in shown}, "is_significant": bool(r["is_significant"])}
        for r in records(rows)
    ], comparison_name


def profile_chart(t: Messages, rows: list[dict], comparison: str, name: str) -> Markup | None:
    shown = [r for r in rows if _finite(r["standardized_difference"])][:10]
    if not shown:
        return None
    return charts.bar_chart(
        "chart-profile",
        ChartText(
            title=t.text("chart.profile.title", comparison=comparison),
            x_label=t.text("chart.profile.x"),
            y_label="",
            desc=t.text(
                "chart.profile.desc",
                name=name,
                comparison=comparison,
                feature=t.feature(shown[0]["feature"]),
                value=t.number(shown[0]["standardized_difference"], 2),
            ),
        ),
        [t.feature(r["feature"]) for r in shown],
        [
            BarGroup(
                "",
                [float(r["standardized_difference"]) for r in shown],
                charts.DECLINED_COLOUR,
            )
        ],
        fmt_value=lambda v: t.number(v, 2),
    )


def customer_offers(data: ReportData, segment: str, t: Messages) -> dict[int, list[dict]]:
    """Customer id -> the offers the segment page lists for them, best first.

    Only the listed customers' recommendations were read; texts come from a
    dict and channel names are looked up once each.
    """
    segments = data.segments
    assert segments is not None
    recs = segments.recommendations
    if recs.empty:
        return {}
    recs = recs[recs["segment"] == segment].sort_values(["customer_id", "offer_rank"])
    texts = offer_texts(t, data.offer_catalogue)
    channels = {c: t.label("channel", c) for c in recs["channel"].unique()}
    offers: dict[int, list[dict]] = {}
    for customer, code, fallback, channel in zip(
        recs["customer_id"], recs["offer_code"], recs["offer"], recs["channel"], strict=True
    ):
        offers.setdefault(int(customer), []).append(
            {"offer": texts.get(code, fallback), "channel": channels[channel]}
        )
    return offers


def segment_customers(data: ReportData, segment: str, t: Messages) -> list[dict]:
    """The customers the segment's page lists, largest profit at risk first, with reasons
    and offers (which and how many: data.read_segment_customers)."""
    segments = data.segments
    assert segments is not None
    customers = segments.customers[segments.customers["segment"] == segment]
    offers = customer_offers(data, segment, t)
    translate = sections.reason_translator(data.feature_reasons, t.lang)
    out = []
    for r in records(customers):
        reasons = [
            translate(r[c])
            for c in ("reason_1", "reason_2", "reason_3")
            if isinstance(r.get(c), str)
        ]
        out.append({**r, "reasons": reasons, "offers": offers.get(int(r["customer_id"]), [])})
    return out


def segment_pages(data: ReportData, t: Messages) -> list[Page]:
    segments = data.segments
    if segments is None:
        return []
    files = segment_filenames(segments)
    pages = []
    for row in records(segments.summary):
        name = segment_display_name(t, row)
        profile, comparison = profile_rows(data, row["segment"], t)
        listed = listed_part(segments, row["segment"])
        pages.append(
            Page(
                filename=files[row["segment"]],
                template="segment.html",
                title=name,
                context={
                    "segment": {**row, "name": name},
                    "profile": profile,
                    "comparison": comparison,
                    "profile_chart": profile_chart(t, profile, comparison, name),
                    "customers": segment_customers(data, row["segment"], t),
                    "customers_capped": t(
                        "segment.customers_capped",
                        shown=t.number(listed.n),
                        total=t.number(listed.n_total),
                    )
                    if listed.is_partial
                    else None,
                },
            )
        )
    return pages


# --- Model cards ------------------------------------------------------------------------------


def run_pages(data: ReportData, t: Messages) -> list[Page]:
    pages = []
    runs = data.runs
    for i, run in enumerate(runs):
        n_predictions = None
        predictions = None
        if data.model is not None and data.model.run.run_id == run.run_id:
            predictions = data.model.predictions
            n_predictions = len(predictions)
        pages.append(
            Page(
                filename=run_filename(data, run.run_id),
                template="model_run.html",
                title=t.text("run.title", run_id=run.run_id),
                context={
                    "run": run,
                    "family": t.label("family", run.model_family) if run.model_family else "—",
                    "candidates": records(candidates_of(data, run.run_id)),
                    "confusions": sections.run_confusions(run, predictions),
                    "previous": (runs[i - 1], run_filename(data, runs[i - 1].run_id))
                    if i > 0
                    else None,
                    "next": (runs[i + 1], run_filename(data, runs[i + 1].run_id))
                    if i + 1 < len(runs)
                    else None,
                    "all_runs": [(r, run_filename(data, r.run_id)) for r in reversed(runs)],
                    "limits": run_limits(t, run, n_predictions),
                },
            )
        )
    return pages


def run_limits(t: Messages, run: ModelRun, n_predictions: int | None) -> list[Markup]:
    """What the figures of a run cannot tell, with its own numbers where they exist."""
    limits = [t("limits.one_export")]
    if run.n_holdout is not None:
        limits.append(t("limits.holdout_size", n=t.number(run.n_holdout)))
    if _finite(run.cv_roc_auc_std):
        limits.append(t("limits.cv_spread", std=t.number(run.cv_roc_auc_std, 3)))
    limits.append(t("limits.correlation"))
    limits.append(t("limits.profit_at_risk"))
    if n_predictions is not None:
        limits.append(t("limits.oof", n=t.number(n_predictions)))
    return limits


# --- EDA --------------------------------------------------------------------------------------


def sample_note(t: Messages, part: Part) -> Markup | None:
    """What the exploratory statistics were computed on, when not on every customer."""
    if not part.is_partial:
        return None
    return t("eda.sampled", n=t.number(part.n), total=t.number(part.n_total))


def eda_context(data: ReportData, t: Messages) -> dict:
    """The exploratory analysis: statistics on data.features (every customer or a stated
    sample), class counts and per-period figures over every customer."""
    features = data.features
    cols = data.columns
    target = features[cols.target].astype(bool)
    numeric = [eda.compare_numeric(f, features[f], target) for f in cols.numeric]
    numeric_adj = eda.holm([c.p_value for c in numeric])
    categorical = [eda.compare_categorical(f, features[f], target) for f in cols.categorical]
    categorical_adj = eda.holm([c.p_value for c in categorical])
    histograms = []
    for comparison in numeric:
        edges, declined, same = eda.class_histograms(features[comparison.feature], target)
        histograms.append(
            charts.histogram_by_class(
                f"chart-hist-{sections.slug(comparison.feature)}",
                ChartText(
                    title=t.feature(comparison.feature),
                    x_label=t.feature(comparison.feature),
                    y_label=t.text("chart.histogram.y"),
                    desc=t.text(
                        "chart.histogram.desc",
                        feature=t.feature(comparison.feature),
                        declined=t.feature_value(comparison.median_declined, comparison.feature),
                        same=t.feature_value(comparison.median_same, comparison.feature),
                    ),
                ),
                edges,
                [
                    BarGroup(t.text("class.declined"), list(declined), charts.DECLINED_COLOUR),
                    BarGroup(t.text("class.same"), list(same), charts.SAME_COLOUR),
                ],
                fmt_x=lambda v: t.number(v, 0 if abs(v) >= 10 else 1),
                fmt_y=lambda v: t.percent(v, 0),
            )
        )
    categorical_charts = []
    for comparison in categorical:
        shares = comparison.shares
        labels = [t.label(f"level.{comparison.feature}", level) for level in shares.index]
        categorical_charts.append(
            charts.bar_chart(
                f"chart-cat-{sections.slug(comparison.feature)}",
                ChartText(
                    title=t.feature(comparison.feature),
                    x_label=t.text("chart.categorical.x"),
                    y_label="",
                    desc=t.text(
                        "chart.categorical.desc",
                        feature=t.feature(comparison.feature),
                        v=t.number(comparison.cramers_v, 2),
                    ),
                ),
                labels,
                [
                    BarGroup(
                        t.text("class.declined"),
                        shares["declined"].fillna(0).tolist(),
                        charts.DECLINED_COLOUR,
                    ),
                    BarGroup(
                        t.text("class.same"), shares["same"].fillna(0).tolist(), charts.SAME_COLOUR
                    ),
                ],
                fmt_value=lambda v: t.percent(v, 0),
                value_domain=(0.0, 1.0),
            )
        )
    periods = eda.order_periods(data.periods, PERIOD_ORDER)
    period_charts = [period_chart(t, periods, measure) for measure in ("revenue", "minutes")]
    matrix_columns = [cols.target, *cols.features]
    categorical_set = {cols.target, *cols.categorical}
    matrix = eda.association_matrix(features, matrix_columns, categorical_set)
    pairs = eda.strong_pairs(
        [row[1:] for row in matrix[1:]]  # multicollinearity: features only, not the target
    )
    strong = {(p.a, p.b) for p in pairs} | {(p.b, p.a) for p in pairs}
    heatmap = charts.heatmap(
        "chart-associations",
        ChartText(
            title=t.text("chart.associations.title"),
            x_label=t.text("chart.associations.x"),
            y_label="",
            desc=t.text("chart.associations.desc", n=t.number(len(pairs))),
            caption=t.text("chart.associations.caption"),
        ),
        [t.feature(c) for c in matrix_columns],
        [[a.strength for a in row] for row in matrix],
        [[t.number(a.value, 2) for a in row] for row in matrix],
        flagged=[[(a.a, a.b) in strong for a in row] for row in matrix],
    )
    target_row = {a.b: a for a in matrix[0]}
    balance = data.balance
    eda_findings = [
        findings.class_balance_finding(t, balance),
        findings.eda_numeric_finding(t, numeric, numeric_adj),
        findings.eda_categorical_finding(t, categorical, categorical_adj),
        findings.eda_trend_finding(t, periods, "revenue"),
        findings.eda_trend_finding(t, periods, "minutes"),
        findings.eda_collinearity_finding(t, pairs),
    ]
    return {
        "balance": balance,
        "sample_note": sample_note(t, data.feature_part),
        "numeric": [
            {"c": c, "p_adj": p, "chart": chart, "target_assoc": target_row.get(c.feature)}
            for c, p, chart in zip(numeric, numeric_adj, histograms, strict=True)
        ],
        "categorical": [
            {"c": c, "p_adj": p, "chart": chart, "levels": list(c.shares.index)}
            for c, p, chart in zip(categorical, categorical_adj, categorical_charts, strict=True)
        ],
        "periods": records(periods),
        "period_charts": [c for c in period_charts if c is not None],
        "heatmap": heatmap,
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
    for declined, colour in ((True, charts.DECLINED_COLOUR), (False, charts.SAME_COLOUR)):
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
    return charts.line_chart(
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


# --- Overview ---------------------------------------------------------------------------------


def overview_findings(
    data: ReportData, t: Messages, quality: dict, model: dict | None, segments: dict | None
) -> list[Markup]:
    balance = data.balance
    out: list[Markup | None] = [
        findings.class_balance_finding(t, balance),
        findings.data_quality_finding(t, data.audit_summary, quality["n_label_fix_rows"]),
    ]
    if data.segments is not None:
        key = sections.key_segment(data.segments.summary)
        if key is not None:
            out.append(
                findings.key_segment_finding(t, data.segments.summary, segment_display_name(t, key))
            )
            profile = data.segments.key_profile
            if not profile.empty:
                comparison = profile["comparison_segment"].iloc[0]
                names = segment_names(t, data.segments.summary)
                out.append(findings.profile_finding(t, profile, names.get(comparison, comparison)))
            by_channel = _of_segment(data.segments.offers_by_channel, key["segment"])
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


def eda_page(data: ReportData, t: Messages) -> Page:
    return Page(
        filename="eda.html",
        template="eda.html",
        title=t.text("eda.title"),
        context={"eda": eda_context(data, t)},
    )


def build_pages(data: ReportData, t: Messages) -> list[Page]:
    """Every page of the site, overview first."""
    return [overview_page(data, t), eda_page(data, t), *segment_pages(data, t), *run_pages(data, t)]


def navigation(pages: Sequence[Page], data: ReportData, t: Messages) -> list[dict]:
    """Links every page shows: overview, EDA, each segment, the latest model card."""
    nav = [
        {"href": "index.html", "label": t.text("nav.overview")},
        {"href": "eda.html", "label": t.text("nav.eda")},
    ]
    for page in pages:
        if page.template == "segment.html":
            nav.append({"href": page.filename, "label": page.title})
    if data.runs:
        latest = data.runs[-1]
        nav.append({"href": run_filename(data, latest.run_id), "label": t.text("nav.runs")})
    return nav


def render_pages(data: ReportData, t: Messages) -> dict[str, str]:
    """filename -> HTML text of every page."""
    env = environment()
    assets = load_assets()
    pages = build_pages(data, t)
    nav = navigation(pages, data, t)
    latest = data.runs[-1] if data.runs else None
    common = {
        "t": t,
        "lang": t.lang,
        "csp": assets.csp,
        "css": Markup(assets.css),  # our own file, not data
        "js": Markup(assets.js),
        "page_size": PAGE_SIZE,
        "latest_run": latest,
        "mart": data.columns,
    }
    rendered = {}
    for page in pages:
        template = env.get_template(page.template)
        links = [{**item, "current": item["href"] == page.filename} for item in nav]
        rendered[page.filename] = template.render(
            **common, **page.context, nav=links, page_title=page.title, filename=page.filename
        )
    return rendered
