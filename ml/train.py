"""Command line: ``python -m ml.train`` trains, evaluates, explains and scores every customer.

A thin wrapper: it parses options, sets up logging and calls
:func:`ml.model.training.run_training`, which does the work.
"""

from __future__ import annotations

import argparse
import sys

from ml.config import (
    CV_FOLDS,
    CV_REPEATS,
    DEFAULT_N_JOBS,
    DEFAULT_SEARCH_SIZE,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD_RULE,
    ENSEMBLE_TOP_K,
    LARGE_N_CUSTOMERS,
    LARGE_N_FAMILIES,
    LARGE_N_FIT_SAMPLE,
    LARGE_N_SEARCH_SAMPLE,
    MAX_ENSEMBLE_MEMBERS,
)
from ml.model.candidates import exact_family_names, family_names
from ml.model.evaluation import parse_threshold_rule
from ml.ops.cli import add_common_options, configure_logging, run_step


def _threshold_rule(text: str) -> str:
    try:
        parse_threshold_rule(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def _families(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in family_names()]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown famil(ies) {unknown}; choose from {', '.join(family_names())}"
        )
    return names


def _ensemble_size(text: str) -> int:
    value = int(text)
    if value > MAX_ENSEMBLE_MEMBERS:
        raise argparse.ArgumentTypeError(f"at most {MAX_ENSEMBLE_MEMBERS} members")
    return value


def _comparison_families() -> list[str]:
    exact = exact_family_names()
    return [name for name in family_names() if name not in exact]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ml.train argument parser (every option explained in --help)."""
    parser = argparse.ArgumentParser(
        prog="python -m ml.train",
        description=(
            "Train the purchasing-activity decline model on the customer_features mart: "
            "group-aware hold-out, random search of every model family with repeated "
            "stratified group k-fold CV on the training part, selection by CV ROC-AUC alone "
            "among the families whose exact SHAP values add up to their probability, "
            "out-of-fold probabilities for the training customers and hold-out probabilities "
            "from the model fitted on the training part, threshold on the training customers "
            "only, each probability explained exactly by the model that produced it, "
            "permutation importance. Writes ml.model_runs, ml.model_candidates, ml.predictions, "
            "ml.shap_values, ml.feature_importance and ml.evaluation_curves into the same "
            "DuckDB file in one transaction, and the model (skops) with its card; then builds "
            "the segment models on them, runs every test, publishes the warehouse atomically "
            "and renders the HTML reports. Above --large-n customers the search and the model "
            "fit run on stated stratified samples and only exactly explainable families compete "
            "(see ml/config.py)."
        ),
        epilog="Exit status: 0 on success, 1 with a one-line cause on failure, 2 on bad options.",
    )
    add_common_options(parser)
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"Seed of the hold-out split, CV folds, search and models; same seed and data "
        f"give identical predictions (default: {DEFAULT_SEED}, as in published work).",
    )
    parser.add_argument(
        "--threshold-rule",
        type=_threshold_rule,
        default=DEFAULT_THRESHOLD_RULE,
        metavar="RULE",
        help="How the offer threshold is chosen on the training customers' out-of-fold "
        "probabilities (never on hold-out labels): 'f1' (maximise "
        "F1), 'cost:R' (minimise R x missed decliners + wasted offers, R = cost of losing a "
        f"customer / cost of an offer) or 'fixed:T' (default: {DEFAULT_THRESHOLD_RULE}).",
    )
    parser.add_argument(
        "--search-size",
        type=_positive_int,
        default=DEFAULT_SEARCH_SIZE,
        metavar="N",
        help="Configurations tried per model family: the tuned default plus N-1 sampled from "
        f"its space; 1 = defaults only (default: {DEFAULT_SEARCH_SIZE}).",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="Soft cap, in seconds from the start of the run, on the search: once passed, the "
        "families not yet searched run their default configuration only (logged, and "
        "recorded as search_truncated; results then depend on machine speed). Default: no cap.",
    )
    parser.add_argument(
        "--cv-folds",
        type=int,
        default=CV_FOLDS,
        metavar="K",
        help=f"Folds of the stratified group k-fold on the training part (default: {CV_FOLDS}).",
    )
    parser.add_argument(
        "--cv-repeats",
        type=_positive_int,
        default=CV_REPEATS,
        metavar="R",
        help=f"Repetitions of the k-fold with different shuffles (default: {CV_REPEATS}).",
    )
    parser.add_argument(
        "--families",
        type=_families,
        metavar="LIST",
        help="Comma-separated families to search (default: those whose exact SHAP adds up to "
        f"their probability: {', '.join(exact_family_names())}; above --large-n customers: "
        f"{', '.join(LARGE_N_FAMILIES)}). Others ({', '.join(_comparison_families())}) "
        "may be named for comparison: they are searched and recorded in ml.model_candidates "
        "but never selected.",
    )
    parser.add_argument(
        "--ensemble-top-k",
        type=_ensemble_size,
        default=ENSEMBLE_TOP_K,
        metavar="K",
        help="Also consider a soft-voting ensemble of the K best exactly explainable "
        f"families (at most {MAX_ENSEMBLE_MEMBERS}); below 2 disables it "
        f"(default: {ENSEMBLE_TOP_K}).",
    )
    parser.add_argument(
        "--nested-cv",
        action="store_true",
        help="Also run a nested, group-aware CV of the whole selection procedure (outer "
        "stratified group folds of the training part around search, ensemble and "
        "selection) and record nested_cv_roc_auc_mean / _std in ml.model_runs: the honest "
        "estimate of the procedure. About five times the search time.",
    )
    parser.add_argument(
        "--n-jobs",
        type=_positive_int,
        default=DEFAULT_N_JOBS,
        metavar="N",
        help=f"Parallel threads for CV folds (default: {DEFAULT_N_JOBS}).",
    )
    parser.add_argument(
        "--large-n",
        type=_positive_int,
        default=LARGE_N_CUSTOMERS,
        metavar="N",
        help="Above N customers train in large-N mode: search on --search-sample customers, fit "
        f"the model on --fit-sample, score and explain everyone in batches "
        f"(default: {LARGE_N_CUSTOMERS:,}).",
    )
    parser.add_argument(
        "--search-sample",
        type=_positive_int,
        default=LARGE_N_SEARCH_SAMPLE,
        metavar="N",
        help="Large-N mode: training customers in the stratified group sample the family "
        f"search runs on (default: {LARGE_N_SEARCH_SAMPLE:,}).",
    )
    parser.add_argument(
        "--fit-sample",
        type=_positive_int,
        default=LARGE_N_FIT_SAMPLE,
        metavar="N",
        help="Large-N mode: training customers the evaluated and final model is fitted on "
        f"(default: {LARGE_N_FIT_SAMPLE:,}).",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse options, train, write everything back; return the process exit status."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    # Imported late: the training stack (shap, skops, ...) loads only for valid options.
    from ml.model.training import TrainSettings, run_training

    settings = TrainSettings(
        seed=args.seed,
        threshold_rule=args.threshold_rule,
        search_size=args.search_size,
        time_budget_s=args.time_budget,
        cv_folds=args.cv_folds,
        cv_repeats=args.cv_repeats,
        families=args.families,
        ensemble_top_k=args.ensemble_top_k,
        nested_cv=args.nested_cv,
        n_jobs=args.n_jobs,
        relation=args.relation,
        progress=not args.no_progress,
        large_n_customers=args.large_n,
        search_sample=args.search_sample,
        fit_sample=args.fit_sample,
    )
    return run_step(args, "train", run_training, settings)


if __name__ == "__main__":
    sys.exit(main())
