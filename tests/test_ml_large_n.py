"""Large-N training: stated samples, exact SHAP for everyone, batches that change nothing.

The mode switches on above ``TrainSettings.large_n_customers``; here the
threshold is lowered so a 600-customer synthetic mart runs through it in seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.config import LARGE_N_FAMILIES
from ml.contracts.features import mart_columns
from ml.contracts.thinning import sample_evenly
from ml.io.mart import MartData, to_mart_data
from ml.io.writer import write_run
from ml.model import explanation as explain_module
from ml.model.candidates import LARGE_N_FOREST_SPACE, get_family, large_n_variant
from ml.model.evaluation import evaluation_curves
from ml.model.explanation import Explanation, ShapRows
from ml.model.predict import positive_proba
from ml.model.splitting import large_fold_list, stratified_group_sample
from ml.model.training import TrainSettings, run_training
from ml.train import main

from .ml_fixtures import (
    groups_straddling,
    quick_cli_args,
    quick_settings,
    synthetic_mart,
    write_mart,
)

N, TWINS = 600, 12
LARGE = {"large_n_customers": 300, "search_sample": 200, "fit_sample": 350}


def _settings(tmp_path: Path, **overrides: object) -> TrainSettings:
    """Large-N mode on the 612-customer fixture: every family it allows, 3-fold CV once."""
    large = {"families": None, "cv_repeats": 1, **LARGE}
    return quick_settings(tmp_path / "models", **{**large, **overrides})


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return write_mart(tmp_path / "w.duckdb", synthetic_mart(n=N, twins=TWINS, seed=3))


def _rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _twin_groups(n: int, twins: int) -> np.ndarray:
    groups = np.arange(n)
    groups[-twins:] = np.arange(twins)  # the last rows duplicate the first ones
    return groups


def test_stratified_group_sample_keeps_classes_and_groups() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(5000) < 0.3).astype(int)
    groups = _twin_groups(5000, 200)
    y[-200:] = y[:200]
    sample = stratified_group_sample(y, groups, 1000, seed=1)
    assert abs(len(sample) - 1000) <= 200  # twins follow their group's first row
    assert abs(y[sample].mean() - y.mean()) < 0.02
    rest = np.setdiff1d(np.arange(5000), sample)
    assert not groups_straddling(groups, sample, rest)
    assert np.array_equal(sample, stratified_group_sample(y, groups, 1000, seed=1))
    assert not np.array_equal(sample, stratified_group_sample(y, groups, 1000, seed=2))
    assert np.array_equal(stratified_group_sample(y, groups, 9999, seed=1), np.arange(5000))


def test_large_fold_list_partitions_each_repeat_without_splitting_groups() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.4).astype(int)
    groups = _twin_groups(3000, 100)
    folds = large_fold_list(y, groups, n_splits=5, n_repeats=2, seed=7)
    assert len(folds) == 10
    for repeat in range(2):
        validation = np.concatenate([val for _, val in folds[repeat * 5 : repeat * 5 + 5]])
        assert np.array_equal(np.sort(validation), np.arange(3000))
    for train, val in folds:
        assert not groups_straddling(groups, train, val)
        assert abs(y[val].mean() - y.mean()) < 0.05
    assert not np.array_equal(folds[0][1], folds[5][1])  # repeats shuffle differently


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_large_n_forests_are_bounded_so_exact_shap_stays_affordable(name: str) -> None:
    family = large_n_variant(get_family(name))
    for key, allowed in LARGE_N_FOREST_SPACE.items():
        assert family.space[key] == allowed
        assert family.default[key] in allowed
    assert not family.default.get("projections")
    assert large_n_variant(get_family("tree")) == get_family("tree")


def test_thinned_curves_keep_their_ends_and_a_bounded_number_of_points() -> None:
    assert np.array_equal(sample_evenly(5, 10), np.arange(5))
    kept = sample_evenly(100_001, 2000)
    assert len(kept) <= 2000 and kept[0] == 0 and kept[-1] == 100_000
    rng = np.random.default_rng(0)
    y = (rng.random(20_000) < 0.4).astype(int)
    p = np.clip(y * 0.3 + rng.random(20_000) * 0.7, 0, 1)
    curves = evaluation_curves(y, p, "oof", 10, max_points=500)
    roc = curves[curves["curve"] == "roc"]
    assert 2 < len(roc) <= 500
    assert (roc["x"].iloc[0], roc["y"].iloc[0]) == (0.0, 0.0)
    assert (roc["x"].iloc[-1], roc["y"].iloc[-1]) == (1.0, 1.0)


def test_shap_rows_in_chunks_equal_one_chunk_and_write_once(tmp_path: Path) -> None:
    x = pd.DataFrame(
        {
            "a": [1.0, 2.5, 3.0, 0.1, 5564.0],
            "b": ["u", "v", "u", "v", "u"],
            "c": np.array([3, 4, 5, 6, 7], dtype=np.int32),
        }
    )
    values = pd.DataFrame(
        {"a": [0.1, 0.2, 0.3, 0.4, 0.5], "b": [-0.1, 0.0, 0.1, 0.2, 0.3], "c": [0.0] * 5}
    )
    explanation = Explanation(values, np.full(5, 0.4), "tree_exact", "probability")
    ids = np.arange(10, 15)
    rows = ShapRows(explanation, x, ids, "run-1", chunk_customers=2, actionable=frozenset({"a"}))
    whole = ShapRows(
        explanation, x, ids, "run-1", chunk_customers=100, actionable=frozenset({"a"})
    ).frame()
    key = ["customer_id", "feature"]
    assert len(rows) == 15 and len(list(rows)) == 3
    pd.testing.assert_frame_equal(
        rows.frame().sort_values(key, ignore_index=True), whole.sort_values(key, ignore_index=True)
    )
    text = whole.set_index(key)["feature_value"]
    assert [text[(10, "a")], text[(11, "a")], text[(13, "a")], text[(14, "a")]] == [
        "1",
        "2.5",
        "0.1",
        "5564",
    ]
    assert (text[(11, "b")], text[(12, "c")]) == ("v", "5")
    number = whole.set_index(key)["feature_value_num"]
    assert number[(12, "c")] == 5.0 and np.isnan(number[(12, "b")])
    assert whole.set_index(key).loc[(13, "a"), "shap_value"] == 0.4
    # ranks by SHAP, largest first, ties by name: customer 11 has a 0.2, b 0.0, c 0.0
    ranks = whole.set_index(key)
    assert [ranks.loc[(11, f), "shap_rank"] for f in "abc"] == [1, 2, 3]
    assert [ranks.loc[(10, f), "shap_rank"] for f in "abc"] == [1, 3, 2]  # b -0.1 is last
    assert ranks.loc[(11, "a"), "actionable_shap_rank"] == 1
    assert ranks.loc[[(11, "b"), (11, "c")], "actionable_shap_rank"].isna().all()
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert write_run(con, {"shap_values": rows}) == {"shap_values": 15}
        assert write_run(con, {"shap_values": rows}) == {"shap_values": 15}  # replaces its run
        count = con.execute("select count(*) from ml.shap_values").fetchone()[0]
    assert count == 15


def _model_data() -> MartData:
    return to_mart_data(synthetic_mart(n=N, twins=TWINS, seed=3), mart_columns(), True)


def test_batched_probabilities_equal_one_call(warehouse: Path, tmp_path: Path) -> None:
    result = run_training(warehouse, _settings(tmp_path, families=("tree",), write_back=False))
    data = _model_data()
    np.testing.assert_array_equal(
        positive_proba(result.model, data.x, batch_rows=64), positive_proba(result.model, data.x)
    )


@pytest.mark.slow
def test_large_n_run_samples_as_stated_and_explains_everyone_exactly(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Full batches of 97 rows are explained once per decision pattern, the
    # shorter last batches row by row: both must add up to p_decline.
    monkeypatch.setattr(explain_module, "PATTERN_SHAP_MIN_ROWS", 60)
    result = run_training(warehouse, _settings(tmp_path, batch_rows=97))
    n = N + TWINS
    run = _rows(warehouse, "select cv_scheme, model_family, shap_method from ml.model_runs")
    scheme, family, method = run[0]
    assert scheme.startswith("large-N mode") and "sample of" in scheme
    assert family in LARGE_N_FAMILIES
    assert method in ("tree_exact", "constant")
    searched = {f for (f,) in _rows(warehouse, "select family from ml.model_candidates")}
    assert searched == set(LARGE_N_FAMILIES)  # no k-NN, SVC, boosting or soft vote
    sources = dict(
        _rows(warehouse, "select p_source, count(*) from ml.predictions group by p_source")
    )
    assert sources["oof"] + sources["unseen"] == n
    assert abs(sources["oof"] - LARGE["fit_sample"]) <= TWINS
    # The hold-out is never in the fit sample; unseen rows carry the final model's probability
    # and no fold.
    data = _model_data()
    predictions = result.tables["predictions"]
    unseen = (predictions["p_source"] == "unseen").to_numpy()
    np.testing.assert_array_equal(
        predictions["p_decline"].to_numpy()[unseen],
        positive_proba(result.model, data.x.iloc[np.flatnonzero(unseen)]),
    )
    assert _rows(
        warehouse,
        "select count(*) filter (where is_holdout and p_source = 'oof'),"
        " count(*) filter (where p_source = 'unseen' and fold is not null),"
        " count(*) filter (where p_source = 'oof' and fold is null)"
        " from ml.predictions",
    ) == [(0, 0, 0)]
    # SHAP adds up to the published probability for every customer, batch boundaries included.
    ((customers, worst),) = _rows(
        warehouse,
        "select count(*), max(abs(p.base_value + s.total - p.p_decline)) from ml.predictions p "
        "join (select customer_id, sum(shap_value) as total from ml.shap_values group by 1) s "
        "using (customer_id)",
    )
    assert customers == n and worst < 1e-6
    assert _rows(warehouse, "select count(*) from ml.shap_values") == [(n * 16,)]
    assert result.metrics["holdout_roc_auc"] > 0.75  # the fixture's signal is learnable


@pytest.mark.slow
def test_large_n_refuses_families_it_cannot_explain_exactly(
    warehouse: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="drop logreg"):
        run_training(warehouse, _settings(tmp_path, families=("logreg", "random_forest")))


@pytest.mark.slow
def test_small_runs_keep_the_published_protocol(warehouse: Path, tmp_path: Path) -> None:
    run_training(
        warehouse,
        _settings(tmp_path, families=("dummy", "logreg"), large_n_customers=10_000),
    )
    assert _rows(
        warehouse,
        "select p_source, count(distinct fold) from ml.predictions group by 1 order by 1",
    ) == [("holdout", 0), ("oof", 3)]
    (scheme,) = _rows(warehouse, "select cv_scheme from ml.model_runs")[0]
    assert not scheme.startswith("large-N")


@pytest.mark.slow
def test_cli_options_set_the_large_n_samples(warehouse: Path, tmp_path: Path) -> None:
    options = ["--large-n", "300", "--search-sample", "150", "--fit-sample", "250"]
    code = main(
        [*quick_cli_args(warehouse, tmp_path / "m", "dummy,tree"), "--no-progress", *options]
    )
    assert code == 0
    (scheme,) = _rows(warehouse, "select cv_scheme from ml.model_runs")[0]
    sizes = [int(n.replace(",", "")) for n in re.findall(r"sample of ([\d,]+)", scheme)]
    assert abs(sizes[0] - 150) <= TWINS and abs(sizes[1] - 250) <= TWINS
