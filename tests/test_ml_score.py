"""`run_scoring` scores a mart with the persisted model under a new run id, appending."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from ml.contracts.features import mart_columns
from ml.io.mart import MartError, to_mart_data
from ml.model.predict import positive_proba
from ml.model.scoring import ScoreSettings, run_scoring
from ml.model.store import load_model
from ml.model.training import TrainSettings, run_training
from ml.score import main

from .ml_fixtures import synthetic_mart, write_mart

pytestmark = pytest.mark.slow


@pytest.fixture
def trained(tmp_path: Path) -> tuple[Path, Path, str]:
    warehouse = write_mart(tmp_path / "w.duckdb", synthetic_mart(n=100, twins=2))
    models = tmp_path / "models"
    settings = TrainSettings(
        families=("tree", "extra_trees"),
        search_size=1,
        cv_folds=3,
        cv_repeats=1,
        oof_folds=3,
        n_jobs=1,
        permutation_repeats=2,
        models_dir=models,
    )
    return warehouse, models, run_training(warehouse, settings).run_id


def test_scoring_appends_a_score_run_with_the_models_predictions(trained) -> None:
    warehouse, models, train_run = trained
    result = run_scoring(warehouse, ScoreSettings(models_dir=models))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.execute(
            "select run_id, run_kind, parent_run_id from ml.model_runs order by started_at"
        ).fetchall()
        counts = con.execute(
            "select run_id, count(*), string_agg(distinct p_source order by p_source) "
            "from ml.predictions "
            "group by 1 order by 1"
        ).fetchall()
        threshold = con.execute(
            "select threshold from ml.model_runs where run_id = ?", [train_run]
        ).fetchone()[0]
    assert runs == [(train_run, "train", None), (result.run_id, "score", train_run)]
    assert sorted(counts) == sorted(
        [(train_run, 102, "holdout,oof"), (result.run_id, 102, "model")]
    )
    scored = result.tables["predictions"]
    assert (scored["predicted_decline"] == (scored["p_decline"] >= threshold)).all()


def test_scoring_a_new_export_uses_the_model_without_retraining(trained, tmp_path: Path) -> None:
    _, models, _ = trained
    new_export = write_mart(tmp_path / "new.duckdb", synthetic_mart(n=30, seed=9, twins=0))
    first = run_scoring(new_export, ScoreSettings(models_dir=models))
    again = run_scoring(new_export, ScoreSettings(models_dir=models))
    np.testing.assert_array_equal(
        first.tables["predictions"]["p_decline"], again.tables["predictions"]["p_decline"]
    )
    assert first.run_id != again.run_id


def test_scoring_explains_every_published_probability_exactly(trained, tmp_path: Path) -> None:
    _, models, _ = trained
    frame = synthetic_mart(n=30, seed=9, twins=0)
    new_export = write_mart(tmp_path / "new.duckdb", frame)
    result = run_scoring(new_export, ScoreSettings(models_dir=models, batch_rows=7))
    with duckdb.connect(str(new_export), read_only=True) as con:
        method, space, base = con.execute(
            "select shap_method, shap_output_space, shap_base_value from ml.model_runs"
        ).fetchone()
        rows = con.execute(
            "select p.customer_id, p.p_decline, p.base_value, s.total, s.n "
            "from ml.predictions p join (select customer_id, sum(shap_value) as total, "
            "count(*) as n from ml.shap_values where run_id = ? group by 1) s "
            "using (customer_id) where p.run_id = ? order by 1",
            [result.run_id, result.run_id],
        ).fetchall()
    assert (method, space) == ("tree_exact", "probability")
    model, _ = load_model(models)
    data = to_mart_data(frame, mart_columns(), with_target=False)
    order = np.argsort(data.customer_ids)
    assert [row[0] for row in rows] == sorted(data.customer_ids.tolist())
    assert {row[4] for row in rows} == {len(mart_columns().features)}
    assert {row[2] for row in rows} == {base}  # one model, one base value
    published = np.array([row[1] for row in rows])
    np.testing.assert_array_equal(published, positive_proba(model, data.x)[order])
    np.testing.assert_allclose([row[2] + row[3] for row in rows], published, atol=1e-6)


def test_scoring_without_shap_writes_predictions_only(trained, tmp_path: Path) -> None:
    _, models, _ = trained
    new_export = write_mart(tmp_path / "new.duckdb", synthetic_mart(n=30, seed=9, twins=0))
    result = run_scoring(new_export, ScoreSettings(models_dir=models, explain=False))
    assert set(result.tables) == {"model_runs", "predictions"}
    with duckdb.connect(str(new_export), read_only=True) as con:
        assert con.execute("select count(*) from ml.shap_values").fetchone() == (0,)
        assert con.execute("select shap_method from ml.model_runs").fetchone() == (None,)


def test_a_mart_whose_contract_changed_is_refused(trained) -> None:
    warehouse, models, _ = trained
    columns = mart_columns()
    changed = type(columns)(**{**columns.__dict__, "numeric": columns.numeric[:-1]})
    with pytest.raises(MartError, match="differ from the model"):
        run_scoring(warehouse, ScoreSettings(models_dir=models), columns=changed)


def test_score_cli_without_a_model_fails_with_exit_one(tmp_path: Path) -> None:
    warehouse = write_mart(tmp_path / "w.duckdb", synthetic_mart(n=20, twins=0))
    code = main(
        [
            "--build-duckdb",
            str(warehouse),
            "--no-publish",
            "--models-dir",
            str(tmp_path / "none"),
            "--no-progress",
        ]
    )
    assert code == 1
