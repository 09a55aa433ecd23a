"""SHAP values per customer and feature, global importance, and the permutation cross-check.

Values are always reported per *mart* feature: one-hot columns are summed
back into their categorical feature, so a report never shows an encoder's
column name. Three routes, cheapest exact one first:

* ``linear_exact`` — logistic regression: shap.LinearExplainer (interventional,
  exact), in log-odds.
* ``tree_exact`` — trees, forests, gradient boosting: shap.TreeExplainer
  (path-dependent TreeSHAP, exact), used only while its estimated work is
  bounded; probability for trees/forests, log-odds for boosting.
* ``sampling_permutation`` — anything else (SVC, k-NN, the soft-voting
  ensemble, pipelines with PCA projections): antithetic permutation sampling
  of Shapley values on the raw features, vectorised over customers, with the
  total number of model rows capped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import spearmanr
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from ml.candidates import MODEL_STEP, PREP_STEP
from ml.config import (
    LARGE_N_TREE_SHAP_WORK_PER_CUSTOMER,
    LINEAR_SHAP_BACKGROUND,
    SHAP_MAX_DRAWS,
    SHAP_MAX_MODEL_ROWS,
    SHAP_MIN_DRAWS,
    TREE_SHAP_MAX_WORK,
)
from ml.progress import progress_bar
from ml.search import positive_proba

logger = logging.getLogger(__name__)

PROBABILITY = "probability"
LOG_ODDS = "log_odds"
SKLEARN_TREES = (DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier)
# The sampler splits its draws into at least this many model calls, enough to
# keep a few threads busy while each call stays large.
_DRAW_GROUPS = 4


@dataclass
class Explanation:
    """SHAP values (customers x mart features) and what they add up to.

    ``base_value + values.sum(axis=1)`` equals the model's output for each
    customer, in ``output_space`` units (probability or log-odds).
    """

    values: pd.DataFrame
    base_value: float
    method: str
    output_space: str
    detail: str = ""


@dataclass(frozen=True)
class ExplainBudget:
    """Cost bounds of the explainers (see the constants in ml.config)."""

    max_model_rows: int
    min_draws: int
    max_draws: int
    tree_max_work: float
    linear_background: int


DEFAULT_BUDGET = ExplainBudget(
    max_model_rows=SHAP_MAX_MODEL_ROWS,
    min_draws=SHAP_MIN_DRAWS,
    max_draws=SHAP_MAX_DRAWS,
    tree_max_work=TREE_SHAP_MAX_WORK,
    linear_background=LINEAR_SHAP_BACKGROUND,
)


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
    projections) this returns None and the caller must explain the raw
    features directly.
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


def _tree_work(model: object, n_rows: int) -> float:
    """Rough TreeSHAP cost: sum over trees of leaves * depth^2, times rows explained."""
    if isinstance(model, DecisionTreeClassifier):
        trees = [model]
    elif isinstance(model, (RandomForestClassifier, ExtraTreesClassifier)):
        trees = list(model.estimators_)
    elif isinstance(model, HistGradientBoostingClassifier):
        leaves = model.max_leaf_nodes or 31
        depth = model.max_depth or leaves - 1
        return float(model.n_iter_ * leaves * depth**2 * n_rows)
    else:
        return float("inf")
    return float(sum(t.tree_.n_leaves * max(t.tree_.max_depth, 1) ** 2 for t in trees) * n_rows)


def explainer_route(
    model: object, features: Sequence[str], n_rows: int, budget: ExplainBudget
) -> str:
    """Which explainer the fitted *model* allows: constant, linear, tree or sampling."""
    if not (isinstance(model, Pipeline) and PREP_STEP in model.named_steps):
        return "sampling"
    estimator = model.named_steps[MODEL_STEP]
    if isinstance(estimator, DummyClassifier):
        return "constant"
    if fold_matrix(model.named_steps[PREP_STEP], features) is None:
        return "sampling"
    if isinstance(estimator, LogisticRegression):
        return "linear"
    if isinstance(estimator, (*SKLEARN_TREES, HistGradientBoostingClassifier)):
        work = _tree_work(estimator, n_rows)
        if work <= budget.tree_max_work:
            return "tree"
        logger.info(
            "TreeSHAP work %.2g exceeds %.2g: using the bounded sampler", work, budget.tree_max_work
        )
    return "sampling"


def _positive_column(values: np.ndarray | list, estimator: object) -> np.ndarray:
    """Class-1 slice of shap's output, which is 3-D for sklearn trees and 2-D for boosting."""
    array = np.asarray(values)
    if array.ndim == 3:
        return array[:, :, list(estimator.classes_).index(1)]
    return array


