"""Candidate model families: one scikit-learn Pipeline builder and search space each.

Every transformation that learns from data (one-hot categories, scaling,
principal-component projections) sits inside the Pipeline, so in every
cross-validation fold it is fitted on the training rows only and nothing
about the validation rows leaks into the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

# Step names the explainer relies on to find the preprocessing and the model.
PREP_STEP = "prep"
MODEL_STEP = "model"
# Forests: 200 trees are past the point where ROC-AUC still moves on ~1000
# rows, and keep the search and TreeSHAP affordable on two cores (a forest's
# exact TreeSHAP costs trees x leaves x depth^2 per customer, so leaves are
# bounded too: see the spaces below and bench/results/ml_train.md).
FOREST_TREES = 200

Params = dict[str, Any]


@dataclass(frozen=True)
class FeatureSpec:
    """The feature columns a pipeline expects, by role (from the mart contract)."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]


@dataclass(frozen=True)
class Family:
    """A model family: how to build its pipeline and where to search its parameters."""

    name: str
    description: str
    build: Callable[[Params, FeatureSpec, int], Pipeline]
    default: Params
    space: Mapping[str, list[Any]] = field(default_factory=dict)
    # Whether the family's exact SHAP adds up to its probability over the mart
    # features (scikit-learn trees after per-feature preprocessing, or the
    # prior). Only such families are selected and published; see ml.model.explanation.
    exact_shap: bool = False


def preprocessor(
    spec: FeatureSpec, *, scale: bool, projections: int, seed: int
) -> ColumnTransformer:
    """One-hot categoricals; numerics scaled or passed through, optionally with PCA projections.

    Projections (principal components of the standardised numerics appended to
    the raw columns) give axis-aligned trees oblique directions to split on;
    in research they lifted extra trees by ~0.004 ROC-AUC. They are fitted
    inside the pipeline, hence per fold.
    """
    numeric: Any = StandardScaler() if scale else "passthrough"
    n_components = min(projections, len(spec.numeric))
    if n_components > 0:
        numeric = FeatureUnion(
            [
                ("raw", numeric),
                (
                    "projections",
                    Pipeline(
                        [
                            ("scale", StandardScaler()),
                            ("pca", PCA(n_components=n_components, random_state=seed)),
                        ]
                    ),
                ),
            ]
        )
    return ColumnTransformer(
        [
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(spec.categorical),
            ),
            ("numeric", numeric, list(spec.numeric)),
        ],
        remainder="drop",
    )


def _pipeline(prep: ColumnTransformer, model: Any) -> Pipeline:
    return Pipeline([(PREP_STEP, prep), (MODEL_STEP, model)])


def _dummy(params: Params, spec: FeatureSpec, seed: int) -> Pipeline:
    return _pipeline(
        preprocessor(spec, scale=False, projections=0, seed=seed),
        DummyClassifier(strategy="prior"),
    )


def _logreg(params: Params, spec: FeatureSpec, seed: int) -> Pipeline:
    # scikit-learn 1.9 expresses L1/L2/elastic net through l1_ratio alone
    # (`penalty` is deprecated); only saga handles a non-zero l1_ratio.
    l1_ratio = float(params["l1_ratio"])
    model = LogisticRegression(
        C=params["C"],
        l1_ratio=l1_ratio,
        solver="lbfgs" if l1_ratio == 0 else "saga",
        max_iter=10_000,
        random_state=seed,
    )
    return _pipeline(preprocessor(spec, scale=True, projections=0, seed=seed), model)


def _svc(params: Params, spec: FeatureSpec, seed: int) -> Pipeline:
    # SVC(probability=True) is deprecated; sigmoid calibration on internal
    # 3-fold decision values with ensemble=False keeps one SVC fitted on all
    # training rows, so ROC-AUC equals the raw SVC's and probabilities are calibrated.
    model = CalibratedClassifierCV(
        SVC(kernel="rbf", C=params["C"], gamma=params["gamma"]),
        method="sigmoid",
        cv=3,
        ensemble=False,
    )
    return _pipeline(preprocessor(spec, scale=True, projections=0, seed=seed), model)


