"""Every number of the export is checked: fractions in ids and counts, and
non-finite values, stop the build naming file, line and value; an id written
with `.0` is accepted; a customer implausible in every month is audited.

Each case edits one value of a copy of the fixture export (CRLF lines).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from ml.ops.dbt_runner import WarehouseBuildError, build_warehouse

from .conftest import FIXTURE_RAW_DIR, paths_in

pytestmark = pytest.mark.slow

CRLF = "\r\n"


def _edit_line(raw: Path, file_name: str, line: int, old: str, new: str) -> None:
    path = raw / file_name
    lines = path.read_bytes().decode("utf-8").split(CRLF)
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text(CRLF.join(lines), encoding="utf-8", newline="")


def _build(tmp_path: Path, edit: Callable[[Path], None]):
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE_RAW_DIR, raw)
    edit(raw)
    paths = paths_in(tmp_path, raw)
    return paths, lambda: build_warehouse(paths)


def _stored_failures(build_duckdb: Path) -> list[tuple]:
    with duckdb.connect(str(build_duckdb), read_only=True) as con:
        return con.execute(
            "select source_file, source_line, problems"
            " from test_failures.assert_export_numbers_are_valid"
            " order by source_file, source_line"
        ).fetchall()


REJECTED = {
    "fractional id": (
        lambda raw: _edit_line(raw, "market_file.csv", 4, "100003,", "100003.4,"),
        ("market_file.csv", 4, "customer_id = 100003.4 is not a whole number"),
    ),
    "fractional count": (
        lambda raw: _edit_line(raw, "market_time.csv", 3, ",12", ",12.7"),
        ("market_time.csv", 3, "minutes = 12.7 is not a whole number"),
    ),
    "infinite profit": (
        lambda raw: _edit_line(raw, "money.csv", 3, "4,16", "inf"),
        ("money.csv", 3, "profit = inf is not a finite number"),
    ),
    "revenue not a number": (
        lambda raw: _edit_line(raw, "market_money.csv", 3, "4971.6", "nan"),
        ("market_money.csv", 3, "revenue = nan is not a finite number"),
    ),
    "empty count": (
        lambda raw: _edit_line(raw, "market_file.csv", 2, ",6,2,1,5", ",6,,1,5"),
        ("market_file.csv", 2, "unpaid_items_quarter is empty (must not be empty)"),
    ),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_a_value_that_does_not_parse_stops_the_build_naming_file_line_and_value(case, tmp_path):
    edit, (file_name, line, problem) = REJECTED[case]
    paths, build = _build(tmp_path, edit)

    with pytest.raises(WarehouseBuildError) as raised:
        build()

    assert f"{file_name} line {line}: {problem}" in str(raised.value)
    assert _stored_failures(paths.build_duckdb) == [(file_name, line, problem)]


def test_an_integer_id_written_with_a_zero_decimal_part_is_accepted(tmp_path):
    paths, build = _build(
        tmp_path, lambda raw: _edit_line(raw, "market_file.csv", 4, "100003,", "100003.0,")
    )

    build()

    with duckdb.connect(str(paths.build_duckdb), read_only=True) as con:
        assert con.execute(
            "select count(*) from staging.stg_shop_export__customers"
            " where customer_id = 100003 and invalid_values is null"
        ).fetchone() == (1,)
        assert con.execute("select count(*) from marts.customer_features").fetchone() == (7,)


def test_a_customer_implausible_in_every_month_is_audited_and_kept_out(tmp_path):
    def every_month_huge(raw: Path) -> None:
        path = raw / "market_money.csv"
        lines = path.read_bytes().decode("utf-8").split(CRLF)
        edited = [
            line.rsplit(",", 1)[0] + ",1e15" if line.startswith("100001,") else line
            for line in lines
        ]
        assert edited != lines
        path.write_text(CRLF.join(edited), encoding="utf-8", newline="")

    paths, build = _build(tmp_path, every_month_huge)

    build()

    with duckdb.connect(str(paths.build_duckdb), read_only=True) as con:
        assert con.execute(
            "select count(*) from marts.customer_features where customer_id = 100001"
        ).fetchone() == (0,)
        audit = con.execute(
            "select action, raw_value, robust_value, detail from marts.customer_audit"
            " where customer_id = 100001 and reason = 'implausible_revenue' order by period"
        ).fetchall()
    assert len(audit) == 3
    assert {(action, raw, robust) for action, raw, robust, _ in audit} == {("excluded", 1e15, None)}
    assert "1,000,000,000,000,000.0" in audit[0][3]
    assert "kept out of the mart" in audit[0][3]
