"""What every ml.* table and column means, and the dbt yml rendered from it.

`ml/warehouse.py` (``TABLES``) is the one definition of the tables the ML step
writes: their columns, order and SQL types. This module holds the words
beside it, keyed by the same names, and renders them into the dbt files that
describe those tables, so dbt docs, the analysts' view of the latest run and
the Python writer can never disagree:

* ``dbt_project/models/staging/ml/_ml__sources.yml``: source ``ml``, every table
  and column with its type and description;
* ``dbt_project/models/after_ml/segments/_latest_training_run.yml``: the columns of
  ``segments.latest_training_run`` (every column of ``ml.model_runs``).

    python -m ml.warehouse_docs            # rewrite both files
    python -m ml.warehouse_docs --check    # exit 1 when a file is stale (make test)

A column added to ``TABLES`` without a description here fails both commands
with the column's name; add its description below and rerun.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ml.config import ML_SCHEMA, PROJECT_ROOT
from ml.warehouse import TABLES

logger = logging.getLogger(__name__)

SOURCES_YML = PROJECT_ROOT / "dbt_project" / "models" / "staging" / "ml" / "_ml__sources.yml"
LATEST_RUN_YML = (
    PROJECT_ROOT / "dbt_project" / "models" / "after_ml" / "segments" / "_latest_training_run.yml"
)
LATEST_RUN_MODEL = "latest_training_run"

Schema = Mapping[str, tuple[tuple[str, str], ...]]


class DocsError(ValueError):
    """A table or column of the writer's schema has no description."""


TABLE_DESCRIPTIONS: dict[str, str] = {
    "model_runs": (
        "One row per training or scoring run: the data it saw (fingerprint, customers), "
        "the code and libraries, the chosen model, its cross-validated, out-of-fold and "
        "hold-out metrics, the decision threshold and the saved model file. "
        "`segments.latest_training_run` is the newest training run."
    ),
    "model_candidates": (
        "Every candidate model family of a training run with its best configuration and "
        "cross-validated ROC-AUC; `is_eligible` marks those whose exact SHAP adds up to "
        "their probability (only they can be selected), `is_selected` the chosen one."
    ),
    "predictions": (
        "Per customer and run: the probability of decline and the label at the run's "
        "threshold. In a training run p_decline is out-of-fold for training customers and "
        "from the model fitted on the training part for the hold-out, so honest for every "
        "customer; base_value is the producing model's expected probability."
    ),
    "shap_values": (
        "Per customer, run and feature (long form): the feature's value and its exact SHAP "
        "contribution, in probability units, from the model that produced the customer's "
        "p_decline: predictions.base_value + Σ shap_value = p_decline."
    ),
    "feature_importance": (
        "Per run and feature: global importance as mean |SHAP| and as permutation "
        "importance on the hold-out, with both ranks."
    ),
    "evaluation_curves": (
        "Per run: ROC, precision-recall, calibration and metric-by-threshold curves, "
        "out-of-fold and on the hold-out, as points (the reports draw them)."
    ),
}

