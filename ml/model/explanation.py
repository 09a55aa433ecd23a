"""Exact SHAP values per customer and feature, global importance, and the permutation cross-check.

Every SHAP value written to a table is exact and in probability units, and
it explains the probability it stands beside: the model that produced a
customer's ``p_decline`` is the model explained for that customer. Values
are reported per *mart* feature: one-hot columns are summed back into their
categorical feature, so a report never shows an encoder's column name.

The rule (README, "The model"): only models whose exact SHAP values add up
to the probability, over the mart's own features, are explained, hence
trained to be published:

* ``constant`` — the prior baseline: every value 0, base value = the prior;
* ``tree_exact`` — scikit-learn decision trees, random forests and extra
  trees after per-feature preprocessing (one-hot, scaling, passthrough):
  shap.TreeExplainer, path-dependent TreeSHAP, whose output for these
  models *is* the class probability (a forest averages its trees' leaf
  class shares);
* a soft vote of such models: the weighted average of its members' exact
  SHAP values and base values (Shapley values are linear in the model).

Logistic regression and gradient boosting are exact only in log-odds,
PCA projections mix features, k-NN and SVC have no exact explainer:
:func:`exact_route` returns None for them and they never reach a table.

Large batches are explained tree by tree, once per decision pattern
(:func:`decision_patterns`): the same exact values at a fraction of the cost.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, VotingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from ml.config import PATTERN_SHAP_MIN_ROWS, SHAP_ADDITIVITY_TOLERANCE
from ml.contracts.sql import quote_literal
from ml.model.candidates import MODEL_STEP, PREP_STEP
from ml.model.predict import positive_proba

logger = logging.getLogger(__name__)

PROBABILITY = "probability"
TREE_EXACT = "tree_exact"
CONSTANT = "constant"
SKLEARN_TREES = (DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier)
EXPLAINER_NAME = {
    TREE_EXACT: "shap.TreeExplainer (path-dependent TreeSHAP, exact, probability units)",
    CONSTANT: "constant model (every SHAP value 0, base value = the prior)",
}


class NotExplainableError(ValueError):
    """The model has no exact SHAP route in probability units over the mart features."""


@dataclass
class Explanation:
    """Exact SHAP values (customers x mart features) and each customer's base value.

    ``base_values + values.sum(axis=1)`` equals, customer by customer, the
    probability of the model that produced it (checked when computed). The
    base value is that model's expected output, so it differs between the
    fold models of one training run.
    """

    values: pd.DataFrame
    base_values: np.ndarray
    method: str
    output_space: str = PROBABILITY
    detail: str = ""

    @property
    def base_value(self) -> float | None:
        """The common base value when one model explains everyone, else None."""
        if len(self.base_values) and np.all(self.base_values == self.base_values[0]):
            return float(self.base_values[0])
        return None


def _is_one_to_one(transformer: object) -> bool:
    """Scaling or passthrough (which a fitted ColumnTransformer stores as an identity
    FunctionTransformer): one output column per input column, in order."""
    if isinstance(transformer, str):
        return transformer == "passthrough"
    if isinstance(transformer, FunctionTransformer):
        return transformer.func is None
    return isinstance(transformer, StandardScaler)


def fold_matrix(prep: ColumnTransformer, features: Sequence[str]) -> np.ndarray | None:
    """0/1 matrix (transformed columns x mart features) saying which feature each column came from.

    Only per-feature transformations can be folded exactly (one-hot,
    scaling, passthrough); for anything that mixes features (PCA
    projections) this returns None: such a model is not explainable exactly.
    """
    sources: list[int] = []
    for _, transformer, cols in prep.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        cols = list(cols)
        if _is_one_to_one(transformer):
            widths = [1] * len(cols)
        elif isinstance(transformer, OneHotEncoder) and transformer.drop_idx_ is None:
            widths = [len(categories) for categories in transformer.categories_]
        else:
            return None
        for col, width in zip(cols, widths, strict=True):
            sources.extend([list(features).index(col)] * width)
    matrix = np.zeros((len(sources), len(features)))
    matrix[np.arange(len(sources)), sources] = 1.0
    return matrix


def _members(model: object) -> list[tuple[object, float]]:
    """(member, weight) of a soft vote, or the model itself with weight 1."""
    if isinstance(model, VotingClassifier):
        if model.voting != "soft":
            raise NotExplainableError("a hard-voting ensemble has no probability to explain")
        weights = np.ones(len(model.estimators_)) if model.weights is None else model.weights
        weights = np.asarray(weights, dtype=float) / float(np.sum(weights))
        return list(zip(model.estimators_, weights, strict=True))
    return [(model, 1.0)]


def _single_route(model: object, features: Sequence[str]) -> str | None:
    if not (isinstance(model, Pipeline) and PREP_STEP in model.named_steps):
        return None
    estimator = model.named_steps[MODEL_STEP]
    if isinstance(estimator, DummyClassifier):
        return CONSTANT
    if not isinstance(estimator, SKLEARN_TREES):
        return None
    if fold_matrix(model.named_steps[PREP_STEP], features) is None:
        return None
    return TREE_EXACT


def exact_route(model: object, features: Sequence[str]) -> str | None:
    """``tree_exact`` or ``constant`` when the fitted *model* is explained exactly, else None."""
    try:
        routes = {_single_route(member, features) for member, _ in _members(model)}
    except NotExplainableError:
        return None
    if None in routes:
        return None
    return TREE_EXACT if TREE_EXACT in routes else CONSTANT


def tree_shap_work_per_row(model: object) -> float:
    """Rough TreeSHAP cost of one row: sum over trees of leaves * depth^2 (0 for a constant)."""
    work = 0.0
    for member, _ in _members(model):
        estimator = member.named_steps[MODEL_STEP] if isinstance(member, Pipeline) else member
        if isinstance(estimator, DecisionTreeClassifier):
            trees = [estimator]
        elif isinstance(estimator, (RandomForestClassifier, ExtraTreesClassifier)):
            trees = list(estimator.estimators_)
        else:
            continue
        work += sum(t.tree_.n_leaves * max(t.tree_.max_depth, 1) ** 2 for t in trees)
    return float(work)


def _shap() -> ModuleType:
    """The shap module, imported on first use (a heavy import) from a worker thread.

    shap keeps the exceptions of its optional imports that failed (cv2, its
    GPU extension), and with them their tracebacks: the frames of whoever
    imported shap and, through each frame's caller, every caller's locals.
    Imported from inside a training run, that kept the run's data (1.4 GB at
    a million customers) alive until the process ended, under the segment
    build that follows. A worker thread's frames hold nothing of ours.
    """
    if "shap" not in sys.modules:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(importlib.import_module, "shap").result()
    return sys.modules["shap"]


def _class_values(raw: object, positive: int) -> np.ndarray:
    """Class-*positive* slice of shap's output (3-D array, or a list per class in older shap)."""
    if isinstance(raw, list):
        return np.asarray(raw[positive], dtype=float)
    values = np.asarray(raw, dtype=float)
    return values[:, :, positive] if values.ndim == 3 else values


