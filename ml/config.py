"""Every path and environment override of the project, in one place.

Paths are anchored on the project root, never on the current directory, except
where the user passes a relative path on purpose (then it is relative to where
they stand, as any command-line tool would treat it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Environment variables a user may set; README documents each.
ENV_RAW_DIR = "ONE_CLICK_RAW_DIR"
ENV_DUCKDB = "ONE_CLICK_DUCKDB"
ENV_BUILD_DUCKDB = "ONE_CLICK_BUILD_DUCKDB"
ENV_KEEP_VERSIONS = "ONE_CLICK_KEEP_VERSIONS"
ENV_REPORTS_DIR = "ONE_CLICK_REPORTS_DIR"
ENV_MODELS_DIR = "ONE_CLICK_MODELS_DIR"
ENV_SAMPLE_DIR = "ONE_CLICK_SAMPLE_DIR"  # where `make demo` writes synthetic data
# DuckDB's memory budget, read by profiles.yml (default 8GB; see AFTER_ML_DUCKDB_MEMORY_LIMIT)
ENV_DUCKDB_MEMORY_LIMIT = "ONE_CLICK_DUCKDB_MEMORY_LIMIT"

DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_RAW_DIR = DATA_DIR / "raw"
DEFAULT_DUCKDB = DATA_DIR / "warehouse" / "one_click.duckdb"
DEFAULT_KEEP_VERSIONS = 3
DEFAULT_REPORTS_DIR = DATA_DIR / "reports"
DEFAULT_MODELS_DIR = DATA_DIR / "models"
DBT_TARGET_DIR = DATA_DIR / "dbt" / "target"
DBT_LOG_DIR = DATA_DIR / "dbt" / "logs"

# The dbt contract of the feature mart: the one place that lists its columns,
# their types and their role for the model (see ml/contracts/features.py).
MART_CONTRACT_YML = PROJECT_ROOT / "dbt_project" / "models" / "marts" / "_marts__models.yml"
MART_MODEL = "customer_features"
MART_RELATION = "marts.customer_features"
ML_SCHEMA = "ml"

# The four files of the shop's export, by source table name.
RAW_FILES = ("market_file", "market_money", "market_time", "money")


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class Paths:
    """Resolved locations for one run; build it with :func:`resolve_paths`.

    `duckdb` is the published warehouse that analysts and reports open
    read-only; dbt and the ML step write `build_duckdb`, which replaces the
    published file only when a whole run succeeded (see ml/publish.py).
    """

    raw_dir: Path
    duckdb: Path
    reports_dir: Path
    models_dir: Path
    build_duckdb: Path | None = None

    def __post_init__(self) -> None:
        if self.build_duckdb is None:
            object.__setattr__(self, "build_duckdb", default_build_duckdb(self.duckdb))

    @property
    def versions_dir(self) -> Path:
        """Earlier published versions, kept for rollback."""
        return self.duckdb.parent / "versions"

    @property
    def run_log(self) -> Path:
        """The run log survives failed runs, so it lives outside any warehouse file."""
        return self.duckdb.parent / "run_log.duckdb"

    @property
    def lock_file(self) -> Path:
        return self.duckdb.parent / f".{self.duckdb.name}.lock"


def default_build_duckdb(published: Path) -> Path:
    """`<dir>/build/<name>`: same directory tree, so publishing is a same-filesystem rename.

    profiles.yml derives the same default with a regex; keep the two in step.
    """
    return published.parent / "build" / published.name


def resolve_paths(
    raw_dir: str | Path | None = None,
    duckdb: str | Path | None = None,
    reports_dir: str | Path | None = None,
    models_dir: str | Path | None = None,
    build_duckdb: str | Path | None = None,
) -> Paths:
    """Explicit arguments win over environment variables, which win over defaults."""
    published = Path(duckdb) if duckdb else _path_from_env(ENV_DUCKDB, DEFAULT_DUCKDB)
    if build_duckdb:
        build = Path(build_duckdb)
    elif os.environ.get(ENV_BUILD_DUCKDB):
        build = Path(os.environ[ENV_BUILD_DUCKDB]).expanduser()
    else:
        build = default_build_duckdb(published)
    return Paths(
        raw_dir=Path(raw_dir) if raw_dir else _path_from_env(ENV_RAW_DIR, DEFAULT_RAW_DIR),
        duckdb=published,
        build_duckdb=build,
        reports_dir=Path(reports_dir)
        if reports_dir
        else _path_from_env(ENV_REPORTS_DIR, DEFAULT_REPORTS_DIR),
        models_dir=Path(models_dir)
        if models_dir
        else _path_from_env(ENV_MODELS_DIR, DEFAULT_MODELS_DIR),
    )


def keep_versions() -> int:
    """How many published versions to keep ($ONE_CLICK_KEEP_VERSIONS, default 3)."""
    return int(os.environ.get(ENV_KEEP_VERSIONS, DEFAULT_KEEP_VERSIONS))


# ---------------------------------------------------------------------------
# ML step constants (ml.train / ml.score). Defaults of the command-line
# options live here so the CLI, the tests and the model card agree on them.
# ---------------------------------------------------------------------------

# Seed 42 and a 25 % stratified hold-out match the published solutions on this
# data set, so the hold-out figure can be compared with theirs.
DEFAULT_SEED = 42
HOLDOUT_FRACTION = 0.25

# Repeated stratified *group* k-fold on the training part: duplicate records
# never straddle a train/validation boundary.
CV_FOLDS = 5
CV_REPEATS = 3
# Folds of the out-of-fold pass over every customer (one repetition: each
# customer's probability comes from exactly one model that never saw it).
OOF_FOLDS = 5

# Random-search configurations tried per model family (the first one is a
# hand-picked default, the rest are sampled from the family's space). Every
# configuration is screened on the first CV repetition; the best
# RACE_FINALISTS are then scored on all repetitions (racing).
DEFAULT_SEARCH_SIZE = 6
RACE_FINALISTS = 2
# Soft-voting ensemble candidate: average of the best configurations of the
# top-k families by cross-validated ROC-AUC (a third member added ~0.0005 in
# research for +50 % fit, scoring and explanation cost).
ENSEMBLE_TOP_K = 2
# ml.model_runs has one column per member (ensemble_member_1 ..), so the
# ensemble is capped at this many.
MAX_ENSEMBLE_MEMBERS = 3
DEFAULT_N_JOBS = 2

# Decision threshold rule: "f1" maximises F1 on out-of-fold predictions;
# "cost:<r>" minimises r * missed decliners + wasted offers; "fixed:<t>".
DEFAULT_THRESHOLD_RULE = "f1"
CALIBRATION_BINS = 10

# Exact SHAP only (ml/explain.py): base value + the sum of a customer's SHAP
# values must equal the published probability within this tolerance, else
# the run fails rather than write an explanation of another number.
SHAP_ADDITIVITY_TOLERANCE = 1e-6
# From this many rows per batch, TreeSHAP runs tree by tree once per decision
# pattern (rows taking the same side at every split share their values
# exactly); below it the explainer's own loop over rows is cheaper than the
# per-tree set-up. At 1 M customers and 20-tree large-N forests this cuts
# SHAP from minutes to seconds (bench/results/ml_train.md).
PATTERN_SHAP_MIN_ROWS = 20_000
PERMUTATION_REPEATS = 5

# Large-N mode. Above LARGE_N_CUSTOMERS the protocol above would not finish
# on two cores (group k-fold alone takes ~30 s per 200 k rows, forests'
# SHAP hours per million), so training changes in stated ways:
# - the family search runs on a stratified group sample of
#   LARGE_N_SEARCH_SAMPLE training customers (same folds for every family);
# - the evaluated model is fitted on LARGE_N_FIT_SAMPLE training customers
#   (out-of-fold inside that sample; threshold on those) and scores everyone
#   else, the hold-out included, as unseen customers; it is also the final model;
# - only exactly explainable families are searched, forests at a bounded size
#   (ml.model.candidates.LARGE_N_FOREST_SPACE), so exact SHAP of every customer
#   costs time linear in customers (no k-NN, SVC, boosting, PCA projections
#   or soft vote);
# - scoring and SHAP run in batches of SCORE_BATCH_ROWS (at any size),
#   permutation importance on a PERMUTATION_MAX_ROWS sample of the hold-out.
# The CV standard error on 10 k customers is ~0.005; time and memory at 1 M
# are in bench/results/ml_train.md.
LARGE_N_CUSTOMERS = 20_000
LARGE_N_SEARCH_SAMPLE = 10_000
LARGE_N_FIT_SAMPLE = 200_000
LARGE_N_FAMILIES = ("dummy", "tree", "random_forest", "extra_trees")
# Exact TreeSHAP work per customer (trees x leaves x depth^2) allowed when
# explaining a large-N run or scoring a large export; large-N forests are
# kept below it (ml.model.candidates.LARGE_N_FOREST_SPACE), so the explanation time
# grows linearly with the customers.
LARGE_N_TREE_SHAP_WORK_PER_CUSTOMER = 1.0e5
SCORE_BATCH_ROWS = 100_000
# DuckDB's memory budget for the segment models built after the ML step
# (`dbt build --selector after_ml` inside ml.train / ml.score), unless
# ONE_CLICK_DUCKDB_MEMORY_LIMIT is set. They run in the same process as the
# model, and DuckDB keeps what it reads cached up to its budget (the
# profile's 8 GB for a plain `dbt build`), so that budget, not the work,
# set the process's peak at a million customers. Past it DuckDB spills to a
# temporary file beside the warehouse; none of these models sorts 16 M rows,
# so at a million customers they fit within it (bench/results/ml_train.md).
AFTER_ML_DUCKDB_MEMORY_LIMIT = "1536MB"
# Permutation importance shuffles at most this many hold-out customers.
PERMUTATION_MAX_ROWS = 20_000
# ROC and precision-recall curves are thinned to at most this many points
# (a million customers would otherwise store a million points per curve).
CURVE_MAX_POINTS = 2000

# Files written next to each other in the models directory.
MODEL_FILE = "decline_model.skops"
MODEL_CARD_JSON = "decline_model.card.json"
MODEL_CARD_MD = "decline_model.card.md"
