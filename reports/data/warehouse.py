"""Reading the published warehouse: read-only connection, identifier quoting, the ML
tables under the writer's names, and capped reads that leave DuckDB only as a part.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from reports.data.summaries import sample_evenly

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


@dataclass(frozen=True)
class Part:
    """How much of a table a frame holds: *n* of its *n_total* rows (all when equal)."""

    n: int
    n_total: int

    @property
    def is_partial(self) -> bool:
        return self.n < self.n_total


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection: the reports must never change the warehouse."""
    if not Path(path).exists():
        raise FileNotFoundError(f"warehouse not found: {path}")
    return duckdb.connect(str(path), read_only=True)


def quote_identifier(identifier: str) -> str:
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
            cast = f"try_cast({quote_identifier(column)} as {sql_type})"
            parts.append(f"{cast} as {quote_identifier(report_field)}")
        else:
            parts.append(f"cast(null as {sql_type}) as {quote_identifier(report_field)}")
    return f"select {', '.join(parts)} from ml.{quote_identifier(table)}"


def missing_ml_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Columns of ML_COLUMNS each existing ml table lacks (they render as "—")."""
    missing = {}
    for table, fields in ML_COLUMNS.items():
        present = set(table_columns(con, "ml", table))
        lacking = [column for column, _ in fields.values() if column not in present]
        if present and lacking:
            missing[table] = lacking
    return missing


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Iterable | None = None) -> pd.DataFrame:
    return con.execute(sql, list(params or [])).df()


@contextmanager
def one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
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


def evenly_spaced(
    con: duckdb.DuckDBPyConnection,
    source: str,
    params: list,
    order_by: str,
    limit: int,
    partition: str | None = None,
) -> tuple[pd.DataFrame, dict[object, int]]:
    """At most *limit* rows of query *source* per value of its column *partition*, spread
    evenly over the rows sorted by *order_by*; and how many rows each partition has.

    The rule is sections.sample_evenly on the sorted rows (the positions are
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
            query(
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
        return query(con, f"select *, 0 as position from ({source}) limit 0", params), counts
    return pd.concat(frames, ignore_index=True), counts


def none_if_na(value: object) -> object:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value
