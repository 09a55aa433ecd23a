"""SHAP values: one per customer and mart feature, adding up to the model's output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import VotingClassifier

from ml.candidates import MODEL_STEP, PREP_STEP, FeatureSpec, get_family
from ml.data import model_inputs
from ml.explain import (
    LOG_ODDS,
    PROBABILITY,
    ExplainBudget,
    Explanation,
    ShapRows,
    draw_plan,
    explain,
    explainer_route,
    fold_matrix,
    importance_table,
    model_output,
    permutation_table,
    sampling_shap,
)
from ml.features import mart_columns

from .ml_fixtures import synthetic_mart

BUDGET = ExplainBudget(
    max_model_rows=60_000, min_draws=8, max_draws=16, tree_max_work=1e12, linear_background=500
)


def _fitted(family: str, **params: object) -> tuple[object, pd.DataFrame]:
    columns = mart_columns()
    frame = synthetic_mart(n=80, twins=0)
    x = model_inputs(frame, columns)
    y = frame["activity_declined"].astype(int).to_numpy()
    spec = FeatureSpec(tuple(columns.numeric), tuple(columns.categorical))
    model = get_family(family).build({**get_family(family).default, **params}, spec, 0)
    return model.fit(x, y), x


@pytest.mark.parametrize(
    ("family", "params", "method", "space"),
    [
        ("logreg", {}, "linear_exact", LOG_ODDS),
        ("tree", {}, "tree_exact", PROBABILITY),
        ("random_forest", {"projections": 0}, "tree_exact", PROBABILITY),
        ("hist_gb", {"projections": 0}, "tree_exact", LOG_ODDS),
        ("extra_trees", {"projections": 3}, "sampling_permutation", PROBABILITY),
        ("knn", {}, "sampling_permutation", PROBABILITY),
    ],
)
def test_shap_values_add_up_to_the_model_output_for_every_customer(
    family: str, params: dict, method: str, space: str
) -> None:
    model, x = _fitted(family, **params)
    explanation = explain(model, x, seed=0, budget=BUDGET)
    assert explanation.method == method
    assert explanation.output_space == space
    assert list(explanation.values.columns) == list(x.columns)
    total = explanation.base_value + explanation.values.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, model_output(model, x, space), atol=1e-6)


def test_sampling_is_exact_for_an_additive_model() -> None:
    # Logistic regression is additive in log-odds: one permutation per draw already
    # gives w_j * (z_j - mean of z_j over the draws' background rows), folded per feature.
    model, x = _fitted("logreg")
    prep, lr = model.named_steps[PREP_STEP], model.named_steps[MODEL_STEP]
    values, base = sampling_shap(model.decision_function, x, n_draws=8, seed=3)
    _, background = draw_plan(len(x), x.shape[1], 8, 3)
    z = prep.transform(x)
    contributions = lr.coef_[0] * (z - z[background].mean(axis=0))
    expected = contributions @ fold_matrix(prep, list(x.columns))
    np.testing.assert_allclose(values, expected, atol=1e-9)
    assert base == pytest.approx(model.decision_function(x.iloc[background]).mean())


def test_sampling_does_not_depend_on_the_number_of_threads() -> None:
    model, x = _fitted("knn")

    def predict(frame: pd.DataFrame) -> np.ndarray:
        return model.predict_proba(frame)[:, 1]

    one, base_one = sampling_shap(predict, x.iloc[:30], 6, seed=1, n_jobs=1)
    two, base_two = sampling_shap(predict, x.iloc[:30], 6, seed=1, n_jobs=2)
    np.testing.assert_array_equal(one, two)
    assert base_one == base_two


def test_one_hot_columns_fold_back_to_their_feature() -> None:
    model, x = _fitted("logreg")
    matrix = fold_matrix(model.named_steps[PREP_STEP], list(x.columns))
    assert matrix is not None
    # three synthetic categories + two booleans one-hot encoded, numerics one column each
    widths = dict(zip(x.columns, matrix.sum(axis=0), strict=True))
    assert widths["favourite_category"] == 3
    assert widths["allow_messages"] == 2
    assert widths["tenure_days"] == 1
    assert np.all(matrix.sum(axis=1) == 1)


def test_pca_projections_cannot_be_folded_so_the_sampler_explains_them() -> None:
    model, x = _fitted("extra_trees", projections=3)
    assert fold_matrix(model.named_steps[PREP_STEP], list(x.columns)) is None
    assert explainer_route(model, list(x.columns), len(x), BUDGET) == "sampling"


def test_a_soft_vote_and_an_expensive_forest_use_the_bounded_sampler() -> None:
    knn, x = _fitted("knn")
    tree, _ = _fitted("tree")
    vote = VotingClassifier([("knn", knn), ("tree", tree)], voting="soft")
    assert explainer_route(vote, list(x.columns), len(x), BUDGET) == "sampling"
    forest, _ = _fitted("random_forest", projections=0)
    tight = ExplainBudget(60_000, 8, 16, tree_max_work=1.0, linear_background=500)
    assert explainer_route(forest, list(x.columns), len(x), tight) == "sampling"


def test_shap_table_has_one_row_per_customer_and_feature() -> None:
    model, x = _fitted("tree")
    explanation = explain(model, x, seed=0, budget=BUDGET)
    ids = np.arange(500, 500 + len(x))
    table = ShapRows(explanation, x, ids, "run-1", chunk_customers=37).frame()
    assert len(table) == len(x) * x.shape[1]
    assert list(table.columns) == [
        "run_id",
        "customer_id",
        "feature",
        "feature_value",
        "feature_value_num",
        "shap_value",
    ]
    assert table.groupby("customer_id").size().eq(x.shape[1]).all()
    row = table[(table["customer_id"] == 500) & (table["feature"] == "tenure_days")].iloc[0]
    assert row["feature_value_num"] == x["tenure_days"].iloc[0]
    assert row["feature_value"] == str(int(x["tenure_days"].iloc[0]))
    category = table[(table["customer_id"] == 500) & (table["feature"] == "favourite_category")]
    assert category["feature_value"].iloc[0] == x["favourite_category"].iloc[0]
    assert category["feature_value_num"].isna().all()
    per_customer = table.groupby("customer_id", sort=False)["shap_value"].sum().to_numpy()
    np.testing.assert_allclose(
        explanation.base_value + per_customer, model_output(model, x, PROBABILITY)
    )


def test_importance_ranks_features_and_compares_the_two_rankings() -> None:
    values = pd.DataFrame({"a": [0.3, -0.3], "b": [0.1, -0.1], "c": [0.0, 0.0]})
    explanation = Explanation(values, 0.5, "tree_exact", PROBABILITY)
    permutation = pd.DataFrame(
        {
            "feature": ["a", "b", "c"],
            "permutation_mean": [0.2, 0.05, 0.01],
            "permutation_std": [0.01, 0.01, 0.0],
        }
    )
    table, correlation = importance_table(explanation, permutation, frozenset({"b"}), "run-1")
    assert table["feature"].tolist() == ["a", "b", "c"]
    assert table["shap_rank"].tolist() == [1, 2, 3]
    assert table["permutation_rank"].tolist() == [1, 2, 3]
    assert table["is_actionable"].tolist() == [False, True, False]
    assert table["shap_mean_abs"].tolist() == pytest.approx([0.3, 0.1, 0.0])
    assert correlation == pytest.approx(1.0)


class FirstNumericOnly(ClassifierMixin, BaseEstimator):
    """Scores customers by the first numeric feature alone (which drives the synthetic target)."""

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> FirstNumericOnly:
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        v = x[mart_columns().numeric[0]].to_numpy(dtype=float)
        p = 1 / (1 + np.exp(-(v - 10.0)))
        return np.c_[1 - p, p]


def test_permutation_importance_is_zero_for_features_the_model_ignores() -> None:
    frame = synthetic_mart(n=200, twins=0)
    x = model_inputs(frame, mart_columns())
    y = frame["activity_declined"].astype(int).to_numpy()
    model = FirstNumericOnly().fit(x, y)
    table = permutation_table(model, x, y, seed=0, repeats=3).set_index("feature")
    used = mart_columns().numeric[0]
    assert table.loc[used, "permutation_mean"] > 0.1
    assert (table.drop(index=used)[["permutation_mean", "permutation_std"]] == 0).all().all()
    again = permutation_table(model, x, y, seed=0, repeats=3).set_index("feature")
    assert table.equals(again)
