"""The export as dbt staged and audited it: rows per file, the audit, label spellings,
the feature mart, per-period revenue and minutes, and the reference seeds.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from reports.config import DEFAULT_LIMITS
from reports.contracts import MartColumns
from reports.data.summaries import ClassBalance
from reports.data.warehouse import (
    Part,
    has_table,
    one_thread,
    query,
    quote_identifier,
    table_columns,
)

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


def read_rows_per_file(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows landed from each export file: source_file, staged_table, n_rows."""
    parts = [
        f"select source_file, '{table}' as staged_table, count(*) as n_rows "
        f"from staging.{quote_identifier(table)} group by source_file"
        for table in STAGING_TABLES
        if has_table(con, "staging", table)
    ]
    if not parts:
        return pd.DataFrame(columns=["source_file", "staged_table", "n_rows"])
    return query(con, " union all ".join(parts) + " order by source_file")


def read_audit_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Audit rows per reason and action: reason, action, n_records, n_customers."""
    return query(
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
    return query(
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
    as fixes is decided in reports/data/quality.py.
    """
    parts = []
    for table, label_field, raw_col, _ in LABELLED_COLUMNS:
        if raw_col not in table_columns(con, "staging", table):
            continue
        parts.append(
            f"select '{label_field}' as field, {quote_identifier(raw_col)} as raw_label, "
            "source_file, "
            f"count(*) as n_rows from staging.{quote_identifier(table)} group by all"
        )
    if not parts:
        return pd.DataFrame(
            columns=["field", "raw_label", "canonical_label", "source_file", "n_rows"]
        )
    return query(
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


def read_class_balance(con: duckdb.DuckDBPyConnection, columns: MartColumns) -> ClassBalance:
    """Active customers whose activity declined and those who kept it, counted over all."""
    target = quote_identifier(columns.target)
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
    select = ", ".join(quote_identifier(c) for c in columns.all)
    id_col = quote_identifier(columns.id)
    ((n_total,),) = con.execute("select count(*) from marts.customer_features").fetchall()
    if n_total <= limit:
        frame = query(con, f"select {select} from marts.customer_features order by {id_col}")
        return frame, Part(len(frame), int(n_total))
    ids = query(con, f"select {id_col} as id from marts.customer_features order by {id_col}")
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(ids["id"].to_numpy(), size=limit, replace=False))
    frame = query(
        con,
        f"select {select} from marts.customer_features "
        f"where {id_col} in (select unnest(?)) order by {id_col}",
        [picked.tolist()],
    )
    return frame, Part(len(frame), int(n_total))


def read_period_summary(con: duckdb.DuckDBPyConnection, columns: MartColumns) -> pd.DataFrame:
    """Mean, median and count of revenue and minutes per period and class, over every active
    customer: measure, period, declined, mean, median, n (unordered: statistics.order_periods).

    Revenue as the mart uses it: an implausible value replaced by the robust
    value recorded in the audit. Aggregated here: the values are one row per
    customer and period, millions of them in a large export.
    """
    with one_thread(con):
        return query(
            con,
            f"""
            with active as (
                select {quote_identifier(columns.id)} as customer_id,
                       {quote_identifier(columns.target)} as declined
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
    return query(con, f"select * from reference.{quote_identifier(table)} order by all")
