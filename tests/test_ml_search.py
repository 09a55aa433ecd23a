"""Search, ensemble and out-of-fold predictions: no row is ever scored by a model it trained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from joblib import Parallel
from sklearn.base import BaseEstimator, ClassifierMixin

from ml.contracts.features import mart_columns
from ml.io.mart import to_mart_data
from ml.model.search import (
    CandidateResult,
    fold_roc_auc,
    select_best,
    soft_vote_result,
)
from ml.model.training import (
    TrainSettings,
    _evaluate_and_refit,
    _evaluate_on_sample,
    _plan,
)

from .ml_fixtures import synthetic_mart


class RememberingClassifier(ClassifierMixin, BaseEstimator):
    """Predicts 1.0 for any row it was trained on and 0.0 otherwise: a leak detector."""

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> RememberingClassifier:
        self.classes_ = np.array([0, 1])
        self.seen_ = {tuple(row) for row in x.itertuples(index=False)}
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        seen = np.array([tuple(row) in self.seen_ for row in x.itertuples(index=False)], float)
        return np.c_[1 - seen, seen]


@pytest.mark.parametrize("large", [False, True], ids=["full protocol", "large-N samples"])
def test_honest_probabilities_never_come_from_a_model_that_saw_the_row(large: bool) -> None:
    # The evaluation training runs: every out-of-fold, unseen and hold-out probability
    # must come from a model that never saw the row. Twins have identical features:
    # a split or sample that separated them would also show up here.
    data = to_mart_data(synthetic_mart(n=200, twins=10), mart_columns(), with_target=True)
    settings = TrainSettings(
        oof_folds=5, large_n_customers=100 if large else 10_000, fit_sample=120, batch_rows=33
    )
    plan = _plan(data, settings)
    assert plan.large is large
    with Parallel(n_jobs=1) as parallel:
        if large:
            evaluation = _evaluate_on_sample(
                RememberingClassifier(), data, plan, settings, parallel
            )
        else:
            evaluation = _evaluate_and_refit(
                RememberingClassifier(), data, plan.train, plan.hold, settings, parallel
            )
    assert np.all(evaluation.p == 0.0)
    assert np.all(evaluation.p_hold == 0.0)
    oof = evaluation.p_source == "oof"
    assert sorted(set(evaluation.fold_of[oof])) == [0, 1, 2, 3, 4]
    assert np.all(evaluation.fold_of[~oof] == -1)
    assert oof.sum() == len(plan.fit_rows if large else plan.train)
    assert not oof[plan.hold].any()  # hold-out customers never get a training OOF probability
    np.testing.assert_array_equal(evaluation.oof_rows, np.sort(np.flatnonzero(oof)))
    # Each producer scored rows it never saw, and together they cover everyone once.
    covered = np.zeros(len(data.y), dtype=int)
    for model, rows in evaluation.producers:
        covered[rows] += 1
        assert np.all(model.predict_proba(data.x.iloc[rows])[:, 1] == 0.0)
    assert np.all(covered == 1)


def test_in_sample_the_leak_detector_does_fire() -> None:
    data = to_mart_data(synthetic_mart(n=30, twins=0), mart_columns(), with_target=True)
    model = RememberingClassifier().fit(data.x, data.y)
    assert np.all(model.predict_proba(data.x)[:, 1] == 1.0)


def _result(family: str, scores: list[float], predictions: list[np.ndarray]) -> CandidateResult:
    return CandidateResult(family, {}, np.array(scores), predictions, fit_seconds=0.1)


def test_soft_vote_averages_the_members_fold_predictions() -> None:
    y = np.array([0, 1, 0, 1])
    folds = [(np.array([0, 1]), np.array([2, 3])), (np.array([2, 3]), np.array([0, 1]))]
    a = _result("extra_trees", [0.9, 0.9], [np.array([0.2, 0.6]), np.array([0.1, 0.3])])
    b = _result("random_forest", [0.8, 0.8], [np.array([0.4, 0.8]), np.array([0.5, 0.9])])
    dummy = _result("dummy", [0.5, 0.5], [np.array([0.5, 0.5]), np.array([0.5, 0.5])])
    knn = _result("knn", [0.95, 0.95], [np.array([0.1, 0.9]), np.array([0.2, 0.8])])
    vote = soft_vote_result([a, b, dummy, knn], y, folds, top_k=3)
    assert vote is not None
    # neither the dummy nor a member without exact SHAP (k-NN) joins
    assert list(vote.params["members"]) == ["extra_trees", "random_forest"]
    assert vote.eligible
    np.testing.assert_allclose(vote.fold_predictions[0], [0.3, 0.7])
    np.testing.assert_allclose(vote.fold_scores, fold_roc_auc(y, folds, vote.fold_predictions))


def test_selection_takes_the_highest_cv_mean_then_the_lower_spread() -> None:
    low = _result("tree", [0.625, 0.625], [])
    high_wide = _result("extra_trees", [0.875, 0.625], [])  # exact binary fractions: a true tie
    high_narrow = _result("random_forest", [0.75, 0.75], [])
    assert select_best([low, high_wide, high_narrow]).family == "random_forest"


def test_selection_skips_candidates_without_exact_shap() -> None:
    tree = _result("tree", [0.7, 0.7], [])
    better_but_inexact = [_result(name, [0.9, 0.9], []) for name in ("logreg", "knn", "svc")]
    projected = CandidateResult("extra_trees", {"projections": 6}, np.array([0.95]), [], 0.1)
    assert select_best([*better_but_inexact, projected, tree]).family == "tree"
    with pytest.raises(ValueError, match="exactly explainable"):
        select_best(better_but_inexact)
