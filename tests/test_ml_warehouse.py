"""Write-back is atomic: a failed run leaves the previous run's rows exactly as they were."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ml.contracts.ml_tables import TABLES
from ml.io.writer import WriteBackError, model_runs_row, write_run


def _predictions(run_id: str, p: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": run_id,
            "customer_id": range(1, len(p) + 1),
            "p_decline": p,
            "predicted_decline": [v >= 0.5 for v in p],
            "p_source": "oof",
            "fold": 0,
            "is_holdout": False,
            "base_value": 0.4,
        }
    )


def _run(run_id: str, threshold: float) -> dict[str, pd.DataFrame]:
    return {
        "model_runs": model_runs_row(run_id=run_id, run_kind="train", threshold=threshold),
        "predictions": _predictions(run_id, [0.2, 0.7, 0.9]),
    }


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"select * from ml.{table} order by all").fetchall()


def test_a_run_is_written_and_read_back(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        written = write_run(con, _run("r1", 0.5))
        assert written == {"model_runs": 1, "predictions": 3}
        assert con.execute("select run_id, threshold from ml.model_runs").fetchall() == [
            ("r1", 0.5)
        ]
        assert con.execute(
            "select customer_id, predicted_decline from ml.predictions order by 1"
        ).fetchall() == [(1, False), (2, True), (3, True)]


def test_every_ml_table_is_created_on_first_write(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        write_run(con, _run("r1", 0.5))
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'ml'"
        ).fetchall()
    assert {t for (t,) in tables} == set(TABLES)


def test_failure_in_a_later_table_rolls_back_the_whole_run(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        write_run(con, _run("r1", 0.5))
        before = {t: _rows(con, t) for t in TABLES}
        broken = _run("r2", 0.4)
        broken["predictions"]["fold"] = "not a number"  # fails the integer cast, after model_runs
        with pytest.raises(WriteBackError, match="rolled back"):
            write_run(con, broken)
        assert {t: _rows(con, t) for t in TABLES} == before
        assert con.execute("select count(*) from ml.model_runs where run_id = 'r2'").fetchone() == (
            0,
        )


def test_a_frame_with_wrong_columns_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        frames = _run("r1", 0.5)
        frames["predictions"] = frames["predictions"].drop(columns=["p_source"])
        with pytest.raises(WriteBackError, match=r"missing.*p_source"):
            write_run(con, frames)
        schemas = con.execute("select schema_name from information_schema.schemata").fetchall()
    assert ("ml",) not in schemas


def test_rewriting_a_run_id_replaces_its_rows_and_keeps_other_runs(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        write_run(con, _run("r1", 0.5))
        write_run(con, _run("r2", 0.6))
        write_run(con, _run("r2", 0.7))
        runs = con.execute("select run_id, threshold from ml.model_runs order by 1").fetchall()
        counts = con.execute(
            "select run_id, count(*) from ml.predictions group by 1 order by 1"
        ).fetchall()
    assert runs == [("r1", 0.5), ("r2", 0.7)]
    assert counts == [("r1", 3), ("r2", 3)]


def test_model_runs_row_refuses_unknown_columns() -> None:
    with pytest.raises(WriteBackError, match="no column"):
        model_runs_row(run_id="r1", accuracy=0.9)


def test_tables_of_an_earlier_version_gain_the_new_columns(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema ml")
        con.execute(
            "create table ml.predictions (run_id varchar, customer_id bigint, p_decline double, "
            "predicted_decline boolean, p_source varchar, fold integer, is_holdout boolean, "
            "p_final_model double)"
        )
        con.execute(
            "insert into ml.predictions values ('old', 1, 0.3, false, 'oof', 0, false, 0.2)"
        )
        write_run(con, _run("r1", 0.5))
        rows = con.execute(
            "select run_id, base_value, p_final_model from ml.predictions order by run_id"
        ).fetchall()
    assert rows[0] == ("old", None, 0.2)  # earlier runs stay readable
    assert {base for run, base, _ in rows if run == "r1"} == {0.4}
