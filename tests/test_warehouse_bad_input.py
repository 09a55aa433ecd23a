"""A broken export stops the data team's two commands, plain `dbt build` then
`python -m ml.train`, with console lines naming the file, the line and the
value, and leaves what an earlier run published byte for byte as it was.

Each case corrupts a copy of the fixture export in one way. To add a case,
write its corruption and add one line to CASES: the console fragments that
plain `dbt build` must print.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from ml.config import PROJECT_ROOT, Paths
from ml.ops.dbt_runner import WarehouseBuildError, build_warehouse, condense_duckdb_csv_error
from ml.ops.publish import publish

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


def _missing_month(raw: Path) -> None:
    # customer 100001's current month (line 3) is gone
    _rewrite(raw / "market_money.csv", lambda lines: [*lines[:2], *lines[3:]])


def _repeated_month(raw: Path) -> None:
    # customer 100002's first month (line 5) again at the end (line 26)
    _rewrite(raw / "market_money.csv", lambda lines: [*lines[:-1], lines[4], ""])


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


def _unknown_label_in(path: Path) -> None:
    """Any export: the first row's service type becomes «VIP»."""

    def edit(lines: list[str]) -> list[str]:
        for label in ("стандарт", "премиум"):
            if f",{label}," in lines[1]:
                lines[1] = lines[1].replace(f",{label},", ",VIP,", 1)
                return lines
        raise AssertionError(f"no service type in {lines[1]!r}")

    _rewrite_any(path, edit)


def _rewrite_any(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    """Like _rewrite, keeping whichever line ending the file uses."""
    text = path.read_bytes().decode("utf-8")
    ending = CRLF if CRLF in text else "\n"
    path.write_text(ending.join(edit(text.split(ending))), encoding="utf-8", newline="")


def _label_with_trailing_space(raw: Path) -> None:
    _rewrite(raw / "market_file.csv", _replace_in_line(3, "премиум", "премиум "))


def _label_with_latin_letter(raw: Path) -> None:
    # a Latin «e» (U+0065) in place of the Cyrillic «е»: looks the same
    _rewrite(raw / "market_file.csv", _replace_in_line(3, "премиум", "прeмиум"))


def _lf_only_line(raw: Path) -> None:
    path = raw / "market_file.csv"
    lines = path.read_bytes().split(CRLF.encode())
    lines[4] = lines[4] + b"\n" + lines.pop(5)
    path.write_bytes(CRLF.encode().join(lines))


def _negative_minutes(raw: Path) -> None:
    _rewrite(raw / "market_time.csv", _replace_in_line(4, ",13", ",-5"))


def _empty_value(raw: Path) -> None:
    _rewrite(raw / "market_file.csv", _replace_in_line(2, ",6,2,1,5", ",,2,1,5"))


def _fractional_id(raw: Path) -> None:
    # 100001.4 must not be rounded onto customer 100001
    _rewrite(raw / "market_file.csv", _replace_in_line(2, "100001,", "100001.4,"))


def _fractional_count(raw: Path) -> None:
    _rewrite(raw / "market_file.csv", _replace_in_line(2, ",6,2,1,5", ",6,2.5,1,5"))


def _infinite_profit(raw: Path) -> None:
    _rewrite(raw / "money.csv", _replace_in_line(3, "4,16", "inf"))


# case -> (corruption, fragments the console of plain `dbt build` must show)
CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
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
        ["money.csv line 3: ", 'column "Прибыль"', 'Could not convert string "abc"'],
    ),
    "unknown label": (
        _unknown_label,
        ["market_file.csv line 3: service_type = «VIP» is not a known label"],
    ),
    "label with a trailing space": (
        _label_with_trailing_space,
        ["market_file.csv line 3: service_type = «премиум␠» is not a known label"],
    ),
    "label with a Latin letter": (
        _label_with_latin_letter,
        ["market_file.csv line 3: service_type = «пр[e U+0065]миум» is not a known label"],
    ),
    "unknown period": (
        _unknown_period,
        ["market_time.csv line 2: period = «этот_месяц» is not a known label"],
    ),
    "missing month": (
        _missing_month,
        ["market_money.csv lines 2 and 3: id 100001: no row for current_month"],
    ),
    "repeated month": (
        _repeated_month,
        ["market_money.csv lines 5, 6, 7 and 26: id 100002: 2 rows for pre_previous_month"],
    ),
    "id in one file only": (_orphan_id, ["customer_id 999999 is in money.csv but not in"]),
    "negative count": (
        _negative_count,
        ["market_file.csv line 2: unpaid_items_quarter = -2 (must be ≥ 0)"],
    ),
    "negative minutes": (
        _negative_minutes,
        ["market_time.csv line 4: minutes = -5 (must be ≥ 0)"],
    ),
    "empty value": (
        _empty_value,
        ["market_file.csv line 2: avg_categories_per_visit is empty (must not be empty)"],
    ),
    "extra column": (_extra_column, ["money.csv", "unexpected column(s): Скидка"]),
    "decimal point instead of comma": (
        _decimal_point,
        ["money.csv line 3: ", 'Could not convert string "4.16"'],
    ),
    "cp1251 file": (_cp1251_file, ["market_money.csv", "not UTF-8 text"]),
    "cp1251 row": (_cp1251_row, ["market_file.csv line 5", "not utf-8 encoded"]),
    "truncated last line": (
        _truncated_last_line,
        ["market_file.csv line 9: ", "Expected Number of Columns: 13 Found: 10"],
    ),
    "LF-only line in a CRLF file": (
        _lf_only_line,
        ["market_file.csv line 5 ends with LF only", "the other lines end with CRLF"],
    ),
    "repeated id in money.csv": (
        _repeated_profit_id,
        ["money.csv lines 3 and 10: id 100002 appears twice (must be unique)"],
    ),
    "fraction in an id": (
        _fractional_id,
        ["market_file.csv line 2: customer_id = 100001.4 is not a whole number"],
    ),
    "fraction in a count": (
        _fractional_count,
        ["market_file.csv line 2: unpaid_items_quarter = 2.5 is not a whole number"],
    ),
    "infinite profit": (_infinite_profit, ["money.csv line 3: profit = inf"]),
}

