"""The training run as one composable function: mart in, ml.* tables and a persisted model out.

:func:`run_training` is what ``python -m ml.train`` calls; other code (the
lead's orchestration, tests, notebooks) can call it with an open DuckDB
connection or a path and a :class:`TrainSettings`.

Protocol, in order: group-aware stratified hold-out; random search of every
family with repeated stratified group k-fold on the training part;
selection by mean CV ROC-AUC only, among the families whose exact SHAP adds
up to their probability; out-of-fold probabilities for the training
customers (group k-fold inside the training part) and hold-out
probabilities from the model fitted on the training part; threshold and
calibration on the training out-of-fold probabilities only; refit on all
customers (the persisted model, for ``ml.score``); each customer's
probability explained exactly by the model that produced it; permutation
importance; atomic write-back. Nothing in the search, the ensemble or the
threshold sees a hold-out label. ``nested_cv`` repeats the whole selection
inside outer group folds of the training part for an honest estimate.

Above ``LARGE_N_CUSTOMERS`` the same steps run on stated samples (see
ml.config): the search on a stratified group sample of the training part,
the evaluated model on a larger one, which is also the final model and
scores everyone it never saw; only exactly explainable families compete,
and scoring, SHAP and the write-back go in batches.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from joblib import Parallel
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from threadpoolctl import threadpool_limits

from ml.config import (
    CALIBRATION_BINS,
    CV_FOLDS,
    CV_REPEATS,
    DEFAULT_N_JOBS,
    DEFAULT_SEARCH_SIZE,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD_RULE,
    ENSEMBLE_TOP_K,
    HOLDOUT_FRACTION,
    LARGE_N_CUSTOMERS,
    LARGE_N_FAMILIES,
    LARGE_N_FIT_SAMPLE,
    LARGE_N_SEARCH_SAMPLE,
    MART_RELATION,
    MAX_ENSEMBLE_MEMBERS,
    OOF_FOLDS,
    PERMUTATION_MAX_ROWS,
    PERMUTATION_REPEATS,
    RACE_FINALISTS,
    SCORE_BATCH_ROWS,
    resolve_paths,
)
from ml.contracts.features import MartColumns, mart_columns
from ml.contracts.run_ids import new_run_id
from ml.io.mart import MartData, data_fingerprint, load_mart, open_duckdb
from ml.io.writer import TableRows, model_runs_row, write_run
from ml.model import search
from ml.model.candidates import (
    ENSEMBLE_FAMILY,
    Family,
    FeatureSpec,
    exact_family_names,
    get_family,
    large_n_variant,
)
from ml.model.evaluation import (
    choose_threshold,
    evaluation_curves,
    parse_threshold_rule,
    summary_metrics,
)
from ml.model.explanation import (
    EXPLAINER_NAME,
    Explanation,
    ShapRows,
    explain_producers,
    importance_table,
    permutation_table,
)
from ml.model.predict import positive_proba
from ml.model.progress import progress_bar, timed_stage
from ml.model.provenance import code_version, library_versions, utc_now
from ml.model.splitting import fold_list, holdout_split, large_fold_list, stratified_group_sample
from ml.model.store import StagedModel, stage_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """Everything a training run can vary; defaults are the project's published protocol."""

    seed: int = DEFAULT_SEED
    holdout_fraction: float = HOLDOUT_FRACTION
    cv_folds: int = CV_FOLDS
    cv_repeats: int = CV_REPEATS
    oof_folds: int = OOF_FOLDS
    search_size: int = DEFAULT_SEARCH_SIZE
    race_finalists: int = RACE_FINALISTS
    families: tuple[str, ...] | None = None  # None: every family in ml.model.candidates
    ensemble_top_k: int = ENSEMBLE_TOP_K  # < 2 disables the soft-voting candidate
    threshold_rule: str = DEFAULT_THRESHOLD_RULE
    time_budget_s: float | None = None  # soft cap on the search stage
    n_jobs: int = DEFAULT_N_JOBS
    relation: str = MART_RELATION
    models_dir: Path | None = None  # None: resolve_paths().models_dir
    run_id: str | None = None  # None: a new id; an orchestrator may pass its own
    write_back: bool = True
    save_model: bool = True
    progress: bool = False
    permutation_repeats: int = PERMUTATION_REPEATS
    permutation_max_rows: int = PERMUTATION_MAX_ROWS
    nested_cv: bool = False  # also estimate the whole selection procedure by nested CV
    batch_rows: int = SCORE_BATCH_ROWS  # customers scored, explained and written at once
    large_n_customers: int = LARGE_N_CUSTOMERS  # above this, large-N mode (ml.config)
    search_sample: int = LARGE_N_SEARCH_SAMPLE
    fit_sample: int = LARGE_N_FIT_SAMPLE


