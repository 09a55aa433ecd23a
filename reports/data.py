"""Every query the reports run, in one place: warehouse tables in, plain DataFrames out.

The pages never see SQL. When a table written by another step changes its
column names, ML_COLUMNS below is the one place to adapt.

Columns read from the ML schema, as ml/warehouse.py `TABLES` writes them
(report field = column unless noted "field <- column"). A column a table
lacks is read as NULL and logged, so a warehouse from an older ML step still
renders, with "—" where a figure is missing:

ml.model_runs          run_id, run_kind ('train' | 'score'), parent_run_id, started_at,
                       duration_s, n_customers, n_declined, data_fingerprint, code_version,
                       library_versions (JSON object text), seed, model_family,
                       model_params (JSON object text), cv_scheme, cv_roc_auc_mean,
                       cv_roc_auc_std, n_holdout <- holdout_size, holdout_roc_auc,
                       holdout_brier, oof_roc_auc, oof_brier <- brier, threshold_rule,
                       threshold, oof_tp, oof_fp, oof_tn, oof_fn, holdout_tp, holdout_fp,
                       holdout_tn, holdout_fn, shap_method, shap_output_space,
                       search_truncated, model_sha256
ml.model_candidates    run_id, family, description, cv_roc_auc_mean, cv_roc_auc_std,
                       fit_seconds <- fit_time_s, search_seconds <- search_time_s, n_configs,
                       params <- best_params (JSON text), cv_rank, is_selected
ml.predictions         run_id, customer_id, p_decline, predicted_decline, is_holdout
ml.shap_values         run_id, customer_id, feature, shap_value, feature_value_num
ml.feature_importance  run_id, feature, mean_abs_shap <- shap_mean_abs,
                       permutation_importance <- permutation_mean,
                       permutation_importance_std <- permutation_std
                       (without shap_mean_abs, mean |SHAP| is computed from ml.shap_values)
ml.evaluation_curves   run_id, dataset ('oof' | 'holdout'), curve ('roc' | 'pr' |
                       'calibration' | …), point_index, x, y, threshold, bin_count
                       (ml/evaluation.py `evaluation_curves`)

Everything else is read from dbt models whose columns are described in their
yml files: staging.stg_shop_export__*, reference.label_map,
reference.feature_reasons, reference.offer_catalogue, marts.customer_features,
marts.customer_audit and segments.*.

Nothing here reads a table whose size grows with the customers into pandas
whole: what the pages show of such a table is aggregated, capped or thinned
in DuckDB, within the limits of reports/config.py, and each frame that holds
only a part says how large the whole is (a `Part`), so the page can say so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml.contracts.features import MartColumns
from ml.contracts.thinning import sample_evenly
from reports.config import DEFAULT_LIMITS, Limits
from reports.sections import ClassBalance

log = logging.getLogger(__name__)

# report field -> (column in the ml table, SQL type it is cast to)
ML_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "model_runs": {
        "run_id": ("run_id", "varchar"),
        "run_kind": ("run_kind", "varchar"),
        "parent_run_id": ("parent_run_id", "varchar"),
        "started_at": ("started_at", "timestamp"),
        "duration_s": ("duration_s", "double"),
        "n_customers": ("n_customers", "bigint"),
        "n_declined": ("n_declined", "bigint"),
        "data_fingerprint": ("data_fingerprint", "varchar"),
        "code_version": ("code_version", "varchar"),
        "library_versions": ("library_versions", "varchar"),
        "seed": ("seed", "bigint"),
        "model_family": ("model_family", "varchar"),
        "model_params": ("model_params", "varchar"),
        "cv_scheme": ("cv_scheme", "varchar"),
        "cv_roc_auc_mean": ("cv_roc_auc_mean", "double"),
        "cv_roc_auc_std": ("cv_roc_auc_std", "double"),
        "n_holdout": ("holdout_size", "bigint"),
        "holdout_roc_auc": ("holdout_roc_auc", "double"),
        "holdout_brier": ("holdout_brier", "double"),
        "oof_roc_auc": ("oof_roc_auc", "double"),
        "oof_brier": ("brier", "double"),
        "threshold_rule": ("threshold_rule", "varchar"),
        "threshold": ("threshold", "double"),
        "oof_tp": ("oof_tp", "bigint"),
        "oof_fp": ("oof_fp", "bigint"),
        "oof_tn": ("oof_tn", "bigint"),
        "oof_fn": ("oof_fn", "bigint"),
        "holdout_tp": ("holdout_tp", "bigint"),
        "holdout_fp": ("holdout_fp", "bigint"),
        "holdout_tn": ("holdout_tn", "bigint"),
        "holdout_fn": ("holdout_fn", "bigint"),
        "shap_method": ("shap_method", "varchar"),
        "shap_output_space": ("shap_output_space", "varchar"),
        "search_truncated": ("search_truncated", "boolean"),
        "model_sha256": ("model_sha256", "varchar"),
    },
    "model_candidates": {
        "run_id": ("run_id", "varchar"),
        "family": ("family", "varchar"),
        "description": ("description", "varchar"),
        "cv_roc_auc_mean": ("cv_roc_auc_mean", "double"),
        "cv_roc_auc_std": ("cv_roc_auc_std", "double"),
        "fit_seconds": ("fit_time_s", "double"),
        "search_seconds": ("search_time_s", "double"),
        "n_configs": ("n_configs", "bigint"),
        "params": ("best_params", "varchar"),
        "cv_rank": ("cv_rank", "bigint"),
        "is_selected": ("is_selected", "boolean"),
    },
    "predictions": {
        "run_id": ("run_id", "varchar"),
        "customer_id": ("customer_id", "bigint"),
        "p_decline": ("p_decline", "double"),
        "predicted_decline": ("predicted_decline", "boolean"),
        "is_holdout": ("is_holdout", "boolean"),
    },
    "shap_values": {
        "run_id": ("run_id", "varchar"),
        "customer_id": ("customer_id", "bigint"),
        "feature": ("feature", "varchar"),
        "shap_value": ("shap_value", "double"),
        "feature_value_num": ("feature_value_num", "double"),
    },
    "feature_importance": {
        "run_id": ("run_id", "varchar"),
        "feature": ("feature", "varchar"),
        "mean_abs_shap": ("shap_mean_abs", "double"),
        "permutation_importance": ("permutation_mean", "double"),
        "permutation_importance_std": ("permutation_std", "double"),
    },
    "evaluation_curves": {
        "run_id": ("run_id", "varchar"),
        "dataset": ("dataset", "varchar"),
        "curve": ("curve", "varchar"),
        "point_index": ("point_index", "bigint"),
        "x": ("x", "double"),
        "y": ("y", "double"),
        "threshold": ("threshold", "double"),
        "bin_count": ("bin_count", "bigint"),
    },
}

# The staged tables of the export, in the order the shop's files are listed.
STAGING_TABLES = (
    "stg_shop_export__customers",
    "stg_shop_export__monthly_revenues",
    "stg_shop_export__monthly_minutes",
    "stg_shop_export__profits",
)
# Staged columns that carry a raw label next to its canonical form.
LABELLED_COLUMNS = (
    ("stg_shop_export__customers", "service_type", "service_type_raw", "service_type"),
    (
        "stg_shop_export__customers",
        "favourite_category",
        "favourite_category_raw",
        "favourite_category",
    ),
    ("stg_shop_export__customers", "allow_messages", "allow_messages_raw", None),
    ("stg_shop_export__customers", "activity", "activity_label_raw", None),
    ("stg_shop_export__monthly_revenues", "period", "period_raw", "period"),
    ("stg_shop_export__monthly_minutes", "period", "period_raw", "period"),
)
# Periods in time order (canonical codes of reference.label_map, field 'period').
PERIOD_ORDER = ("pre_previous_month", "previous_month", "current_month")


@dataclass(frozen=True)
class ModelRun:
    """One row of ml.model_runs, with its JSON columns parsed (fields: ML_COLUMNS)."""

    run_id: str
    run_kind: str | None = None
    parent_run_id: str | None = None
    started_at: str | None = None
    duration_s: float | None = None
    n_customers: int | None = None
    n_declined: int | None = None
    data_fingerprint: str | None = None
    code_version: str | None = None
    library_versions: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    model_family: str | None = None
    model_params: dict[str, object] = field(default_factory=dict)
    cv_scheme: str | None = None
    cv_roc_auc_mean: float | None = None
    cv_roc_auc_std: float | None = None
    n_holdout: int | None = None
    holdout_roc_auc: float | None = None
    holdout_brier: float | None = None
    oof_roc_auc: float | None = None
    oof_brier: float | None = None
    threshold_rule: str | None = None
    threshold: float | None = None
    oof_tp: int | None = None
    oof_fp: int | None = None
    oof_tn: int | None = None
    oof_fn: int | None = None
    holdout_tp: int | None = None
    holdout_fp: int | None = None
    holdout_tn: int | None = None
    holdout_fn: int | None = None
    shap_method: str | None = None
    shap_output_space: str | None = None
    search_truncated: bool | None = None
    model_sha256: str | None = None


@dataclass(frozen=True)
class Part:
    """How much of a table a frame holds: *n* of its *n_total* rows (all when equal)."""

    n: int
    n_total: int

    @property
    def is_partial(self) -> bool:
        return self.n < self.n_total


@dataclass
class ModelData:
    """What the reports show about one training run."""

    run: ModelRun
    curves: pd.DataFrame
    predictions: pd.DataFrame  # customer_id, p_decline, predicted_decline, declined
    # The beeswarm's dots, already thinned per feature (read_shap_points):
    # feature, position, customer_id, shap_value, feature_value_num.
    shap: pd.DataFrame
    shap_counts: dict[str, int]  # feature -> SHAP values the run stored (before thinning)
    importance: pd.DataFrame  # feature, mean_abs_shap, permutation_importance, …


@dataclass
class SegmentData:
    """The segments.* models, as far as the pages show them (read_segments)."""

    summary: pd.DataFrame
    # The listed customers: per segment at most Limits.segment_customers, largest
    # profit at risk first; with their recommendations.
    customers: pd.DataFrame
    recommendations: pd.DataFrame
    sizes: dict[str, int]  # segment -> customers in segments.customer_segments
    map_points: pd.DataFrame  # customer_id, segment, p_decline, profit (thinned evenly)
    risk_threshold: float | None
    profit_threshold: float | None
    key_profile: pd.DataFrame
    # Feature means and SDs of each segment dbt did not profile, against all
    # other customers: segment, feature, n, mean, std, comparison_n, …
    moments: pd.DataFrame
    offers_by_channel: pd.DataFrame  # segment, channel, n_offers, n_customers
    offers_by_code: pd.DataFrame  # segment, offer_code, channel, driver, offer, n_customers


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


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection: the reports must never change the warehouse."""
    if not Path(path).exists():
        raise FileNotFoundError(f"warehouse not found: {path}")
    return duckdb.connect(str(path), read_only=True)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """Columns of *schema.table* in order; empty when the table does not exist."""
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(table_columns(con, schema, table))


