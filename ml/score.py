"""Command line: ``python -m ml.score`` scores a mart with the persisted model, no retraining.

Appends a ``run_kind = 'score'`` run to ``ml.model_runs``, its predictions to
``ml.predictions`` and their SHAP values to ``ml.shap_values`` under a new run
id; see :mod:`ml.model.scoring`.
"""

from __future__ import annotations

import argparse
import sys

from ml.config import resolve_paths
from ml.contracts.command_line import configure_logging
from ml.ops.cli import ml_step_parser, run_command, run_step


def build_parser() -> argparse.ArgumentParser:
    """The ml.score argument parser (every option explained in --help)."""
    parser = ml_step_parser(
        "python -m ml.score",
        (
            "Score every customer of a customer_features mart (same dbt contract) with the "
            "model persisted by ml.train, without retraining. Appends one ml.model_runs row "
            "(run_kind 'score', parent_run_id = the training run), one ml.predictions row "
            "per customer and their SHAP values (ml.shap_values) under a new run id, in one "
            "transaction; earlier runs are kept."
        ),
    )
    parser.add_argument(
        "--no-shap",
        action="store_true",
        help="Skip the SHAP values (faster; the segments then list no reasons or offers).",
    )
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="Where the mart is: duckdb (default) scores the build file and publishes as "
        "above; spark scores marts.customer_features of `dbt build --target spark` on Spark, "
        "in parallel, and appends the run to the Spark tables ml.model_runs, ml.predictions "
        "and ml.shap_values (catalog from the spark target in profiles.yml; no publish step, "
        "so --duckdb, --build-duckdb, --raw-dir, --no-publish, --no-reports, --lang and --wait "
        "do not apply). Needs `pip install -e .[spark]` and Java 17.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse options, score, write back; return the process exit status."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.engine == "spark":
        return _score_on_spark(args)
    from ml.model.scoring import ScoreSettings, run_scoring

    return run_step(
        args, "score", run_scoring, ScoreSettings(relation=args.relation, explain=not args.no_shap)
    )


def _score_on_spark(args: argparse.Namespace) -> int:
    """Score on Spark with the options of ml.score; return the process exit status."""
    from ml.spark import SparkScoreSettings, score_on_spark, spark_session  # needs the extra

    settings = SparkScoreSettings(
        relation=args.relation,
        models_dir=resolve_paths(models_dir=args.models_dir).models_dir,
        explain=not args.no_shap,
    )

    def action() -> None:
        spark = spark_session()
        try:
            score_on_spark(spark, settings)
        finally:
            spark.stop()

    return run_command(action, not args.no_progress)


if __name__ == "__main__":
    sys.exit(main())