@dataclass
class TrainResult:
    """What a training run produced; ``tables`` are exactly the rows written to ``ml.*``.

    ``tables["shap_values"]`` is a :class:`ml.model.explanation.ShapRows` (chunks;
    ``.frame()`` joins them).
    """

    run_id: str
    model: Any
    selected: search.CandidateResult
    candidates: list[search.CandidateResult]
    metrics: dict[str, float]
    tables: dict[str, TableRows]
    card: dict[str, Any]
    model_path: Path | None


def _feature_spec(columns: MartColumns) -> FeatureSpec:
    return FeatureSpec(numeric=tuple(columns.numeric), categorical=tuple(columns.categorical))


@dataclass(frozen=True)
class _Plan:
    """Which customers (row indices) each stage of the run uses."""

    large: bool  # large-N mode: search and fit on samples
    train: np.ndarray
    hold: np.ndarray
    search_rows: np.ndarray  # the family search's customers (the whole training part below large N)
    fit_rows: np.ndarray  # large N: the evaluated and final model's customers
    folds: list[tuple[np.ndarray, np.ndarray]]  # CV folds, positions within search_rows


def _plan(data: MartData, settings: TrainSettings) -> _Plan:
    """Hold-out, search customers and CV folds; above large N, the search and fit samples."""
    assert data.y is not None
    y, groups, seed = data.y, data.groups, settings.seed
    train, hold = holdout_split(y, groups, settings.holdout_fraction, seed)
    if len(y) <= settings.large_n_customers:
        folds = fold_list(y[train], groups[train], settings.cv_folds, settings.cv_repeats, seed)
        return _Plan(False, train, hold, train, train, folds)
    fit_rows = train[stratified_group_sample(y[train], groups[train], settings.fit_sample, seed)]
    search_rows = fit_rows[
        stratified_group_sample(y[fit_rows], groups[fit_rows], settings.search_sample, seed)
    ]
    folds = large_fold_list(
        y[search_rows], groups[search_rows], settings.cv_folds, settings.cv_repeats, seed
    )
    return _Plan(True, train, hold, search_rows, fit_rows, folds)


def _families(settings: TrainSettings, large: bool) -> list[Family]:
    """The families to search; by default only those whose exact SHAP adds up to the probability.

    Other families may be named with ``families`` for comparison: they are
    searched and recorded, never selected (ml.model.search.select_best). Above
    large N only the exact families run, forests at a bounded size.
    """
    names = settings.families or exact_family_names()
    if not large:
        return [get_family(name) for name in names]
    if settings.families is None:
        names = LARGE_N_FAMILIES
    refused = [name for name in names if name not in LARGE_N_FAMILIES]
    if refused:
        raise ValueError(
            f"above {settings.large_n_customers:,} customers only "
            f"{', '.join(LARGE_N_FAMILIES)} are trained (their SHAP stays exact and linear "
            f"in customers); drop {', '.join(refused)}"
        )
    return [large_n_variant(get_family(name)) for name in names]


