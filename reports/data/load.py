"""Everything the site is rendered from, read in one read-only pass over the warehouse."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reports.config import DEFAULT_LIMITS, Limits
from reports.contracts import MartColumns
from reports.data.export import (
    read_audit_records,
    read_audit_summary,
    read_class_balance,
    read_features,
    read_label_spellings,
    read_period_summary,
    read_reference,
    read_rows_per_file,
)
from reports.data.model import (
    ModelData,
    ModelRun,
    latest_training_run,
    read_candidates,
    read_model,
    read_model_runs,
)
from reports.data.segments import SegmentData, read_segments
from reports.data.summaries import ClassBalance
from reports.data.warehouse import Part, connect, has_table, missing_ml_columns

log = logging.getLogger(__name__)


@dataclass
class ReportData:
    """Everything the site is rendered from; parts the warehouse lacks are None."""

    columns: MartColumns
    balance: ClassBalance  # over every active customer
    # The customers the exploratory statistics are computed on: every active
    # customer, or a random sample of them (feature_part says which).
    features: pd.DataFrame
    feature_part: Part
    rows_per_file: pd.DataFrame
    audit_summary: pd.DataFrame
    audit_records: pd.DataFrame  # at most Limits.audit_records_per_reason per reason
    label_spellings: pd.DataFrame
    label_map: pd.DataFrame
    periods: pd.DataFrame  # measure, period, declined, mean, median, n (read_period_summary)
    feature_reasons: pd.DataFrame
    offer_catalogue: pd.DataFrame
    runs: list[ModelRun] = field(default_factory=list)
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: ModelData | None = None
    segments: SegmentData | None = None
    limits: Limits = DEFAULT_LIMITS  # what the frames above were capped to, for the notes


def load_report_data(
    path: Path, columns: MartColumns, limits: Limits = DEFAULT_LIMITS
) -> ReportData:
    """Read everything the site needs from the warehouse at *path*, read-only, within
    *limits* (reports/config.py)."""
    with connect(path) as con:
        if not has_table(con, "marts", "customer_features"):
            raise ValueError(f"{path}: marts.customer_features is missing; build the warehouse")
        for table, lacking in missing_ml_columns(con).items():
            log.warning("ml.%s lacks %s: read as missing", table, ", ".join(lacking))
        runs = read_model_runs(con)
        chosen = latest_training_run(runs)
        features, feature_part = read_features(
            con, columns, limits.eda_sample, limits.eda_sample_seed
        )
        data = ReportData(
            columns=columns,
            balance=read_class_balance(con, columns),
            features=features,
            feature_part=feature_part,
            rows_per_file=read_rows_per_file(con),
            audit_summary=read_audit_summary(con),
            audit_records=read_audit_records(con, limits.audit_records_per_reason),
            label_spellings=read_label_spellings(con),
            label_map=read_reference(con, "label_map"),
            periods=read_period_summary(con, columns),
            feature_reasons=read_reference(con, "feature_reasons"),
            offer_catalogue=read_reference(con, "offer_catalogue"),
            runs=runs,
            candidates=read_candidates(con),
            model=read_model(con, chosen, columns, limits) if chosen else None,
            segments=read_segments(con, limits),
            limits=limits,
        )
    log.info(
        "read %d customers (%d for the statistics), %d model runs, segments %s",
        data.balance.n,
        feature_part.n,
        len(runs),
        "present" if data.segments is not None else "absent",
    )
    return data
