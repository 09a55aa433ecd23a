"""The line numbers of a landed export file hold when DuckDB reads it in parallel.

The monthly files' staging models number rows by their position in a
temporary copy of the file (macros/stage_export_file.sql: land_export_rows,
export_rows): the copy is written with insertion order kept for that one
statement, inside the model's transaction, while the global setting (which
the folder's hooks turn off) may say otherwise. The fixture exports are too
small for DuckDB to split a file between threads, so this builds the revenue
staging model with dbt from a market_money.csv large enough to be read by
several threads, whose every id is its row's position: if the landing stopped
keeping file order (or a DuckDB release numbered rowids otherwise), every
source_line of the monthly files would be wrong without any test on the small
exports noticing.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from ml.ops.dbt_runner import run_dbt

from .conftest import FIXTURE_RAW_DIR, paths_in

pytestmark = pytest.mark.slow

# Well past DuckDB's CSV buffer, so the file is read by several threads.
ROWS = 3_000_000
PERIOD_LABELS = ("препредыдущий_месяц", "предыдущий_месяц", "текущий_месяц")


@pytest.fixture(scope="module")
def large_revenue_export(tmp_path_factory):
    """The fixture export with market_money.csv replaced: row i has id i."""
    raw = tmp_path_factory.mktemp("landing") / "raw"
    shutil.copytree(FIXTURE_RAW_DIR, raw)
    labels = ", ".join(f"'{label}'" for label in PERIOD_LABELS)
    with duckdb.connect() as con:
        con.execute(
            f'copy (select range as id, [{labels}][range % 3 + 1] as "Период",'
            f' range * 1.5 as "Выручка" from range({ROWS}))'
            f" to '{raw / 'market_money.csv'}' (header, delimiter ',')"
        )
    return raw


def test_every_landed_row_is_numbered_with_its_line_in_the_file(large_revenue_export, tmp_path):
    paths = paths_in(tmp_path, large_revenue_export)
    # the model with the label seed it joins, without the tests that read other files
    report = run_dbt(
        paths,
        (
            "build",
            "--select",
            "+stg_shop_export__monthly_revenues",
            "--indirect-selection",
            "cautious",
        ),
    )
    assert report.success
    with duckdb.connect(str(paths.build_duckdb), read_only=True) as con:
        rows, misnumbered = con.execute(
            "select count(*), count(*) filter (where source_line != customer_id + 2)"
            " from staging.stg_shop_export__monthly_revenues"
        ).fetchone()
    assert (rows, misnumbered) == (ROWS, 0)