def _group_folds(
    y: np.ndarray, groups: np.ndarray, n_folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One repetition of stratified group k-fold (positions within *y*)."""
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, groups))


def _params_json(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)


def _description(family: str) -> str:
    if family == ENSEMBLE_FAMILY:
        return "soft-voting average of the best configurations of the top families"
    return get_family(family).description


def _candidates_table(
    candidates: list[search.CandidateResult], selected: search.CandidateResult, run_id: str
) -> pd.DataFrame:
    ranked = sorted(candidates, key=lambda c: -c.cv_mean)
    return pd.DataFrame(
        [
            {
                "run_id": run_id,
                "family": c.family,
                "description": _description(c.family),
                "cv_roc_auc_mean": c.cv_mean,
                "cv_roc_auc_std": c.cv_std,
                "fit_time_s": c.fit_seconds,
                "search_time_s": c.search_seconds,
                "n_configs": c.n_configs,
                "best_params": _params_json(c.params),
                "cv_rank": rank,
                "is_selected": c is selected,
                "is_eligible": c.eligible,
            }
            for rank, c in enumerate(ranked, start=1)
        ]
    )


def _configs_tried(candidates: list[search.CandidateResult]) -> int:
    """Configurations compared by the search (the soft vote counts as one)."""
    return int(sum(c.n_configs for c in candidates))


def _limits(
    settings: TrainSettings, plan: _Plan, n_configs: int, nested: _Nested | None
) -> list[str]:
    limits = [
        "Trained on one snapshot of regular customers (revenue in each of the last three "
        "months); probabilities describe customers like them, not new sign-ups.",
        "SHAP values explain the model's score, not causes: a feature with high SHAP is "
        "what the model relies on, not proof that changing it changes behaviour.",
        "ml.predictions.p_decline is out-of-fold for the training customers and comes from "
        "the model fitted on the training part for the hold-out; each is explained by the "
        "model that produced it (its base value in ml.predictions.base_value). Scoring a "
        "later export with the persisted model (refitted on everyone) is in-sample for "
        "customers it was trained on.",
        f"The hold-out has {len(plan.hold):,} customers; below a few thousand its ROC-AUC "
        "carries roughly ±0.015 sampling error and the repeated-CV mean is the steadier figure.",
        f"The CV mean of the selected configuration is the best of {n_configs} configurations "
        "compared on the same folds and so optimistic; "
        + (
            "the nested CV figure estimates the whole selection procedure honestly."
            if nested is not None
            else "run `python -m ml.train --nested-cv` for an honest estimate of the "
            "whole selection procedure."
        ),
        f"The decision threshold follows rule '{settings.threshold_rule}' on the training "
        "customers' out-of-fold probabilities (never on hold-out labels); re-choose it when "
        "the cost of an offer or of a lost customer changes.",
    ]
    if plan.large:
        limits.append(
            f"Large-N mode: the model family was chosen on {len(plan.search_rows):,} customers "
            f"and the model fitted on {len(plan.fit_rows):,}; forests were limited in size so "
            "that exact SHAP stays affordable for every customer."
        )
    return limits


@dataclass
class _Evaluation:
    """The selected pipeline's fitted models, the published probabilities and their producers."""

    holdout_model: Any  # fitted on the training part only (large N: the final model)
    p_hold: np.ndarray
    p: np.ndarray  # the published probability of every customer
    fold_of: np.ndarray  # out-of-fold model's index, -1 where another model produced p
    final_model: Any  # the one persisted for ml.score (large N: fitted on the fit sample)
    p_source: np.ndarray  # 'oof', 'holdout' or 'unseen' per customer
    producers: list[tuple[Any, np.ndarray]]  # (model, rows whose p it produced)
    oof_rows: np.ndarray  # training customers with an out-of-fold p: threshold, OOF metrics


@dataclass(frozen=True)
class _Nested(search.FoldScores):
    """Nested CV of the whole selection procedure: outer-fold ROC-AUC and each fold's choice."""

    fold_scores: np.ndarray
    selected: list[str]


def _search(
    families: list,
    spec: FeatureSpec,
    x: pd.DataFrame,
    y: np.ndarray,
    folds: list,
    settings: TrainSettings,
    parallel: Parallel,
    deadline: float | None,
    progress: bool | None = None,
) -> tuple[list[search.CandidateResult], search.CandidateResult]:
    """Every family's best configuration, the soft-voting candidate, and the CV winner."""
    show = settings.progress if progress is None else progress
    candidates = [
        search.search_family(
            family,
            spec,
            x,
            y,
            folds,
            seed=settings.seed,
            search_size=settings.search_size,
            parallel=parallel,
            screen_folds=settings.cv_folds,
            finalists=settings.race_finalists,
            deadline=deadline,
            progress=show,
        )
        for family in families
    ]
    if settings.ensemble_top_k >= 2:
        vote = search.soft_vote_result(candidates, y, folds, settings.ensemble_top_k)
        if vote is not None:
            candidates.append(vote)
    selected = search.select_best(candidates)
    logger.info(
        "selected %s by CV ROC-AUC %.4f ± %.4f", selected.family, selected.cv_mean, selected.cv_std
    )
    return candidates, selected


def nested_cv(
    families: list[Family],
    spec: FeatureSpec,
    x: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    settings: TrainSettings,
    parallel: Parallel,
) -> _Nested:
    """Nested group-aware CV of the whole procedure: search, ensemble and selection.

    Outer folds (stratified group k-fold, ``oof_folds``) split the given
    customers; inside each outer training part the same repeated group CV,
    search and selection run as in a real training run, the selected
    configuration is fitted on the outer training part and scores the outer
    fold, which took no part in choosing it.
    """
    scores, chosen = [], []
    outer = _group_folds(y, groups, settings.oof_folds, settings.seed)
    for k, (tr, va) in enumerate(outer):
        inner = fold_list(y[tr], groups[tr], settings.cv_folds, settings.cv_repeats, settings.seed)
        _, selected = _search(
            families, spec, x.iloc[tr], y[tr], inner, settings, parallel, None, progress=False
        )
        estimator = search.build_estimator(selected, spec, settings.seed)
        ((_, p),) = search.fit_many(estimator, x, y, [(tr, va)], parallel)
        scores.append(float(roc_auc_score(y[va], p)))
        chosen.append(selected.family)
        logger.info("nested CV outer fold %d: %s, ROC-AUC %.4f", k + 1, selected.family, scores[-1])
    return _Nested(np.array(scores), chosen)


def _evaluate_and_refit(
    estimator: Any,
    data: MartData,
    train: np.ndarray,
    hold: np.ndarray,
    settings: TrainSettings,
    parallel: Parallel,
) -> _Evaluation:
    """One parallel batch: the hold-out model, the out-of-fold models, the final refit.

    Out-of-fold folds split the training part only, so no hold-out label
    reaches a model whose probabilities choose the threshold.
    """
    assert data.y is not None
    everyone = np.arange(len(data.y))
    inner = _group_folds(data.y[train], data.groups[train], settings.oof_folds, settings.seed)
    oof_folds = [(train[tr], train[va]) for tr, va in inner]
    splits = [(train, hold), *oof_folds, (everyone, everyone[:0])]
    with progress_bar(len(splits), "evaluate and refit", settings.progress) as bar:
        fitted = search.fit_many(estimator, data.x, data.y, splits, parallel, on_fit=bar.update)
    n = len(data.y)
    p = np.full(n, np.nan)
    fold_of = np.full(n, -1, dtype=np.int64)
    source = np.full(n, "holdout", dtype=object)
    holdout_model, p_hold = fitted[0]
    p[hold] = p_hold
    producers: list[tuple[Any, np.ndarray]] = [(holdout_model, hold)]
    for k, ((_, val), (model, pred)) in enumerate(zip(oof_folds, fitted[1:-1], strict=True)):
        p[val], fold_of[val], source[val] = pred, k, "oof"
        producers.append((model, val))
    if np.isnan(p).any():
        raise RuntimeError("the evaluation left customers without a probability")
    return _Evaluation(
        holdout_model, p_hold, p, fold_of, fitted[-1][0], source, producers, np.sort(train)
    )


def _evaluate_on_sample(
    estimator: Any, data: MartData, plan: _Plan, settings: TrainSettings, parallel: Parallel
) -> _Evaluation:
    """Large N: out-of-fold models inside the fit sample, then the final model on all of it.

    The final model never saw the hold-out or the rest of the training part,
    so its probabilities are honest for them: it is the hold-out model too,
    and scores everyone outside the sample (in batches).
    """
    assert data.y is not None
    rows = plan.fit_rows
    inner = large_fold_list(data.y[rows], data.groups[rows], settings.oof_folds, 1, settings.seed)
    splits = [(rows[tr], rows[va]) for tr, va in inner] + [(rows, rows[:0])]
    with progress_bar(len(splits), "evaluate and fit", settings.progress) as bar:
        fitted = search.fit_many(estimator, data.x, data.y, splits, parallel, on_fit=bar.update)
    final = fitted[-1][0]
    outside = np.setdiff1d(np.arange(len(data.y)), rows)
    p = np.full(len(data.y), np.nan)
    p[outside] = positive_proba(final, data.x.iloc[outside], settings.batch_rows)
    fold_of = np.full(len(data.y), -1, dtype=np.int64)
    source = np.full(len(data.y), "unseen", dtype=object)
    producers: list[tuple[Any, np.ndarray]] = [(final, outside)]
    for k, ((_, val), (model, pred)) in enumerate(zip(splits[:-1], fitted[:-1], strict=True)):
        p[val], fold_of[val], source[val] = pred, k, "oof"
        producers.append((model, val))
    return _Evaluation(final, p[plan.hold], p, fold_of, final, source, producers, np.sort(rows))


def _cv_scheme(settings: TrainSettings, plan: _Plan) -> str:
    if not plan.large:
        return (
            f"stratified group {settings.cv_folds}-fold x {settings.cv_repeats} repeats on the "
            f"training part; group-aware stratified {settings.holdout_fraction:.0%} hold-out, "
            "scored by the model fitted on the training part; out-of-fold: stratified group "
            f"{settings.oof_folds}-fold over the training part; threshold on those"
        )
    return (
        f"large-N mode: stratified group {settings.cv_folds}-fold x {settings.cv_repeats} "
        f"repeats on a stratified group sample of {len(plan.search_rows):,} training "
        f"customers; group-aware stratified {settings.holdout_fraction:.0%} hold-out; "
        f"model fitted on a sample of {len(plan.fit_rows):,} training customers "
        f"(out-of-fold inside it: {settings.oof_folds}-fold; threshold on those), which "
        "scores every other customer, the hold-out included, unseen"
    )


@dataclass(frozen=True)
class _Selection:
    """What the search chose, every candidate it compared, and the nested-CV estimate."""

    candidates: list[search.CandidateResult]
    selected: search.CandidateResult
    nested: _Nested | None


@dataclass(frozen=True)
class _Judgement:
    """The decision threshold and the figures the model is judged by at it."""

    rule: Any  # the parsed threshold rule (str() gives it back as written)
    threshold: float
    oof: dict[str, float]  # training customers, out-of-fold
    holdout: dict[str, float]


@dataclass(frozen=True)
class _Explained:
    """Every customer's exact SHAP values and the global importance tables."""

    explanation: Explanation
    importance: pd.DataFrame
    rank_corr: float  # Spearman of the mean-|SHAP| and permutation rankings


@dataclass(frozen=True)
class _Run:
    """Everything a training run knows once its model is chosen, evaluated and explained."""

    run_id: str
    started_at: datetime
    settings: TrainSettings
    columns: MartColumns
    data: MartData
    plan: _Plan
    selection: _Selection
    evaluation: _Evaluation
    judgement: _Judgement
    explained: _Explained
    fingerprint: str

    @property
    def n_configs(self) -> int:
        return _configs_tried(self.selection.candidates)

    @property
    def metrics(self) -> dict[str, float | None]:
        """The figures a run is judged by (ml.model_runs columns and the model card)."""
        selected, nested = self.selection.selected, self.selection.nested
        oof, holdout = self.judgement.oof, self.judgement.holdout
        return {
            "cv_roc_auc_mean": selected.cv_mean,
            "cv_roc_auc_std": selected.cv_std,
            "nested_cv_roc_auc_mean": nested.cv_mean if nested else None,
            "nested_cv_roc_auc_std": nested.cv_std if nested else None,
            "holdout_roc_auc": holdout["roc_auc"],
            "oof_roc_auc": oof["roc_auc"],
            "brier": oof["brier"],
            "holdout_brier": holdout["brier"],
            "threshold": self.judgement.threshold,
            "oof_precision": oof["precision"],
            "oof_recall": oof["recall"],
            "oof_f1": oof["f1"],
            "holdout_precision": holdout["precision"],
            "holdout_recall": holdout["recall"],
            "holdout_f1": holdout["f1"],
            "importance_rank_corr": self.explained.rank_corr,
        }


def ensemble_columns(selected: search.CandidateResult) -> dict[str, str | None]:
    """The chosen soft vote's members as plain ml.model_runs columns (null for one model)."""
    members = list(selected.params.get("members", {})) if selected.family == ENSEMBLE_FAMILY else []
    return {
        "ensemble_members": " + ".join(members) if members else None,
        **{
            f"ensemble_member_{i}": members[i - 1] if i <= len(members) else None
            for i in range(1, MAX_ENSEMBLE_MEMBERS + 1)
        },
    }


def _card(run: _Run, candidates_table: pd.DataFrame) -> dict[str, Any]:
    """The model card's content: data, features, protocol, metrics, explanations, limits."""
    selected, nested = run.selection.selected, run.selection.nested
    explanation = run.explained.explanation
    return {
        "run_id": run.run_id,
        "created_at": run.started_at.isoformat(timespec="seconds"),
        "code_version": code_version(),
        "seed": run.settings.seed,
        "model_family": selected.family,
        "model_description": _description(selected.family),
        "model_params": selected.params,
        "ensemble_members": ensemble_columns(selected)["ensemble_members"],
        "threshold": run.judgement.threshold,
        "threshold_rule": str(run.judgement.rule),
        "data": _card_data(run),
        "features": _card_features(run.columns),
        "categories": {
            name: sorted(run.data.x[name].unique().tolist()) for name in run.columns.categorical
        },
        "protocol": _cv_scheme(run.settings, run.plan)
        + f"; model chosen by mean CV ROC-AUC alone among {run.n_configs} configurations "
        "tried, only families whose exact SHAP adds up to the probability eligible.",
        "n_configs_tried": run.n_configs,
        "nested_cv": (
            {
                "outer_folds": run.settings.oof_folds,
                "roc_auc_per_fold": nested.fold_scores.round(6).tolist(),
                "selected_per_fold": nested.selected,
            }
            if nested
            else None
        ),
        "metrics": run.metrics,
        "candidates": candidates_table.drop(columns=["run_id"]).to_dict("records"),
        "shap": f"{EXPLAINER_NAME[explanation.method]}; each customer explained by the model "
        f"that produced their probability ({explanation.detail})",
        "shap_explainer": EXPLAINER_NAME[explanation.method],
        "shap_output_space": explanation.output_space,
        "limits": _limits(run.settings, run.plan, run.n_configs, nested),
        "library_versions": library_versions(),
    }


def _card_data(run: _Run) -> dict[str, Any]:
    assert run.data.y is not None
    return {
        "relation": run.settings.relation,
        "n_customers": len(run.data.y),
        "n_declined": int(run.data.y.sum()),
        "fingerprint": run.fingerprint,
        "duplicate_groups": int((pd.Series(run.data.groups).value_counts() > 1).sum()),
    }


def _card_features(columns: MartColumns) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "role": "categorical" if name in columns.categorical else "numeric",
            "data_type": columns.data_types[name],
            "actionable": name in columns.actionable,
            "description": columns.descriptions[name],
        }
        for name in columns.features
    ]