def mapped_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """`select <col> as <field>, …` for an ml table, NULL for the columns it lacks."""
    present = set(table_columns(con, "ml", table))
    parts = []
    for report_field, (column, sql_type) in ML_COLUMNS[table].items():
        if column in present:
            parts.append(f"try_cast({_quote(column)} as {sql_type}) as {_quote(report_field)}")
        else:
            parts.append(f"cast(null as {sql_type}) as {_quote(report_field)}")
    return f"select {', '.join(parts)} from ml.{_quote(table)}"


def missing_ml_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Columns of ML_COLUMNS each existing ml table lacks (they render as "—")."""
    missing = {}
    for table, fields in ML_COLUMNS.items():
        present = set(table_columns(con, "ml", table))
        lacking = [column for column, _ in fields.values() if column not in present]
        if present and lacking:
            missing[table] = lacking
    return missing


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: Iterable | None = None) -> pd.DataFrame:
    return con.execute(sql, list(params or [])).df()


@contextmanager
def _one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the enclosed queries on one DuckDB thread: for sums of doubles (avg, stddev).

    With several threads DuckDB adds partial sums in whichever order the
    threads finish, so over a million rows the last digits of a mean change
    from run to run, and with them the page's bytes (its sort keys, at
    worst a rounded figure). One thread adds in the table's order. Counts,
    medians and sorts are exact and keep every thread.
    """
    ((threads,),) = con.execute("select current_setting('threads')").fetchall()
    con.execute("set threads = 1")
    try:
        yield
    finally:
        con.execute(f"set threads = {int(threads)}")