_RUN_ID = "Run id (UTC start time and a suffix); the key that ties a run's rows in every ml table."
_OOF = "out-of-fold predictions of every customer at the run's threshold"
_HOLD = "the hold-out customers at the run's threshold"

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "model_runs": {
        "run_id": _RUN_ID,
        "run_kind": "`train` (python -m ml.train) or `score` (python -m ml.score).",
        "parent_run_id": "For a scoring run, the training run whose model it used; null otherwise.",
        "started_at": "When the run started (UTC).",
        "finished_at": "When the run finished writing its results (UTC).",
        "duration_s": "Wall-clock duration of the run, seconds.",
        "mart_relation": "The feature mart the run read (schema.table).",
        "n_customers": "Customers the run trained on or scored.",
        "n_declined": (
            "Of them, customers whose activity declined (the target); for a scoring run, "
            "null when the export has no target."
        ),
        "data_fingerprint": (
            "SHA-256 of the mart's content, independent of row order: two runs with the same "
            "fingerprint and seed give identical predictions."
        ),
        "code_version": "`git describe` of the project (`-dirty` with local changes), or unknown.",
        "library_versions": "JSON object: versions of Python and the libraries behind the model.",
        "seed": "Random seed of splits, searches and samples.",
        "model_family": "Candidate family of the chosen model (a row of ml.model_candidates).",
        "model_params": "JSON object: the chosen configuration's hyperparameters.",
        "ensemble_members": (
            "The soft vote's member families joined by ` + `; null when the chosen model is "
            "not a soft vote."
        ),
        "ensemble_member_1": "First member family of the soft vote; null otherwise.",
        "ensemble_member_2": "Second member family of the soft vote; null otherwise.",
        "ensemble_member_3": "Third member family of the soft vote; null when it has fewer.",
        "n_configs_tried": (
            "Hyperparameter configurations tried by the whole search (every family and the "
            "soft vote): the number the CV winner was picked from."
        ),
        "cv_scheme": "The validation protocol in words (folds, repeats, hold-out, samples).",
        "cv_roc_auc_mean": (
            "Mean ROC-AUC of the chosen model over the repeated group k-fold CV on the "
            "training part (the selection criterion)."
        ),
        "cv_roc_auc_std": "Standard deviation of that ROC-AUC across the CV folds.",
        "nested_cv_roc_auc_mean": (
            "With `ml.train --nested-cv`: mean ROC-AUC of the whole selection procedure "
            "(search + selection inside each outer group fold), the honest estimate; null "
            "otherwise."
        ),
        "nested_cv_roc_auc_std": "Its standard deviation across the outer folds.",
        "holdout_size": "Customers in the hold-out, scored once by the model fitted without them.",
        "holdout_roc_auc": "ROC-AUC on the hold-out.",
        "holdout_brier": "Brier score (mean squared error of the probability) on the hold-out.",
        "oof_roc_auc": (
            "ROC-AUC of the pooled out-of-fold probabilities of the training customers."
        ),
        "brier": "Brier score of the pooled out-of-fold probabilities.",
        "threshold_rule": "How the threshold was chosen: `f1` or `cost:R` (a miss costs R offers).",
        "threshold": (
            "Decision threshold: a customer with p_decline at or above it is predicted to "
            "decline (the default risk threshold of the segments)."
        ),
        "oof_precision": f"Precision of the {_OOF}.",
        "oof_recall": f"Recall of the {_OOF}.",
        "oof_f1": f"F1 of the {_OOF}.",
        "oof_tp": f"True positives among the {_OOF}.",
        "oof_fp": f"False positives among the {_OOF}.",
        "oof_tn": f"True negatives among the {_OOF}.",
        "oof_fn": f"False negatives among the {_OOF}.",
        "holdout_precision": f"Precision on {_HOLD}.",
        "holdout_recall": f"Recall on {_HOLD}.",
        "holdout_f1": f"F1 on {_HOLD}.",
        "holdout_tp": f"True positives on {_HOLD}.",
        "holdout_fp": f"False positives on {_HOLD}.",
        "holdout_tn": f"True negatives on {_HOLD}.",
        "holdout_fn": f"False negatives on {_HOLD}.",
        "shap_method": (
            "How SHAP values were computed: `tree_exact` (TreeSHAP of the producing "
            "model; a soft vote averages its members' exact values) or `constant`; null "
            "when none were."
        ),
        "shap_output_space": "Units of the SHAP values: `probability` or `log_odds`.",
        "shap_base_value": (
            "The persisted (final) model's expected probability. Each customer's own base "
            "value, from the model that produced their p_decline, is "
            "ml.predictions.base_value."
        ),
        "importance_rank_corr": (
            "Spearman correlation of the mean-|SHAP| and permutation rankings of the "
            "features: low means the two explanations disagree."
        ),
        "search_truncated": "True when a candidate's hyperparameter search hit its time budget.",
        "model_path": "Where the fitted pipeline was saved (skops file); null when not saved.",
        "model_sha256": "SHA-256 of that file, to check the model used is the one recorded.",
    },
    "model_candidates": {
        "run_id": _RUN_ID,
        "family": "Candidate model family (e.g. logistic_regression, random_forest).",
        "description": "The family and its preprocessing in words.",
        "cv_roc_auc_mean": "Mean ROC-AUC of the family's best configuration over the CV folds.",
        "cv_roc_auc_std": "Its standard deviation across the folds.",
        "fit_time_s": "Mean time to fit the best configuration once, seconds.",
        "search_time_s": "Wall-clock time of the family's whole search, seconds.",
        "n_configs": "Hyperparameter configurations tried.",
        "best_params": "JSON object: the best configuration's hyperparameters.",
        "cv_rank": "Rank by cv_roc_auc_mean, 1 = best.",
        "is_selected": "True for the family chosen for the run.",
        "is_eligible": (
            "True when the family's exact SHAP adds up to its probability over the mart's "
            "features; only eligible candidates can be selected."
        ),
    },
    "predictions": {
        "run_id": _RUN_ID,
        "customer_id": "Customer id (marts.customer_features.customer_id).",
        "p_decline": (
            "Probability that the customer's purchasing activity declines, 0–1: out-of-fold "
            "(from a model that never saw the customer) in a training run, the saved model's "
            "score in a scoring run."
        ),
        "predicted_decline": "p_decline ≥ the run's threshold (ml.model_runs.threshold).",
        "p_source": (
            "Where p_decline comes from: `oof` (a fold model of the training part that never "
            "saw the customer), `holdout` (the model fitted on the training part), `unseen` "
            "(large exports: a model fitted on a sample that excluded the customer) or "
            "`model` (scoring run: the persisted model)."
        ),
        "fold": "Out-of-fold fold that scored the customer; null when not out-of-fold.",
        "is_holdout": "True for the hold-out customers of a training run; null in a scoring run.",
        "base_value": (
            "Expected probability of the model that produced p_decline: base_value + Σ "
            "ml.shap_values.shap_value = p_decline (within 1e-6)."
        ),
    },
    "shap_values": {
        "run_id": _RUN_ID,
        "customer_id": "Customer id.",
        "feature": "Mart column (one-hot columns folded back into their feature).",
        "feature_value": "The customer's value of the feature, as text.",
        "feature_value_num": "The same value as a number; null for a categorical feature.",
        "shap_value": (
            "The feature's exact SHAP contribution to the customer's p_decline, in "
            "probability units, from the model that produced it; positive pushes toward "
            "decline."
        ),
    },
    "feature_importance": {
        "run_id": _RUN_ID,
        "feature": "Mart column.",
        "shap_mean_abs": "Mean |SHAP value| over every customer.",
        "shap_rank": "Rank by shap_mean_abs, 1 = most important.",
        "permutation_mean": (
            "Mean drop in hold-out ROC-AUC when the feature's values are shuffled."
        ),
        "permutation_std": "Standard deviation of that drop over the shuffles.",
        "permutation_rank": "Rank by permutation_mean, 1 = most important.",
        "is_actionable": "True when marketing can act on the feature (mart column meta).",
    },
    "evaluation_curves": {
        "run_id": _RUN_ID,
        "dataset": "`oof` (every customer, out-of-fold) or `holdout`.",
        "curve": (
            "`roc`, `pr`, `calibration`, `precision_at_threshold`, `recall_at_threshold` "
            "or `f1_at_threshold`."
        ),
        "point_index": "Order of the point along the curve.",
        "x": (
            "roc: false-positive rate; pr: recall; calibration: mean predicted probability "
            "in the bin; *_at_threshold: the threshold."
        ),
        "y": (
            "roc: true-positive rate; pr: precision; calibration: observed decline rate in "
            "the bin; *_at_threshold: the metric."
        ),
        "threshold": "Probability threshold at the point (null for calibration).",
        "bin_count": "Customers in the calibration bin (null for other curves).",
    },
}