def _predictions_table(
    run_id: str,
    data: MartData,
    evaluation: _Evaluation,
    hold: np.ndarray,
    threshold: float,
    explanation: Explanation,
) -> pd.DataFrame:
    """ml.predictions rows: probability, label, its source, fold, hold-out flag, base value."""
    is_holdout = np.zeros(len(data.customer_ids), dtype=bool)
    is_holdout[hold] = True
    fold = pd.Series(evaluation.fold_of)
    return pd.DataFrame(
        {
            "run_id": run_id,
            "customer_id": data.customer_ids.astype(np.int64),
            "p_decline": evaluation.p,
            "predicted_decline": evaluation.p >= threshold,
            "p_source": evaluation.p_source,
            "fold": fold.where(fold >= 0).astype("Int64"),
            "is_holdout": is_holdout,
            "base_value": explanation.base_values,
        }
    )


def run_training(
    con_or_path: duckdb.DuckDBPyConnection | str | Path | None = None,
    settings: TrainSettings | None = None,
    columns: MartColumns | None = None,
) -> TrainResult:
    """Train, evaluate, explain and score every customer; write ``ml.*`` and the model.

    *con_or_path* is an open read-write DuckDB connection (left open) or a
    path (default: the private build file of :func:`ml.config.resolve_paths`,
    where dbt built the mart). Raises :class:`ml.io.mart.MartError` for an
    unusable mart, :class:`ml.io.writer.WriteBackError` when the write-back
    rolls back (the previous tables and model then stay as they were).
    """
    settings = settings or TrainSettings()
    columns = columns or mart_columns()
    rule = _checked_rule(settings)
    paths = resolve_paths(models_dir=settings.models_dir)
    # ML output goes to the private build file; publishing it is ml.ops.publish's job.
    target = con_or_path if con_or_path is not None else paths.build_duckdb
    started_at, clock = utc_now(), time.monotonic()
    run_id = settings.run_id or new_run_id(started_at)
    logger.info("training run %s (seed %d)", run_id, settings.seed)

    # Parallelism comes from joblib threads (n_jobs) over folds; BLAS/OpenMP
    # stay single-threaded so parallel fits never fight over cores (and the
    # many small fits skip thread start-up costs).
    with (
        open_duckdb(target, read_only=not settings.write_back) as con,
        threadpool_limits(limits=1),
    ):
        run = _train(con, run_id, started_at, clock, settings, columns, rule)
        candidates_table = _candidates_table(
            run.selection.candidates, run.selection.selected, run_id
        )
        card = _card(run, candidates_table)
        tables, card, staged = _write_with_model(
            con, run, card, candidates_table, paths.models_dir, clock
        )

    logger.info("training run %s done in %.1f s", run_id, time.monotonic() - clock)
    return TrainResult(
        run_id=run_id,
        model=run.evaluation.final_model,
        selected=run.selection.selected,
        candidates=run.selection.candidates,
        metrics=run.metrics,
        tables=tables,
        card=card,
        model_path=staged.files.model if staged else None,
    )


