"""Command line for the warehouse as a whole: build, demo, rollback, versions.

    python -m ml.pipeline warehouse   # dbt build into the build file
    python -m ml.pipeline demo        # the main job end to end (what `make demo` runs)
    python -m ml.pipeline rollback    # publish the previous kept version again
    python -m ml.pipeline versions    # list kept versions, marking the published one

Every step takes the single-writer lock and is recorded in the run log
(the jobs themselves: :mod:`ml.ops.workflow`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from ml.config import Paths, resolve_paths
from ml.contracts.command_line import add_logging_options, command_parser, configure_logging
from ml.ops.cli import add_location_options, add_run_options, run_command
from ml.ops.publish import current_version, list_versions
from ml.ops.workflow import build_locked, demo, rollback_locked

log = logging.getLogger("ml.pipeline")


def _parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "python -m ml.pipeline", "Build, publish and manage the One Click warehouse."
    )
    parser.add_argument(
        "step",
        choices=("warehouse", "demo", "rollback", "versions"),
        help="warehouse: dbt build (every test) into the build file; demo: the main job end "
        "to end; rollback: publish the previous kept version (or --to RUN_ID); versions: "
        "list the kept versions",
    )
    add_location_options(parser)
    parser.add_argument("--to", metavar="RUN_ID", help="rollback: the version to publish")
    parser.add_argument(
        "--customers",
        type=int,
        default=5000,
        help="demo: synthetic customers to generate when the raw directory is empty (default 5000)",
    )
    parser.add_argument("--seed", type=int, default=42, help="demo: sample-data seed (default 42)")
    add_run_options(parser)
    add_logging_options(parser)
    return parser


def _versions(paths: Paths) -> None:
    current = current_version(paths)
    versions = list_versions(paths)
    if not versions:
        log.info("no published version of %s yet", paths.duckdb)
    for version in versions:
        marker = "* " if current and version.run_id == current.run_id else "  "
        sys.stdout.write(f"{marker}{version.run_id}  {version.path}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen step; exit code 0 on success, 1 with a one-line cause otherwise."""
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    paths = resolve_paths(raw_dir=args.raw_dir, duckdb=args.duckdb, build_duckdb=args.build_duckdb)
    steps = {
        "warehouse": lambda: build_locked(paths, args.wait),
        "demo": lambda: demo(paths, args.customers, args.seed, args.lang, args.wait),
        "rollback": lambda: rollback_locked(paths, args.wait, args.to),
        "versions": lambda: _versions(paths),
    }
    return run_command(steps[args.step], progress=args.step == "demo")


if __name__ == "__main__":
    sys.exit(main())
