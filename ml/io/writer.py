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
from ml.contracts.ml_tables import TABLES
from ml.contracts.sql import quote_identifier

logger = logging.getLogger(__name__)


class WriteBackError(RuntimeError):
    """Write-back failed and was rolled back; the message says which table and why."""


# A table's rows for write_run: one frame, or frames written one after another.
TableRows = pd.DataFrame | Iterable[pd.DataFrame]


def model_runs_row(**values: object) -> pd.DataFrame:
    """One ``ml.model_runs`` row with every declared column; columns not given are null.

    Training fills nearly all of them, scoring only provenance and threshold.
    """
    names = TABLES["model_runs"].column_names
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise WriteBackError(f"ml.model_runs has no column(s) {unknown}")
    return pd.DataFrame([{c: values.get(c) for c in names}])


def create_tables(con: duckdb.DuckDBPyConnection, schema: str = ML_SCHEMA) -> None:
    """Create the schema and any missing table or column.

    Tables carried from an earlier version of the warehouse gain the columns
    added since (null in their old rows); nothing is dropped or retyped, so
    earlier runs stay readable.
    """
    con.execute(f"create schema if not exists {quote_identifier(schema)}")
    for name, table in TABLES.items():
        body = ", ".join(f"{quote_identifier(c.name)} {c.sql_type}" for c in table.columns)
        target = f"{quote_identifier(schema)}.{quote_identifier(name)}"
        con.execute(f"create table if not exists {target} ({body})")
        for c in table.columns:
            con.execute(
                f"alter table {target} add column if not exists "
                f"{quote_identifier(c.name)} {c.sql_type}"
            )


def _check_frame(table: str, frame: pd.DataFrame) -> None:
    expected = list(TABLES[table].column_names)
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    if missing or extra:
        raise WriteBackError(f"ml.{table}: frame columns differ (missing {missing}, extra {extra})")
    if "run_id" in frame.columns and frame["run_id"].isna().any():
        raise WriteBackError(f"ml.{table}: rows without run_id")


def _chunks(rows: TableRows) -> Iterable[pd.DataFrame]:
    return [rows] if isinstance(rows, pd.DataFrame) else rows


def _insert_rows(con: duckdb.DuckDBPyConnection, target: str, table: str, rows: TableRows) -> int:
    """Insert a table's rows chunk by chunk, first deleting older rows of the same run ids.

    Rows may bring their own SQL from a registered chunk to the table's
    columns (``rows.select_sql(view)``: ml.model.explanation.ShapRows unpivots wide
    chunks in DuckDB); plain frames must already have the table's columns.
    """
    columns = list(TABLES[table].column_names)
    casts = ", ".join(
        f"cast({quote_identifier(c.name)} as {c.sql_type})" for c in TABLES[table].columns
    )
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
                f"insert into {target} ({', '.join(map(quote_identifier, columns))}) "
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
    the whole transaction back and raises :class:`WriteBackError`.
    """
    unknown = sorted(set(frames) - set(TABLES))
    if unknown:
        raise WriteBackError(f"unknown ml tables: {unknown}")
    for table, rows in frames.items():
        if isinstance(rows, pd.DataFrame):
            _check_frame(table, rows)
    written: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        create_tables(con, schema)
        for table, rows in frames.items():
            target = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            written[table] = _insert_rows(con, target, table, rows)
        con.execute("commit")
    except Exception as error:
        con.execute("rollback")
        if isinstance(error, WriteBackError):
            raise
        raise WriteBackError(f"write-back to schema {schema} rolled back: {error}") from error
    logger.info("wrote %s", ", ".join(f"{schema}.{t} ({n} rows)" for t, n in written.items()))
    return written
