"""The training run as one composable function: mart in, ml.* tables and a persisted model out.

:func:`run_training` is what ``python -m ml.train`` calls; other code (the
lead's orchestration, tests, notebooks) can call it with an open DuckDB
connection or a path and a :class:`TrainSettings`.

Protocol, in order: group-aware stratified hold-out; random search of every
family with repeated stratified group k-fold on the training part;
selection by mean CV ROC-AUC only; one hold-out score for the report;
out-of-fold probabilities for every customer; threshold and calibration on
those; refit on all customers; SHAP and permutation importance; atomic write-back.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from joblib import Parallel
from sklearn.model_selection import StratifiedGroupKFold
from threadpoolctl import threadpool_limits

from ml.candidates import (
    ENSEMBLE_FAMILY,
    Family,
    FeatureSpec,
    family_names,
    get_family,
    without_projections,
)
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
    OOF_FOLDS,
    PERMUTATION_MAX_ROWS,
    PERMUTATION_REPEATS,
    RACE_FINALISTS,
    SCORE_BATCH_ROWS,
    resolve_paths,
)
from ml.data import (
    ModelData,
    data_fingerprint,
    open_warehouse,
    read_mart,
    to_model_data,
    validate_for_training,
)
from ml.evaluation import (
    choose_threshold,
    evaluation_curves,
    parse_threshold_rule,
    summary_metrics,
)
from ml.explain import (
    DEFAULT_BUDGET,
    ExplainBudget,
    Explanation,
    ShapRows,
    explain_everyone,
    importance_table,
    permutation_table,
)
from ml.features import MartColumns, mart_columns
from ml.model_store import stage_model
from ml.progress import progress_bar, timed_stage
from ml.provenance import code_version, library_versions, new_run_id, utc_now
from ml.search import (
    CandidateResult,
    build_estimator,
    fit_many,
    positive_proba,
    search_family,
    select_best,
    soft_vote_result,
)
from ml.splitting import fold_list, holdout_split, large_fold_list, stratified_group_sample
from ml.warehouse import TableRows, model_runs_row, write_run

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
    families: tuple[str, ...] | None = None  # None: every family in ml.candidates
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
    explain_budget: ExplainBudget = field(default=DEFAULT_BUDGET)
    batch_rows: int = SCORE_BATCH_ROWS  # customers scored, explained and written at once
    large_n_customers: int = LARGE_N_CUSTOMERS  # above this, large-N mode (ml.config)
    search_sample: int = LARGE_N_SEARCH_SAMPLE
    fit_sample: int = LARGE_N_FIT_SAMPLE


@dataclass
class TrainResult:
    """What a training run produced; ``tables`` are exactly the rows written to ``ml.*``.

    ``tables["shap_values"]`` is a :class:`ml.explain.ShapRows` (chunks; ``.frame()`` joins them).
    """

    run_id: str
    model: Any
    selected: CandidateResult
    candidates: list[CandidateResult]
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


def _plan(data: ModelData, settings: TrainSettings) -> _Plan:
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
    """The families to search; above large N only those SHAP explains exactly for everyone."""
    names = settings.families or family_names()
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
    return [without_projections(get_family(name)) for name in names]


def _oof_folds(data: ModelData, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified group folds over every customer, for the out-of-fold pass."""
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(data.x, data.y, data.groups))


def _assemble_oof(
    n: int, folds: list[tuple[np.ndarray, np.ndarray]], predictions: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's probability from the one fold model that never saw it, and that fold."""
    p = np.full(n, np.nan)
    fold_of = np.full(n, -1, dtype=int)
    for k, ((_, val), pred) in enumerate(zip(folds, predictions, strict=True)):
        p[val] = pred
        fold_of[val] = k
    if np.isnan(p).any():
        raise RuntimeError("out-of-fold pass left customers without a probability")
    return p, fold_of


def _params_json(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)


def _description(family: str) -> str:
    if family == ENSEMBLE_FAMILY:
        return "soft-voting average of the best configurations of the top families"
    return get_family(family).description


def _candidates_table(
    candidates: list[CandidateResult], selected: CandidateResult, run_id: str
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
            }
            for rank, c in enumerate(ranked, start=1)
        ]
    )