DBT = str(Path(sys.executable).with_name("dbt"))
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _env(paths: Paths, workdir: Path) -> dict[str, str]:
    """The data team's environment: where the export is and where the warehouse goes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONE_CLICK_")}
    env.update(
        ONE_CLICK_RAW_DIR=str(paths.raw_dir),
        ONE_CLICK_DUCKDB=str(paths.duckdb),
        ONE_CLICK_MODELS_DIR=str(paths.models_dir),
        ONE_CLICK_REPORTS_DIR=str(paths.reports_dir),
        DBT_TARGET_PATH=str(workdir / "dbt" / "target"),
        DBT_LOG_PATH=str(workdir / "dbt" / "logs"),
    )
    return env


def _plain(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    done.stdout, done.stderr = _ANSI.sub("", done.stdout), _ANSI.sub("", done.stderr)
    return done


def dbt_build(paths: Paths, workdir: Path) -> subprocess.CompletedProcess:
    """Plain `dbt build`, as the data team types it."""
    return _plain([DBT, "build"], _env(paths, workdir))


def ml_train(paths: Paths, workdir: Path, *options: str) -> subprocess.CompletedProcess:
    """Plain `python -m ml.train`."""
    command = [sys.executable, "-m", "ml.train", "--no-reports", "--no-progress", *options]
    return _plain(command, _env(paths, workdir))


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR " in line]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """A folder where the good fixture export was built and published."""
    workdir = tmp_path_factory.mktemp("published")
    paths = paths_in(workdir, FIXTURE_RAW_DIR)
    build_warehouse(paths)
    publish(paths, run_id="20260101T000000Z-good", keep=3)
    return paths


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", list(CASES))
def test_broken_export_stops_both_commands_naming_file_line_and_value(case, published, tmp_path):
    corrupt, expected_fragments = CASES[case]
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE_RAW_DIR, raw)
    corrupt(raw)
    paths = dataclasses.replace(published, raw_dir=raw)
    before = _sha256(published.duckdb)

    built = dbt_build(paths, published.duckdb.parent)
    console = built.stdout + built.stderr
    assert built.returncode != 0, console[-3000:]
    for fragment in expected_fragments:
        assert fragment in console, f"{fragment!r} not in:\n{console[-3000:]}"
    assert "Traceback" not in console
    # no case empties an id: a rejected id is named once, not echoed as empty
    assert "id is empty" not in console

    trained = ml_train(paths, published.duckdb.parent)
    assert trained.returncode == 1, trained.stderr[-3000:]
    (error,) = _errors(trained.stderr)
    assert "the last `dbt build` failed: " in error
    assert "Traceback" not in trained.stderr

    assert _sha256(published.duckdb) == before
    with duckdb.connect(str(published.duckdb), read_only=True) as con:
        assert con.execute("select count(*) from marts.customer_features").fetchone() == (7,)


def test_ml_train_names_the_failed_tests_in_one_line(published, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE_RAW_DIR, raw)
    _unknown_label(raw)
    _negative_minutes(raw)
    paths = dataclasses.replace(published, raw_dir=raw)
    assert dbt_build(paths, published.duckdb.parent).returncode == 1
    trained = ml_train(paths, published.duckdb.parent)
    (error,) = _errors(trained.stderr)
    assert error.endswith(
        "BuildNotPassedError: the last `dbt build` failed: market_file_labels_are_known, "
        "market_time_values_are_valid; nothing is published until a `dbt build` passes "
        "(the console and build_outcome.messages name the file, line and value)"
    )


def test_the_wrapper_raises_with_the_lines_plain_dbt_prints(published, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE_RAW_DIR, raw)
    _label_with_latin_letter(raw)
    with pytest.raises(WarehouseBuildError) as raised:
        build_warehouse(dataclasses.replace(published, raw_dir=raw))
    assert (
        "  - market_file.csv line 3: service_type = «пр[e U+0065]миум» is not a known label; "
        "add it to the label_map seed to accept it"
    ) in str(raised.value)


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
    assert report.warnings == [
        "market_file.csv lines 3 and 10: id 100002 appears twice; "
        "both kept out of the mart (marts.customer_audit)"
    ]
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