def _checked_rule(settings: TrainSettings) -> Any:
    """The parsed threshold rule; unknown families or too large an ensemble fail before any work."""
    rule = parse_threshold_rule(settings.threshold_rule)
    for name in settings.families or ():
        get_family(name)
    if settings.ensemble_top_k > MAX_ENSEMBLE_MEMBERS:
        raise ValueError(f"ensemble_top_k must be at most {MAX_ENSEMBLE_MEMBERS}")
    return rule


def _train(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    started_at: datetime,
    clock: float,
    settings: TrainSettings,
    columns: MartColumns,
    rule: Any,
) -> _Run:
    """The stages in order: read, plan, select, evaluate, judge, explain."""
    with timed_stage("read_mart"):
        frame, data = load_mart(con, settings.relation, columns, for_training=True)
    plan = _plan(data, settings)
    _log_plan(data, plan, settings)
    spec = _feature_spec(columns)
    deadline = clock + settings.time_budget_s if settings.time_budget_s else None
    selection = _select(data, spec, plan, settings, deadline)
    evaluation = _fit_and_score(selection.selected, spec, data, plan, settings)
    judgement = _judge(data, evaluation, plan.hold, rule)
    explained = _explain(data, evaluation, plan.hold, columns, settings, run_id)
    return _Run(
        run_id=run_id,
        started_at=started_at,
        settings=settings,
        columns=columns,
        data=data,
        plan=plan,
        selection=selection,
        evaluation=evaluation,
        judgement=judgement,
        explained=explained,
        fingerprint=data_fingerprint(frame),
    )


