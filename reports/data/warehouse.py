"""Reading the published warehouse: read-only connection, identifier quoting, the ML
tables under the writer's names, and capped reads that leave DuckDB only as a part.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from reports.contracts import ML_SCHEMA, ML_TABLES, quote_identifier, sample_evenly

log = logging.getLogger(__name__)


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


def ml_columns(table: str) -> list[str]:
    """The columns of ml.*table* in the writer's order (ml/contracts/ml_tables.py TABLES)."""
    return list(ML_TABLES[table].column_names)


def has_ml_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return has_table(con, ML_SCHEMA, table)


def ml_select(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str] | None = None
) -> str:
    """`select …` of ml.*table* under the writer's names and types (every column, or
    *columns*); NULL for a column the stored table lacks (an older ML step), so such
    a warehouse still renders, with "—" where a figure is missing.

    Asking for a column the writer does not declare is an error: the reader
    follows the writer, it never names columns of its own.
    """
    types = {c.name: c.sql_type for c in ML_TABLES[table].columns}
    wanted = list(types) if columns is None else list(columns)
    unknown = [c for c in wanted if c not in types]
    if unknown:
        raise KeyError(f"ml.{table} declares no column(s) {unknown} (ml.contracts.ml_tables)")
    present = set(table_columns(con, ML_SCHEMA, table))
    parts = []
    for column in wanted:
        name = quote_identifier(column)
        value = f"try_cast({name} as {types[column]})" if column in present else "null"
        parts.append(f"cast({value} as {types[column]}) as {name}")
    source = f"{quote_identifier(ML_SCHEMA)}.{quote_identifier(table)}"
    return f"select {', '.join(parts)} from {source}"


def missing_ml_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Declared columns each existing ml table lacks (read as NULL, shown as "—")."""
    missing = {}
    for table in ML_TABLES:
        present = set(table_columns(con, ML_SCHEMA, table))
        lacking = [column for column in ml_columns(table) if column not in present]
        if present and lacking:
            missing[table] = lacking
    return missing


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Iterable | None = None) -> pd.DataFrame:
    """The result of *sql* with *params* as a DataFrame."""
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

    The rule is contracts.sample_evenly on the sorted rows (the positions are
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
