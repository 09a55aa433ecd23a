"""Atomic write-back of the ML output tables into the `ml` schema of the warehouse.

All tables of one run are written in a single DuckDB transaction: either the
whole run lands or, on any error, the previous runs' rows stay exactly as
they were. Tables keep history: every row carries its `run_id`, a run id is
written once (re-writing the same id replaces its rows), and readers pick
the run they want (dbt models use the latest `train` run).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import duckdb
import pandas as pd

from ml.config import ML_SCHEMA

logger = logging.getLogger(__name__)


class WarehouseError(RuntimeError):
    """Write-back failed and was rolled back; the message says which table and why."""


# A table's rows for write_run: one frame, or frames written one after another.
TableRows = pd.DataFrame | Iterable[pd.DataFrame]

# Column order and SQL types of every table; the dbt source yml describes each column.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "model_runs": (
        ("run_id", "varchar"),
        ("run_kind", "varchar"),
        ("parent_run_id", "varchar"),
        ("started_at", "timestamp"),
        ("finished_at", "timestamp"),
        ("duration_s", "double"),
        ("mart_relation", "varchar"),
        ("n_customers", "integer"),
        ("n_declined", "integer"),
        ("data_fingerprint", "varchar"),
        ("code_version", "varchar"),
        ("library_versions", "varchar"),
        ("seed", "integer"),
        ("model_family", "varchar"),
        ("model_params", "varchar"),
        ("ensemble_members", "varchar"),
        ("ensemble_member_1", "varchar"),
        ("ensemble_member_2", "varchar"),
        ("ensemble_member_3", "varchar"),
        ("n_configs_tried", "integer"),
        ("cv_scheme", "varchar"),
        ("cv_roc_auc_mean", "double"),
        ("cv_roc_auc_std", "double"),
        ("nested_cv_roc_auc_mean", "double"),
        ("nested_cv_roc_auc_std", "double"),
        ("holdout_size", "integer"),
        ("holdout_roc_auc", "double"),
        ("holdout_brier", "double"),
        ("oof_roc_auc", "double"),
        ("brier", "double"),
        ("threshold_rule", "varchar"),
        ("threshold", "double"),
        ("oof_precision", "double"),
        ("oof_recall", "double"),
        ("oof_f1", "double"),
        ("oof_tp", "integer"),
        ("oof_fp", "integer"),
        ("oof_tn", "integer"),
        ("oof_fn", "integer"),
        ("holdout_precision", "double"),
        ("holdout_recall", "double"),
        ("holdout_f1", "double"),
        ("holdout_tp", "integer"),
        ("holdout_fp", "integer"),
        ("holdout_tn", "integer"),
        ("holdout_fn", "integer"),
        ("shap_method", "varchar"),
        ("shap_output_space", "varchar"),
        ("shap_base_value", "double"),
        ("importance_rank_corr", "double"),
        ("search_truncated", "boolean"),
        ("model_path", "varchar"),
        ("model_sha256", "varchar"),
    ),
    "model_candidates": (
        ("run_id", "varchar"),
        ("family", "varchar"),
        ("description", "varchar"),
        ("cv_roc_auc_mean", "double"),
        ("cv_roc_auc_std", "double"),
        ("fit_time_s", "double"),
        ("search_time_s", "double"),
        ("n_configs", "integer"),
        ("best_params", "varchar"),
        ("cv_rank", "integer"),
        ("is_selected", "boolean"),
        ("is_eligible", "boolean"),
    ),
    "predictions": (
        ("run_id", "varchar"),
        ("customer_id", "bigint"),
        ("p_decline", "double"),
        ("predicted_decline", "boolean"),
        ("p_source", "varchar"),
        ("fold", "integer"),
        ("is_holdout", "boolean"),
        ("base_value", "double"),
    ),
    "shap_values": (
        ("run_id", "varchar"),
        ("customer_id", "bigint"),
        ("feature", "varchar"),
        ("feature_value", "varchar"),
        ("feature_value_num", "double"),
        ("shap_value", "double"),
    ),
    "feature_importance": (
        ("run_id", "varchar"),
        ("feature", "varchar"),
        ("shap_mean_abs", "double"),
        ("shap_rank", "integer"),
        ("permutation_mean", "double"),
        ("permutation_std", "double"),
        ("permutation_rank", "integer"),
        ("is_actionable", "boolean"),
    ),
    "evaluation_curves": (
        ("run_id", "varchar"),
        ("dataset", "varchar"),
        ("curve", "varchar"),
        ("point_index", "integer"),
        ("x", "double"),
        ("y", "double"),
        ("threshold", "double"),
        ("bin_count", "integer"),
    ),
}


def model_runs_row(**values: object) -> pd.DataFrame:
    """One ``ml.model_runs`` row with every declared column; columns not given are null.

    Training fills nearly all of them, scoring only provenance and threshold.
    """
    unknown = sorted(set(values) - {c for c, _ in TABLES["model_runs"]})
    if unknown:
        raise WarehouseError(f"ml.model_runs has no column(s) {unknown}")
    return pd.DataFrame([{c: values.get(c) for c, _ in TABLES["model_runs"]}])


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_tables(con: duckdb.DuckDBPyConnection, schema: str = ML_SCHEMA) -> None:
    """Create the schema and any missing table or column.

    Tables carried from an earlier version of the warehouse gain the columns
    added since (null in their old rows); nothing is dropped or retyped, so
    earlier runs stay readable.
    """
    con.execute(f"create schema if not exists {_ident(schema)}")
    for table, columns in TABLES.items():
        body = ", ".join(f"{_ident(c)} {t}" for c, t in columns)
        target = f"{_ident(schema)}.{_ident(table)}"
        con.execute(f"create table if not exists {target} ({body})")
        for column, sql_type in columns:
            con.execute(
                f"alter table {target} add column if not exists {_ident(column)} {sql_type}"
            )


def _check_frame(table: str, frame: pd.DataFrame) -> None:
    expected = [c for c, _ in TABLES[table]]
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    if missing or extra:
        raise WarehouseError(f"ml.{table}: frame columns differ (missing {missing}, extra {extra})")
    if "run_id" in frame.columns and frame["run_id"].isna().any():
        raise WarehouseError(f"ml.{table}: rows without run_id")


def _chunks(rows: TableRows) -> Iterable[pd.DataFrame]:
    return [rows] if isinstance(rows, pd.DataFrame) else rows


def _insert_rows(con: duckdb.DuckDBPyConnection, target: str, table: str, rows: TableRows) -> int:
    """Insert a table's rows chunk by chunk, first deleting older rows of the same run ids.

    Rows may bring their own SQL from a registered chunk to the table's
    columns (``rows.select_sql(view)``: ml.explain.ShapRows unpivots wide
    chunks in DuckDB); plain frames must already have the table's columns.
    """
    columns = [c for c, _ in TABLES[table]]
    casts = ", ".join(f"cast({_ident(c)} as {t})" for c, t in TABLES[table])
    select_sql = getattr(rows, "select_sql", None)
    view = f"_ml_write_{table}"
    replaced: set[str] = set()  # run ids whose earlier rows are already deleted
    inserted = 0
    for frame in _chunks(rows):
        if select_sql is None:
            _check_frame(table, frame)
            frame = frame[columns]
        con.register(view, frame)
        try:
            new_ids = set(frame["run_id"].unique()) - replaced
            if new_ids:
                con.execute(
                    f"delete from {target} where run_id in (select unnest(?))", [sorted(new_ids)]
                )
                replaced |= new_ids
            source = select_sql(view) if select_sql is not None else f"select * from {view}"
            count = con.execute(
                f"insert into {target} ({', '.join(map(_ident, columns))}) "
                f"select {casts} from ({source})"
            ).fetchone()
            inserted += int(count[0]) if count else 0
        finally:
            con.unregister(view)
    return inserted


def write_run(
    con: duckdb.DuckDBPyConnection,
    frames: Mapping[str, TableRows],
    schema: str = ML_SCHEMA,
) -> dict[str, int]:
    """Write one run's rows into the ml tables atomically; return rows written per table.

    A table's rows are a frame or an iterable of chunks (inserted one after
    the other in the same transaction, so a million customers' SHAP rows
    never sit in memory at once). Rows already stored under the same
    run ids are replaced, rows of other runs are untouched. Any failure rolls
    the whole transaction back and raises :class:`WarehouseError`.
    """
    unknown = sorted(set(frames) - set(TABLES))
    if unknown:
        raise WarehouseError(f"unknown ml tables: {unknown}")
    for table, rows in frames.items():
        if isinstance(rows, pd.DataFrame):
            _check_frame(table, rows)
    written: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        create_tables(con, schema)
        for table, rows in frames.items():
            written[table] = _insert_rows(con, f"{_ident(schema)}.{_ident(table)}", table, rows)
        con.execute("commit")
    except Exception as error:
        con.execute("rollback")
        if isinstance(error, WarehouseError):
            raise
        raise WarehouseError(f"write-back to schema {schema} rolled back: {error}") from error
    logger.info("wrote %s", ", ".join(f"{schema}.{t} ({n} rows)" for t, n in written.items()))
    return written