def _evenly_spaced(
    con: duckdb.DuckDBPyConnection,
    source: str,
    params: list,
    order_by: str,
    limit: int,
    partition: str | None = None,
) -> tuple[pd.DataFrame, dict[object, int]]:
    """At most *limit* rows of query *source* per value of its column *partition*, spread
    evenly over the rows sorted by *order_by*; and how many rows each partition has.

    The rule is ml.contracts.thinning.sample_evenly on the sorted rows (the positions are
    computed there and picked here), so the dots a chart shows are the ones
    it would pick from the whole table; only they leave DuckDB. The result
    has *source*'s columns and `position`, the row's 0-based rank in its
    partition, sorted by partition and position. *params* fill *source*'s
    placeholders.

    One query per partition: DuckDB ranks 16 partitions of a million rows
    several times faster one by one than in one partitioned window.
    """
    if partition is None:
        ((n,),) = con.execute(f"select count(*) from ({source})", params).fetchall()
        counts: dict[object, int] = {None: int(n)}
    else:
        rows = con.execute(
            f"select {partition}, count(*) from ({source}) group by all order by 1", params
        ).fetchall()
        counts = {key: int(n) for key, n in rows}
    frames = []
    for key, n in counts.items():
        where, key_params = ("", []) if partition is None else (f"where {partition} = ?", [key])
        frames.append(
            _df(
                con,
                f"""
                select * from (
                    select *, row_number() over (order by {order_by}) - 1 as position
                    from ({source}) {where}
                )
                where position in (select unnest(?))
                order by position
                """,
                [*params, *key_params, sample_evenly(n, limit).tolist()],
            )
        )
    if not frames:
        return _df(con, f"select *, 0 as position from ({source}) limit 0", params), counts
    return pd.concat(frames, ignore_index=True), counts