def _limits(settings: TrainSettings, explanation: Explanation, plan: _Plan) -> list[str]:
    limits = [
        "Trained on one snapshot of regular customers (revenue in each of the last three "
        "months); probabilities describe customers like them, not new sign-ups.",
        "SHAP values explain the model's score, not causes: a feature with high SHAP is "
        "what the model relies on, not proof that changing it changes behaviour.",
        "ml.predictions.p_decline is out-of-fold for the training customers; scoring a "
        "later export with the persisted model is in-sample for customers it was trained on.",
        f"The hold-out has {len(plan.hold):,} customers; below a few thousand its ROC-AUC "
        "carries roughly ±0.015 sampling error and the repeated-CV mean is the steadier figure.",
        "The CV mean of the selected configuration is the best of a search on the same "
        "folds and so slightly optimistic; the hold-out, scored once, is the unbiased check.",
        f"The decision threshold follows rule '{settings.threshold_rule}' on out-of-fold "
        "probabilities; re-choose it when the cost of an offer or of a lost customer changes.",
    ]
    if plan.large:
        limits.append(
            f"Large-N mode: the model family was chosen on {len(plan.search_rows):,} customers "
            f"and the model fitted on {len(plan.fit_rows):,}; families whose SHAP cannot stay "
            "exact for every customer (forests, k-NN, SVC, PCA projections, soft vote) were "
            "not searched."
        )
    if explanation.method == "sampling_permutation":
        limits.append(
            f"SHAP values are estimated by sampling ({explanation.detail}); "
            "contributions below ~0.01 in probability are within sampling noise."
        )
    return limits


@dataclass
class _Evaluation:
    """The selected pipeline's fitted models and honest probabilities."""

    holdout_model: Any  # fitted on the training part only (large N: the final model)
    p_hold: np.ndarray
    p_oof: np.ndarray  # honest probability of every customer: out-of-fold or unseen
    fold_of: np.ndarray  # -1: scored by the final model, which never saw the customer
    final_model: Any  # the one persisted and explained (large N: fitted on the fit sample)
    p_final: np.ndarray  # the final model's probability of every customer
    p_source: np.ndarray  # 'oof' or 'unseen' per customer


def _search(
    families: list,
    spec: FeatureSpec,
    x: pd.DataFrame,
    y: np.ndarray,
    folds: list,
    settings: TrainSettings,
    parallel: Parallel,
    deadline: float | None,
) -> tuple[list[CandidateResult], CandidateResult]:
    """Every family's best configuration, the soft-voting candidate, and the CV winner."""
    candidates = [
        search_family(
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
            progress=settings.progress,
        )
        for family in families
    ]
    if settings.ensemble_top_k >= 2:
        vote = soft_vote_result(candidates, y, folds, settings.ensemble_top_k)
        if vote is not None:
            candidates.append(vote)
    selected = select_best(candidates)
    logger.info(
        "selected %s by CV ROC-AUC %.4f ± %.4f", selected.family, selected.cv_mean, selected.cv_std
    )
    return candidates, selected


def _evaluate_and_refit(
    estimator: Any,
    data: ModelData,
    train: np.ndarray,
    hold: np.ndarray,
    settings: TrainSettings,
    parallel: Parallel,
) -> _Evaluation:
    """One parallel batch: the hold-out model, the out-of-fold models, the final refit."""
    assert data.y is not None
    everyone = np.arange(len(data.y))
    oof_folds = _oof_folds(data, settings.oof_folds, settings.seed)
    splits = [(train, hold), *oof_folds, (everyone, everyone[:0])]
    with progress_bar(len(splits), "evaluate and refit", settings.progress) as bar:
        fitted = fit_many(estimator, data.x, data.y, splits, parallel, on_fit=bar.update)
    p_oof, fold_of = _assemble_oof(len(data.y), oof_folds, [p for _, p in fitted[1:-1]])
    final = fitted[-1][0]
    p_final = positive_proba(final, data.x, settings.batch_rows)
    source = np.full(len(data.y), "oof", dtype=object)
    return _Evaluation(fitted[0][0], fitted[0][1], p_oof, fold_of, final, p_final, source)