def _knn(params: Params, spec: FeatureSpec, seed: int) -> Pipeline:
    model = KNeighborsClassifier(
        n_neighbors=params["n_neighbors"], weights=params["weights"], p=params["p"]
    )
    return _pipeline(preprocessor(spec, scale=True, projections=0, seed=seed), model)


def _tree(params: Params, spec: FeatureSpec, seed: int) -> Pipeline:
    model = DecisionTreeClassifier(
        max_depth=params["max_depth"],
        min_samples_leaf=params["min_samples_leaf"],
        criterion=params["criterion"],
        random_state=seed,
    )
    return _pipeline(preprocessor(spec, scale=False, projections=0, seed=seed), model)


def _forest(cls: type) -> Callable[[Params, FeatureSpec, int], Pipeline]:
    def build(params: Params, spec: FeatureSpec, seed: int) -> Pipeline:
        model = cls(
            n_estimators=params.get("n_estimators", FOREST_TREES),
            max_depth=params["max_depth"],
            max_leaf_nodes=params.get("max_leaf_nodes"),
            max_features=params["max_features"],
            min_samples_leaf=params["min_samples_leaf"],
            random_state=seed,
            n_jobs=1,  # folds already run in parallel; nested threads would oversubscribe
        )
        prep = preprocessor(spec, scale=False, projections=params.get("projections", 0), seed=seed)
        return _pipeline(prep, model)

    return build


def _hist_gb(params: Params, spec: FeatureSpec, seed: int) -> Pipeline:
    # No early stopping: its internal validation split ignores duplicate groups.
    model = HistGradientBoostingClassifier(
        learning_rate=params["learning_rate"],
        max_iter=params["max_iter"],
        max_leaf_nodes=params["max_leaf_nodes"],
        l2_regularization=params["l2_regularization"],
        min_samples_leaf=params["min_samples_leaf"],
        early_stopping=False,
        random_state=seed,
    )
    prep = preprocessor(spec, scale=False, projections=params["projections"], seed=seed)
    return _pipeline(prep, model)


# Forest defaults and spaces. max_leaf_nodes bounds each tree (depth then
# follows the data): 300 trees of 32 leaves score like 200 depth-12 trees
# here at a twentieth of the TreeSHAP cost. The two forests differ only in
# how many features a split may consider and how small a leaf may be.
def _forest_default(max_features: float) -> Params:
    """A forest family's default parameters, with its own *max_features*."""
    return {
        "max_depth": None,
        "max_leaf_nodes": 32,
        "max_features": max_features,
        "min_samples_leaf": 1,
        "n_estimators": 300,
    }


def _forest_space(
    max_features: list[float | str], min_samples_leaf: list[int]
) -> Mapping[str, list[Any]]:
    """A forest family's search space, with its own feature and leaf-size choices."""
    return {
        "max_depth": [None],
        "max_leaf_nodes": [16, 32, 64],
        "max_features": max_features,
        "min_samples_leaf": min_samples_leaf,
        "n_estimators": [200, 300],
    }


ET_DEFAULT = _forest_default(max_features=0.15)
ET_SPACE = _forest_space(max_features=[0.1, 0.15, 0.2, 0.35], min_samples_leaf=[1, 3])
RF_DEFAULT = _forest_default(max_features=0.2)
RF_SPACE = _forest_space(max_features=[0.1, 0.2, 0.35, "sqrt"], min_samples_leaf=[1, 3, 5])
# Large-N mode: forests small enough that exact TreeSHAP of every customer
# stays within LARGE_N_TREE_SHAP_WORK_PER_CUSTOMER (trees x leaves x depth^2).
LARGE_N_FOREST_SPACE: Mapping[str, list[Any]] = {
    "max_depth": [None],
    "max_leaf_nodes": [16, 32],
    "n_estimators": [20],
}

