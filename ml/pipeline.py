"""Command line for the whole job: `python -m ml.pipeline {warehouse,demo}`.

`warehouse` builds the dbt project on the configured raw export;
`demo` is what `make demo` runs: the main job end to end.
"""

from __future__ import annotations

import argparse
import logging
import sys

from ml.config import ENV_DUCKDB, ENV_RAW_DIR, resolve_paths
from ml.dbt_build import WarehouseBuildError, build_warehouse

log = logging.getLogger("ml.pipeline")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml.pipeline",
        description="Build the One Click warehouse (and, for `demo`, everything after it).",
    )
    parser.add_argument(
        "step",
        choices=("warehouse", "demo"),
        help="warehouse: dbt build with every test; demo: the main job end to end",
    )
    parser.add_argument(
        "--raw-dir",
        help=f"directory with the four export CSVs (default: ${ENV_RAW_DIR} or data/raw)",
    )
    parser.add_argument(
        "--duckdb",
        help=f"warehouse file to build (default: ${ENV_DUCKDB} or data/warehouse/one_click.duckdb)",
    )
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the chosen step; exit code 0 on success, 1 with a one-line cause otherwise."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    paths = resolve_paths(raw_dir=args.raw_dir, duckdb=args.duckdb)
    try:
        build_warehouse(paths)
    except WarehouseBuildError as error:
        log.error("%s", error)
        return 1
    log.info("warehouse ready: %s", paths.duckdb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
