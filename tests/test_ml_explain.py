"""Exact SHAP values: one per customer and mart feature, adding up to the probability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import VotingClassifier

from ml.contracts.features import mart_columns
from ml.contracts.ml_tables import TABLES
from ml.io.mart import model_inputs
from ml.model import explanation as explain_module
from ml.model.candidates import PREP_STEP, FeatureSpec, get_family
from ml.model.explanation import (
    CONSTANT,
    PROBABILITY,
    TREE_EXACT,
    Explanation,
    NotExplainableError,
    ShapRows,
    exact_route,
    explain_model,
    explain_producers,
    fold_matrix,
    importance_table,
    permutation_table,
    shap_ranks,
)
from ml.model.predict import positive_proba

from .ml_fixtures import synthetic_mart


def _data(n: int = 80) -> tuple[pd.DataFrame, np.ndarray]:
    frame = synthetic_mart(n=n, twins=0)
    x = model_inputs(frame, mart_columns())
    return x, frame["activity_declined"].astype(int).to_numpy()


def _fitted(
    family: str, rows: slice = slice(None), **params: object
) -> tuple[object, pd.DataFrame]:
    columns = mart_columns()
    x, y = _data()
    spec = FeatureSpec(tuple(columns.numeric), tuple(columns.categorical))
    model = get_family(family).build({**get_family(family).default, **params}, spec, 0)
    return model.fit(x.iloc[rows], y[rows]), x


def _explain(model: object, x: pd.DataFrame) -> Explanation:
    return explain_producers([(model, np.arange(len(x)))], x, positive_proba(model, x))


@pytest.mark.parametrize(
    ("family", "params", "method"),
    [
        ("dummy", {}, CONSTANT),
        ("tree", {}, TREE_EXACT),
        ("random_forest", {"n_estimators": 20}, TREE_EXACT),
        ("extra_trees", {"n_estimators": 20, "max_leaf_nodes": None, "max_depth": 6}, TREE_EXACT),
    ],
)
def test_shap_values_add_up_to_the_probability_for_every_customer(
    family: str, params: dict, method: str
) -> None:
    model, x = _fitted(family, **params)
    values, base = explain_model(model, x)
    np.testing.assert_allclose(base + values.sum(axis=1), positive_proba(model, x), atol=1e-9)
    explanation = _explain(model, x)
    assert explanation.method == method
    assert explanation.output_space == PROBABILITY
    assert list(explanation.values.columns) == list(x.columns)
    assert explanation.base_value == pytest.approx(base)


@pytest.mark.parametrize(
    ("family", "params"),
    [
        ("logreg", {}),  # exact only in log-odds
        ("hist_gb", {"projections": 0}),  # exact only in log-odds
        ("knn", {}),
        ("extra_trees", {"n_estimators": 10, "projections": 3}),  # projections mix features
    ],
)
def test_models_without_exact_shap_in_probability_units_are_refused(
    family: str, params: dict
) -> None:
    model, x = _fitted(family, **params)
    assert exact_route(model, list(x.columns)) is None
    with pytest.raises(NotExplainableError):
        explain_model(model, x)


def test_a_soft_votes_shap_is_the_weighted_sum_of_its_members_exact_shap() -> None:
    tree, x = _fitted("tree")
    forest, _ = _fitted("random_forest", n_estimators=15)
    y = _data()[1]
    vote = VotingClassifier(
        [("tree", tree), ("forest", forest)], voting="soft", weights=[1.0, 3.0]
    ).fit(x, y)
    values, base = explain_model(vote, x)
    members = [explain_model(member, x) for member in vote.estimators_]
    expected = 0.25 * members[0][0] + 0.75 * members[1][0]
    np.testing.assert_allclose(values, expected, atol=1e-12)
    assert base == pytest.approx(0.25 * members[0][1] + 0.75 * members[1][1])
    np.testing.assert_allclose(base + values.sum(axis=1), positive_proba(vote, x), atol=1e-9)


def test_each_customer_is_explained_by_the_model_that_produced_their_probability() -> None:
    first, x = _fitted("tree", rows=slice(0, 40))
    second, _ = _fitted("tree", rows=slice(40, None), max_depth=2)
    rows_a, rows_b = np.arange(0, 80, 2), np.arange(1, 80, 2)
    p = np.empty(len(x))
    p[rows_a] = positive_proba(first, x.iloc[rows_a])
    p[rows_b] = positive_proba(second, x.iloc[rows_b])
    explanation = explain_producers([(first, rows_a), (second, rows_b)], x, p)
    total = explanation.base_values + explanation.values.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, p, atol=1e-9)
    assert explanation.base_value is None  # two models, two base values
    assert set(np.unique(explanation.base_values)) == {
        explain_model(first, x)[1],
        explain_model(second, x)[1],
    }


def test_an_explanation_of_another_probability_is_refused() -> None:
    model, x = _fitted("tree")
    other, _ = _fitted("tree", max_depth=2)
    with pytest.raises(RuntimeError, match="do not add up"):
        explain_producers([(model, np.arange(len(x)))], x, positive_proba(other, x))


def test_producers_must_cover_every_customer_once() -> None:
    model, x = _fitted("tree")
    with pytest.raises(ValueError, match="exactly once"):
        explain_producers([(model, np.arange(10))], x, positive_proba(model, x))


def test_batches_change_nothing_but_memory() -> None:
    model, x = _fitted("random_forest", n_estimators=15)
    whole, base = explain_model(model, x)
    batched, base_batched = explain_model(model, x, batch_rows=7)
    np.testing.assert_array_equal(whole, batched)
    assert base == base_batched


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


def test_shap_table_has_one_row_per_customer_and_feature() -> None:
    model, x = _fitted("tree")
    explanation = _explain(model, x)
    ids = np.arange(500, 500 + len(x))
    table = ShapRows(
        explanation, x, ids, "run-1", chunk_customers=37, actionable=frozenset({"tenure_days"})
    ).frame()
    assert len(table) == len(x) * x.shape[1]
    assert list(table.columns) == [column.name for column in TABLES["shap_values"].columns]
    assert table.groupby("customer_id").size().eq(x.shape[1]).all()
    row = table[(table["customer_id"] == 500) & (table["feature"] == "tenure_days")].iloc[0]
    assert row["feature_value_num"] == x["tenure_days"].iloc[0]
    assert row["feature_value"] == str(int(x["tenure_days"].iloc[0]))
    category = table[(table["customer_id"] == 500) & (table["feature"] == "favourite_category")]
    assert category["feature_value"].iloc[0] == x["favourite_category"].iloc[0]
    assert category["feature_value_num"].isna().all()
    per_customer = table.groupby("customer_id", sort=False)["shap_value"].sum().to_numpy()
    np.testing.assert_allclose(explanation.base_value + per_customer, positive_proba(model, x))


def test_importance_ranks_features_and_compares_the_two_rankings() -> None:
    values = pd.DataFrame({"a": [0.3, -0.3], "b": [0.1, -0.1], "c": [0.0, 0.0]})
    explanation = Explanation(values, np.full(2, 0.5), "tree_exact", PROBABILITY)
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


@pytest.mark.parametrize(
    ("family", "params"),
    [("tree", {}), ("random_forest", {"n_estimators": 15}), ("extra_trees", {"n_estimators": 15})],
)
def test_tree_shap_once_per_decision_pattern_equals_the_row_by_row_explainer(
    family: str, params: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, x = _fitted(family, **params)
    row_by_row, base = explain_model(model, x)
    monkeypatch.setattr(explain_module, "PATTERN_SHAP_MIN_ROWS", 1)
    by_pattern, base_by_pattern = explain_model(model, x, batch_rows=30)
    np.testing.assert_allclose(by_pattern, row_by_row, atol=1e-12)
    assert base_by_pattern == pytest.approx(base, abs=1e-12)


def test_rows_with_one_decision_pattern_share_their_leaf() -> None:
    model, x = _fitted("random_forest", n_estimators=3)
    encoded = np.asarray(model.named_steps[PREP_STEP].transform(x), dtype=np.float32)
    tree = model.named_steps["model"].estimators_[0]
    first, inverse = explain_module.decision_patterns(tree, encoded.astype(float))
    leaves = tree.apply(encoded)
    assert len(first) <= len(x)
    np.testing.assert_array_equal(leaves, leaves[first][inverse])


def test_shap_ranks_order_by_value_then_by_feature_name() -> None:
    # columns in mart order (z, a, m); a and m tie at 0.2 on the first row
    values = np.array([[0.1, 0.2, 0.2], [-0.3, 0.0, 0.5]])
    ranks = shap_ranks(values, ["z", "a", "m"], ["z", "a", "m"])
    assert ranks.tolist() == [[3, 1, 2], [3, 2, 1]]


def test_shap_ranks_among_a_subset_leave_the_others_unranked() -> None:
    values = np.array([[0.1, 0.2, 0.3], [0.3, -0.2, 0.1]])
    ranks = shap_ranks(values, ["z", "a", "m"], ["z", "m"])
    assert ranks.tolist() == [[2, 0, 1], [1, 0, 2]]
    assert shap_ranks(values, ["z", "a", "m"], []).tolist() == [[0, 0, 0], [0, 0, 0]]


# Run in a fresh interpreter, where shap is not imported yet: the first
# explanation imports it from deep inside its caller.
_CALLER_FREED = """
import gc, weakref
import numpy as np
from sklearn.tree import DecisionTreeClassifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
import pandas as pd
from ml.model.candidates import MODEL_STEP, PREP_STEP
from ml.model.explanation import explain_model

class Data:
    pass

def run():
    data = Data()  # stands for a training run's data, held in the caller's frame
    x = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3})
    y = (x["a"] > 20).astype(int).to_numpy()
    prep = ColumnTransformer([("keep", "passthrough", ["a", "b"])])
    model = Pipeline([(PREP_STEP, prep), (MODEL_STEP, DecisionTreeClassifier(max_depth=2))])
    explain_model(model.fit(x, y), x)
    return weakref.ref(data)

alive = run()
gc.collect()
print("alive" if alive() is not None else "freed")
"""


def test_explaining_keeps_nothing_of_its_callers_alive() -> None:
    import subprocess
    import sys

    from ml.config import PROJECT_ROOT

    done = subprocess.run(
        [sys.executable, "-c", _CALLER_FREED],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "freed"
