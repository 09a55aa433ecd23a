"""The command line and the atomic write of the site."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from ml.contracts.ml_tables import TABLES as ML_TABLES
from ml.io.writer import create_tables
from reports import build
from reports.data.model import ModelRun, read_candidates, read_importance, read_model_runs
from reports.data.warehouse import ml_select
from tests.reports_fixtures import make_warehouse, write_ml


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--duckdb", "--out", "--lang", "--verbose", "--log-level"):
        assert option in text
    assert "Exit status: 0 on success" in text


def test_the_cli_writes_the_site_where_asked(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb")
    assert build.main(["--duckdb", str(warehouse), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "index.html").exists()


def test_a_missing_warehouse_is_an_error_not_a_traceback(tmp_path):
    assert (
        build.main(["--duckdb", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "out")]) == 1
    )
    assert not (tmp_path / "out").exists()


def test_a_failed_render_leaves_the_previous_site_untouched(tmp_path, monkeypatch):
    warehouse = make_warehouse(tmp_path / "w.duckdb")
    out = tmp_path / "site"
    build.build_reports(warehouse, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(build, "render_pages", broken)
    with pytest.raises(RuntimeError):
        build.build_reports(warehouse, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_failed_write_cleans_up_and_keeps_the_previous_site(tmp_path, monkeypatch):
    out = tmp_path / "site"
    build.write_site({"index.html": "old"}, out)
    with pytest.raises(TypeError):
        build.write_site({"index.html": "new", "eda.html": None}, out)  # type: ignore[dict-item]
    assert (out / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_run_shows_only_columns_the_ml_writer_declares():
    with duckdb.connect() as con:
        create_tables(con)  # the writer's tables, empty
        assert read_model_runs(con) == []
        ml_select(con, "model_runs", [f.name for f in dataclasses.fields(ModelRun)])


def test_asking_for_a_column_the_writer_does_not_declare_is_an_error():
    with duckdb.connect() as con, pytest.raises(KeyError, match="oof_brier"):
        ml_select(con, "model_runs", ["run_id", "oof_brier"])


def test_a_column_an_older_ml_step_did_not_write_is_read_as_missing():
    with duckdb.connect() as con:
        write_ml(con, {"model_runs": [{"run_id": "r1", "run_kind": "train", "brier": 0.2}]})
        con.execute("alter table ml.model_runs drop column holdout_size")
        (run,) = read_model_runs(con)
    assert (run.run_id, run.brier, run.holdout_size) == ("r1", 0.2, None)


def test_importance_is_read_under_the_writers_names_largest_first():
    rows = [
        {"run_id": "r1", "feature": "a", "shap_mean_abs": 0.1, "permutation_mean": 0.01},
        {"run_id": "r1", "feature": "b", "shap_mean_abs": 0.3, "permutation_mean": 0.02},
        {"run_id": "r2", "feature": "a", "shap_mean_abs": 0.9},
    ]
    with duckdb.connect() as con:
        write_ml(con, {"feature_importance": rows})
        frame = read_importance(con, "r1")
    assert frame[["feature", "shap_mean_abs", "permutation_mean"]].values.tolist() == [
        ["b", 0.3, 0.02],
        ["a", 0.1, 0.01],
    ]


def test_without_stored_importance_mean_abs_shap_comes_from_the_shap_values():
    shap = [
        {"run_id": "r1", "customer_id": 1, "feature": "a", "shap_value": -0.2},
        {"run_id": "r1", "customer_id": 2, "feature": "a", "shap_value": 0.4},
        {"run_id": "r1", "customer_id": 1, "feature": "b", "shap_value": 0.5},
        {"run_id": "r1", "customer_id": 2, "feature": "b", "shap_value": 0.5},
    ]
    with duckdb.connect() as con:
        write_ml(con, {"shap_values": shap})
        con.execute("drop table ml.feature_importance")  # an ML step that did not write it
        frame = read_importance(con, "r1")
    assert list(frame.columns) == list(ML_TABLES["feature_importance"].column_names)
    assert frame["feature"].tolist() == ["b", "a"]
    assert frame["shap_mean_abs"].tolist() == pytest.approx([0.5, 0.3])
    assert frame["permutation_mean"].isna().all()


def test_candidates_keep_the_writers_column_names():
    rows = [{"run_id": "r1", "family": "logreg", "fit_time_s": 0.12, "best_params": "{}"}]
    with duckdb.connect() as con:
        write_ml(con, {"model_candidates": rows})
        frame = read_candidates(con)
    assert frame[["family", "fit_time_s", "best_params"]].values.tolist() == [
        ["logreg", 0.12, "{}"]
    ]