# --- Data quality -----------------------------------------------------------------------------


def read_rows_per_file(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows landed from each export file: source_file, staged_table, n_rows."""
    parts = [
        f"select source_file, '{table}' as staged_table, count(*) as n_rows "
        f"from staging.{_quote(table)} group by source_file"
        for table in STAGING_TABLES
        if has_table(con, "staging", table)
    ]
    if not parts:
        return pd.DataFrame(columns=["source_file", "staged_table", "n_rows"])
    return _df(con, " union all ".join(parts) + " order by source_file")


def read_audit_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Audit rows per reason and action: reason, action, n_records, n_customers."""
    return _df(
        con,
        """
        select reason, action, count(*) as n_records,
               count(distinct customer_id) as n_customers
        from marts.customer_audit
        group by reason, action
        order by n_customers desc, reason
        """,
    )


def read_audit_records(
    con: duckdb.DuckDBPyConnection, per_reason: int = DEFAULT_LIMITS.audit_records_per_reason
) -> pd.DataFrame:
    """Audited records, at most *per_reason* of each reason, lowest customer ids first.

    The audit timestamp is left out: pages stay deterministic. The overview
    counts every record in read_audit_summary; the list is for looking cases up.
    """
    return _df(
        con,
        """
        select customer_id, reason, action, source_file, source_line, period,
               raw_value, robust_value, duplicate_group_id, detail
        from marts.customer_audit
        qualify row_number() over (
            partition by reason
            order by customer_id, source_file, source_line, period,
                     raw_value, robust_value, duplicate_group_id, detail, action
        ) <= ?
        order by reason, customer_id, source_file, source_line, period
        """,
        [per_reason],
    )


def read_label_spellings(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows per raw label as exported: field, raw_label, canonical_label, source_file, n_rows.

    The canonical label comes from reference.label_map; which spellings count
    as fixes is decided in reports/quality.py.
    """
    parts = []
    for table, label_field, raw_col, _ in LABELLED_COLUMNS:
        if raw_col not in table_columns(con, "staging", table):
            continue
        parts.append(
            f"select '{label_field}' as field, {_quote(raw_col)} as raw_label, source_file, "
            f"count(*) as n_rows from staging.{_quote(table)} group by all"
        )
    if not parts:
        return pd.DataFrame(
            columns=["field", "raw_label", "canonical_label", "source_file", "n_rows"]
        )
    return _df(
        con,
        f"""
        with counted as ({" union all ".join(parts)})
        select counted.field, counted.raw_label, label_map.canonical_label,
               counted.source_file, counted.n_rows
        from counted
        left join reference.label_map as label_map
            on counted.field = label_map.field and counted.raw_label = label_map.raw_label
        order by counted.field, label_map.canonical_label, counted.raw_label,
                 counted.source_file
        """,
    )


# --- Features and periods ---------------------------------------------------------------------


def read_class_balance(con: duckdb.DuckDBPyConnection, columns: MartColumns) -> ClassBalance:
    """Active customers whose activity declined and those who kept it, counted over all."""
    target = _quote(columns.target)
    ((n_declined, n),) = con.execute(
        f"select count(*) filter (where {target}), count(*) from marts.customer_features"
    ).fetchall()
    return ClassBalance(n_declined=int(n_declined), n_same=int(n) - int(n_declined))


def read_features(
    con: duckdb.DuckDBPyConnection,
    columns: MartColumns,
    limit: int = DEFAULT_LIMITS.eda_sample,
    seed: int = DEFAULT_LIMITS.eda_sample_seed,
) -> tuple[pd.DataFrame, Part]:
    """The feature mart with the contract's columns, ordered by customer id: every customer
    up to *limit*, else a simple random sample of *limit* customers.

    The sample is drawn without replacement from the sorted customer ids with
    numpy's default_rng(*seed*), so the same warehouse gives the same sample.
    The exploratory statistics need the customers' rows (ranks, histograms,
    associations). With 50 000 customers the standard error of a class mean
    is under 1 % of the feature's standard deviation, while the time and
    memory of the statistics would keep growing with every customer.
    """
    select = ", ".join(_quote(c) for c in columns.all)
    id_col = _quote(columns.id)
    ((n_total,),) = con.execute("select count(*) from marts.customer_features").fetchall()
    if n_total <= limit:
        frame = _df(con, f"select {select} from marts.customer_features order by {id_col}")
        return frame, Part(len(frame), int(n_total))
    ids = _df(con, f"select {id_col} as id from marts.customer_features order by {id_col}")
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(ids["id"].to_numpy(), size=limit, replace=False))
    frame = _df(
        con,
        f"select {select} from marts.customer_features "
        f"where {id_col} in (select unnest(?)) order by {id_col}",
        [picked.tolist()],
    )
    return frame, Part(len(frame), int(n_total))


def read_period_summary(con: duckdb.DuckDBPyConnection, columns: MartColumns) -> pd.DataFrame:
    """Mean, median and count of revenue and minutes per period and class, over every active
    customer: measure, period, declined, mean, median, n (unordered: eda.order_periods).

    Revenue as the mart uses it: an implausible value replaced by the robust
    value recorded in the audit. Aggregated here: the values are one row per
    customer and period, millions of them in a large export.
    """
    with _one_thread(con):
        return _df(
            con,
            f"""
            with active as (
                select {_quote(columns.id)} as customer_id, {_quote(columns.target)} as declined
                from marts.customer_features
            ),
            replaced as (
                select customer_id, period, robust_value
                from marts.customer_audit where reason = 'implausible_revenue'
            ),
            period_values as (
                select r.customer_id, 'revenue' as measure, r.period,
                       coalesce(replaced.robust_value, r.revenue) as value
                from staging.stg_shop_export__monthly_revenues as r
                left join replaced
                    on r.customer_id = replaced.customer_id and r.period = replaced.period
                union all
                select m.customer_id, 'minutes' as measure, m.period, cast(m.minutes as double)
                from staging.stg_shop_export__monthly_minutes as m
            )
            select v.measure, v.period, cast(a.declined as boolean) as declined,
                   avg(v.value) as mean, median(v.value) as median, count(*) as n
            from period_values as v
            inner join active as a using (customer_id)
            where a.declined is not null
            group by all
            """,
        )


def read_reference(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """A reference seed (feature_reasons, offer_catalogue); empty when absent."""
    if not has_table(con, "reference", table):
        return pd.DataFrame()
    return _df(con, f"select * from reference.{_quote(table)} order by all")


# --- Model runs -------------------------------------------------------------------------------


def _json_object(text: object) -> dict:
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        log.warning("not a JSON object, shown as text: %.80s", text)
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}


def _none_if_na(value: object) -> object:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def read_model_runs(con: duckdb.DuckDBPyConnection) -> list[ModelRun]:
    """Every run, oldest first (ties by id) so links between runs read in time order."""
    if not has_table(con, "ml", "model_runs"):
        return []
    frame = _df(con, f"{mapped_select(con, 'model_runs')} order by started_at, run_id")
    runs = []
    for row in frame.to_dict("records"):
        row = {k: _none_if_na(v) for k, v in row.items()}
        started = row["started_at"]
        row["started_at"] = None if started is None else pd.Timestamp(started).isoformat(" ")
        row["library_versions"] = _json_object(row["library_versions"])
        row["model_params"] = _json_object(row["model_params"])
        for name, (_, sql_type) in ML_COLUMNS["model_runs"].items():
            if sql_type == "bigint" and row[name] is not None:
                row[name] = int(row[name])
            elif sql_type == "double" and row[name] is not None:
                row[name] = float(row[name])
        runs.append(ModelRun(**row))
    return runs


def latest_training_run(runs: list[ModelRun]) -> ModelRun | None:
    """The newest run that trained a model (scoring runs reuse one)."""
    trained = [r for r in runs if r.run_kind in (None, "train")]
    return trained[-1] if trained else None


def read_candidates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Candidate families of every run, per run best cross-validated ROC-AUC first."""
    if not has_table(con, "ml", "model_candidates"):
        return pd.DataFrame(columns=list(ML_COLUMNS["model_candidates"]))
    return _df(
        con,
        f"select * from ({mapped_select(con, 'model_candidates')}) "
        "where run_id is not null and family is not null "
        "order by run_id, cv_roc_auc_mean desc nulls last, family",
    )


def read_curves(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """Evaluation curve points of a run (ROC, PR, calibration)."""
    if not has_table(con, "ml", "evaluation_curves"):
        return pd.DataFrame(columns=list(ML_COLUMNS["evaluation_curves"]))
    return _df(
        con,
        f"select * from ({mapped_select(con, 'evaluation_curves')}) where run_id = ? "
        "order by dataset, curve, point_index",
        [run_id],
    )


def read_predictions(
    con: duckdb.DuckDBPyConnection, run_id: str, columns: MartColumns
) -> pd.DataFrame:
    """A run's predictions beside the observed class.

    Columns: customer_id, p_decline, predicted_decline, is_holdout, declined.
    """
    if not has_table(con, "ml", "predictions"):
        return pd.DataFrame(
            columns=["customer_id", "p_decline", "predicted_decline", "is_holdout", "declined"]
        )
    return _df(
        con,
        f"""
        select p.customer_id, p.p_decline, p.predicted_decline, p.is_holdout,
               f.{_quote(columns.target)} as declined
        from ({mapped_select(con, "predictions")}) as p
        inner join marts.customer_features as f
            on p.customer_id = f.{_quote(columns.id)}
        where p.run_id = ?
        order by p.customer_id
        """,
        [run_id],
    )


def read_shap_points(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    per_feature: int = DEFAULT_LIMITS.swarm_points_per_feature,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The dots of a run's SHAP beeswarm and the SHAP values stored per feature.

    Dots: per feature at most *per_feature* customers, spread evenly over the
    customers sorted by SHAP value (ties by customer id): feature, customer_id,
    shap_value, feature_value_num (the value the model saw; NULL for
    categorical features), position (rank in the sorted values). The table
    holds one row per customer and feature, 16 million at a million
    customers; the chart never shows more than these.
    """
    if not has_table(con, "ml", "shap_values"):
        empty = ["feature", "customer_id", "shap_value", "feature_value_num", "position"]
        return pd.DataFrame(columns=empty), {}
    return _evenly_spaced(
        con,
        "select feature, customer_id, shap_value, feature_value_num "
        f"from ({mapped_select(con, 'shap_values')}) where run_id = ?",
        [run_id],
        order_by="shap_value asc nulls last, customer_id",
        limit=per_feature,
        partition="feature",
    )


def read_importance(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """Global importance per feature, largest mean |SHAP| first.

    Falls back to mean |SHAP| computed from ml.shap_values when
    ml.feature_importance lacks it (an older ML step).
    """
    present = set(table_columns(con, "ml", "feature_importance"))
    needed = {
        ML_COLUMNS["feature_importance"][f][0] for f in ("run_id", "feature", "mean_abs_shap")
    }
    if needed <= present:
        frame = _df(
            con,
            f"select * from ({mapped_select(con, 'feature_importance')}) where run_id = ?",
            [run_id],
        )
        if not frame.empty:
            return frame.sort_values(
                ["mean_abs_shap", "feature"], ascending=[False, True], ignore_index=True
            )
    if not has_table(con, "ml", "shap_values"):
        return pd.DataFrame(columns=list(ML_COLUMNS["feature_importance"]))
    with _one_thread(con):
        return _df(
            con,
            f"""
            select run_id, feature, avg(abs(shap_value)) as mean_abs_shap,
                   cast(null as double) as permutation_importance,
                   cast(null as double) as permutation_importance_std
            from ({mapped_select(con, "shap_values")})
            where run_id = ?
            group by run_id, feature
            order by mean_abs_shap desc, feature
            """,
            [run_id],
        )


def read_model(
    con: duckdb.DuckDBPyConnection,
    run: ModelRun,
    columns: MartColumns,
    limits: Limits = DEFAULT_LIMITS,
) -> ModelData:
    """Everything the overview shows about *run*."""
    shap, shap_counts = read_shap_points(con, run.run_id, limits.swarm_points_per_feature)
    return ModelData(
        run=run,
        curves=read_curves(con, run.run_id),
        predictions=read_predictions(con, run.run_id, columns),
        shap=shap,
        shap_counts=shap_counts,
        importance=read_importance(con, run.run_id),
    )


# --- Segments ---------------------------------------------------------------------------------


# A segment's customers by profit at risk, largest first (ties: lowest id): the
# order of the segment page's list, and so of which customers it lists.
_BY_PROFIT_AT_RISK = "profit_at_risk desc nulls last, customer_id"


def read_segment_customers(
    con: duckdb.DuckDBPyConnection, per_segment: int = DEFAULT_LIMITS.segment_customers
) -> pd.DataFrame:
    """The customers the segment pages list: per segment the *per_segment* with the
    largest profit at risk, all segments together in that order.

    The ranking reads only the columns it orders by; the other columns (the
    reasons are long texts) are fetched for the chosen customers alone, which
    keeps DuckDB's memory at a million customers to a fraction.
    """
    return _df(
        con,
        f"""
        select * exclude (risk_threshold), cast(risk_threshold as double) as risk_threshold
        from segments.customer_segments
        where customer_id in (
            select customer_id from segments.customer_segments
            qualify row_number() over (partition by segment order by {_BY_PROFIT_AT_RISK}) <= ?
        )
        order by {_BY_PROFIT_AT_RISK}
        """,
        [per_segment],
    )


def read_recommendations_of(
    con: duckdb.DuckDBPyConnection, customer_ids: Iterable[int]
) -> pd.DataFrame:
    """The offers of *customer_ids* (those a segment page lists; the others are not shown)."""
    if not has_table(con, "segments", "customer_recommendations"):
        return pd.DataFrame()
    return _df(
        con,
        "select * from segments.customer_recommendations "
        "where customer_id in (select unnest(?)) "
        f"order by {_BY_PROFIT_AT_RISK}, offer_rank",
        [[int(c) for c in customer_ids]],
    )


def read_segment_sizes(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Customers per segment in segments.customer_segments."""
    frame = _df(con, "select segment, count(*) as n from segments.customer_segments group by 1")
    return {str(k): int(n) for k, n in zip(frame["segment"], frame["n"], strict=True)}


def read_segment_map(
    con: duckdb.DuckDBPyConnection, limit: int = DEFAULT_LIMITS.map_points
) -> pd.DataFrame:
    """The segment map's points: at most *limit* customers, evenly spaced in id order."""
    points, _ = _evenly_spaced(
        con,
        "select customer_id, segment, p_decline, profit from segments.customer_segments",
        [],
        order_by="customer_id",
        limit=limit,
    )
    return points


def read_thresholds(con: duckdb.DuckDBPyConnection) -> tuple[float | None, float | None]:
    """The risk and profit thresholds the segments were cut at (the same on every row)."""
    rows = con.execute(
        "select cast(risk_threshold as double), cast(profit_threshold as double) "
        f"from segments.customer_segments order by {_BY_PROFIT_AT_RISK} limit 1"
    ).fetchall()
    if not rows:
        return None, None
    risk, profit = rows[0]
    return _none_if_na(risk), _none_if_na(profit)  # type: ignore[return-value]


def read_offer_counts(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Offers of every segment counted over all its customers, (by channel, by offer).

    By channel: segment, channel, n_offers, n_customers; most offers first.
    By offer: segment, offer_code, channel, driver, n_customers, offer (the
    text dbt wrote, of the offer's first customer by profit at risk); most
    customers first.
    """
    if not has_table(con, "segments", "customer_recommendations"):
        return (
            pd.DataFrame(columns=["segment", "channel", "n_offers", "n_customers"]),
            pd.DataFrame(
                columns=["segment", "offer_code", "channel", "driver", "n_customers", "offer"]
            ),
        )
    by_channel = _df(
        con,
        """
        select segment, channel, count(offer_code) as n_offers,
               count(distinct customer_id) as n_customers
        from segments.customer_recommendations
        group by segment, channel
        order by segment, n_offers desc, channel
        """,
    )
    by_code = _df(
        con,
        f"""
        select segment, offer_code, channel, driver,
               count(distinct customer_id) as n_customers,
               first(offer order by {_BY_PROFIT_AT_RISK}, offer_rank) as offer
        from segments.customer_recommendations
        group by segment, offer_code, channel, driver
        order by segment, n_customers desc, offer_code
        """,
    )
    return by_channel, by_code


def profile_features(columns: MartColumns) -> list[str]:
    """The features a segment profile compares: numeric ones and yes/no ones (as shares)."""
    booleans = [c for c in columns.categorical if columns.data_types.get(c) == "boolean"]
    return [*columns.numeric, *booleans]


def read_segment_moments(
    con: duckdb.DuckDBPyConnection, columns: MartColumns, segments: list[str]
) -> pd.DataFrame:
    """Count, mean and sample SD of each profile feature in each of *segments* and in all
    other active customers: segment, feature, n, mean, std, comparison_n, comparison_mean,
    comparison_std (eda.welch_row turns them into a profile row).

    Computed over every customer here rather than from frames of customers,
    which at a million customers would be the mart in memory.
    """
    names = ["segment", "feature", "n", "mean", "std"]
    names += ["comparison_n", "comparison_mean", "comparison_std"]
    features = profile_features(columns)
    if not segments or not features:
        return pd.DataFrame(columns=names)
    stats = ", ".join(
        f"avg(cast({_quote(f)} as double)) as {_quote('mean:' + f)}, "
        f"stddev_samp(cast({_quote(f)} as double)) as {_quote('std:' + f)}"
        for f in features
    )
    with _one_thread(con):
        wide = _df(
            con,
            f"""
            with member as (
                select f.*, s.segment as _segment
                from marts.customer_features as f
                left join segments.customer_segments as s
                    on f.{_quote(columns.id)} = s.customer_id
            )
            select wanted.segment, coalesce(member._segment = wanted.segment, false) as inside,
                   count(*) as n, {stats}
            from (select unnest(?) as segment) as wanted
            cross join member
            group by all
            """,
            [list(segments)],
        )
    rows = []
    for segment in segments:
        sides = {bool(r["inside"]): r for r in wide[wide["segment"] == segment].to_dict("records")}
        inside, rest = sides.get(True, {}), sides.get(False, {})
        for f in features:
            rows.append([segment, f, *_moments(inside, f), *_moments(rest, f)])
    return pd.DataFrame(rows, columns=names)


def _moments(side: dict, feature: str) -> list:
    """n, mean, std of *feature* from one row of read_segment_moments' wide result."""
    return [_none_if_na(side.get(k)) for k in ("n", f"mean:{feature}", f"std:{feature}")]


def read_segments(
    con: duckdb.DuckDBPyConnection, columns: MartColumns, limits: Limits = DEFAULT_LIMITS
) -> SegmentData | None:
    """The segments.* models as the pages show them, or None before the first ML run
    built them: per segment its listed customers, sizes, map points and offer counts."""
    needed = ("segment_summary", "customer_segments", "key_segment_profile")
    if not all(has_table(con, "segments", t) for t in needed):
        return None
    summary = _df(
        con,
        "select * from segments.segment_summary "
        "order by is_key_segment desc, risk_band, profit_band, segment",
    )
    key_profile = _df(con, "select * from segments.key_segment_profile order by difference_rank")
    profiled = set(key_profile["key_segment"]) if "key_segment" in key_profile else set()
    unprofiled = [s for s in summary["segment"] if s not in profiled]
    risk_threshold, profit_threshold = read_thresholds(con)
    by_channel, by_code = read_offer_counts(con)
    customers = read_segment_customers(con, limits.segment_customers)
    return SegmentData(
        summary=summary,
        customers=customers,
        recommendations=read_recommendations_of(con, customers["customer_id"]),
        sizes=read_segment_sizes(con),
        map_points=read_segment_map(con, limits.map_points),
        risk_threshold=risk_threshold,
        profit_threshold=profit_threshold,
        key_profile=key_profile,
        moments=read_segment_moments(con, columns, unprofiled),
        offers_by_channel=by_channel,
        offers_by_code=by_code,
    )


# --- Everything -------------------------------------------------------------------------------


def load_report_data(
    path: Path, columns: MartColumns, limits: Limits = DEFAULT_LIMITS
) -> ReportData:
    """Read everything the site needs from the warehouse at *path*, read-only, within
    *limits* (reports/config.py)."""
    with connect(path) as con:
        if not has_table(con, "marts", "customer_features"):
            raise ValueError(f"{path}: marts.customer_features is missing; build the warehouse")
        for table, lacking in missing_ml_columns(con).items():
            log.warning("ml.%s lacks %s: shown as missing", table, ", ".join(lacking))
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
            segments=read_segments(con, columns, limits),
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
