"""The ml.* tables: one definition of every table and column the ML step writes.

Order, SQL type and meaning of each column live here and nowhere else: the
writer (:mod:`ml.io.writer`) creates and fills the tables from it, the dbt
source ``ml`` and ``segments.latest_training_run`` are rendered from it
(``python -m ml.docs.ml_source``), and readers (dbt models, the reports) can
import :data:`TABLES` to know what they read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Column:
    """One column of an ml table: its name, DuckDB type, meaning, and the rules its values keep.

    The rules become the dbt source's data tests (``python -m ml.docs.ml_source``):
    ``not_null``; ``accepted_values``, the only values allowed (nulls pass);
    ``value_range``, inclusive (min, max) bounds, either None for open (nulls
    pass); ``references``, ``"table.column"`` of the ml source every non-null
    value must exist in.
    """

    name: str
    sql_type: str
    description: str
    not_null: bool = False
    accepted_values: tuple[str, ...] = ()
    value_range: tuple[float | None, float | None] | None = None
    references: str | None = None


@dataclass(frozen=True)
class Table:
    """One ml table: what a row is, its columns in write order, and its key.

    ``key``: the columns that identify a row (tested unique and not null).
    ``grid_column``: the key's last column when the table is a full grid (every
    value of the other key columns has one row per value of it, as the SHAP
    values have one row per customer and feature): the key is then tested by
    counting each item per group, which at 16 M rows costs a fraction of
    grouping by the whole key, and a missing item fails too.
    ``run_kinds``: the runs that write rows into it (``train``, ``score``).
    ``newest_run_tested``: the source's tests read only the newest run's rows
    (the largest run id). For the per-customer tables, whose every run adds
    a row per customer (and per feature): each run's rows are tested by the
    dbt build that follows its write, so retesting every kept run would only
    grow the cost of each build.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    newest_run_tested: bool = False
    grid_column: str | None = None
    run_kinds: tuple[str, ...] = ("train", "score")

    def __post_init__(self) -> None:
        unknown = [k for k in self.key if k not in self.column_names]
        if unknown:
            raise ValueError(f"ml.{self.name}: key column(s) {unknown} are not its columns")
        if self.grid_column is not None and self.key[-1:] != (self.grid_column,):
            raise ValueError(
                f"ml.{self.name}: grid column {self.grid_column} is not the last of its key"
            )

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


_OOF = "out-of-fold predictions of every customer at the run's threshold"
_HOLD = "the hold-out customers at the run's threshold"
# Probabilities, rates and ROC-AUCs; and what a count or duration cannot go below.
_UNIT = (0.0, 1.0)
_NON_NEGATIVE = (0.0, None)

# Columns several tables share, declared once.
RUN_ID = Column(
    "run_id",
    "varchar",
    "Run id (UTC start time and a suffix); the key that ties a run's rows in every ml table.",
    not_null=True,
)
# run_id in every table but model_runs: a run's rows belong to a recorded run.
RUN_ID_OF_A_RECORDED_RUN = replace(RUN_ID, references="model_runs.run_id")
CUSTOMER_ID = Column(
    "customer_id", "bigint", "Customer id (marts.customer_features.customer_id).", not_null=True
)
FEATURE = Column(
    "feature",
    "varchar",
    "Mart column (one-hot columns folded back into their feature).",
    not_null=True,
)


