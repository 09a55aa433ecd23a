"""The warehouse built from the shop's real export: row counts and the known defects.

Needs ../shared/data/raw (always there in CI, where its absence fails the run).
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


def test_every_raw_row_is_landed(real_warehouse, query):
    counts = query(
        real_warehouse,
        "select (select count(*) from staging.stg_shop_export__customers),"
        " (select count(*) from staging.stg_shop_export__monthly_revenues),"
        " (select count(*) from staging.stg_shop_export__monthly_minutes),"
        " (select count(*) from staging.stg_shop_export__profits)",
    )
    assert counts == [(1300, 3900, 2600, 1300)]


def test_three_inactive_customers_leave_the_mart(real_warehouse, query):
    excluded = query(
        real_warehouse,
        "select distinct customer_id from marts.customer_audit"
        " where reason = 'inactive_zero_revenue' order by 1",
    )
    assert [r[0] for r in excluded] == [215348, 215357, 215359]
    assert query(real_warehouse, "select count(*) from marts.customer_features") == [(1297,)]


def test_the_known_implausible_revenue_is_flagged_and_replaced(real_warehouse, query):
    audited = query(
        real_warehouse,
        "select customer_id, period, raw_value from marts.customer_audit"
        " where reason = 'implausible_revenue'",
    )
    assert audited == [(215380, "current_month", 106862.2)]
    robust = query(
        real_warehouse,
        "select revenue_current_month < 10000 from marts.customer_features"
        " where customer_id = 215380",
    )
    assert robust == [(True,)]


def test_eleven_pairs_of_double_registrations_are_grouped(real_warehouse, query):
    groups = query(
        real_warehouse,
        "select count(*) as size from marts.customer_features"
        " where is_possible_duplicate group by duplicate_group_id",
    )
    assert sorted(size for (size,) in groups) == [2] * 11


def test_label_typos_are_fixed(real_warehouse, query):
    fixes = query(
        real_warehouse,
        "select 'service_type', service_type_raw, service_type, count(*)"
        " from staging.stg_shop_export__customers where service_type_raw != service_type"
        " group by all union all"
        " select 'favourite_category', favourite_category_raw, favourite_category, count(*)"
        " from staging.stg_shop_export__customers"
        " where favourite_category_raw != favourite_category group by all"
        " union all select 'period', period_raw, period, count(*)"
        " from staging.stg_shop_export__monthly_minutes"
        " where period_raw = 'предыдцщий_месяц' group by all order by 1",
    )
    assert fixes == [
        ("favourite_category", "Косметика и аксесуары", "Косметика и аксессуары", 223),
        ("period", "предыдцщий_месяц", "previous_month", 1300),
        ("service_type", "стандартт", "стандарт", 10),
    ]


def test_class_balance_of_the_mart(real_warehouse, query):
    assert query(
        real_warehouse,
        "select count(*) filter (where activity_declined), count(*) from marts.customer_features",
    ) == [(495, 1297)]
