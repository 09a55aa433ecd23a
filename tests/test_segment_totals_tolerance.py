"""The segment totals test (dbt_project/data-tests/assert_segment_totals_add_up.sql)
tolerates the last-bit differences of DuckDB's parallel sums, and still
catches a missing customer or a wrong sum.

The test's SQL is compiled by dbt and run against hand-built tables of the
two relations it reads, large enough for the same sum taken per customer and
per segment to differ in floating point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ml.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

N_CUSTOMERS = 2_000_000
TEST_NAME = "assert_segment_totals_add_up"


@pytest.fixture(scope="module")
def compiled_test(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A build file named as dbt names it, and the test's compiled SQL."""
    workdir = tmp_path_factory.mktemp("totals")
    build = workdir / "totals.duckdb"
    target = workdir / "target"
    env = dict(
        os.environ,
        ONE_CLICK_BUILD_DUCKDB=str(build),
        ONE_CLICK_DUCKDB=str(workdir / "published.duckdb"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    dbt = str(Path(sys.executable).with_name("dbt"))
    subprocess.run(
        [dbt, "compile", "--select", TEST_NAME, "--target-path", str(target),
         "--log-path", str(workdir / "logs"), "--quiet"],
        cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    sql = next(target.glob(f"compiled/**/{TEST_NAME}.sql")).read_text()
    return build, sql


def _tables(con: duckdb.DuckDBPyConnection) -> None:
    """Customers with awkward profits in 4 segments, and the summary built from them."""
    con.execute("create schema if not exists segments")
    con.execute(
        f"""
        create or replace table segments.customer_segments as
        select
            range as customer_id,
            'segment_' || (range % 4) as segment,
            -- profits of a few units (thousand roubles, as in the export)
            -- with many digits, so the order of addition matters
            (hash(range) % 1000000) / 16000.0 + 1e-7 * (range % 13) as profit,
            ((hash(range) % 1000000) / 16000.0) * ((hash(range * 3) % 997) / 997.0)
                as profit_at_risk
        from range({N_CUSTOMERS})
        """
    )
    con.execute(
        """
        create or replace table segments.segment_summary as
        select
            segment,
            count(*) as n_customers,
            sum(profit) as total_profit,
            sum(profit_at_risk) as total_profit_at_risk,
            count(*) / sum(count(*)) over () as customer_share
        from segments.customer_segments
        group by segment
        """
    )


def _failures(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(f"select count(*) from ({sql})").fetchone()[0]


def _failures_after(compiled_test: tuple[Path, str], *changes: str) -> int:
    """The test's failing rows once *changes* (SQL statements) are applied to fresh tables."""
    build, sql = compiled_test
    with duckdb.connect(str(build)) as con:
        _tables(con)
        for change in changes:
            con.execute(change)
        return _failures(con, sql)


def test_sums_that_differ_only_by_parallel_rounding_pass(compiled_test):
    build, sql = compiled_test
    with duckdb.connect(str(build)) as con:
        _tables(con)
        whole, by_segment = con.execute(
            "select (select sum(profit) from segments.customer_segments),"
            " (select sum(total_profit) from segments.segment_summary)"
        ).fetchone()
        # the premise: the two ways of adding really differ in floating point
        # (by about 2e-6 here, over the old absolute tolerance of 1e-6)
        assert whole != by_segment
        assert abs(whole - by_segment) < 1e-9 * abs(whole)

        assert _failures(con, sql) == 0


def test_a_missing_customer_fails(compiled_test):
    failures = _failures_after(
        compiled_test, "delete from segments.customer_segments where customer_id = 12345"
    )
    assert failures == 1


def test_a_sum_short_of_one_small_profit_fails(compiled_test):
    # 1 out of a total of about 62 million: one small customer's profit
    failures = _failures_after(
        compiled_test,
        "update segments.segment_summary set total_profit = total_profit - 1.0"
        " where segment = 'segment_2'",
    )
    assert failures == 1


def test_an_infinite_profit_fails(compiled_test):
    failures = _failures_after(
        compiled_test,
        "update segments.customer_segments set profit = 'inf'::double where customer_id = 7",
        "update segments.segment_summary set total_profit = 'inf'::double"
        " where segment = 'segment_3'",
    )
    assert failures == 1
