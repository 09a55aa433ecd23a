"""Command line: ``python -m ml.train`` trains, evaluates, explains and scores every customer.

A thin wrapper: it parses options, sets up logging and calls
:func:`ml.model.training.run_training`, which does the work.
"""

from __future__ import annotations

import argparse
import sys

from ml import config
from ml.contracts.command_line import configure_logging
from ml.model.candidates import exact_family_names, family_names
from ml.model.evaluation import parse_threshold_rule
from ml.ops.cli import ml_step_parser, run_step


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
    if value > config.MAX_ENSEMBLE_MEMBERS:
        raise argparse.ArgumentTypeError(f"at most {config.MAX_ENSEMBLE_MEMBERS} members")
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
    parser = ml_step_parser(
        "python -m ml.train",
        (
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
    )
    _add_search_options(parser.add_argument_group("model search"))
    _add_validation_options(parser.add_argument_group("validation"))
    _add_large_n_options(parser.add_argument_group("large exports"))
    return parser


def _add_search_options(parser: argparse._ArgumentGroup) -> None:
    """What is searched and how the decision threshold is chosen."""
    parser.add_argument(
        "--seed",
        type=int,
        default=config.DEFAULT_SEED,
        help=f"Seed of the hold-out split, CV folds, search and models; same seed and data "
        f"give identical predictions (default: {config.DEFAULT_SEED}, as in published work).",
    )
    parser.add_argument(
        "--threshold-rule",
        type=_threshold_rule,
        default=config.DEFAULT_THRESHOLD_RULE,
        metavar="RULE",
        help="How the offer threshold is chosen on the training customers' out-of-fold "
        "probabilities (never on hold-out labels): 'f1' (maximise "
        "F1), 'cost:R' (minimise R x missed decliners + wasted offers, R = cost of losing a "
        f"customer / cost of an offer) or 'fixed:T' (default: {config.DEFAULT_THRESHOLD_RULE}).",
    )
    _add_count(
        parser,
        "--search-size",
        config.DEFAULT_SEARCH_SIZE,
        "Configurations tried per model family: the tuned default plus N-1 sampled from "
        "its space; 1 = defaults only",
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
        "--families",
        type=_families,
        metavar="LIST",
        help="Comma-separated families to search (default: those whose exact SHAP adds up to "
        f"their probability: {', '.join(exact_family_names())}; above --large-n customers: "
        f"{', '.join(config.LARGE_N_FAMILIES)}). Others ({', '.join(_comparison_families())}) "
        "may be named for comparison: they are searched and recorded in ml.model_candidates "
        "but never selected.",
    )
    parser.add_argument(
        "--ensemble-top-k",
        type=_ensemble_size,
        default=config.ENSEMBLE_TOP_K,
        metavar="K",
        help="Also consider a soft-voting ensemble of the K best exactly explainable "
        f"families (at most {config.MAX_ENSEMBLE_MEMBERS}); below 2 disables it "
        f"(default: {config.ENSEMBLE_TOP_K}).",
    )


def _add_validation_options(parser: argparse._ArgumentGroup) -> None:
    """How candidates are compared and the chosen procedure estimated."""
    parser.add_argument(
        "--cv-folds",
        type=int,
        default=config.CV_FOLDS,
        metavar="K",
        help="Folds of the stratified group k-fold on the training part "
        f"(default: {config.CV_FOLDS}).",
    )
    _add_count(
        parser,
        "--cv-repeats",
        config.CV_REPEATS,
        "Repetitions of the k-fold with different shuffles",
        metavar="R",
    )
    parser.add_argument(
        "--nested-cv",
        action="store_true",
        help="Also run a nested, group-aware CV of the whole selection procedure (outer "
        "stratified group folds of the training part around search, ensemble and "
        "selection) and record nested_cv_roc_auc_mean / _std in ml.model_runs: the honest "
        "estimate of the procedure. About five times the search time.",
    )
    _add_count(parser, "--n-jobs", config.DEFAULT_N_JOBS, "Parallel threads for CV folds")


def _add_large_n_options(parser: argparse._ArgumentGroup) -> None:
    """When large-N mode starts and the samples it searches and fits on."""
    _add_count(
        parser,
        "--large-n",
        config.LARGE_N_CUSTOMERS,
        "Above N customers train in large-N mode: search on --search-sample customers, fit "
        "the model on --fit-sample, score and explain everyone in batches",
    )
    _add_count(
        parser,
        "--search-sample",
        config.LARGE_N_SEARCH_SAMPLE,
        "Large-N mode: training customers in the stratified group sample the family search runs on",
    )
    _add_count(
        parser,
        "--fit-sample",
        config.LARGE_N_FIT_SAMPLE,
        "Large-N mode: training customers the evaluated and final model is fitted on",
    )


def _add_count(
    parser: argparse._ArgumentGroup, flag: str, default: int, text: str, metavar: str = "N"
) -> None:
    """A positive whole-number option whose help ends with its default."""
    parser.add_argument(
        flag,
        type=_positive_int,
        default=default,
        metavar=metavar,
        help=f"{text} (default: {default:,}).",
    )


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