# Defaults come from the research runs recorded in bench/results/ml_train.md
# (CV on the training part only); spaces stay small because the whole
# training must fit ~60 s on two cores. The forests' spaces hold no PCA
# projections (they would mix features, so SHAP could not be exact) and bound
# the leaves, which bounds exact TreeSHAP's cost.
FAMILIES: tuple[Family, ...] = (
    Family("dummy", "prior-probability baseline", _dummy, {}, exact_shap=True),
    Family(
        "logreg",
        "logistic regression, L2 / elastic net / L1 via l1_ratio (comparison only)",
        _logreg,
        {"C": 0.1, "l1_ratio": 0.0},
        {"C": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0], "l1_ratio": [0.0, 0.5, 1.0]},
    ),
    Family(
        "svc",
        "RBF support-vector classifier, sigmoid-calibrated (comparison only)",
        _svc,
        {"C": 0.3, "gamma": "scale"},
        {"C": [0.1, 0.3, 1.0, 3.0], "gamma": ["scale", 0.02, 0.05, 0.1]},
    ),
    Family(
        "knn",
        "k nearest neighbours on standardised features (comparison only)",
        _knn,
        {"n_neighbors": 35, "weights": "distance", "p": 2},
        {"n_neighbors": [15, 25, 35, 50, 75], "weights": ["uniform", "distance"], "p": [1, 2]},
    ),
    Family(
        "tree",
        "single decision tree",
        _tree,
        {"max_depth": 5, "min_samples_leaf": 10, "criterion": "gini"},
        {
            "max_depth": [3, 4, 5, 6, 8],
            "min_samples_leaf": [5, 10, 20, 40],
            "criterion": ["gini", "entropy"],
        },
        exact_shap=True,
    ),
    Family(
        "random_forest",
        "random forest, leaves bounded",
        _forest(RandomForestClassifier),
        RF_DEFAULT,
        RF_SPACE,
        exact_shap=True,
    ),
    Family(
        "extra_trees",
        "extremely randomised trees, leaves bounded",
        _forest(ExtraTreesClassifier),
        ET_DEFAULT,
        ET_SPACE,
        exact_shap=True,
    ),
    Family(
        "hist_gb",
        "histogram gradient boosting, optional PCA projections (comparison only)",
        _hist_gb,
        {
            "learning_rate": 0.1,
            "max_iter": 100,
            "max_leaf_nodes": 4,
            "l2_regularization": 10.0,
            "min_samples_leaf": 20,
            "projections": 0,
        },
        {
            "learning_rate": [0.05, 0.1],
            "max_iter": [100, 150],
            "max_leaf_nodes": [4, 6, 8],
            "l2_regularization": [1.0, 10.0, 30.0],
            "min_samples_leaf": [20, 40],
            "projections": [0, 6],
        },
    ),
)

ENSEMBLE_FAMILY = "soft_vote"


def family_names() -> tuple[str, ...]:
    """Names of the searchable families, in search order."""
    return tuple(f.name for f in FAMILIES)


def exact_family_names() -> tuple[str, ...]:
    """The families searched by default: those whose exact SHAP adds up to the probability."""
    return tuple(f.name for f in FAMILIES if f.exact_shap)


def is_exactly_explainable(family: str, params: Params) -> bool:
    """Whether a configuration's exact SHAP adds up to its probability over the mart features.

    A soft vote is when all its members are (its SHAP is their weighted
    average); a forest is not with PCA projections (they mix features).
    """
    if family == ENSEMBLE_FAMILY:
        members = params.get("members", {})
        return bool(members) and all(
            is_exactly_explainable(name, member) for name, member in members.items()
        )
    return get_family(family).exact_shap and not params.get("projections")


def get_family(name: str) -> Family:
    """The family called *name*; ValueError lists the valid names otherwise."""
    for family in FAMILIES:
        if family.name == name:
            return family
    raise ValueError(f"unknown model family {name!r}; choose from {', '.join(family_names())}")


def build_soft_vote(members: list[tuple[str, Pipeline]]) -> VotingClassifier:
    """Average the members' probabilities; each member keeps its own preprocessing pipeline."""
    return VotingClassifier(estimators=members, voting="soft")


def large_n_variant(family: Family) -> Family:
    """The family as large-N mode searches it: no projections, forests of bounded size.

    Exact TreeSHAP for a million customers must stay linear in customers
    and affordable, so forests keep few trees of few leaves there.
    """
    if family.name not in ("random_forest", "extra_trees"):
        return family
    fixed = {key: values[0] for key, values in LARGE_N_FOREST_SPACE.items()}
    space = {**family.space, **LARGE_N_FOREST_SPACE}
    return replace(family, default={**family.default, **fixed}, space=space)
