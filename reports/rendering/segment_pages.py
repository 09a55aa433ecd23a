"""One page per segment: its profile against a comparison group and its listed customers."""

from __future__ import annotations

from markupsafe import Markup

from reports import figures
from reports.data.load import ReportData
from reports.figures import BarGroup, ChartText
from reports.rendering import naming
from reports.rendering.common import (
    Page,
    finite,
    listed_part,
    offer_texts,
    records,
    segment_display_name,
    segment_filenames,
    segment_names,
)
from reports.rendering.i18n import Messages


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
    shown = [r for r in rows if finite(r["standardized_difference"])][:10]
    if not shown:
        return None
    return figures.bar_chart(
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
                figures.DECLINED_COLOUR,
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
    and offers (which and how many: data/segments.py read_segment_customers)."""
    segments = data.segments
    assert segments is not None
    customers = segments.customers[segments.customers["segment"] == segment]
    offers = customer_offers(data, segment, t)
    translate = naming.reason_translator(data.feature_reasons, t.lang)
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