def _log_plan(data: MartData, plan: _Plan, settings: TrainSettings) -> None:
    logger.info(
        "%d customers: %d train / %d hold-out; CV %d-fold x %d on %d%s",
        len(data.customer_ids),
        len(plan.train),
        len(plan.hold),
        settings.cv_folds,
        settings.cv_repeats,
        len(plan.search_rows),
        f" sampled (large-N mode; model fitted on {len(plan.fit_rows)})" if plan.large else "",
    )


def _parallel(settings: TrainSettings) -> Parallel:
    # Folds run in threads (scikit-learn's fitting code releases the GIL), so
    # no worker processes start up.
    return Parallel(n_jobs=settings.n_jobs, backend="threading")


def _select(
    data: MartData,
    spec: FeatureSpec,
    plan: _Plan,
    settings: TrainSettings,
    deadline: float | None,
) -> _Selection:
    """Search every family on the search customers; with ``nested_cv``, estimate the procedure."""
    assert data.y is not None
    families = _families(settings, plan.large)
    search_settings = replace(settings, ensemble_top_k=0) if plan.large else settings
    rows = plan.search_rows
    x, y = data.x.iloc[rows], data.y[rows]
    with _parallel(settings) as parallel, timed_stage("search"):
        candidates, selected = _search(
            families, spec, x, y, plan.folds, search_settings, parallel, deadline
        )
    nested = None
    if settings.nested_cv:
        with _parallel(settings) as parallel, timed_stage("nested_cv"):
            nested = nested_cv(families, spec, x, y, data.groups[rows], search_settings, parallel)
        logger.info("nested CV ROC-AUC %.4f ± %.4f", nested.cv_mean, nested.cv_std)
    return _Selection(candidates, selected, nested)


