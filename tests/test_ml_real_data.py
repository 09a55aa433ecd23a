"""Quality on the shop's real export, read back from ml.model_runs as the report will read it.

Published solutions reach ROC-AUC 0.90-0.914 in CV that ignores the duplicate
records; kept together, the same models drop to ~0.90-0.911. The model must
beat them on the honest (group-aware) protocol.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from ml.model.training import TrainSettings, run_training

from .ml_fixtures import real_mart_duckdb

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def trained_real(real_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("ml_real")
    warehouse = real_mart_duckdb(real_warehouse, workdir)
    run_training(warehouse, TrainSettings(models_dir=workdir / "models"))
    return warehouse


def _latest_run(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(
            "select * from ml.model_runs where run_kind = 'train' order by started_at desc limit 1"
        )
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def test_repeated_group_aware_cv_roc_auc_is_at_least_0_91(trained_real: Path) -> None:
    assert _latest_run(trained_real)["cv_roc_auc_mean"] >= 0.91


def test_holdout_roc_auc_is_at_least_0_92(trained_real: Path) -> None:
    assert _latest_run(trained_real)["holdout_roc_auc"] >= 0.92


def test_pooled_out_of_fold_roc_auc_is_at_least_0_905(trained_real: Path) -> None:
    assert _latest_run(trained_real)["oof_roc_auc"] >= 0.905


def test_every_active_customer_is_scored_and_explained(trained_real: Path) -> None:
    with duckdb.connect(str(trained_real), read_only=True) as con:
        counts = con.execute(
            "select (select count(*) from marts.customer_features),"
            " (select count(*) from ml.predictions),"
            " (select count(distinct customer_id) from ml.shap_values)"
        ).fetchone()
    assert counts[0] == counts[1] == counts[2] == 1297


def test_the_holdout_keeps_the_published_split_size(trained_real: Path) -> None:
    run = _latest_run(trained_real)
    assert abs(run["holdout_size"] - 325) <= 2  # 25 % of 1297, twins kept together


def test_every_published_probability_is_explained_exactly_by_its_own_model(
    trained_real: Path,
) -> None:
    with duckdb.connect(str(trained_real), read_only=True) as con:
        ((customers, worst),) = con.execute(
            "select count(*), max(abs(p.base_value + s.total - p.p_decline)) "
            "from ml.predictions p join (select customer_id, sum(shap_value) as total "
            "from ml.shap_values group by 1) s using (customer_id)"
        ).fetchall()
        eligible = con.execute(
            "select is_eligible from ml.model_candidates where is_selected"
        ).fetchall()
    assert customers == 1297 and worst < 1e-6
    assert eligible == [(True,)]
    assert _latest_run(trained_real)["shap_method"] == "tree_exact"


@pytest.mark.skipif(
    os.environ.get("ONE_CLICK_REAL_NESTED_CV") != "1",
    reason="nested CV of the whole selection takes ~5x the search; set ONE_CLICK_REAL_NESTED_CV=1 "
    "(meant for make real-data-checks)",
)
def test_nested_cv_of_the_whole_selection_is_at_least_0_905(
    real_warehouse: Path, tmp_path: Path
) -> None:
    warehouse = real_mart_duckdb(real_warehouse, tmp_path)
    settings = TrainSettings(nested_cv=True, write_back=False, save_model=False)
    result = run_training(warehouse, settings)
    assert result.metrics["nested_cv_roc_auc_mean"] >= 0.905