def _scalar_base(expected: object, estimator: object) -> float:
    array = np.atleast_1d(np.asarray(expected, dtype=float))
    if array.size == 1:
        return float(array[0])
    return float(array[list(estimator.classes_).index(1)])


def explain_exact(
    model: Pipeline,
    x: pd.DataFrame,
    route: str,
    budget: ExplainBudget,
    seed: int,
    batch_rows: int | None = None,
) -> Explanation:
    """Exact SHAP by shap's Linear/Tree explainers on the encoded matrix, folded to features.

    Rows are encoded and explained *batch_rows* at a time (all at once when
    None); both explainers are exact per row, so batching changes nothing
    but peak memory.
    """
    import shap  # heavy import, only when explaining

    features = list(x.columns)
    prep = model.named_steps[PREP_STEP]
    estimator = model.named_steps[MODEL_STEP]
    matrix = fold_matrix(prep, features)
    assert matrix is not None
    step = batch_rows or max(len(x), 1)
    batches = [x.iloc[start : start + step] for start in range(0, len(x), step)]

    def encoded(part: pd.DataFrame) -> np.ndarray:
        return np.asarray(prep.transform(part), dtype=float)

    if route == "linear":
        rng = np.random.default_rng(seed)
        take = min(len(x), budget.linear_background)
        background = encoded(x.iloc[np.sort(rng.choice(len(x), size=take, replace=False))])
        explainer = shap.LinearExplainer(
            estimator, shap.maskers.Independent(background, max_samples=take)
        )
        values = np.vstack(
            [np.asarray(explainer.shap_values(encoded(part))) @ matrix for part in batches]
        )
        return Explanation(
            pd.DataFrame(values, columns=features),
            _scalar_base(explainer.expected_value, estimator),
            "linear_exact",
            LOG_ODDS,
            f"shap.LinearExplainer, interventional, background {take} customers",
        )
    explainer = shap.TreeExplainer(estimator)
    values = np.vstack(
        [
            _positive_column(explainer.shap_values(encoded(b), check_additivity=True), estimator)
            @ matrix
            for b in batches
        ]
    )
    space = LOG_ODDS if isinstance(estimator, HistGradientBoostingClassifier) else PROBABILITY
    return Explanation(
        pd.DataFrame(values, columns=features),
        _scalar_base(explainer.expected_value, estimator),
        "tree_exact",
        space,
        "shap.TreeExplainer, path-dependent TreeSHAP",
    )