def _fit_and_score(
    selected: search.CandidateResult,
    spec: FeatureSpec,
    data: MartData,
    plan: _Plan,
    settings: TrainSettings,
) -> _Evaluation:
    """Fit the selected configuration's evaluation and final models; every customer's p."""
    with _parallel(settings) as parallel, timed_stage("fit_and_score"):
        estimator = search.build_estimator(selected, spec, settings.seed)
        if plan.large:
            return _evaluate_on_sample(estimator, data, plan, settings, parallel)
        return _evaluate_and_refit(estimator, data, plan.train, plan.hold, settings, parallel)


def _judge(data: MartData, evaluation: _Evaluation, hold: np.ndarray, rule: Any) -> _Judgement:
    """The threshold from training customers only, then the metrics at it."""
    assert data.y is not None
    rows = evaluation.oof_rows
    y_oof, p_oof = data.y[rows], evaluation.p[rows]
    threshold = choose_threshold(y_oof, p_oof, rule)
    oof = summary_metrics(y_oof, p_oof, threshold)
    holdout = summary_metrics(data.y[hold], evaluation.p_hold, threshold)
    logger.info(
        "hold-out ROC-AUC %.4f, out-of-fold ROC-AUC %.4f, Brier %.4f, threshold %.3f (%s)",
        holdout["roc_auc"],
        oof["roc_auc"],
        oof["brier"],
        threshold,
        rule,
    )
    return _Judgement(rule, threshold, oof, holdout)


def _explain(
    data: MartData,
    evaluation: _Evaluation,
    hold: np.ndarray,
    columns: MartColumns,
    settings: TrainSettings,
    run_id: str,
) -> _Explained:
    """Exact SHAP of every customer by their producing model; permutation importance on hold-out."""
    assert data.y is not None
    with timed_stage("shap"):
        explanation = explain_producers(
            evaluation.producers, data.x, evaluation.p, settings.batch_rows
        )
    shuffled = hold
    if len(hold) > settings.permutation_max_rows:
        shuffled = hold[
            stratified_group_sample(
                data.y[hold], data.groups[hold], settings.permutation_max_rows, settings.seed
            )
        ]
    with timed_stage("permutation_importance"):
        permutation = permutation_table(
            evaluation.holdout_model,
            data.x.iloc[shuffled],
            data.y[shuffled],
            seed=settings.seed,
            repeats=settings.permutation_repeats,
        )
    importance, rank_corr = importance_table(explanation, permutation, columns.actionable, run_id)
    logger.info(
        "SHAP %s (%s); SHAP vs permutation ranking: Spearman %.2f",
        explanation.method,
        explanation.detail,
        rank_corr,
    )
    return _Explained(explanation, importance, rank_corr)


