"""The line numbers of a landed export file hold when DuckDB reads it in parallel.

The monthly files' staging models number rows by their position in a
temporary copy of the file (macros/stage_export_file.sql: land_export_rows,
export_rows): the copy is written with insertion order kept for that one
statement, inside the model's transaction, while the global setting (which
the folder's hooks turn off) may say otherwise. The fixture exports are too
small for DuckDB to split a file between threads, so this builds one that is
large enough and runs the same statements on it: if a DuckDB release stopped
keeping file order (or rowids) this way, every source_line of the monthly
files would be wrong without any test on the small exports noticing.
"""

from __future__ import annotations

import duckdb
import pytest

pytestmark = pytest.mark.slow

# Well past DuckDB's CSV buffer, so the file is read by several threads.
ROWS = 3_000_000


@pytest.fixture(scope="module")
def large_monthly_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("landing") / "market_money.csv"
    with duckdb.connect() as con:
        con.execute(
            f'copy (select range as id, \'текущий_месяц\' as "Период", range * 1.5 as "Выручка"'
            f" from range({ROWS})) to '{path}' (header, delimiter ',')"
        )
    return path


def landed_lines(con: duckdb.DuckDBPyConnection, path) -> list[tuple[int, int]]:
    """Land *path* as the staging pre-hook does and number it as export_rows does; bad rows."""
    con.execute("set threads = 2")
    # what the folder's pre-hook leaves for every model (macros/insertion_order.sql)
    con.execute("set global preserve_insertion_order = false")
    con.execute("begin transaction")
    con.execute("set session preserve_insertion_order = true")
    con.execute(
        "create or replace temporary table landed as select * from read_csv("
        f"'{path}', header = true, auto_detect = false,"
        " columns = {'id': 'DOUBLE', 'Период': 'VARCHAR', 'Выручка': 'DOUBLE'})"
    )
    con.execute("reset session preserve_insertion_order")
    wrong = con.execute(
        "select id, line from ("
        "  select landed.id, landed.rowid - first_row.rowid + 2 as line"
        "  from landed cross join (select min(rowid) as rowid from landed) as first_row"
        ") where line != id + 2 limit 5"
    ).fetchall()
    con.execute("commit")
    return wrong


def test_every_landed_row_is_numbered_with_its_line_in_the_file(large_monthly_file, tmp_path):
    with duckdb.connect(str(tmp_path / "build.duckdb")) as con:
        assert landed_lines(con, large_monthly_file) == []
        count = con.execute("select count(*) from landed").fetchone()[0]
    assert count == ROWS
