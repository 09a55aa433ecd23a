"""Hyper-parameter search and model selection by cross-validated ROC-AUC alone.

All families are scored on the same materialised group-aware folds of the
training part. The hold-out rows never enter this module, so nothing here can
select on them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterGrid, ParameterSampler

from ml.model.candidates import (
    ENSEMBLE_FAMILY,
    Family,
    FeatureSpec,
    Params,
    build_soft_vote,
    get_family,
    is_exactly_explainable,
)
from ml.model.predict import positive_proba
from ml.model.progress import progress_bar

logger = logging.getLogger(__name__)

Folds = Sequence[tuple[np.ndarray, np.ndarray]]


class FoldScores:
    """Mean and spread of per-fold ROC-AUC, for any result that keeps its ``fold_scores``."""

    fold_scores: np.ndarray

    @property
    def cv_mean(self) -> float:
        """Mean ROC-AUC over all folds (of all repetitions)."""
        return float(np.mean(self.fold_scores))

    @property
    def cv_std(self) -> float:
        """Standard deviation of the per-fold ROC-AUC."""
        return float(np.std(self.fold_scores))


@dataclass
class CandidateResult(FoldScores):
    """The best configuration of one family (or the ensemble) and its CV evidence."""

    family: str
    params: Params
    fold_scores: np.ndarray
    fold_predictions: list[np.ndarray] = field(repr=False)
    fit_seconds: float  # mean wall time of one fit on a training fold
    n_configs: int = 1
    search_seconds: float = 0.0
    truncated: bool = False

    @property
    def eligible(self) -> bool:
        """Whether it may be selected: its exact SHAP adds up to its probability."""
        return is_exactly_explainable(self.family, self.params)


def _fit_predict(
    estimator: Any, x: pd.DataFrame, y: np.ndarray, train: np.ndarray, val: np.ndarray
) -> tuple[Any, np.ndarray, float]:
    model = clone(estimator)
    start = time.perf_counter()
    model.fit(x.iloc[train], y[train])
    elapsed = time.perf_counter() - start
    predictions = positive_proba(model, x.iloc[val]) if len(val) else np.empty(0)
    return model, predictions, elapsed


def fit_many(
    estimator: Any,
    x: pd.DataFrame,
    y: np.ndarray,
    splits: Folds,
    parallel: Parallel,
    on_fit: Callable[[int], object] | None = None,
) -> list[tuple[Any, np.ndarray]]:
    """Fit a clone of *estimator* on each split's training rows; return it and its predictions.

    A split with no validation rows just fits (the final refit on everyone).
    """

    def fit(tr: np.ndarray, va: np.ndarray) -> tuple[Any, np.ndarray, float]:
        result = _fit_predict(estimator, x, y, tr, va)
        if on_fit is not None:
            on_fit(1)
        return result

    out = parallel(delayed(fit)(tr, va) for tr, va in splits)
    return [(model, predictions) for model, predictions, _ in out]


def fold_roc_auc(y: np.ndarray, folds: Folds, predictions: list[np.ndarray]) -> np.ndarray:
    """ROC-AUC of each validation fold."""
    return np.array(
        [roc_auc_score(y[va], p) for (_, va), p in zip(folds, predictions, strict=True)]
    )


def candidate_configs(family: Family, search_size: int, seed: int) -> list[Params]:
    """The hand-picked default first, then up to ``search_size - 1`` distinct sampled configs.

    Sampling from lists is without replacement and seeded, so the same seed
    always tries the same configurations in the same order.
    """
    configs: list[Params] = [dict(family.default)]
    if search_size <= 1 or not family.space:
        return configs
    grid_size = len(ParameterGrid(dict(family.space)))
    sampler = ParameterSampler(
        dict(family.space), n_iter=min(grid_size, search_size), random_state=seed
    )
    for params in sampler:
        if params not in configs:
            configs.append(dict(params))
        if len(configs) >= search_size:
            break
    return configs


def _predict_grid(
    estimators: list[Any],
    x: pd.DataFrame,
    y: np.ndarray,
    folds: Folds,
    parallel: Parallel,
    on_fit: Callable[[int], object] | None = None,
) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """Fold predictions and fit times of several estimators, all (estimator, fold) fits in one
    parallel batch so no thread idles between configurations; *on_fit* ticks after each fit."""

    def fit(e: Any, tr: np.ndarray, va: np.ndarray) -> tuple[Any, np.ndarray, float]:
        result = _fit_predict(e, x, y, tr, va)
        if on_fit is not None:
            on_fit(1)
        return result

    tasks = [(e, tr, va) for e in estimators for tr, va in folds]
    out = parallel(delayed(fit)(e, tr, va) for e, tr, va in tasks)
    k = len(folds)
    return [
        (
            [p for _, p, _ in out[i * k : (i + 1) * k]],
            np.array([t for _, _, t in out[i * k : (i + 1) * k]]),
        )
        for i in range(len(estimators))
    ]


def _race(
    estimators: list[Any],
    x: pd.DataFrame,
    y: np.ndarray,
    folds: Folds,
    screen_folds: int,
    finalists: int,
    parallel: Parallel,
    on_fit: Callable[[int], object] | None = None,
) -> tuple[int, list[np.ndarray], np.ndarray, float]:
    """Racing: screen every estimator on the first repetition, finish the best few on all folds.

    Returns the index of the winner, its fold predictions, its per-fold
    ROC-AUC over *all* folds and its mean fit time. Only finalists' scores
    are compared for the win, so every reported figure uses every fold.
    """
    screen = list(folds[:screen_folds])
    rest = list(folds[screen_folds:])
    screened = _predict_grid(estimators, x, y, screen, parallel, on_fit)
    screen_means = [fold_roc_auc(y, screen, p).mean() for p, _ in screened]
    order = sorted(range(len(estimators)), key=lambda i: (-screen_means[i], i))
    chosen = order[: max(1, finalists)] if rest else order[:1]
    finished = (
        _predict_grid([estimators[i] for i in chosen], x, y, rest, parallel, on_fit) if rest else []
    )
    best: tuple[int, list[np.ndarray], np.ndarray, float] | None = None
    for n, index in enumerate(chosen):
        predictions, fit_times = screened[index]
        if rest:
            predictions = predictions + finished[n][0]
            fit_times = np.concatenate([fit_times, finished[n][1]])
        scores = fold_roc_auc(y, folds, predictions)
        if best is None or scores.mean() > best[2].mean():
            best = (index, predictions, scores, float(fit_times.mean()))
    assert best is not None
    return best


def search_family(
    family: Family,
    spec: FeatureSpec,
    x: pd.DataFrame,
    y: np.ndarray,
    folds: Folds,
    *,
    seed: int,
    search_size: int,
    parallel: Parallel,
    screen_folds: int | None = None,
    finalists: int = 2,
    deadline: float | None = None,
    progress: bool = False,
) -> CandidateResult:
    """Random search over one family; returns its best configuration by mean CV ROC-AUC.

    Configurations are screened on the first *screen_folds* folds (one CV
    repetition) and the *finalists* best are scored on all folds (racing),
    which cuts the search cost by almost half at three repetitions. When the
    monotonic clock passes *deadline*, configurations not yet built are
    skipped (the default one always runs) and the result is marked truncated.
    """
    started = time.monotonic()
    configs = candidate_configs(family, search_size, seed)
    if deadline is not None and time.monotonic() > deadline:
        configs = configs[:1]
    truncated = len(configs) < len(candidate_configs(family, search_size, seed))
    estimators = [family.build(params, spec, seed) for params in configs]
    screen = screen_folds or len(folds)
    fits = len(configs) * screen + min(max(1, finalists), len(configs)) * (len(folds) - screen)
    with progress_bar(fits, f"search {family.name}", progress) as bar:
        index, predictions, scores, fit_seconds = _race(
            estimators, x, y, folds, screen, finalists, parallel, on_fit=bar.update
        )
    result = CandidateResult(
        family=family.name,
        params=configs[index],
        fold_scores=scores,
        fold_predictions=predictions,
        fit_seconds=fit_seconds,
        n_configs=len(configs),
        search_seconds=time.monotonic() - started,
        truncated=truncated,
    )
    if truncated:
        logger.warning("time budget reached: %s ran its default configuration only", family.name)
    logger.info(
        "%-13s CV ROC-AUC %.4f ± %.4f (%d configs, %.1f s)",
        family.name,
        result.cv_mean,
        result.cv_std,
        len(configs),
        result.search_seconds,
    )
    return result


def soft_vote_result(
    results: Sequence[CandidateResult], y: np.ndarray, folds: Folds, top_k: int
) -> CandidateResult | None:
    """CV evidence of a soft-voting ensemble of the *top_k* families, without refitting.

    Only exactly explainable members join (the ensemble's SHAP is their
    average). A soft-voting classifier's probability is the mean of its members'
    probabilities; the members' fold predictions are already at hand (same
    folds, same seeds), so averaging them is exactly the ensemble's CV output.
    """
    ranked = sorted(
        (r for r in results if r.family not in ("dummy", ENSEMBLE_FAMILY) and r.eligible),
        key=lambda r: -r.cv_mean,
    )[:top_k]
    if len(ranked) < 2:
        return None
    predictions = [
        np.mean([r.fold_predictions[i] for r in ranked], axis=0) for i in range(len(folds))
    ]
    result = CandidateResult(
        family=ENSEMBLE_FAMILY,
        params={"members": {r.family: r.params for r in ranked}},
        fold_scores=fold_roc_auc(y, folds, predictions),
        fold_predictions=predictions,
        fit_seconds=float(sum(r.fit_seconds for r in ranked)),
    )
    logger.info(
        "%-13s CV ROC-AUC %.4f ± %.4f (members: %s)",
        ENSEMBLE_FAMILY,
        result.cv_mean,
        result.cv_std,
        ", ".join(r.family for r in ranked),
    )
    return result


def select_best(results: Sequence[CandidateResult]) -> CandidateResult:
    """Highest mean CV ROC-AUC among the eligible candidates (exact SHAP in probability
    units); ties go to the lower fold spread, then to the earlier family.

    Candidates that are not eligible (logistic regression, SVC, k-NN,
    boosting, PCA projections) are compared in ml.model_candidates only.
    """
    eligible = [i for i, r in enumerate(results) if r.eligible]
    if not eligible:
        raise ValueError(
            "no exactly explainable candidate to select from; search at least one of the "
            "families dummy, tree, random_forest, extra_trees"
        )
    order = sorted(eligible, key=lambda i: (-results[i].cv_mean, results[i].cv_std, i))
    return results[order[0]]


def build_estimator(result: CandidateResult, spec: FeatureSpec, seed: int) -> Any:
    """An unfitted estimator for a candidate result (a Pipeline or the soft-voting ensemble)."""
    if result.family == ENSEMBLE_FAMILY:
        members = [
            (name, get_family(name).build(params, spec, seed))
            for name, params in result.params["members"].items()
        ]
        return build_soft_vote(members)
    return get_family(result.family).build(result.params, spec, seed)
