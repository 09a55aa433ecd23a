"""A broken export stops the build with a message naming the file and the fault,
and leaves what an earlier build published as it was.

Each case corrupts a copy of the fixture export in one way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from ml.config import Paths
from ml.dbt_build import WarehouseBuildError, build_warehouse, condense_duckdb_csv_error
from ml.publish import publish

from .conftest import FIXTURE_RAW_DIR, paths_in

pytestmark = pytest.mark.slow

CRLF = "\r\n"


def _rewrite(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    lines = path.read_bytes().decode("utf-8").split(CRLF)
    path.write_text(CRLF.join(edit(lines)), encoding="utf-8", newline="")


def _replace_in_line(number: int, old: str, new: str) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        assert old in lines[number - 1]
        lines[number - 1] = lines[number - 1].replace(old, new)
        return lines

    return edit


def _missing(raw: Path) -> None:
    (raw / "money.csv").unlink()


def _empty(raw: Path) -> None:
    (raw / "market_time.csv").write_bytes(b"")


def _header_only(raw: Path) -> None:
    _rewrite(raw / "money.csv", lambda lines: [*lines[:1], ""])


def _renamed_column(raw: Path) -> None:
    _rewrite(raw / "market_money.csv", _replace_in_line(1, "Выручка", "Revenue"))


def _wrong_separator(raw: Path) -> None:
    _rewrite(raw / "money.csv", lambda lines: [line.replace(";", ",", 1) for line in lines])


def _non_numeric(raw: Path) -> None:
    _rewrite(raw / "money.csv", _replace_in_line(3, "4,16", "abc"))


def _unknown_label(raw: Path) -> None:
    _rewrite(raw / "market_file.csv", _replace_in_line(3, "премиум", "VIP"))


def _unknown_period(raw: Path) -> None:
    _rewrite(raw / "market_time.csv", _replace_in_line(2, "текущий_месяц", "этот_месяц"))


def _orphan_id(raw: Path) -> None:
    _rewrite(raw / "money.csv", lambda lines: [*lines[:-1], "999999;1,00", ""])


def _negative_count(raw: Path) -> None:
    _rewrite(raw / "market_file.csv", _replace_in_line(2, ",6,2,1,5", ",6,-2,1,5"))


def _extra_column(raw: Path) -> None:
    _rewrite(raw / "money.csv", _replace_in_line(1, "Прибыль", "Прибыль;Скидка"))


def _decimal_point(raw: Path) -> None:
    _rewrite(raw / "money.csv", _replace_in_line(3, "4,16", "4.16"))


def _cp1251_file(raw: Path) -> None:
    path = raw / "market_money.csv"
    path.write_bytes(path.read_bytes().decode("utf-8").encode("cp1251"))


def _cp1251_row(raw: Path) -> None:
    path = raw / "market_file.csv"
    lines = path.read_bytes().split(CRLF.encode())
    lines[4] = lines[4].decode("utf-8").encode("cp1251")
    path.write_bytes(CRLF.encode().join(lines))


def _truncated_last_line(raw: Path) -> None:
    path = raw / "market_file.csv"
    path.write_bytes(path.read_bytes()[:-8])


def _repeated_profit_id(raw: Path) -> None:
    _rewrite(raw / "money.csv", lambda lines: [*lines[:-1], "100002;9,99", ""])


CASES = {
    "missing file": (_missing, ["money.csv", "file not found"]),
    "empty file": (_empty, ["market_time.csv", "file is empty"]),
    "header only": (_header_only, ["money.csv has a header but no data rows"]),
    "renamed column": (
        _renamed_column,
        ["market_money.csv", "missing column(s): Выручка", "unexpected column(s): Revenue"],
    ),
    "wrong separator": (_wrong_separator, ["money.csv", 'wrong separator? expected ";"']),
    "non-numeric value": (
        _non_numeric,
        ["money.csv line 3", 'column "Прибыль"', 'Could not convert string "abc"'],
    ),
    "unknown label": (_unknown_label, ["service_type", "VIP"]),
    "unknown period": (_unknown_period, ["period", "этот_месяц"]),
    "id in one file only": (_orphan_id, ["customer_id 999999 is in money.csv but not in"]),
    "negative count": (_negative_count, ["unpaid_items_quarter", "-2"]),
    "extra column": (_extra_column, ["money.csv", "unexpected column(s): Скидка"]),
    "decimal point instead of comma": (
        _decimal_point,
        ["money.csv line 3", 'Could not convert string "4.16"'],
    ),
    "cp1251 file": (_cp1251_file, ["market_money.csv", "not UTF-8 text"]),
    "cp1251 row": (_cp1251_row, ["market_file.csv line 5", "not utf-8 encoded"]),
    "truncated last line": (
        _truncated_last_line,
        ["market_file.csv line 9", "Expected Number of Columns: 13 Found: 10"],
    ),
    "repeated id in money.csv": (_repeated_profit_id, ["unique", "customer_id", "100002"]),
}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """Locations where the good fixture export was built and published."""
    workdir = tmp_path_factory.mktemp("published")
    paths = paths_in(workdir, FIXTURE_RAW_DIR)
    build_warehouse(paths)
    publish(paths, run_id="20260101T000000Z-good", keep=3)
    return paths


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", list(CASES))
def test_broken_export_stops_with_a_message_naming_the_fault(case, published, tmp_path):
    corrupt, expected_fragments = CASES[case]
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE_RAW_DIR, raw)
    corrupt(raw)
    before = _sha256(published.duckdb)

    with pytest.raises(WarehouseBuildError) as raised:
        build_warehouse(dataclasses.replace(published, raw_dir=raw))

    message = str(raised.value)
    for fragment in expected_fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert _sha256(published.duckdb) == before
    with duckdb.connect(str(published.duckdb), read_only=True) as con:
        assert con.execute("select count(*) from marts.customer_features").fetchone() == (7,)


def test_duckdb_csv_error_is_condensed_to_file_line_and_column():
    message = (
        "Conversion Error: CSV Error on Line: 7\nOriginal Line: \n100006;x,1\n"
        'Error when converting column "Прибыль". Could not convert string "x,1" to \'DOUBLE\'\n'
        "\nColumn Прибыль is being converted as type DOUBLE\nThis type was auto-detected\n"
        "  file = /data/raw/money.csv\n  delimiter = ; (Set By User)\n"
    )
    assert condense_duckdb_csv_error(message) == (
        'money.csv line 7: Error when converting column "Прибыль". Could not convert string '
        "\"x,1\" to 'DOUBLE' (line reads: '100006;x,1')"
    )


def test_a_byte_order_mark_is_tolerated(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE_RAW_DIR, raw)
    path = raw / "market_file.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    paths = paths_in(tmp_path, raw)
    build_warehouse(paths)
    with duckdb.connect(str(paths.build_duckdb), read_only=True) as con:
        assert con.execute("select count(*) from marts.customer_features").fetchone() == (7,)


def test_a_repeated_customer_id_is_quarantined_not_fatal(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE_RAW_DIR, raw)
    # a second, different record under id 100002
    _rewrite(
        raw / "market_file.csv",
        lambda lines: [*lines[:-1], lines[2].replace("Прежний уровень", "Снизилась"), ""],
    )
    paths = paths_in(tmp_path, raw)
    report = build_warehouse(paths)
    assert report.n_warned == 1
    with duckdb.connect(str(paths.build_duckdb), read_only=True) as con:
        mart_ids = [
            r[0] for r in con.execute("select customer_id from marts.customer_features").fetchall()
        ]
        audit = con.execute(
            "select customer_id, action, source_line from marts.customer_audit"
            " where reason = 'repeated_id' order by source_line"
        ).fetchall()
    assert 100002 not in mart_ids and len(mart_ids) == 6
    assert audit == [(100002, "excluded", 3), (100002, "excluded", 10)]


def test_an_export_larger_than_the_memory_budget_is_streamed(tmp_path, monkeypatch):
    # 300 000 synthetic customers: about 100 MB of CSV, built by DuckDB within a
    # 160 MB memory budget (pandas needs ~1 GB for the same): the CSVs are
    # streamed and DuckDB spills to disk instead of holding everything.
    from ml.sample_data import write_sample

    raw = tmp_path / "raw"
    write_sample(raw, 300_000, seed=3)
    budget_mb = 160
    assert sum(f.stat().st_size for f in raw.iterdir()) > 0.6 * budget_mb * 2**20
    monkeypatch.setenv("ONE_CLICK_DUCKDB_MEMORY_LIMIT", f"{budget_mb}MB")
    paths = paths_in(tmp_path, raw)
    build_warehouse(paths)
    with duckdb.connect(str(paths.build_duckdb), read_only=True) as con:
        (n_customers,) = con.execute("select count(*) from marts.customer_features").fetchone()
    assert 0.95 * 300_000 < n_customers <= 300_000


def test_the_command_line_exits_1_with_the_cause_and_no_traceback(tmp_path):
    import subprocess
    import sys

    from ml.config import PROJECT_ROOT

    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE_RAW_DIR, raw)
    _missing(raw)
    done = subprocess.run(
        [sys.executable, "-m", "ml.pipeline", "warehouse", "--raw-dir", str(raw),
         "--duckdb", str(tmp_path / "warehouse.duckdb")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "money.csv" in done.stderr and "file not found" in done.stderr