# The rates at a threshold: model_runs holds them at the run's threshold,
# evaluation_curves draws each against every threshold.
_RATES = (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"))
CURVES = ("roc", "pr", "calibration", *(f"{key}_at_threshold" for key, _ in _RATES))


def _threshold_columns(prefix: str, rates_of: str, counts_of: str) -> tuple[Column, ...]:
    """The metrics at the run's threshold of one set of predictions: rates, then the counts."""
    counts = (
        ("tp", "True positives"),
        ("fp", "False positives"),
        ("tn", "True negatives"),
        ("fn", "False negatives"),
    )
    return (
        *(
            Column(f"{prefix}_{key}", "double", f"{label} {rates_of}.", value_range=_UNIT)
            for key, label in _RATES
        ),
        *(
            Column(f"{prefix}_{key}", "integer", f"{label} {counts_of}.", value_range=_NON_NEGATIVE)
            for key, label in counts
        ),
    )


def _table(
    name: str,
    description: str,
    *columns: Column,
    key: tuple[str, ...],
    newest_run_tested: bool = False,
    grid_column: str | None = None,
    run_kinds: tuple[str, ...] = ("train", "score"),
) -> tuple[str, Table]:
    return name, Table(name, description, columns, key, newest_run_tested, grid_column, run_kinds)


# Table name -> definition, in the order the tables are created and documented.
TABLES: dict[str, Table] = dict(
    [
        _table(
            "model_runs",
            "One row per training or scoring run: the data it saw (fingerprint, customers), "
            "the code and libraries, the chosen model, its cross-validated, out-of-fold and "
            "hold-out metrics, the decision threshold and the saved model file. "
            "`segments.latest_training_run` is the newest training run.",
            RUN_ID,
            Column(
                "run_kind",
                "varchar",
                "`train` (python -m ml.train) or `score` (python -m ml.score).",
                not_null=True,
                accepted_values=("train", "score"),
            ),
            Column(
                "parent_run_id",
                "varchar",
                "For a scoring run, the training run whose model it used; null otherwise.",
            ),
            Column("started_at", "timestamp", "When the run started (UTC).", not_null=True),
            Column("finished_at", "timestamp", "When the run finished writing its results (UTC)."),
            Column(
                "duration_s",
                "double",
                "Wall-clock duration of the run, seconds.",
                value_range=_NON_NEGATIVE,
            ),
            Column("mart_relation", "varchar", "The feature mart the run read (schema.table)."),
            Column(
                "n_customers",
                "integer",
                "Customers the run trained on or scored.",
                not_null=True,
                value_range=_NON_NEGATIVE,
            ),
            Column(
                "n_declined",
                "integer",
                "Of them, customers whose activity declined (the target); for a scoring run, "
                "null when the export has no target.",
            ),
            Column(
                "data_fingerprint",
                "varchar",
                "SHA-256 of the mart's content, independent of row order: two runs with the same "
                "fingerprint and seed give identical predictions.",
            ),
            Column(
                "code_version",
                "varchar",
                "`git describe` of the project (`-dirty` with local changes), or unknown.",
            ),
            Column(
                "library_versions",
                "varchar",
                "JSON object: versions of Python and the libraries behind the model.",
            ),
            Column("seed", "integer", "Random seed of splits, searches and samples."),
            Column(
                "model_family",
                "varchar",
                "Candidate family of the chosen model (a row of ml.model_candidates).",
            ),
            Column(
                "model_params",
                "varchar",
                "JSON object: the chosen configuration's hyperparameters.",
            ),
            Column(
                "ensemble_members",
                "varchar",
                "The soft vote's member families joined by ` + `; null when the chosen model is "
                "not a soft vote.",
            ),
            Column(
                "ensemble_member_1",
                "varchar",
                "First member family of the soft vote; null otherwise.",
            ),
            Column(
                "ensemble_member_2",
                "varchar",
                "Second member family of the soft vote; null otherwise.",
            ),
            Column(
                "ensemble_member_3",
                "varchar",
                "Third member family of the soft vote; null when it has fewer.",
            ),
            Column(
                "n_configs_tried",
                "integer",
                "Hyperparameter configurations tried by the whole search (every family and the "
                "soft vote): the number the CV winner was picked from.",
                value_range=_NON_NEGATIVE,
            ),
            Column(
                "cv_scheme",
                "varchar",
                "The validation protocol in words (folds, repeats, hold-out, samples).",
            ),
            Column(
                "cv_roc_auc_mean",
                "double",
                "Mean ROC-AUC of the chosen model over the repeated group k-fold CV on the "
                "training part (the selection criterion).",
                value_range=_UNIT,
            ),
            Column(
                "cv_roc_auc_std",
                "double",
                "Standard deviation of that ROC-AUC across the CV folds.",
            ),
            Column(
                "nested_cv_roc_auc_mean",
                "double",
                "With `ml.train --nested-cv`: mean ROC-AUC of the whole selection procedure "
                "(search + selection inside each outer group fold), the honest estimate; null "
                "otherwise.",
                value_range=_UNIT,
            ),
            Column(
                "nested_cv_roc_auc_std", "double", "Its standard deviation across the outer folds."
            ),
            Column(
                "holdout_size",
                "integer",
                "Customers in the hold-out, scored once by the model fitted without them.",
                value_range=_NON_NEGATIVE,
            ),
            Column("holdout_roc_auc", "double", "ROC-AUC on the hold-out.", value_range=_UNIT),
            Column(
                "holdout_brier",
                "double",
                "Brier score (mean squared error of the probability) on the hold-out.",
                value_range=_UNIT,
            ),
            Column(
                "oof_roc_auc",
                "double",
                "ROC-AUC of the pooled out-of-fold probabilities of the training customers.",
                value_range=_UNIT,
            ),
            Column(
                "brier",
                "double",
                "Brier score of the pooled out-of-fold probabilities.",
                value_range=_UNIT,
            ),
            Column(
                "threshold_rule",
                "varchar",
                "How the threshold was chosen: `f1` or `cost:R` (a miss costs R offers).",
            ),
            Column(
                "threshold",
                "double",
                "Decision threshold: a customer with p_decline at or above it is predicted to "
                "decline (the default risk threshold of the segments).",
                not_null=True,
                value_range=_UNIT,
            ),
            *_threshold_columns("oof", f"of the {_OOF}", f"among the {_OOF}"),
            *_threshold_columns("holdout", f"on {_HOLD}", f"on {_HOLD}"),
            Column(
                "shap_method",
                "varchar",
                "How SHAP values were computed: `tree_exact` (TreeSHAP of the producing "
                "model; a soft vote averages its members' exact values) or `constant`; null "
                "when none were.",
            ),
            Column(
                "shap_output_space",
                "varchar",
                "Units of the SHAP values: `probability` or `log_odds`.",
                accepted_values=("probability", "log_odds"),
            ),
            Column(
                "shap_base_value",
                "double",
                "The persisted (final) model's expected probability. Each customer's own base "
                "value, from the model that produced their p_decline, is "
                "ml.predictions.base_value.",
            ),
            Column(
                "importance_rank_corr",
                "double",
                "Spearman correlation of the mean-|SHAP| and permutation rankings of the "
                "features: low means the two explanations disagree.",
            ),
            Column(
                "search_truncated",
                "boolean",
                "True when a candidate's hyperparameter search hit its time budget.",
            ),
            Column(
                "model_path",
                "varchar",
                "Where the fitted pipeline was saved (skops file); null when not saved.",
            ),
            Column(
                "model_sha256",
                "varchar",
                "SHA-256 of that file, to check the model used is the one recorded.",
            ),
            key=("run_id",),
        ),
        _table(
            "model_candidates",
            "Every candidate model family of a training run with its best configuration and "
            "cross-validated ROC-AUC; `is_eligible` marks those whose exact SHAP adds up to "
            "their probability (only they can be selected), `is_selected` the chosen one.",
            RUN_ID_OF_A_RECORDED_RUN,
            Column(
                "family",
                "varchar",
                "Candidate model family (e.g. logistic_regression, random_forest).",
            ),
            Column("description", "varchar", "The family and its preprocessing in words."),
            Column(
                "cv_roc_auc_mean",
                "double",
                "Mean ROC-AUC of the family's best configuration over the CV folds.",
                value_range=_UNIT,
            ),
            Column("cv_roc_auc_std", "double", "Its standard deviation across the folds."),
            Column(
                "fit_time_s", "double", "Mean time to fit the best configuration once, seconds."
            ),
            Column(
                "search_time_s", "double", "Wall-clock time of the family's whole search, seconds."
            ),
            Column("n_configs", "integer", "Hyperparameter configurations tried."),
            Column(
                "best_params", "varchar", "JSON object: the best configuration's hyperparameters."
            ),
            Column("cv_rank", "integer", "Rank by cv_roc_auc_mean, 1 = best."),
            Column(
                "is_selected", "boolean", "True for the family chosen for the run.", not_null=True
            ),
            Column(
                "is_eligible",
                "boolean",
                "True when the family's exact SHAP adds up to its probability over the mart's "
                "features; only eligible candidates can be selected.",
                not_null=True,
            ),
            key=("run_id", "family"),
            run_kinds=("train",),
        ),
        _table(
            "predictions",
            "Per customer and run: the probability of decline and the label at the run's "
            "threshold. In a training run p_decline is out-of-fold for training customers and "
            "from the model fitted on the training part for the hold-out, so honest for every "
            "customer; base_value is the producing model's expected probability.",
            RUN_ID_OF_A_RECORDED_RUN,
            CUSTOMER_ID,
            Column(
                "p_decline",
                "double",
                "Probability that the customer's purchasing activity declines, 0–1: out-of-fold "
                "(from a model that never saw the customer) in a training run, the saved model's "
                "score in a scoring run.",
                not_null=True,
                value_range=_UNIT,
            ),
            Column(
                "predicted_decline",
                "boolean",
                "p_decline ≥ the run's threshold (ml.model_runs.threshold).",
                not_null=True,
            ),
            Column(
                "p_source",
                "varchar",
                "Where p_decline comes from: `oof` (a fold model of the training part that never "
                "saw the customer), `holdout` (the model fitted on the training part), `unseen` "
                "(large exports: a model fitted on a sample that excluded the customer) or "
                "`model` (scoring run: the persisted model).",
                not_null=True,
                accepted_values=("oof", "holdout", "unseen", "model"),
            ),
            Column(
                "fold",
                "integer",
                "Out-of-fold fold that scored the customer; null when not out-of-fold.",
            ),
            Column(
                "is_holdout",
                "boolean",
                "True for the hold-out customers of a training run; null in a scoring run.",
            ),
            Column(
                "base_value",
                "double",
                "Expected probability of the model that produced p_decline: base_value + Σ "
                "ml.shap_values.shap_value = p_decline (within 1e-6).",
                value_range=_UNIT,
            ),
            key=("run_id", "customer_id"),
            newest_run_tested=True,
        ),
        _table(
            "shap_values",
            "Per customer, run and feature (long form): the feature's value and its exact SHAP "
            "contribution, in probability units, from the model that produced the customer's "
            "p_decline: predictions.base_value + Σ shap_value = p_decline.",
            RUN_ID_OF_A_RECORDED_RUN,
            CUSTOMER_ID,
            FEATURE,
            Column("feature_value", "varchar", "The customer's value of the feature, as text."),
            Column(
                "feature_value_num",
                "double",
                "The same value as a number; null for a categorical feature.",
            ),
            Column(
                "shap_value",
                "double",
                "The feature's exact SHAP contribution to the customer's p_decline, in "
                "probability units, from the model that produced it; positive pushes toward "
                "decline.",
                not_null=True,
                value_range=(-1.0, 1.0),
            ),
            Column(
                "shap_rank",
                "integer",
                "The feature's rank among the customer's features by shap_value, largest first, "
                "ties by feature name (1 = strongest push toward decline); what "
                "intermediate.int_risk_drivers_ranked reads. Null in runs written before it "
                "existed and in runs scored on Spark.",
            ),
            Column(
                "actionable_shap_rank",
                "integer",
                "The same rank counted over the actionable features only (mart column meta "
                "`actionable`); null for the other features and where shap_rank is null.",
            ),
            key=("run_id", "customer_id", "feature"),
            newest_run_tested=True,
            grid_column="feature",
        ),
        _table(
            "feature_importance",
            "Per run and feature: global importance as mean |SHAP| and as permutation "
            "importance on the hold-out, with both ranks.",
            RUN_ID_OF_A_RECORDED_RUN,
            FEATURE,
            Column(
                "shap_mean_abs",
                "double",
                "Mean |SHAP value| over every customer.",
                value_range=_NON_NEGATIVE,
            ),
            Column("shap_rank", "integer", "Rank by shap_mean_abs, 1 = most important."),
            Column(
                "permutation_mean",
                "double",
                "Mean drop in hold-out ROC-AUC when the feature's values are shuffled.",
            ),
            Column(
                "permutation_std", "double", "Standard deviation of that drop over the shuffles."
            ),
            Column("permutation_rank", "integer", "Rank by permutation_mean, 1 = most important."),
            Column(
                "is_actionable",
                "boolean",
                "True when marketing can act on the feature (mart column meta).",
            ),
            key=("run_id", "feature"),
            run_kinds=("train",),
        ),
        _table(
            "evaluation_curves",
            "Per run: ROC, precision-recall, calibration and metric-by-threshold curves, "
            "out-of-fold and on the hold-out, as points (the reports draw them).",
            RUN_ID_OF_A_RECORDED_RUN,
            Column(
                "dataset",
                "varchar",
                "`oof` (every customer, out-of-fold) or `holdout`.",
                not_null=True,
                accepted_values=("oof", "holdout"),
            ),
            Column(
                "curve",
                "varchar",
                ", ".join(f"`{curve}`" for curve in CURVES[:-1]) + f" or `{CURVES[-1]}`.",
                not_null=True,
                accepted_values=CURVES,
            ),
            Column("point_index", "integer", "Order of the point along the curve."),
            Column(
                "x",
                "double",
                "roc: false-positive rate; pr: recall; calibration: mean predicted probability "
                "in the bin; *_at_threshold: the threshold.",
            ),
            Column(
                "y",
                "double",
                "roc: true-positive rate; pr: precision; calibration: observed decline rate in "
                "the bin; *_at_threshold: the metric.",
            ),
            Column(
                "threshold", "double", "Probability threshold at the point (null for calibration)."
            ),
            Column(
                "bin_count", "integer", "Customers in the calibration bin (null for other curves)."
            ),
            key=("run_id", "dataset", "curve", "point_index"),
            run_kinds=("train",),
        ),
    ]
)