def _evaluate_on_sample(
    estimator: Any, data: ModelData, plan: _Plan, settings: TrainSettings, parallel: Parallel
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
        fitted = fit_many(estimator, data.x, data.y, splits, parallel, on_fit=bar.update)
    final = fitted[-1][0]
    p_final = positive_proba(final, data.x, settings.batch_rows)
    p_oof = p_final.copy()
    fold_of = np.full(len(data.y), -1, dtype=np.int64)
    source = np.full(len(data.y), "unseen", dtype=object)
    for k, ((_, val), (_, p)) in enumerate(zip(splits[:-1], fitted[:-1], strict=True)):
        p_oof[val], fold_of[val], source[val] = p, k, "oof"
    return _Evaluation(final, p_final[plan.hold], p_oof, fold_of, final, p_final, source)


def _cv_scheme(settings: TrainSettings, plan: _Plan) -> str:
    if not plan.large:
        return (
            f"stratified group {settings.cv_folds}-fold x {settings.cv_repeats} repeats on the "
            f"training part; group-aware stratified {settings.holdout_fraction:.0%} hold-out; "
            f"out-of-fold: stratified group {settings.oof_folds}-fold over all customers"
        )
    return (
        f"large-N mode: stratified group {settings.cv_folds}-fold x {settings.cv_repeats} "
        f"repeats on a stratified group sample of {len(plan.search_rows):,} training "
        f"customers; group-aware stratified {settings.holdout_fraction:.0%} hold-out; "
        f"model fitted on a sample of {len(plan.fit_rows):,} training customers "
        f"(out-of-fold inside it: {settings.oof_folds}-fold), which scores every other "
        "customer, the hold-out included, unseen"
    )


def _metrics(
    selected: CandidateResult,
    oof: dict[str, float],
    holdout: dict[str, float],
    threshold: float,
    rank_corr: float,
) -> dict[str, float]:
    """The figures a run is judged by (ml.model_runs columns and the model card)."""
    return {
        "cv_roc_auc_mean": selected.cv_mean,
        "cv_roc_auc_std": selected.cv_std,
        "holdout_roc_auc": holdout["roc_auc"],
        "oof_roc_auc": oof["roc_auc"],
        "brier": oof["brier"],
        "holdout_brier": holdout["brier"],
        "threshold": threshold,
        "oof_precision": oof["precision"],
        "oof_recall": oof["recall"],
        "oof_f1": oof["f1"],
        "holdout_precision": holdout["precision"],
        "holdout_recall": holdout["recall"],
        "holdout_f1": holdout["f1"],
        "importance_rank_corr": rank_corr,
    }


def _card(
    run_id: str,
    started_at: Any,
    settings: TrainSettings,
    columns: MartColumns,
    data: ModelData,
    selected: CandidateResult,
    candidates_table: pd.DataFrame,
    metrics: dict[str, float],
    explanation: Explanation,
    plan: _Plan,
    fingerprint: str,
    rule: str,
) -> dict[str, Any]:
    """The model card's content: data, features, protocol, metrics, explanations, limits."""
    assert data.y is not None
    return {
        "run_id": run_id,
        "created_at": started_at.isoformat(timespec="seconds"),
        "code_version": code_version(),
        "seed": settings.seed,
        "model_family": selected.family,
        "model_description": _description(selected.family),
        "model_params": selected.params,
        "threshold": metrics["threshold"],
        "threshold_rule": rule,
        "data": {
            "relation": settings.relation,
            "n_customers": len(data.y),
            "n_declined": int(data.y.sum()),
            "fingerprint": fingerprint,
            "duplicate_groups": int((pd.Series(data.groups).value_counts() > 1).sum()),
        },
        "features": [
            {
                "name": name,
                "role": "categorical" if name in columns.categorical else "numeric",
                "data_type": columns.data_types[name],
                "actionable": name in columns.actionable,
                "description": columns.descriptions[name],
            }
            for name in columns.features
        ],
        "categories": {
            name: sorted(data.x[name].unique().tolist()) for name in columns.categorical
        },
        "protocol": _cv_scheme(settings, plan) + "; model chosen by mean CV ROC-AUC alone.",
        "metrics": metrics,
        "candidates": candidates_table.drop(columns=["run_id"]).to_dict("records"),
        "shap": f"{explanation.method} in {explanation.output_space} units: "
        f"{explanation.detail}; base value {explanation.base_value:.4f}",
        "shap_output_space": explanation.output_space,
        "limits": _limits(settings, explanation, plan),
        "library_versions": library_versions(),
    }


def _predictions_table(
    run_id: str, data: ModelData, evaluation: _Evaluation, hold: np.ndarray, threshold: float
) -> pd.DataFrame:
    """ml.predictions rows: honest probability, label, its source, fold, hold-out flag."""
    is_holdout = np.zeros(len(data.customer_ids), dtype=bool)
    is_holdout[hold] = True
    fold = pd.Series(evaluation.fold_of)
    return pd.DataFrame(
        {
            "run_id": run_id,
            "customer_id": data.customer_ids.astype(np.int64),
            "p_decline": evaluation.p_oof,
            "predicted_decline": evaluation.p_oof >= threshold,
            "p_source": evaluation.p_source,
            "fold": fold.where(fold >= 0).astype("Int64"),
            "is_holdout": is_holdout,
            "p_final_model": evaluation.p_final,
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
    where dbt built the mart). Raises :class:`ml.data.MartError` for an
    unusable mart, :class:`ml.warehouse.WarehouseError` when the write-back
    rolls back (the previous tables and model then stay as they were).
    """
    settings = settings or TrainSettings()
    columns = columns or mart_columns()
    rule = parse_threshold_rule(settings.threshold_rule)
    for name in settings.families or ():
        get_family(name)  # an unknown name fails before any work
    paths = resolve_paths(models_dir=settings.models_dir)
    # ML output goes to the private build file; publishing it is ml.publish's job.
    target = con_or_path if con_or_path is not None else paths.build_duckdb
    started_at = utc_now()
    clock = time.monotonic()
    run_id = settings.run_id or new_run_id(started_at)
    logger.info("training run %s (seed %d)", run_id, settings.seed)

    # Parallelism comes from joblib threads (n_jobs) over folds and SHAP draws;
    # BLAS/OpenMP stay single-threaded so parallel fits never fight over cores
    # (and the many small k-NN/boosting calls skip thread start-up costs).
    with (
        open_warehouse(target, read_only=not settings.write_back) as con,
        threadpool_limits(limits=1),
    ):
        with timed_stage("read_mart"):
            frame = read_mart(con, settings.relation, columns)
        validate_for_training(frame, columns)
        data = to_model_data(frame, columns, with_target=True)
        assert data.y is not None
        spec = _feature_spec(columns)
        plan = _plan(data, settings)
        families = _families(settings, plan.large)
        hold = plan.hold
        logger.info(
            "%d customers: %d train / %d hold-out; CV %d-fold x %d on %d%s",
            len(data.y),
            len(plan.train),
            len(hold),
            settings.cv_folds,
            settings.cv_repeats,
            len(plan.search_rows),
            f" sampled (large-N mode; model fitted on {len(plan.fit_rows)})" if plan.large else "",
        )
        deadline = clock + settings.time_budget_s if settings.time_budget_s else None

        # Folds run in threads (scikit-learn's fitting code releases the GIL), so
        # no worker processes start up.
        with (
            Parallel(n_jobs=settings.n_jobs, backend="threading") as parallel,
            timed_stage("search"),
        ):
            candidates, selected = _search(
                families,
                spec,
                data.x.iloc[plan.search_rows],
                data.y[plan.search_rows],
                plan.folds,
                replace(settings, ensemble_top_k=0) if plan.large else settings,
                parallel,
                deadline,
            )
        with (
            Parallel(n_jobs=settings.n_jobs, backend="threading") as parallel,
            timed_stage("fit_and_score"),
        ):
            estimator = build_estimator(selected, spec, settings.seed)
            if plan.large:
                evaluation = _evaluate_on_sample(estimator, data, plan, settings, parallel)
            else:
                evaluation = _evaluate_and_refit(
                    estimator, data, plan.train, hold, settings, parallel
                )

        y_hold = data.y[hold]
        threshold = choose_threshold(data.y, evaluation.p_oof, rule)
        oof = summary_metrics(data.y, evaluation.p_oof, threshold)
        holdout = summary_metrics(y_hold, evaluation.p_hold, threshold)
        logger.info(
            "hold-out ROC-AUC %.4f, out-of-fold ROC-AUC %.4f, Brier %.4f, threshold %.3f (%s)",
            holdout["roc_auc"],
            oof["roc_auc"],
            oof["brier"],
            threshold,
            rule,
        )

        with timed_stage("shap"):
            explanation = explain_everyone(
                evaluation.final_model,
                data.x,
                seed=settings.seed,
                budget=settings.explain_budget,
                large=plan.large,
                progress=settings.progress,
                n_jobs=settings.n_jobs,
                batch_rows=settings.batch_rows,
            )
        if explanation is None:  # _families admits only exactly explainable families
            raise RuntimeError(f"{selected.family}: no exact SHAP route in large-N mode")
        shuffled = hold
        if len(hold) > settings.permutation_max_rows:
            shuffled = hold[
                stratified_group_sample(
                    y_hold, data.groups[hold], settings.permutation_max_rows, settings.seed
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
        importance, rank_corr = importance_table(
            explanation, permutation, columns.actionable, run_id
        )
        logger.info(
            "SHAP %s (%s); SHAP vs permutation ranking: Spearman %.2f",
            explanation.method,
            explanation.detail,
            rank_corr,
        )

        metrics = _metrics(selected, oof, holdout, threshold, rank_corr)
        candidates_table = _candidates_table(candidates, selected, run_id)
        fingerprint = data_fingerprint(frame)
        card = _card(
            run_id,
            started_at,
            settings,
            columns,
            data,
            selected,
            candidates_table,
            metrics,
            explanation,
            plan,
            fingerprint,
            str(rule),
        )
        curves = pd.concat(
            [
                evaluation_curves(data.y, evaluation.p_oof, "oof", CALIBRATION_BINS),
                evaluation_curves(y_hold, evaluation.p_hold, "holdout", CALIBRATION_BINS),
            ],
            ignore_index=True,
        )
        curves.insert(0, "run_id", run_id)

        # Model files are staged first (their hash goes into ml.model_runs) and
        # moved into place only after the warehouse transaction committed.
        staged = (
            stage_model(evaluation.final_model, card, paths.models_dir)
            if settings.save_model
            else None
        )
        try:
            run_row = model_runs_row(
                run_id=run_id,
                run_kind="train",
                started_at=started_at,
                finished_at=utc_now(),
                duration_s=time.monotonic() - clock,
                mart_relation=settings.relation,
                n_customers=len(data.y),
                n_declined=int(data.y.sum()),
                data_fingerprint=fingerprint,
                code_version=card["code_version"],
                library_versions=json.dumps(card["library_versions"], sort_keys=True),
                seed=settings.seed,
                model_family=selected.family,
                model_params=_params_json(selected.params),
                cv_scheme=_cv_scheme(settings, plan),
                holdout_size=len(hold),
                threshold_rule=str(rule),
                **{f"oof_{k}": oof[k] for k in ("tp", "fp", "tn", "fn")},
                **{f"holdout_{k}": holdout[k] for k in ("tp", "fp", "tn", "fn")},
                shap_method=explanation.method,
                shap_output_space=explanation.output_space,
                shap_base_value=explanation.base_value,
                search_truncated=any(c.truncated for c in candidates),
                model_path=str(staged.files.model) if staged else None,
                model_sha256=staged.sha256 if staged else None,
                **metrics,
            )
            tables = {
                "model_runs": run_row,
                "model_candidates": candidates_table,
                "predictions": _predictions_table(run_id, data, evaluation, hold, threshold),
                "shap_values": ShapRows(
                    explanation, data.x, data.customer_ids, run_id, settings.batch_rows
                ),
                "feature_importance": importance,
                "evaluation_curves": curves,
            }
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

    logger.info("training run %s done in %.1f s", run_id, time.monotonic() - clock)
    return TrainResult(
        run_id=run_id,
        model=evaluation.final_model,
        selected=selected,
        candidates=candidates,
        metrics=metrics,
        tables=tables,
        card=card,
        model_path=staged.files.model if staged else None,
    )
