"""Publishing replaces the analysts' warehouse atomically, keeps versions, rolls back."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ml.config import Paths
from ml.contracts.run_ids import new_run_id
from ml.ops.publish import PublishError, list_versions, publish, rollback
from ml.ops.run_log import LockedError, fingerprint_file, warehouse_lock


def _paths(tmp_path: Path) -> Paths:
    return Paths(
        raw_dir=tmp_path / "raw",
        duckdb=tmp_path / "wh" / "one_click.duckdb",
        reports_dir=tmp_path / "reports",
        models_dir=tmp_path / "models",
    )


def _build(paths: Paths, month: str) -> None:
    """A stand-in for a finished build: one table saying which month it holds."""
    paths.build_duckdb.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.build_duckdb)) as con:
        con.execute("create table marker as select ? as month", [month])


def _month(database: Path) -> str:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("select month from marker").fetchone()[0]


def _month_in_another_process(database: Path) -> str:
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True);"
        "print(con.execute('select month from marker').fetchone()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(database)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_publish_moves_the_build_into_place_and_keeps_it_as_a_version(tmp_path):
    paths = _paths(tmp_path)
    _build(paths, "october")
    version = publish(paths, "20261001T000000Z-a", keep=3)
    assert _month(paths.duckdb) == "october"
    assert not paths.build_duckdb.exists()
    assert version.exists() and version.stat().st_ino == paths.duckdb.stat().st_ino
    assert not paths.duckdb.with_name(paths.duckdb.name + ".wal").exists()


def test_reader_opened_before_the_swap_keeps_reading_the_old_version(tmp_path):
    paths = _paths(tmp_path)
    _build(paths, "october")
    publish(paths, "20261001T000000Z-a", keep=3)
    reader = duckdb.connect(str(paths.duckdb), read_only=True)
    try:
        _build(paths, "november")
        publish(paths, "20261101T000000Z-b", keep=3)
        assert reader.execute("select month from marker").fetchone() == ("october",)
        # A new reader in another process (as an analyst's) sees the new version;
        # in this process DuckDB would hand back the instance the reader holds.
        assert _month_in_another_process(paths.duckdb) == "november"
    finally:
        reader.close()


def test_only_the_newest_versions_are_kept(tmp_path):
    paths = _paths(tmp_path)
    for day in range(1, 6):
        _build(paths, f"day {day}")
        publish(paths, f"2026110{day}T000000Z-x", keep=3)
    assert [v.run_id for v in list_versions(paths)] == [
        "20261103T000000Z-x",
        "20261104T000000Z-x",
        "20261105T000000Z-x",
    ]


def test_rollback_republishes_the_previous_version_then_a_named_one(tmp_path):
    paths = _paths(tmp_path)
    for day in range(1, 4):
        _build(paths, f"day {day}")
        publish(paths, f"2026110{day}T000000Z-x", keep=3)
    assert rollback(paths).run_id == "20261102T000000Z-x"
    assert _month(paths.duckdb) == "day 2"
    rollback(paths, "20261103T000000Z-x")
    assert _month(paths.duckdb) == "day 3"
    with pytest.raises(PublishError, match="no kept version 'nope'"):
        rollback(paths, "nope")


def test_publishing_without_a_build_file_fails_and_keeps_the_published_one(tmp_path):
    paths = _paths(tmp_path)
    _build(paths, "october")
    publish(paths, "20261001T000000Z-a", keep=3)
    with pytest.raises(PublishError, match="no build file"):
        publish(paths, "20261101T000000Z-b", keep=3)
    assert _month(paths.duckdb) == "october"


def _try_lock(paths: Paths, queue: multiprocessing.Queue) -> None:
    try:
        with warehouse_lock(paths):
            queue.put("locked")
    except LockedError as error:
        queue.put(str(error))


def test_a_second_writer_is_refused_with_a_clear_message(tmp_path):
    paths = _paths(tmp_path)
    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()
    with warehouse_lock(paths):
        process = multiprocessing.get_context("fork").Process(target=_try_lock, args=(paths, queue))
        process.start()
        process.join(30)
    message = queue.get(timeout=5)
    assert message.startswith("another run is writing the warehouse (pid ")
    with warehouse_lock(paths):  # released: a later run gets it
        pass


def test_fingerprint_counts_data_rows_with_or_without_final_newline(tmp_path):
    with_newline = tmp_path / "a.csv"
    with_newline.write_bytes(b"id;x\r\n1;2\r\n3;4\r\n")
    without_newline = tmp_path / "b.csv"
    without_newline.write_bytes(b"id;x\r\n1;2\r\n3;4")
    assert fingerprint_file(with_newline)[1] == 2
    assert fingerprint_file(without_newline)[1] == 2
    assert fingerprint_file(with_newline)[0] != fingerprint_file(without_newline)[0]


def test_run_ids_sort_by_time():
    from datetime import UTC, datetime

    early = new_run_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    late = new_run_id(datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC))
    assert early.startswith("20260102T030405Z-") and early < late


def test_the_run_log_records_failed_and_succeeded_runs_with_input_checksums(tmp_path):
    from ml.ops.run_log import recorded_run

    paths = _paths(tmp_path)
    paths.raw_dir.mkdir(parents=True)
    (paths.raw_dir / "money.csv").write_bytes(b"id;\xd0\x9f\r\n1;2,5\r\n")
    with pytest.raises(RuntimeError), recorded_run(paths, "warehouse"):
        raise RuntimeError("money.csv: something broke\nsecond line")
    with recorded_run(paths, "train"):
        pass
    with duckdb.connect(str(paths.run_log), read_only=True) as con:
        rows = con.execute(
            "select step, status, message, inputs->'$.\"money.csv\".rows', duration_s >= 0"
            " from run_log order by started_at"
        ).fetchall()
    assert rows == [
        ("warehouse", "failed", "money.csv: something broke", "1", True),
        ("train", "succeeded", "", "1", True),
    ]