def missing_descriptions(schema: Schema = TABLES) -> list[str]:
    """Tables and columns of *schema* with no description, as ``ml.table[.column]``."""
    missing = [f"{ML_SCHEMA}.{t}" for t in schema if not TABLE_DESCRIPTIONS.get(t)]
    for table, columns in schema.items():
        described = COLUMN_DESCRIPTIONS.get(table, {})
        missing += [f"{ML_SCHEMA}.{table}.{c}" for c, _ in columns if not described.get(c)]
    return missing


def stale_descriptions(schema: Schema = TABLES) -> list[str]:
    """Descriptions of tables or columns the writer no longer has (renamed or dropped)."""
    stale = [f"{ML_SCHEMA}.{t}" for t in TABLE_DESCRIPTIONS if t not in schema]
    for table, described in COLUMN_DESCRIPTIONS.items():
        names = {c for c, _ in schema.get(table, ())}
        stale += [f"{ML_SCHEMA}.{table}.{c}" for c in described if c not in names]
    return stale


def _check(schema: Schema) -> None:
    missing, stale = missing_descriptions(schema), stale_descriptions(schema)
    if missing or stale:
        parts = []
        if missing:
            parts.append("no description for " + ", ".join(missing))
        if stale:
            parts.append("description of a column the writer no longer has: " + ", ".join(stale))
        raise DocsError("; ".join(parts) + " (ml/warehouse.py TABLES vs ml/warehouse_docs.py)")


