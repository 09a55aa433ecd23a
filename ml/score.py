"""Command line: ``python -m ml.score`` scores a mart with the persisted model, no retraining.

Appends a ``run_kind = 'score'`` run to ``ml.model_runs``, its predictions to
``ml.predictions`` and their SHAP values to ``ml.shap_values`` under a new run
id; see :mod:`ml.model.scoring`.
"""

from __future__ import annotations

import argparse
import sys

from ml.ops.cli import configure_logging, ml_step_parser, run_step


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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse options, score, write back; return the process exit status."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    from ml.model.scoring import ScoreSettings, run_scoring

    return run_step(
        args, "score", run_scoring, ScoreSettings(relation=args.relation, explain=not args.no_shap)
    )


if __name__ == "__main__":
    sys.exit(main())
