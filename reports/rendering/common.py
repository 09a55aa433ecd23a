"""Helpers every page context shares: rows for templates, segment names and file names."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from reports import figures
from reports.data.load import ReportData
from reports.data.segments import SegmentData
from reports.data.warehouse import Part
from reports.figures import ChartText
from reports.rendering import naming
from reports.rendering.i18n import Messages


@dataclass(frozen=True)
class Page:
    """One HTML file of the site."""

    filename: str
    template: str
    title: str
    context: dict = field(default_factory=dict)


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with every missing value as None, so templates show "—" for it."""
    return [
        {
            k: (None if not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v) else v)
            for k, v in row.items()
        }
        for row in frame.to_dict("records")
    ]


def finite(value: object) -> bool:
    """Whether *value* is a finite number (not None, NaN, ±inf or text)."""
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def segment_display_name(t: Messages, row: pd.Series | dict) -> str:
    """The segment's name in the page language (dbt stores English and Russian)."""
    if t.lang == "ru" and isinstance(row.get("segment_name_ru"), str):
        return row["segment_name_ru"]
    return row.get("segment_name") or row["segment"]


def segment_names(t: Messages, summary: pd.DataFrame) -> dict[str, str]:
    """Segment code -> its name in the page language."""
    return {row["segment"]: segment_display_name(t, row) for row in records(summary)}


def segment_filenames(segments: SegmentData) -> dict[str, str]:
    slugs = naming.unique_slugs(list(segments.summary["segment"]))
    return {segment: f"segment-{s}.html" for segment, s in slugs.items()}


def run_filename(data: ReportData, run_id: str) -> str:
    slugs = naming.unique_slugs([r.run_id for r in data.runs])
    return f"run-{slugs[run_id]}.html"


def segment_colours(summary: pd.DataFrame) -> dict[str, str]:
    order = list(summary["segment"])
    return {s: figures.PALETTE[i % len(figures.PALETTE)] for i, s in enumerate(order)}


def of_segment(frame: pd.DataFrame, segment: str) -> pd.DataFrame:
    return frame[frame["segment"] == segment].reset_index(drop=True)


def listed_part(segments: SegmentData, segment: str) -> Part:
    """How many of the segment's customers its page lists (segments.read_segment_customers)."""
    n_listed = int((segments.customers["segment"] == segment).sum())
    return Part(n_listed, segments.sizes.get(segment, n_listed))


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


def candidates_of(data: ReportData, run_id: str) -> pd.DataFrame:
    frame = data.candidates
    if frame.empty:
        return frame
    return frame[frame["run_id"] == run_id].reset_index(drop=True)


def chart_text(
    t: Messages, key: str, y_label: str = "", caption: str = "", **desc: object
) -> ChartText:
    """The words of chart *key* from the catalogue: chart.<key>.title, .x and .desc, the
    description filled with *desc*; *y_label* and *caption* as given (most charts have none)."""
    return ChartText(
        title=t.text(f"chart.{key}.title"),
        x_label=t.text(f"chart.{key}.x"),
        y_label=y_label,
        desc=t.text(f"chart.{key}.desc", **desc),
        caption=caption,
    )