def _quote(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar; keeps «», ≥ and – readable.
    return json.dumps(text, ensure_ascii=False)


def _column_lines(columns: tuple[tuple[str, str], ...], table: str, indent: str) -> list[str]:
    lines = []
    for name, sql_type in columns:
        lines += [
            f"{indent}- name: {name}",
            f"{indent}  data_type: {sql_type}",
            f"{indent}  description: {_quote(COLUMN_DESCRIPTIONS[table][name])}",
        ]
    return lines


_HEADER = (
    "# Generated by `python -m ml.warehouse_docs` from ml/warehouse.py (TABLES: the\n"
    "# columns the ML step writes) and ml/warehouse_docs.py (their descriptions).\n"
    "# Do not edit by hand: change those and rerun; `make test` fails when stale.\n"
)


def render_sources_yml(schema: Schema = TABLES) -> str:
    """The dbt source ``ml``: every table and column of *schema*, typed and described."""
    _check(schema)
    lines = [
        "version: 2",
        "",
        "# Tables the ML step (`python -m ml.train`, `python -m ml.score`) writes into",
        "# schema `ml` of the warehouse file. Declared so the models built on them",
        "# (segments, recommendations) keep their lineage in dbt docs. They do not",
        "# exist before the first ML run: a plain `dbt build` leaves everything",
        "# downstream of this source out (see selectors.yml).",
        "sources:",
        f"  - name: {ML_SCHEMA}",
        f"    schema: {ML_SCHEMA}",
        "    description: "
        + _quote(
            "Output of the decline-risk model (python -m ml.train / ml.score): every run's "
            "rows, kept across versions, tied together by run_id."
        ),
        "    tables:",
    ]
    for table, columns in schema.items():
        lines += [
            f"      - name: {table}",
            f"        description: {_quote(TABLE_DESCRIPTIONS[table])}",
            "        columns:",
            *_column_lines(columns, table, "          "),
        ]
    return _HEADER + "\n".join(lines) + "\n"


def render_latest_run_yml(schema: Schema = TABLES) -> str:
    """The yml of ``segments.latest_training_run``: every ``ml.model_runs`` column."""
    _check(schema)
    lines = [
        "version: 2",
        "",
        "models:",
        f"  - name: {LATEST_RUN_MODEL}",
        "    description: "
        + _quote(
            "The newest training run (python -m ml.train) as one row with every column of "
            "ml.model_runs: `select * from segments.latest_training_run`. Newest = latest "
            "started_at, ties broken by run_id. Empty before the first training run."
        ),
        "    columns:",
        *_column_lines(schema["model_runs"], "model_runs", "      "),
    ]
    return _HEADER + "\n".join(lines) + "\n"


@dataclass(frozen=True)
class GeneratedFile:
    """One file this module renders, and its expected content."""

    path: Path
    content: str

    def is_current(self) -> bool:
        return self.path.exists() and self.path.read_text(encoding="utf-8") == self.content


def generated_files(schema: Schema = TABLES) -> list[GeneratedFile]:
    """Every file rendered from the writer's schema; raises :class:`DocsError` when undescribed."""
    return [
        GeneratedFile(SOURCES_YML, render_sources_yml(schema)),
        GeneratedFile(LATEST_RUN_YML, render_latest_run_yml(schema)),
    ]


def shown(path: Path) -> str:
    """*path* relative to the project root when inside it, for messages."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml.warehouse_docs",
        description="Render the dbt yml that describes the ml.* tables (source `ml` and "
        "segments.latest_training_run) from the writer's schema in ml/warehouse.py and the "
        "descriptions in ml/warehouse_docs.py.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming each file that differs from what would be rendered",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the generated yml files; 1 on a missing description."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        files = generated_files()
    except DocsError as error:
        logger.error("%s", error)
        return 1
    stale = [f for f in files if not f.is_current()]
    if args.check:
        for file in stale:
            logger.error("%s is stale: run `python -m ml.warehouse_docs`", shown(file.path))
        return 1 if stale else 0
    for file in stale:
        file.path.write_text(file.content, encoding="utf-8")
        logger.info("wrote %s", shown(file.path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
