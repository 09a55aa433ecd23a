"""The warehouse layer's cleaning, pivoting and filtering in plain pandas, for comparison.

This is how notebooks on this task do it: read the four CSVs with pandas, fix
the label typos, pivot revenue and minutes by period, drop customers with a
zero-revenue month, replace implausible revenue, and join profit. The
benchmark times it on the same inputs as `dbt build` so the warehouse layer's
speed is reported as a ratio against it. Same rules as the dbt models; the
benchmark checks both produce the same mart.

    python bench/pandas_reference.py RAW_DIR [--out mart.parquet]
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import pandas as pd
from reference_cli import reference_args

log = logging.getLogger("bench.pandas_reference")

LABEL_FIXES = {
    "Тип сервиса": {"стандартт": "стандарт"},
    "Популярная_категория": {"Косметика и аксесуары": "Косметика и аксессуары"},
}
PERIODS = {
    "препредыдущий_месяц": "pre_previous_month",
    "предыдущий_месяц": "previous_month",
    "предыдцщий_месяц": "previous_month",
    "текущий_месяц": "current_month",
}
RENAMES = {
    "id": "customer_id",
    "Покупательская активность": "activity",
    "Тип сервиса": "service_type",
    "Разрешить сообщать": "allow_messages",
    "Маркет_актив_6_мес": "marketing_activity_6m",
    "Маркет_актив_тек_мес": "marketing_activity_current_month",
    "Длительность": "tenure_days",
    "Акционные_покупки": "promo_purchase_share",
    "Популярная_категория": "favourite_category",
    "Средний_просмотр_категорий_за_визит": "avg_categories_per_visit",
    "Неоплаченные_продукты_штук_квартал": "unpaid_items_quarter",
    "Ошибка_сервиса": "service_errors",
    "Страниц_за_визит": "pages_per_visit",
}
POPULATION_RATIO = 5
OWN_RATIO = 3


def build_mart(raw_dir: Path) -> pd.DataFrame:
    """The feature mart from the four export files, one row per active customer."""
    customers = pd.read_csv(raw_dir / "market_file.csv")
    money = pd.read_csv(raw_dir / "market_money.csv")
    minutes = pd.read_csv(raw_dir / "market_time.csv")
    profit = pd.read_csv(raw_dir / "money.csv", sep=";", decimal=",")

    customers = customers.replace(LABEL_FIXES).rename(columns=RENAMES)
    customers["activity_declined"] = customers.pop("activity") == "Снизилась"
    customers["allow_messages"] = customers["allow_messages"] == "да"

    money["period"] = money["Период"].map(PERIODS)
    revenue = money.pivot_table(index="id", columns="period", values="Выручка", aggfunc="max")
    revenue = revenue[["pre_previous_month", "previous_month", "current_month"]]
    active = (revenue > 0).all(axis=1)
    revenue = revenue[active]

    # Implausible: > 5x the month's median and > 3x the customer's other months.
    robust = revenue.copy()
    medians = revenue.median()
    for period in revenue.columns:
        others = revenue.drop(columns=period)
        implausible = (revenue[period] > POPULATION_RATIO * medians[period]) & (
            revenue[period] > OWN_RATIO * others.max(axis=1)
        )
        robust.loc[implausible, period] = others[implausible].median(axis=1)
    robust.columns = [f"revenue_{period}" for period in robust.columns]

    minutes["period"] = minutes["Период"].map(PERIODS)
    wide_minutes = minutes.pivot_table(index="id", columns="period", values="минут", aggfunc="max")
    wide_minutes = wide_minutes[["previous_month", "current_month"]]
    wide_minutes.columns = [f"minutes_{period}" for period in wide_minutes.columns]

    mart = (
        customers.set_index("customer_id")
        .join(robust, how="inner")
        .join(wide_minutes, how="inner")
        .join(profit.set_index("id").rename(columns={"Прибыль": "profit"}), how="inner")
    )
    return mart.reset_index().sort_values("customer_id", ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    """Build the mart with pandas and report the time taken."""
    args = reference_args(__doc__, argv)
    started = time.perf_counter()
    mart = build_mart(args.raw_dir)
    elapsed = time.perf_counter() - started
    if args.out:
        mart.to_parquet(args.out)
    log.info("pandas reference: %d customers in %.2f s", len(mart), elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
