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
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ml.features import MartColumns

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


@dataclass
class ModelData:
    """What the reports show about one training run."""

    run: ModelRun
    curves: pd.DataFrame
    predictions: pd.DataFrame  # customer_id, p_decline, predicted_decline, declined
    shap: pd.DataFrame  # customer_id, feature, shap_value
    importance: pd.DataFrame  # feature, mean_abs_shap, permutation_importance, …


@dataclass
class SegmentData:
    """The segments.* models."""

    summary: pd.DataFrame
    customers: pd.DataFrame
    key_profile: pd.DataFrame
    recommendations: pd.DataFrame


@dataclass
class ReportData:
    """Everything the site is rendered from; parts the warehouse lacks are None."""

    columns: MartColumns
    features: pd.DataFrame
    rows_per_file: pd.DataFrame
    audit_summary: pd.DataFrame
    audit_records: pd.DataFrame
    label_spellings: pd.DataFrame
    label_map: pd.DataFrame
    period_values: pd.DataFrame
    feature_reasons: pd.DataFrame
    offer_catalogue: pd.DataFrame
    runs: list[ModelRun] = field(default_factory=list)
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: ModelData | None = None
    segments: SegmentData | None = None


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


def read_audit_records(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every audited record (the audit timestamp is left out: pages stay deterministic)."""
    return _df(
        con,
        """
        select customer_id, reason, action, source_file, source_line, period,
               raw_value, robust_value, duplicate_group_id, detail
        from marts.customer_audit
        order by reason, customer_id, source_file, source_line, period
        """,
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


def read_features(con: duckdb.DuckDBPyConnection, columns: MartColumns) -> pd.DataFrame:
    """The feature mart with the contract's columns, ordered by customer id."""
    select = ", ".join(_quote(c) for c in columns.all)
    return _df(con, f"select {select} from marts.customer_features order by {_quote(columns.id)}")


def read_period_values(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Revenue and minutes per active customer and period (long: customer_id, measure, period,
    value).

    Revenue as the mart uses it: an implausible value replaced by the robust
    value recorded in the audit.
    """
    return _df(
        con,
        """
        with active as (select customer_id from marts.customer_features),
        replaced as (
            select customer_id, period, robust_value
            from marts.customer_audit where reason = 'implausible_revenue'
        )
        select r.customer_id, 'revenue' as measure, r.period,
               coalesce(replaced.robust_value, r.revenue) as value
        from staging.stg_shop_export__monthly_revenues as r
        inner join active using (customer_id)
        left join replaced
            on r.customer_id = replaced.customer_id and r.period = replaced.period
        union all
        select m.customer_id, 'minutes' as measure, m.period, cast(m.minutes as double)
        from staging.stg_shop_export__monthly_minutes as m
        inner join active using (customer_id)
        order by measure, period, customer_id
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


def read_shap(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """Per-customer SHAP values of a run, long: customer_id, feature, shap_value,
    feature_value_num (the value the model saw; NULL for categorical features)."""
    if not has_table(con, "ml", "shap_values"):
        return pd.DataFrame(columns=["customer_id", "feature", "shap_value", "feature_value_num"])
    return _df(
        con,
        "select customer_id, feature, shap_value, feature_value_num "
        f"from ({mapped_select(con, 'shap_values')}) "
        "where run_id = ? order by feature, customer_id",
        [run_id],
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


def read_model(con: duckdb.DuckDBPyConnection, run: ModelRun, columns: MartColumns) -> ModelData:
    """Everything the overview shows about *run*."""
    return ModelData(
        run=run,
        curves=read_curves(con, run.run_id),
        predictions=read_predictions(con, run.run_id, columns),
        shap=read_shap(con, run.run_id),
        importance=read_importance(con, run.run_id),
    )


# --- Segments ---------------------------------------------------------------------------------


def read_segments(con: duckdb.DuckDBPyConnection) -> SegmentData | None:
    """The segments.* models, or None before the first ML run built them."""
    needed = ("segment_summary", "customer_segments", "key_segment_profile")
    if not all(has_table(con, "segments", t) for t in needed):
        return None
    recommendations = (
        _df(
            con,
            "select * from segments.customer_recommendations "
            "order by profit_at_risk desc, customer_id, offer_rank",
        )
        if has_table(con, "segments", "customer_recommendations")
        else pd.DataFrame()
    )
    return SegmentData(
        summary=_df(
            con,
            "select * from segments.segment_summary "
            "order by is_key_segment desc, risk_band, profit_band, segment",
        ),
        customers=_df(
            con,
            "select * exclude (risk_threshold), cast(risk_threshold as double) as risk_threshold "
            "from segments.customer_segments order by profit_at_risk desc, customer_id",
        ),
        key_profile=_df(con, "select * from segments.key_segment_profile order by difference_rank"),
        recommendations=recommendations,
    )


# --- Everything -------------------------------------------------------------------------------


def load_report_data(path: Path, columns: MartColumns) -> ReportData:
    """Read everything the site needs from the warehouse at *path*, read-only."""
    with connect(path) as con:
        if not has_table(con, "marts", "customer_features"):
            raise ValueError(f"{path}: marts.customer_features is missing; build the warehouse")
        for table, lacking in missing_ml_columns(con).items():
            log.warning("ml.%s lacks %s: shown as missing", table, ", ".join(lacking))
        runs = read_model_runs(con)
        chosen = latest_training_run(runs)
        data = ReportData(
            columns=columns,
            features=read_features(con, columns),
            rows_per_file=read_rows_per_file(con),
            audit_summary=read_audit_summary(con),
            audit_records=read_audit_records(con),
            label_spellings=read_label_spellings(con),
            label_map=read_reference(con, "label_map"),
            period_values=read_period_values(con),
            feature_reasons=read_reference(con, "feature_reasons"),
            offer_catalogue=read_reference(con, "offer_catalogue"),
            runs=runs,
            candidates=read_candidates(con),
            model=read_model(con, chosen, columns) if chosen else None,
            segments=read_segments(con),
        )
    log.info(
        "read %d customers, %d model runs, segments %s",
        len(data.features),
        len(runs),
        "present" if data.segments is not None else "absent",
    )
    return data
