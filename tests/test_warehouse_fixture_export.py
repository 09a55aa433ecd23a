"""The warehouse built from the 8-customer fixture export, checked value by value.

tests/fixtures/raw_small holds, by design:
  100001 «стандартт» typo; 100002 «Косметика и аксесуары» typo, no messages;
  100003 zero revenue in two months (inactive); 100004 current-month revenue
  90000.0 against 5000/5200 before (implausible); 100005 and 100006 identical
  but for the id and profit (possible double registration).
"""

from __future__ import annotations

import pytest

from ml.contracts.features import mart_columns

pytestmark = pytest.mark.slow

ACTIVE_IDS = [100001, 100002, 100004, 100005, 100006, 100007, 100008]


def test_mart_has_one_row_per_active_customer(fixture_warehouse, query):
    rows = query(fixture_warehouse, "select customer_id from marts.customer_features order by 1")
    assert [r[0] for r in rows] == ACTIVE_IDS


def test_target_becomes_boolean_activity_declined(fixture_warehouse, query):
    rows = query(
        fixture_warehouse,
        "select customer_id from marts.customer_features where activity_declined order by 1",
    )
    assert [r[0] for r in rows] == [100001, 100005, 100006]


def test_label_typos_are_fixed_through_the_seed(fixture_warehouse, query):
    rows = dict(
        query(
            fixture_warehouse,
            "select customer_id, service_type || ' / ' || favourite_category"
            " from marts.customer_features where customer_id in (100001, 100002)",
        )
    )
    assert rows == {
        100001: "стандарт / Товары для детей",
        100002: "премиум / Косметика и аксессуары",
    }


def test_raw_label_is_kept_beside_the_canonical_one(fixture_warehouse, query):
    rows = query(
        fixture_warehouse,
        "select service_type_raw, service_type from staging.stg_shop_export__customers"
        " where customer_id = 100001",
    )
    assert rows == [("стандартт", "стандарт")]


def test_revenue_and_minutes_pivot_to_one_column_per_month(fixture_warehouse, query):
    rows = query(
        fixture_warehouse,
        "select revenue_pre_previous_month, revenue_previous_month, revenue_current_month,"
        " minutes_previous_month, minutes_current_month"
        " from marts.customer_features where customer_id = 100001",
    )
    assert rows == [(4472.0, 5216.0, 4971.6, 12, 10)]


def test_profit_is_read_with_decimal_comma(fixture_warehouse, query):
    rows = query(
        fixture_warehouse,
        "select profit from marts.customer_features where customer_id = 100002",
    )
    assert rows == [(4.16,)]


def test_allow_messages_is_boolean(fixture_warehouse, query):
    rows = query(
        fixture_warehouse,
        "select customer_id from marts.customer_features where not allow_messages order by 1",
    )
    assert [r[0] for r in rows] == [100002, 100005, 100006]


def test_implausible_revenue_gets_own_median_in_mart(fixture_warehouse, query):
    rows = query(
        fixture_warehouse,
        "select revenue_current_month, has_revenue_outlier"
        " from marts.customer_features where customer_id = 100004",
    )
    assert rows == [(5100.0, True)]
    others = query(
        fixture_warehouse,
        "select count(*) from marts.customer_features"
        " where has_revenue_outlier and customer_id != 100004",
    )
    assert others == [(0,)]


def test_audit_keeps_the_raw_implausible_value(fixture_warehouse, query):
    rows = query(
        fixture_warehouse,
        "select customer_id, action, period, raw_value, robust_value, source_file, source_line"
        " from marts.customer_audit where reason = 'implausible_revenue'",
    )
    assert rows == [(100004, "replaced", "current_month", 90000.0, 5100.0, "market_money.csv", 12)]


def test_inactive_customer_is_audited_with_each_zero_month(fixture_warehouse, query):
    rows = query(
        fixture_warehouse,
        "select customer_id, action, period, raw_value from marts.customer_audit"
        " where reason = 'inactive_zero_revenue' order by period",
    )
    assert rows == [
        (100003, "excluded", "pre_previous_month", 0.0),
        (100003, "excluded", "previous_month", 0.0),
    ]


def test_identical_records_share_a_duplicate_group(fixture_warehouse, query):
    rows = query(
        fixture_warehouse,
        "select customer_id, duplicate_group_id, is_possible_duplicate"
        " from marts.customer_features order by 1",
    )
    assert rows == [
        (100001, 100001, False),
        (100002, 100002, False),
        (100004, 100004, False),
        (100005, 100005, True),
        (100006, 100005, True),
        (100007, 100007, False),
        (100008, 100008, False),
    ]
    audited = query(
        fixture_warehouse,
        "select customer_id, action, duplicate_group_id from marts.customer_audit"
        " where reason = 'possible_duplicate' order by 1",
    )
    assert audited == [(100005, "flagged", 100005), (100006, "flagged", 100005)]


def test_landed_rows_name_their_file_and_line(fixture_warehouse, query):
    rows = query(
        fixture_warehouse,
        "select source_file, source_line from staging.stg_shop_export__profits"
        " where customer_id = 100002",
    )
    assert rows == [("money.csv", 3)]


def test_mart_columns_and_types_follow_the_contract(fixture_warehouse, query):
    contract = mart_columns()
    rows = query(
        fixture_warehouse,
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' and table_name = 'customer_features'"
        " order by ordinal_position",
    )
    assert [name for name, _ in rows] == list(contract.all)
    assert {name: dtype.lower() for name, dtype in rows} == contract.data_types


def test_landed_tables_are_tables_not_views_over_the_csvs(fixture_warehouse, query):
    # The raw copy was deleted after the build (see conftest.build_from).
    rows = query(
        fixture_warehouse,
        "select table_name, table_type from information_schema.tables"
        " where table_schema in ('staging', 'marts') order by 1",
    )
    assert {name: kind for name, kind in rows} == {
        "customer_audit": "BASE TABLE",
        "customer_features": "BASE TABLE",
        "stg_shop_export__customers": "BASE TABLE",
        "stg_shop_export__monthly_minutes": "BASE TABLE",
        "stg_shop_export__monthly_revenues": "BASE TABLE",
        "stg_shop_export__profits": "BASE TABLE",
    }
    assert query(fixture_warehouse, "select count(*) from marts.customer_features") == [(7,)]


def test_rebuilding_the_same_export_gives_identical_tables(fixture_warehouse, tmp_path, query):
    from .conftest import FIXTURE_RAW_DIR, build_from

    again = build_from(FIXTURE_RAW_DIR, tmp_path)
    for sql in (
        "select * from marts.customer_features order by customer_id",
        "select * exclude (audited_at) from marts.customer_audit order by all",
        "select * exclude (loaded_at) from staging.stg_shop_export__customers order by all",
    ):
        assert query(again, sql) == query(fixture_warehouse, sql), sql