def _curves(run: _Run) -> pd.DataFrame:
    """ml.evaluation_curves rows: out-of-fold (training customers) and hold-out."""
    data, evaluation = run.data, run.evaluation
    assert data.y is not None
    rows = evaluation.oof_rows
    curves = pd.concat(
        [
            evaluation_curves(data.y[rows], evaluation.p[rows], "oof", CALIBRATION_BINS),
            evaluation_curves(
                data.y[run.plan.hold], evaluation.p_hold, "holdout", CALIBRATION_BINS
            ),
        ],
        ignore_index=True,
    )
    curves.insert(0, "run_id", run.run_id)
    return curves


def _model_runs_row(
    run: _Run, card: dict[str, Any], staged: StagedModel | None, clock: float
) -> pd.DataFrame:
    """The run's ml.model_runs row (provenance from the card, model file from *staged*)."""
    assert run.data.y is not None
    selected, judgement = run.selection.selected, run.judgement
    explanation = run.explained.explanation
    return model_runs_row(
        run_id=run.run_id,
        run_kind="train",
        started_at=run.started_at,
        finished_at=utc_now(),
        duration_s=time.monotonic() - clock,
        mart_relation=run.settings.relation,
        n_customers=len(run.data.y),
        n_declined=int(run.data.y.sum()),
        data_fingerprint=run.fingerprint,
        code_version=card["code_version"],
        library_versions=json.dumps(card["library_versions"], sort_keys=True),
        seed=run.settings.seed,
        model_family=selected.family,
        model_params=_params_json(selected.params),
        **ensemble_columns(selected),
        n_configs_tried=run.n_configs,
        cv_scheme=_cv_scheme(run.settings, run.plan),
        holdout_size=len(run.plan.hold),
        threshold_rule=str(judgement.rule),
        **{f"oof_{k}": judgement.oof[k] for k in ("tp", "fp", "tn", "fn")},
        **{f"holdout_{k}": judgement.holdout[k] for k in ("tp", "fp", "tn", "fn")},
        shap_method=explanation.method,
        shap_output_space=explanation.output_space,
        shap_base_value=explanation.base_value,
        search_truncated=any(c.truncated for c in run.selection.candidates),
        model_path=str(staged.files.model) if staged else None,
        model_sha256=staged.sha256 if staged else None,
        **run.metrics,
    )


def _tables(
    run: _Run,
    card: dict[str, Any],
    candidates_table: pd.DataFrame,
    staged: StagedModel | None,
    clock: float,
) -> dict[str, TableRows]:
    """Every ml.* table's rows of this run, as the writer takes them."""
    explanation = run.explained.explanation
    return {
        "model_runs": _model_runs_row(run, card, staged, clock),
        "model_candidates": candidates_table,
        "predictions": _predictions_table(
            run.run_id,
            run.data,
            run.evaluation,
            run.plan.hold,
            run.judgement.threshold,
            explanation,
        ),
        "shap_values": ShapRows(
            explanation,
            run.data.x,
            run.data.customer_ids,
            run.run_id,
            run.settings.batch_rows,
            run.columns.actionable,
        ),
        "feature_importance": run.explained.importance,
        "evaluation_curves": _curves(run),
    }


def _write_with_model(
    con: duckdb.DuckDBPyConnection,
    run: _Run,
    card: dict[str, Any],
    candidates_table: pd.DataFrame,
    models_dir: Path,
    clock: float,
) -> tuple[dict[str, TableRows], dict[str, Any], StagedModel | None]:
    """Write ml.* and the model together: both land, or neither does.

    Model files are staged first (their hash goes into ml.model_runs) and
    moved into place only after the warehouse transaction committed.
    """
    settings = run.settings
    staged = (
        stage_model(run.evaluation.final_model, card, models_dir) if settings.save_model else None
    )
    try:
        tables = _tables(run, card, candidates_table, staged, clock)
        if settings.write_back:
            with timed_stage("write_back"):
                write_run(con, tables)
    except BaseException:
        if staged:
            staged.discard()
        raise
    if staged:
        staged.commit()
        card = {**card, "model_file": staged.files.model.name, "model_sha256": staged.sha256}
    return tables, card, staged
