"""The warehouse layer's cleaning as ONE hand-written DuckDB statement: the engine's limit.

Same rules as bench/pandas_reference.py (read the four CSVs, fix the label
typos, pivot revenue and minutes by period, drop customers with a
zero-revenue month, replace implausible revenue, join profit), with no dbt,
no staging tables and no tests. `dbt build` is judged by its ratio to this:
what is left is the warehouse's own work (landing the raw rows with file and
line, every test, the audit) and dbt's start-up.

    python bench/duckdb_reference.py RAW_DIR [--out mart.parquet]
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import duckdb
from reference_cli import reference_args

log = logging.getLogger("bench.duckdb_reference")

POPULATION_RATIO = 5
OWN_RATIO = 3
PERIODS = ["pre_previous_month", "previous_month", "current_month"]


def mart_statement(raw_dir: Path) -> str:
    """The one statement that builds the feature mart from the export in *raw_dir*."""

    def csv(name: str, delim: str = ",", decimal: str = ".") -> str:
        return (
            f"read_csv('{raw_dir / name}', header = true, delim = '{delim}', "
            f"decimal_separator = '{decimal}')"
        )

    period_code = """case "Период"
            when 'препредыдущий_месяц' then 'pre_previous_month'
            when 'предыдущий_месяц' then 'previous_month'
            when 'предыдцщий_месяц' then 'previous_month'
            when 'текущий_месяц' then 'current_month' end"""
    pivot_revenue = ",\n".join(
        f"max(\"Выручка\") filter (where period = '{p}') as r_{p}" for p in PERIODS
    )
    medians = ",\n".join(f"median(r_{p}) as m_{p}" for p in PERIODS)
    robust = []
    for p in PERIODS:
        a, b = (o for o in PERIODS if o != p)
        robust.append(
            f"case when r_{p} > {POPULATION_RATIO} * m_{p} "
            f"and r_{p} > {OWN_RATIO} * greatest(r_{a}, r_{b}) "
            f"then (r_{a} + r_{b}) / 2 else r_{p} end as revenue_{p}"
        )
    robust_sql = ",\n".join(robust)
    active = " and ".join(f"r_{p} > 0" for p in PERIODS)
    return f"""
with
revenue as (
    select id, {pivot_revenue}
    from (select *, {period_code} as period from {csv("market_money.csv")})
    group by id
),
active as (select * from revenue where {active}),
medians as (select {medians} from active),
robust as (select id, {robust_sql} from active cross join medians),
minutes as (
    select id,
        max("минут") filter (where period = 'previous_month') as minutes_previous_month,
        max("минут") filter (where period = 'current_month') as minutes_current_month
    from (select *, {period_code} as period from {csv("market_time.csv")})
    group by id
)
select
    c.id as customer_id,
    c."Покупательская активность" = 'Снизилась' as activity_declined,
    case c."Тип сервиса" when 'стандартт' then 'стандарт' else c."Тип сервиса" end
        as service_type,
    c."Разрешить сообщать" = 'да' as allow_messages,
    c."Маркет_актив_6_мес" as marketing_activity_6m,
    c."Маркет_актив_тек_мес" as marketing_activity_current_month,
    c."Длительность" as tenure_days,
    c."Акционные_покупки" as promo_purchase_share,
    case c."Популярная_категория"
        when 'Косметика и аксесуары' then 'Косметика и аксессуары'
        else c."Популярная_категория" end as favourite_category,
    c."Средний_просмотр_категорий_за_визит" as avg_categories_per_visit,
    c."Неоплаченные_продукты_штук_квартал" as unpaid_items_quarter,
    c."Ошибка_сервиса" as service_errors,
    c."Страниц_за_визит" as pages_per_visit,
    robust.revenue_pre_previous_month,
    robust.revenue_previous_month,
    robust.revenue_current_month,
    minutes.minutes_previous_month,
    minutes.minutes_current_month,
    money."Прибыль" as profit
from {csv("market_file.csv")} as c
join robust on c.id = robust.id
join minutes on c.id = minutes.id
join {csv("money.csv", ";", ",")} as money on c.id = money.id
"""


def build_mart(raw_dir: Path, out: Path | None = None) -> int:
    """Run the statement; write the mart to *out* (parquet) or count it. Returns its rows."""
    con = duckdb.connect()
    statement = mart_statement(raw_dir)
    if out is not None:
        con.execute(f"copy ({statement}) to '{out}' (format parquet)")
        return con.execute(f"select count(*) from '{out}'").fetchone()[0]
    # Materialised as a table so the whole result is computed, as dbt does.
    con.execute(f"create table mart as {statement}")
    return con.execute("select count(*) from mart").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    """Build the mart with one DuckDB statement and report the time taken."""
    args = reference_args(__doc__, argv)
    started = time.perf_counter()
    rows = build_mart(args.raw_dir, args.out)
    log.info("duckdb reference: %d customers in %.2f s", rows, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
