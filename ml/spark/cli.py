"""`python -m ml.score --engine spark`: the Spark scoring run behind the score CLI's options."""

from __future__ import annotations

import argparse
import logging

from ml.cli_support import run_command
from ml.config import resolve_paths
from ml.spark.scoring import SparkScoreSettings, score_on_spark
from ml.spark.session import spark_session

logger = logging.getLogger(__name__)


def run_spark_scoring(args: argparse.Namespace) -> int:
    """Score on Spark with the options of ml.score; return the process exit status."""
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
