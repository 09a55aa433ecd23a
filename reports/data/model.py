"""The ML step's tables (ml.*): runs, candidates, curves, predictions, SHAP dots, importance."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from reports.config import DEFAULT_LIMITS, Limits
from reports.contracts import MartColumns
from reports.data.warehouse import (
    ML_COLUMNS,
    evenly_spaced,
    has_table,
    mapped_select,
    none_if_na,
    one_thread,
    query,
    quote_identifier,
    table_columns,
)

log = logging.getLogger(__name__)


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
    # The beeswarm's dots, already thinned per feature (read_shap_points):
    # feature, position, customer_id, shap_value, feature_value_num.
    shap: pd.DataFrame
    shap_counts: dict[str, int]  # feature -> SHAP values the run stored (before thinning)
    importance: pd.DataFrame  # feature, mean_abs_shap, permutation_importance, …


def _json_object(text: object) -> dict:
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        log.warning("not a JSON object, shown as text: %.80s", text)
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}


def read_model_runs(con: duckdb.DuckDBPyConnection) -> list[ModelRun]:
    """Every run, oldest first (ties by id) so links between runs read in time order."""
    if not has_table(con, "ml", "model_runs"):
        return []
    frame = query(con, f"{mapped_select(con, 'model_runs')} order by started_at, run_id")
    runs = []
    for row in frame.to_dict("records"):
        row = {k: none_if_na(v) for k, v in row.items()}
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
    return query(
        con,
        f"select * from ({mapped_select(con, 'model_candidates')}) "
        "where run_id is not null and family is not null "
        "order by run_id, cv_roc_auc_mean desc nulls last, family",
    )


def read_curves(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """Evaluation curve points of a run (ROC, PR, calibration)."""
    if not has_table(con, "ml", "evaluation_curves"):
        return pd.DataFrame(columns=list(ML_COLUMNS["evaluation_curves"]))
    return query(
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
    return query(
        con,
        f"""
        select p.customer_id, p.p_decline, p.predicted_decline, p.is_holdout,
               f.{quote_identifier(columns.target)} as declined
        from ({mapped_select(con, "predictions")}) as p
        inner join marts.customer_features as f
            on p.customer_id = f.{quote_identifier(columns.id)}
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
    return evenly_spaced(
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
        frame = query(
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
    with one_thread(con):
        return query(
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
