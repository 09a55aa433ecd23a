"""The ML step's tables (ml.*): runs, candidates, curves, predictions, SHAP dots, importance."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields

import duckdb
import pandas as pd

from reports.config import DEFAULT_LIMITS, Limits
from reports.contracts import ML_SCHEMA, ML_TABLES, MartColumns
from reports.data import warehouse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRun:
    """The columns of an ml.model_runs row the pages show, under the writer's names
    (ml/contracts/ml_tables.py TABLES), with its JSON columns parsed."""

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
    holdout_size: int | None = None
    holdout_roc_auc: float | None = None
    holdout_brier: float | None = None
    oof_roc_auc: float | None = None
    brier: float | None = None  # out-of-fold
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
    # The beeswarm's dots, already thinned per feature (read_shap_points):
    # feature, position, customer_id, shap_value, feature_value_num.
    shap: pd.DataFrame
    shap_counts: dict[str, int]  # feature -> SHAP values the run stored (before thinning)
    importance: pd.DataFrame  # ml.feature_importance: feature, shap_mean_abs, …


def _json_object(text: object) -> dict:
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        log.warning("not a JSON object, shown as text: %.80s", text)
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}


def _typed(value: object, sql_type: str) -> object:
    """A value of a model_runs column as the Python type its declared SQL type means."""
    if value is None:
        return None
    if sql_type in ("integer", "bigint"):
        return int(value)  # type: ignore[call-overload]
    if sql_type == "double":
        return float(value)  # type: ignore[arg-type]
    return value


def read_model_runs(con: duckdb.DuckDBPyConnection) -> list[ModelRun]:
    """Every run, oldest first (ties by id) so links between runs read in time order."""
    if not warehouse.has_ml_table(con, "model_runs"):
        return []
    shown = [f.name for f in fields(ModelRun)]
    frame = warehouse.query(
        con, f"{warehouse.ml_select(con, 'model_runs', shown)} order by started_at, run_id"
    )
    types = {c.name: c.sql_type for c in ML_TABLES["model_runs"].columns}
    runs = []
    for record in frame.to_dict("records"):
        row = {k: _typed(warehouse.none_if_na(v), types[k]) for k, v in record.items()}
        started = row["started_at"]
        row["started_at"] = None if started is None else pd.Timestamp(started).isoformat(" ")
        row["library_versions"] = _json_object(row["library_versions"])
        row["model_params"] = _json_object(row["model_params"])
        runs.append(ModelRun(**row))
    return runs


def latest_training_run(runs: list[ModelRun]) -> ModelRun | None:
    """The newest run that trained a model (scoring runs reuse one)."""
    trained = [r for r in runs if r.run_kind in (None, "train")]
    return trained[-1] if trained else None


def read_candidates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Candidate families of every run, per run best cross-validated ROC-AUC first."""
    if not warehouse.has_ml_table(con, "model_candidates"):
        return pd.DataFrame(columns=warehouse.ml_columns("model_candidates"))
    return warehouse.query(
        con,
        f"select * from ({warehouse.ml_select(con, 'model_candidates')}) "
        "where run_id is not null and family is not null "
        "order by run_id, cv_roc_auc_mean desc nulls last, family",
    )


def read_curves(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """Evaluation curve points of a run (ROC, PR, calibration)."""
    if not warehouse.has_ml_table(con, "evaluation_curves"):
        return pd.DataFrame(columns=warehouse.ml_columns("evaluation_curves"))
    return warehouse.query(
        con,
        f"select * from ({warehouse.ml_select(con, 'evaluation_curves')}) where run_id = ? "
        "order by dataset, curve, point_index",
        [run_id],
    )


# What a page shows of a prediction; the observed class comes from the mart.
PREDICTION_COLUMNS = ("run_id", "customer_id", "p_decline", "predicted_decline", "is_holdout")


def read_predictions(
    con: duckdb.DuckDBPyConnection, run_id: str, columns: MartColumns
) -> pd.DataFrame:
    """A run's predictions beside the observed class.

    Columns: customer_id, p_decline, predicted_decline, is_holdout, declined.
    """
    if not warehouse.has_ml_table(con, "predictions"):
        return pd.DataFrame(
            columns=["customer_id", "p_decline", "predicted_decline", "is_holdout", "declined"]
        )
    return warehouse.query(
        con,
        f"""
        select p.customer_id, p.p_decline, p.predicted_decline, p.is_holdout,
               f.{warehouse.quote_identifier(columns.target)} as declined
        from ({warehouse.ml_select(con, "predictions", PREDICTION_COLUMNS)}) as p
        inner join marts.customer_features as f
            on p.customer_id = f.{warehouse.quote_identifier(columns.id)}
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
    dots = ["feature", "customer_id", "shap_value", "feature_value_num"]
    if not warehouse.has_ml_table(con, "shap_values"):
        return pd.DataFrame(columns=[*dots, "position"]), {}
    shap_values = warehouse.ml_select(con, "shap_values", [*dots, "run_id"])
    return warehouse.evenly_spaced(
        con,
        f"select {', '.join(dots)} from ({shap_values}) where run_id = ?",
        [run_id],
        order_by="shap_value asc nulls last, customer_id",
        limit=per_feature,
        partition="feature",
    )


def read_importance(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """Global importance per feature (ml.feature_importance), largest mean |SHAP| first.

    Falls back to mean |SHAP| computed from ml.shap_values when
    ml.feature_importance lacks it (an older ML step); the other columns are
    then missing.
    """
    columns = warehouse.ml_columns("feature_importance")
    present = set(warehouse.table_columns(con, ML_SCHEMA, "feature_importance"))
    if {"run_id", "feature", "shap_mean_abs"} <= present:
        frame = warehouse.query(
            con,
            f"select * from ({warehouse.ml_select(con, 'feature_importance')}) where run_id = ?",
            [run_id],
        )
        if not frame.empty:
            return frame.sort_values(
                ["shap_mean_abs", "feature"], ascending=[False, True], ignore_index=True
            )
    if not warehouse.has_ml_table(con, "shap_values"):
        return pd.DataFrame(columns=columns)
    with warehouse.one_thread(con):
        frame = warehouse.query(
            con,
            f"""
            select run_id, feature, avg(abs(shap_value)) as shap_mean_abs
            from ({warehouse.ml_select(con, "shap_values", ["run_id", "feature", "shap_value"])})
            where run_id = ?
            group by run_id, feature
            order by shap_mean_abs desc, feature
            """,
            [run_id],
        )
    return frame.reindex(columns=columns)


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
