"""`run_training` end to end on a small synthetic mart, and the ml.train command line."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.contracts.ml_tables import TABLES
from ml.io.mart import MartError
from ml.io.writer import WriteBackError
from ml.model import training
from ml.model.search import CandidateResult
from ml.model.store import ModelFiles
from ml.model.training import TrainSettings, run_training
from ml.train import build_parser, main

from .ml_fixtures import quick_cli_args, quick_settings, synthetic_mart, write_mart

pytestmark = pytest.mark.slow

N_CUSTOMERS = 124  # 120 plus 4 duplicate records


def _settings(tmp_path: Path, **overrides: object) -> TrainSettings:
    return quick_settings(tmp_path / "models", **overrides)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return write_mart(tmp_path / "w.duckdb", synthetic_mart(n=120, twins=4))


def _table(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_training_writes_every_ml_table_for_every_customer(warehouse: Path, tmp_path: Path) -> None:
    result = run_training(warehouse, _settings(tmp_path))
    run = result.run_id
    assert _table(
        warehouse, "select count(*), count(distinct customer_id) from ml.predictions"
    ) == [(N_CUSTOMERS, N_CUSTOMERS)]
    assert _table(warehouse, "select count(*) from ml.shap_values") == [(N_CUSTOMERS * 16,)]
    assert _table(warehouse, "select count(*) from ml.feature_importance") == [(16,)]
    families = _table(warehouse, "select family from ml.model_candidates order by cv_rank")
    assert {f for (f,) in families} == {"dummy", "logreg", "tree", "extra_trees", "soft_vote"}
    runs = _table(
        warehouse,
        "select run_id, run_kind, cv_roc_auc_mean, holdout_roc_auc, oof_roc_auc, brier, "
        "threshold from ml.model_runs",
    )
    assert len(runs) == 1 and runs[0][:2] == (run, "train")
    assert all(value is not None for value in runs[0])
    curves = _table(warehouse, "select distinct dataset, curve from ml.evaluation_curves")
    assert {("oof", "roc"), ("holdout", "calibration")} <= set(curves)
    assert ModelFiles.in_dir(tmp_path / "models").model.exists()
    assert result.card["run_id"] == run


def test_the_selected_model_is_the_best_eligible_by_cross_validation(
    warehouse: Path, tmp_path: Path
) -> None:
    run_training(warehouse, _settings(tmp_path))
    rows = _table(
        warehouse,
        "select family, is_selected, is_eligible from ml.model_candidates "
        "order by cv_roc_auc_mean desc",
    )
    eligible = [row for row in rows if row[2]]
    assert eligible[0][1] is True
    assert sum(selected for _, selected, _ in rows) == 1
    assert _table(warehouse, "select model_family from ml.model_runs") == [(eligible[0][0],)]
    assert {family for family, _, ok in rows if not ok} == {"logreg"}


def test_a_family_without_exact_shap_is_compared_but_never_selected(
    warehouse: Path, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, families=("dummy", "logreg"), write_back=False)
    result = run_training(warehouse, replace(settings, save_model=False))
    table = result.tables["model_candidates"].set_index("family")
    assert table.loc["logreg", "cv_roc_auc_mean"] > table.loc["dummy", "cv_roc_auc_mean"]
    assert result.selected.family == "dummy"
    assert not table.loc["logreg", "is_selected"]


def test_predictions_are_out_of_fold_and_the_holdout_is_a_quarter(
    warehouse: Path, tmp_path: Path
) -> None:
    run_training(warehouse, _settings(tmp_path))
    ((holdout, sources, folds),) = _table(
        warehouse,
        "select sum(is_holdout::int), string_agg(distinct p_source), count(distinct fold) "
        "from ml.predictions",
    )
    assert abs(holdout - 0.25 * N_CUSTOMERS) <= 4
    assert sorted(sources.split(",")) == ["holdout", "oof"]
    assert folds == 3
    assert _table(
        warehouse,
        "select count(*) from ml.predictions "
        "where is_holdout <> (p_source = 'holdout') or is_holdout <> (fold is null)",
    ) == [(0,)]


def test_duplicate_records_share_their_side_and_fold(warehouse: Path, tmp_path: Path) -> None:
    run_training(warehouse, _settings(tmp_path))
    rows = _table(
        warehouse,
        "select count(distinct p.is_holdout), count(distinct coalesce(p.fold, -1)) "
        "from ml.predictions p "
        "join marts.customer_features m using (customer_id) group by m.duplicate_group_id",
    )
    assert all(row == (1, 1) for row in rows)


def test_same_seed_and_data_give_identical_predictions(warehouse: Path, tmp_path: Path) -> None:
    first = run_training(warehouse, _settings(tmp_path, write_back=False, save_model=False))
    second = run_training(warehouse, _settings(tmp_path, write_back=False, save_model=False))
    assert (
        first.tables["predictions"]
        .drop(columns="run_id")
        .equals(second.tables["predictions"].drop(columns="run_id"))
    )
    assert (
        first.tables["shap_values"]
        .frame()
        .drop(columns="run_id")
        .equals(second.tables["shap_values"].frame().drop(columns="run_id"))
    )


@pytest.mark.parametrize("families", [("tree",), ("tree", "extra_trees")])
def test_shap_values_add_up_to_the_published_probability_of_every_customer(
    warehouse: Path, tmp_path: Path, families: tuple[str, ...]
) -> None:
    settings = _settings(tmp_path, families=families, ensemble_top_k=len(families))
    run_training(warehouse, settings)
    ((customers, worst, bases),) = _table(
        warehouse,
        "select count(*), max(abs(p.base_value + s.total - p.p_decline)), "
        "count(distinct p.base_value) from ml.predictions p join ("
        "  select customer_id, sum(shap_value) as total from ml.shap_values group by 1"
        ") s using (customer_id)",
    )
    assert customers == N_CUSTOMERS
    assert worst < 1e-6
    # one base value per producing model: the hold-out model and three fold models
    assert bases == 4


def test_hold_out_labels_move_neither_the_threshold_nor_any_training_probability(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = synthetic_mart(n=120, twins=4)
    y = frame["activity_declined"].to_numpy(dtype=int)
    train, hold = training.holdout_split(y, frame["duplicate_group_id"].to_numpy(), 0.25, 42)
    # The split is fixed, so flipping hold-out labels changes nothing else.
    monkeypatch.setattr(training, "holdout_split", lambda *args: (train, hold))
    flipped = frame.copy()
    flipped.loc[hold, "activity_declined"] = ~flipped.loc[hold, "activity_declined"]
    results = []
    for mart in (frame, flipped):
        path = write_mart(tmp_path / f"w{len(results)}.duckdb", mart)
        settings = _settings(tmp_path, write_back=False, save_model=False)
        results.append(run_training(path, settings))
    first, second = results
    assert first.metrics["threshold"] == second.metrics["threshold"]
    for name in ("cv_roc_auc_mean", "oof_roc_auc", "oof_f1", "brier"):
        assert first.metrics[name] == second.metrics[name], name
    training_rows = ~first.tables["predictions"]["is_holdout"]
    np.testing.assert_array_equal(
        first.tables["predictions"].loc[training_rows, "p_decline"],
        second.tables["predictions"].loc[training_rows, "p_decline"],
    )
    assert first.metrics["holdout_roc_auc"] != second.metrics["holdout_roc_auc"]


def test_nested_cv_estimates_the_whole_selection_and_counts_the_configurations(
    warehouse: Path, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, nested_cv=True, write_back=False, save_model=False)
    result = run_training(warehouse, settings)
    run = result.tables["model_runs"].iloc[0]
    assert 0.5 < run["nested_cv_roc_auc_mean"] <= 1.0
    assert run["nested_cv_roc_auc_std"] >= 0.0
    nested = result.card["nested_cv"]
    assert len(nested["roc_auc_per_fold"]) == settings.oof_folds
    assert np.mean(nested["roc_auc_per_fold"]) == pytest.approx(run["nested_cv_roc_auc_mean"])
    tried = int(result.tables["model_candidates"]["n_configs"].sum())
    assert run["n_configs_tried"] == tried == result.card["n_configs_tried"]
    assert f"{tried} configurations" in result.card["protocol"]


def test_without_nested_cv_its_columns_stay_empty(warehouse: Path, tmp_path: Path) -> None:
    result = run_training(warehouse, _settings(tmp_path, write_back=False, save_model=False))
    run = result.tables["model_runs"].iloc[0]
    assert pd.isna(run["nested_cv_roc_auc_mean"]) and pd.isna(run["nested_cv_roc_auc_std"])


def test_the_ensemble_members_are_plain_columns() -> None:
    vote = CandidateResult(
        "soft_vote",
        {"members": {"extra_trees": {}, "random_forest": {}}},
        np.array([0.9]),
        [],
        0.0,
    )
    assert training.ensemble_columns(vote) == {
        "ensemble_members": "extra_trees + random_forest",
        "ensemble_member_1": "extra_trees",
        "ensemble_member_2": "random_forest",
        "ensemble_member_3": None,
    }
    single = CandidateResult("tree", {}, np.array([0.9]), [], 0.0)
    assert set(training.ensemble_columns(single).values()) == {None}


def test_a_failed_write_back_keeps_the_previous_run_and_model(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_training(warehouse, _settings(tmp_path))
    before = {t: _table(warehouse, f"select * from ml.{t} order by all") for t in TABLES}
    card = ModelFiles.in_dir(tmp_path / "models").card_json.read_bytes()

    def failing_write(con: duckdb.DuckDBPyConnection, frames: dict) -> None:
        raise WriteBackError("disk full (simulated)")

    monkeypatch.setattr(training, "write_run", failing_write)
    with pytest.raises(WriteBackError, match="simulated"):
        run_training(warehouse, _settings(tmp_path, seed=7))
    assert {t: _table(warehouse, f"select * from ml.{t} order by all") for t in TABLES} == before
    assert ModelFiles.in_dir(tmp_path / "models").card_json.read_bytes() == card
    assert sorted(p.name for p in (tmp_path / "models").iterdir() if p.name.startswith(".")) == []


def test_a_tiny_time_budget_truncates_the_search_and_records_it(
    warehouse: Path, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, time_budget_s=1e-6, write_back=False, save_model=False)
    result = run_training(warehouse, settings)
    assert bool(result.tables["model_runs"]["search_truncated"].iloc[0])
    searched = result.tables["model_candidates"].set_index("family")["n_configs"]
    assert searched.drop("soft_vote").eq(1).all()


def test_a_single_class_mart_is_refused(tmp_path: Path) -> None:
    frame = synthetic_mart(n=40, twins=0)
    frame["activity_declined"] = True
    path = write_mart(tmp_path / "w.duckdb", frame)
    with pytest.raises(MartError, match="only one class"):
        run_training(path, _settings(tmp_path))


def test_cli_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for action in build_parser()._actions:
        assert action.help, action.dest
    for option in (
        "--seed",
        "--duckdb",
        "--threshold-rule",
        "--time-budget",
        "--models-dir",
        "--no-progress",
        "--search-size",
    ):
        assert option in text


def test_cli_rejects_a_bad_threshold_rule() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--threshold-rule", "cost:-2"])
    assert exit_info.value.code == 2


def test_cli_fails_with_a_one_line_cause(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        code = main(
            ["--build-duckdb", str(tmp_path / "missing.duckdb"), "--no-publish", "--no-progress"]
        )
    assert code == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert "does not exist" in errors[0]


def test_cli_trains_and_exits_zero(warehouse: Path, tmp_path: Path) -> None:
    code = main(
        [*quick_cli_args(warehouse, tmp_path / "m", "dummy,logreg"), "--threshold-rule", "cost:2"]
    )
    assert code == 0
    assert _table(warehouse, "select threshold_rule from ml.model_runs") == [("cost:2",)]