def sampling_draws(n_rows: int, n_features: int, budget: ExplainBudget) -> int:
    """Number of (permutation, background customer) draws allowed by the row budget; even."""
    per_draw = max(1, n_rows * max(n_features - 1, 1))
    draws = int(np.clip(budget.max_model_rows // per_draw, budget.min_draws, budget.max_draws))
    return max(2, draws - draws % 2)


def _draw_contributions(
    predict: Callable[[pd.DataFrame], np.ndarray],
    x: pd.DataFrame,
    f_x: np.ndarray,
    f_background: np.ndarray,
    orders: list[np.ndarray],
    background: np.ndarray,
) -> np.ndarray:
    """Summed marginal contributions (customers x features) of a group of draws, one model call.

    For draw d, coalition step s (1 .. F-1) holds the customer's own values
    for the first s features of its order and background row b_d's values
    for the rest; steps 0 and F are b_d and the customer, whose outputs are
    already known. All steps of all draws in the group go to the model as
    one frame, because per-call overhead dominates on a pipeline.
    """
    n, n_features = x.shape
    steps = np.arange(1, n_features)
    blocks: dict[str, list[np.ndarray]] = {name: [] for name in x.columns}
    for order, row in zip(orders, background, strict=True):
        position = np.empty(n_features, dtype=int)
        position[order] = np.arange(n_features)
        for j, name in enumerate(x.columns):
            own = x[name].to_numpy()
            from_x = (position[j] < steps)[:, None]
            blocks[name].append(np.where(from_x, own[None, :], own[row]).ravel())
    frame = pd.DataFrame({name: np.concatenate(parts) for name, parts in blocks.items()})
    middle = predict(frame).reshape(len(orders), len(steps), n)
    phi = np.zeros((n, n_features))
    for d, order in enumerate(orders):
        path = np.vstack([np.full(n, f_background[d]), middle[d], f_x[None, :]])
        phi[:, order] += (path[1:] - path[:-1]).T
    return phi


def draw_plan(
    n_rows: int, n_features: int, n_draws: int, seed: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Feature orders (in reversed pairs) and background row of each draw, from the seed alone."""
    rng = np.random.default_rng(seed)
    orders: list[np.ndarray] = []
    while len(orders) < n_draws:
        order = rng.permutation(n_features)
        orders.extend([order, order[::-1]])
    background = rng.choice(n_rows, size=n_draws, replace=n_draws > n_rows)
    return orders[:n_draws], background


def sampling_shap(
    predict: Callable[[pd.DataFrame], np.ndarray],
    x: pd.DataFrame,
    n_draws: int,
    seed: int,
    progress: bool = False,
    n_jobs: int = 1,
    max_rows_per_call: int = 200_000,
) -> tuple[np.ndarray, float]:
    """Shapley values by antithetic permutation sampling, batched over all customers.

    Each draw pairs a random feature order with one background customer b
    (the same draws for every customer). Walking the order, features switch
    from b's value to the customer's own; each switch's change in output is
    that feature's marginal contribution. Orders come in reversed pairs
    (antithetic sampling), which makes the estimate exact for models whose
    interactions are at most pairwise, and additivity holds exactly:
    ``sum(phi) = f(x) - mean_b f(b)``. shap.PermutationExplainer does the same
    but calls the model once per customer (~90 s for this mart and an
    extra-trees pipeline, plus ~9 s of numba compilation); here one call
    covers several draws for all customers. Groups of draws run in *n_jobs*
    threads and are summed in a fixed order, so the result does not depend
    on *n_jobs*.
    """
    n, n_features = x.shape
    orders, background = draw_plan(n, n_features, n_draws, seed)
    f_x = predict(x)
    f_background = predict(x.iloc[background].reset_index(drop=True))
    # Draws are grouped by size alone (never by n_jobs), so the summation
    # order, hence every last bit of the result, is the same for any n_jobs.
    rows_per_draw = n * max(n_features - 1, 1)
    per_group = max(1, min(-(-n_draws // _DRAW_GROUPS), max_rows_per_call // rows_per_draw))
    groups = [range(a, min(n_draws, a + per_group)) for a in range(0, n_draws, per_group)]
    phi = np.zeros((n, n_features))
    with (
        progress_bar(n_draws, "shap sampling", progress) as bar,
        Parallel(n_jobs=n_jobs, backend="threading", return_as="generator") as parallel,
    ):
        results = parallel(
            delayed(_draw_contributions)(
                predict, x, f_x, f_background[list(g)], [orders[d] for d in g], background[list(g)]
            )
            for g in groups
        )
        for group, contribution in zip(groups, results, strict=True):
            phi += contribution
            bar.update(len(group))
    return phi / n_draws, float(f_background.mean())


def explain(
    model: object,
    x: pd.DataFrame,
    *,
    seed: int,
    budget: ExplainBudget,
    progress: bool = False,
    n_jobs: int = 1,
    batch_rows: int | None = None,
) -> Explanation:
    """SHAP values of a fitted model for every row of *x*, by the cheapest exact route available.

    *batch_rows* bounds the rows encoded and explained at once on the exact
    routes (the sampler bounds its own model calls).
    """
    features = list(x.columns)
    route = explainer_route(model, features, len(x), budget)
    if route == "constant":
        p = positive_proba(model, x.iloc[:1])[0]
        zeros = pd.DataFrame(np.zeros((len(x), len(features))), columns=features)
        return Explanation(zeros, float(p), "constant", PROBABILITY, "constant model")
    if route in ("linear", "tree"):
        assert isinstance(model, Pipeline)
        return explain_exact(model, x, route, budget, seed, batch_rows)
    draws = sampling_draws(len(x), len(features), budget)
    values, base = sampling_shap(
        lambda frame: positive_proba(model, frame), x, draws, seed, progress, n_jobs
    )
    return Explanation(
        pd.DataFrame(values, columns=features),
        base,
        "sampling_permutation",
        PROBABILITY,
        f"{draws} antithetic permutation draws, background of {draws} customers",
    )


def explain_everyone(
    model: object,
    x: pd.DataFrame,
    *,
    seed: int,
    budget: ExplainBudget = DEFAULT_BUDGET,
    large: bool,
    progress: bool = False,
    n_jobs: int = 1,
    batch_rows: int | None = None,
) -> Explanation | None:
    """SHAP for every row of *x*, or None when that would take hours.

    Below large N this is :func:`explain`. At large N only the exact routes
    run (TreeSHAP allowed up to LARGE_N_TREE_SHAP_WORK_PER_CUSTOMER per row,
    so time grows linearly); a model that would need the sampler (a forest
    or soft vote trained on a small export, now scoring a million
    customers) gets None, and the caller says so.
    """
    if large:
        budget = replace(
            budget,
            tree_max_work=max(budget.tree_max_work, LARGE_N_TREE_SHAP_WORK_PER_CUSTOMER * len(x)),
        )
        if explainer_route(model, list(x.columns), len(x), budget) == "sampling":
            return None
    return explain(
        model,
        x,
        seed=seed,
        budget=budget,
        progress=progress,
        n_jobs=n_jobs,
        batch_rows=batch_rows,
    )


def model_output(model: object, x: pd.DataFrame, space: str) -> np.ndarray:
    """The quantity an explanation decomposes: class-1 probability or log-odds."""
    if space == PROBABILITY:
        return positive_proba(model, x)
    return np.asarray(model.decision_function(x), dtype=float)


@dataclass
class ShapRows:
    """``ml.shap_values`` rows of a run, handed to DuckDB *chunk_customers* customers at a time.

    Long form is one row per customer and feature: ~16 M rows for a million
    customers. Built in pandas, with the values as Python strings, that took
    minutes and GBs; instead each chunk goes to DuckDB wide (one SHAP and one
    value column per feature, zero-copy) and :meth:`select_sql` unpivots it
    and writes the text form there. :func:`ml.warehouse.write_run` inserts
    the chunks one after another; :meth:`frame` returns the same rows in pandas.
    """

    explanation: Explanation
    x: pd.DataFrame
    customer_ids: np.ndarray
    run_id: str
    chunk_customers: int

    def __len__(self) -> int:
        return len(self.x) * self.x.shape[1]

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """Wide chunks: run_id, customer_id, then shap_<i> and value_<i> for feature i."""
        features = list(self.x.columns)
        for start in range(0, len(self.x), self.chunk_customers):
            rows = slice(start, start + self.chunk_customers)
            chunk = {
                "run_id": self.run_id,
                "customer_id": np.asarray(self.customer_ids[rows], dtype=np.int64),
            }
            for i, name in enumerate(features):
                chunk[f"shap_{i}"] = self.explanation.values[name].to_numpy()[rows]
                chunk[f"value_{i}"] = self.x[name].to_numpy()[rows]
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
            literal = "'" + str(name).replace("'", "''") + "'"
            parts.append(
                f"select run_id, customer_id, {literal} as feature, {text} as feature_value, "
                f"{number} as feature_value_num, shap_{i} as shap_value from {view}"
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