def _scalar(expected: object, positive: int) -> float:
    base = np.atleast_1d(np.asarray(expected, dtype=float))
    return float(base[positive] if base.size > 1 else base[0])


def decision_patterns(tree: DecisionTreeClassifier, encoded: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows of *encoded* that go the same way at every split of *tree*, grouped.

    Path-dependent TreeSHAP of a row depends on the row only through the
    side it takes at each split node, so rows with the same pattern of
    decisions have identical SHAP values: explaining one representative per
    pattern and copying its values is exact (bit for bit what the explainer
    gives each row). Returns (representative row of each pattern, each row's
    pattern index).
    """
    nodes = tree.tree_
    internal = np.flatnonzero(nodes.children_left >= 0)
    if not len(internal):
        return np.zeros(1, dtype=np.int64), np.zeros(len(encoded), dtype=np.int64)
    decisions = encoded[:, nodes.feature[internal]] <= nodes.threshold[internal]
    packed = np.ascontiguousarray(np.packbits(decisions, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _trees(estimator: object) -> list[tuple[DecisionTreeClassifier, float]]:
    """A tree model's trees and their weights in its probability (a forest averages)."""
    if isinstance(estimator, DecisionTreeClassifier):
        return [(estimator, 1.0)]
    trees = list(estimator.estimators_)
    return [(tree, 1.0 / len(trees)) for tree in trees]


def _tree_shap_by_pattern(estimator: object, encoded: np.ndarray, positive: int) -> np.ndarray:
    """Exact TreeSHAP (rows x encoded columns) tree by tree, once per decision pattern.

    For many rows and small trees (large-N forests: a few thousand patterns
    per 100 000 rows) this does the same exact computation as explaining the
    forest row by row at a fraction of the cost. The forest's base value is
    the average of its trees' (the caller takes it from the forest's explainer).
    """
    shap = _shap()

    values = np.zeros(encoded.shape)
    for tree, weight in _trees(estimator):
        first, inverse = decision_patterns(tree, encoded)
        raw = shap.TreeExplainer(tree).shap_values(encoded[first], check_additivity=False)
        values += weight * _class_values(raw, positive)[inverse]
    return values


def _explain_pipeline(
    model: Pipeline, x: pd.DataFrame, positive: int, batch_rows: int
) -> tuple[np.ndarray, float]:
    """Exact SHAP (rows x mart features) and base value of one pipeline's class *positive*."""
    shap = _shap()

    features = list(x.columns)
    estimator = model.named_steps[MODEL_STEP]
    if isinstance(estimator, DummyClassifier):
        prior = float(estimator.class_prior_[positive])
        return np.zeros((len(x), len(features))), prior
    prep = model.named_steps[PREP_STEP]
    matrix = fold_matrix(prep, features)
    assert matrix is not None
    explainer = shap.TreeExplainer(estimator)
    base_value = _scalar(explainer.expected_value, positive)
    parts = []
    for start in range(0, len(x), batch_rows):
        # scikit-learn's trees compare float32 inputs with their thresholds;
        # the explainer gets the same values, so it takes the model's paths.
        encoded = np.asarray(prep.transform(x.iloc[start : start + batch_rows]), dtype=np.float32)
        encoded = encoded.astype(float)
        if len(encoded) >= PATTERN_SHAP_MIN_ROWS:
            values = _tree_shap_by_pattern(estimator, encoded, positive)
        else:
            raw = explainer.shap_values(encoded, check_additivity=False)
            values = _class_values(raw, positive)
        parts.append(values @ matrix)
    values = np.vstack(parts) if parts else np.zeros((0, len(features)))
    return values, base_value


def explain_model(
    model: object, x: pd.DataFrame, batch_rows: int | None = None
) -> tuple[np.ndarray, float]:
    """Exact SHAP values (rows x mart features) of one fitted model and its base value.

    A soft vote's values and base value are the weighted averages of its
    members'. Rows go to the explainer *batch_rows* at a time (TreeSHAP is
    exact row by row, so batching changes only peak memory). Raises
    :class:`NotExplainableError` for a model without an exact route.
    """
    features = list(x.columns)
    if exact_route(model, features) is None:
        raise NotExplainableError(
            f"{type(model).__name__}: no exact SHAP in probability units over the mart features"
        )
    positive = list(model.classes_).index(1)
    step = batch_rows or max(len(x), 1)
    values = np.zeros((len(x), len(features)))
    base = 0.0
    for member, weight in _members(model):
        # A VotingClassifier's members learnt label-encoded classes 0..k-1 in
        # the order of the ensemble's classes_, so the column index carries over.
        member_values, member_base = _explain_pipeline(member, x, positive, step)
        values += weight * member_values
        base += weight * member_base
    return values, base


def explain_producers(
    producers: Sequence[tuple[object, np.ndarray]],
    x: pd.DataFrame,
    p: np.ndarray,
    batch_rows: int | None = None,
    tolerance: float = SHAP_ADDITIVITY_TOLERANCE,
) -> Explanation:
    """Explain each customer by the model that produced their probability *p*.

    *producers* pairs each fitted model with the rows of *x* it scored; the
    rows of all producers must cover every row exactly once. The result is
    checked: ``base_value + sum(SHAP)`` must equal *p* within *tolerance* for
    every row, else RuntimeError (a table never receives an explanation of
    another probability).
    """
    n, features = len(x), list(x.columns)
    values = np.full((n, len(features)), np.nan)
    base_values = np.full(n, np.nan)
    covered = np.zeros(n, dtype=int)
    routes = set()
    for model, rows in producers:
        rows = np.asarray(rows, dtype=np.int64)
        covered[rows] += 1
        if not len(rows):
            continue
        routes.add(exact_route(model, features))
        # A batch of the producer's rows at a time: no copy of all its rows.
        step = batch_rows or len(rows)
        for start in range(0, len(rows), step):
            part = rows[start : start + step]
            values[part], base_values[part] = explain_model(model, x.iloc[part])
    if not np.all(covered == 1):
        raise ValueError("producers must cover every customer exactly once")
    gap = np.abs(base_values + values.sum(axis=1) - np.asarray(p, dtype=float))
    worst = float(gap.max()) if n else 0.0
    if worst > tolerance:
        raise RuntimeError(
            f"SHAP values do not add up to the probability: largest gap {worst:.3g} "
            f"(row {int(gap.argmax())}); refusing to write explanations of another number"
        )
    method = TREE_EXACT if TREE_EXACT in routes else CONSTANT
    detail = f"{len(producers)} model(s), largest additivity gap {worst:.2g}"
    frame = pd.DataFrame(values, columns=features)
    return Explanation(frame, base_values, method, PROBABILITY, detail)


def shap_ranks(values: np.ndarray, features: Sequence[str], among: Sequence[str]) -> np.ndarray:
    """Each customer's rank of each feature in *among* by SHAP value, largest first.

    Rows x features, in the order of *features*; ties go to the feature
    whose name sorts first; features outside *among* get 0 (no rank). This
    is the order the segment models rank drivers in (``shap_value desc,
    feature asc``), so the positive values come first and a customer's k
    features pushing toward decline hold ranks 1..k: the SQL reads the rank
    instead of sorting 16 M rows at a million customers.
    """
    values = np.asarray(values, dtype=float)
    ranks = np.zeros(values.shape, dtype=np.int16)
    columns = sorted((name, i) for i, name in enumerate(features) if name in set(among))
    if not columns or not len(values):
        return ranks
    by_name = [i for _, i in columns]
    # stable: equal values keep name order; negation is exact, so the
    # order is the same comparison the SQL makes
    order = np.argsort(-values[:, by_name], axis=1, kind="stable")
    positions = np.empty_like(order)
    np.put_along_axis(positions, order, np.arange(1, len(by_name) + 1)[None, :], axis=1)
    ranks[:, by_name] = positions
    return ranks


@dataclass
class ShapRows:
    """``ml.shap_values`` rows of a run, handed to DuckDB *chunk_customers* customers at a time.

    Long form is one row per customer and feature: ~16 M rows for a million
    customers. Built in pandas, with the values as Python strings, that took
    minutes and GBs; instead each chunk goes to DuckDB wide (one SHAP and one
    value column per feature, zero-copy) and :meth:`select_sql` unpivots it
    and writes the text form there. :func:`ml.io.writer.write_run` inserts
    the chunks one after another; :meth:`frame` returns the same rows in pandas.
    Each row also carries the feature's rank among the customer's features
    and among the *actionable* ones (:func:`shap_ranks`), what the driver
    ranking of the segment models reads.
    """

    explanation: Explanation
    x: pd.DataFrame
    customer_ids: np.ndarray
    run_id: str
    chunk_customers: int
    actionable: frozenset[str]

    def __len__(self) -> int:
        return len(self.x) * self.x.shape[1]

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """Wide chunks: run_id, customer_id, then for feature i shap_<i>, value_<i>,
        rank_<i> and actionable_rank_<i> (0: not ranked)."""
        features = list(self.x.columns)
        actionable = [name for name in features if name in self.actionable]
        for start in range(0, len(self.x), self.chunk_customers):
            rows = slice(start, start + self.chunk_customers)
            values = self.explanation.values.iloc[rows][features].to_numpy()
            ranks = shap_ranks(values, features, features)
            actionable_ranks = shap_ranks(values, features, actionable)
            chunk = {
                "run_id": self.run_id,
                "customer_id": np.asarray(self.customer_ids[rows], dtype=np.int64),
            }
            for i, name in enumerate(features):
                chunk[f"shap_{i}"] = values[:, i]
                chunk[f"value_{i}"] = self.x[name].to_numpy()[rows]
                chunk[f"rank_{i}"] = ranks[:, i]
                chunk[f"actionable_rank_{i}"] = actionable_ranks[:, i]
            yield pd.DataFrame(chunk)

    def select_sql(self, view: str) -> str:
        """SQL turning one wide chunk (registered as *view*) into ml.shap_values columns.

        Text values are written as Python would (DuckDB prints doubles the
        same shortest way), whole numbers without '.0'.
        """
        parts = []
        for i, name in enumerate(self.x.columns):
            value = f"value_{i}"
            column = self.x[name]
            if pd.api.types.is_float_dtype(column):
                text = (
                    f"case when {value} = trunc({value}) and isfinite({value}) "
                    f"then cast(cast({value} as bigint) as varchar) "
                    f"else cast({value} as varchar) end"
                )
            else:
                text = f"cast({value} as varchar)"
            number = (
                f"cast({value} as double)"
                if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
                else "cast(null as double)"
            )
            literal = quote_literal(str(name))
            parts.append(
                f"select run_id, customer_id, {literal} as feature, {text} as feature_value, "
                f"{number} as feature_value_num, shap_{i} as shap_value, "
                f"rank_{i} as shap_rank, nullif(actionable_rank_{i}, 0) as actionable_shap_rank "
                f"from {view}"
            )
        return "\nunion all\n".join(parts)

    def frame(self) -> pd.DataFrame:
        """All rows as one long frame (small runs and tests)."""
        import duckdb  # only here: the write-back already has a connection

        parts = []
        with duckdb.connect() as con:
            for chunk in self:
                con.register("shap_chunk", chunk)
                parts.append(con.execute(self.select_sql("shap_chunk")).df())
                con.unregister("shap_chunk")
        return pd.concat(parts, ignore_index=True)


def permutation_table(
    model: object,
    x: pd.DataFrame,
    y: np.ndarray,
    *,
    seed: int,
    repeats: int,
) -> pd.DataFrame:
    """Drop in ROC-AUC when each feature is shuffled (mean and std over *repeats* shuffles).

    The same measure as sklearn.inspection.permutation_importance, but all
    shuffles of one feature go to the model in one call: on a forest
    pipeline the per-call overhead, not the rows, is the cost (~4 s -> ~1 s).
    """
    rng = np.random.default_rng(seed)
    baseline = roc_auc_score(y, positive_proba(model, x))
    n = len(x)
    rows = []
    for feature in x.columns:
        shuffled = pd.concat([x] * repeats, ignore_index=True)
        values = x[feature].to_numpy()
        shuffled[feature] = np.concatenate([values[rng.permutation(n)] for _ in range(repeats)])
        p = positive_proba(model, shuffled).reshape(repeats, n)
        drops = np.array([baseline - roc_auc_score(y, p[r]) for r in range(repeats)])
        rows.append((feature, float(drops.mean()), float(drops.std())))
    return pd.DataFrame(rows, columns=["feature", "permutation_mean", "permutation_std"])


def importance_table(
    explanation: Explanation,
    permutation: pd.DataFrame,
    actionable: frozenset[str],
    run_id: str,
) -> tuple[pd.DataFrame, float]:
    """Global importance (mean |SHAP| and permutation) per feature, and their rank correlation.

    The Spearman correlation of the two rankings is the cross-check: a low
    value means the explanation and the model's actual reliance on features
    disagree, which the model card then says.
    """
    shap_mean_abs = explanation.values.abs().mean()
    table = pd.DataFrame(
        {"feature": shap_mean_abs.index, "shap_mean_abs": shap_mean_abs.to_numpy()}
    ).merge(permutation, on="feature", how="left")
    table["shap_rank"] = table["shap_mean_abs"].rank(ascending=False, method="first").astype(int)
    table["permutation_rank"] = (
        table["permutation_mean"].rank(ascending=False, method="first").astype(int)
    )
    table["is_actionable"] = table["feature"].isin(actionable)
    table.insert(0, "run_id", run_id)
    if table["shap_mean_abs"].nunique() > 1 and table["permutation_mean"].nunique() > 1:
        correlation = float(spearmanr(table["shap_mean_abs"], table["permutation_mean"])[0])
    else:
        correlation = float("nan")
    return table.sort_values("shap_rank").reset_index(drop=True), correlation
