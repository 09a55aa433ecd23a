"""Command line for the warehouse as a whole: build, demo, rollback, versions.

    python -m ml.pipeline warehouse   # dbt build into the build file
    python -m ml.pipeline demo        # the main job end to end (what `make demo` runs)
    python -m ml.pipeline rollback    # publish the previous kept version again
    python -m ml.pipeline versions    # list kept versions, marking the published one

Every step takes the single-writer lock and is recorded in the run log.
"""

from __future__ import annotations

import argparse
import logging
import sys

from ml.config import ENV_BUILD_DUCKDB, ENV_DUCKDB, ENV_RAW_DIR, Paths, resolve_paths
from ml.dbt_build import WarehouseBuildError, build_warehouse
from ml.publish import PublishError, current_version, list_versions, rollback
from ml.run_log import LockedError, recorded_run, warehouse_lock

log = logging.getLogger("ml.pipeline")

EXPECTED_ERRORS = (WarehouseBuildError, PublishError, LockedError, FileNotFoundError)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml.pipeline",
        description="Build, publish and manage the One Click warehouse.",
    )
    parser.add_argument(
        "step",
        choices=("warehouse", "demo", "rollback", "versions"),
        help="warehouse: dbt build (every test) into the build file; demo: the main job end "
        "to end; rollback: publish the previous kept version (or --to RUN_ID); versions: "
        "list the kept versions",
    )
    parser.add_argument(
        "--raw-dir",
        help=f"directory with the four export CSVs (default: ${ENV_RAW_DIR} or data/raw)",
    )
    parser.add_argument(
        "--duckdb",
        help=f"published warehouse file (default: ${ENV_DUCKDB} or "
        "data/warehouse/one_click.duckdb)",
    )
    parser.add_argument(
        "--build-duckdb",
        help=f"private build file (default: ${ENV_BUILD_DUCKDB} or build/<name> beside "
        "the published file)",
    )
    parser.add_argument("--to", metavar="RUN_ID", help="rollback: the version to publish")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another run holds the lock, wait this long before giving up (default 0)",
    )
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    return parser


def _warehouse(paths: Paths, wait: float) -> None:
    with warehouse_lock(paths, wait), recorded_run(paths, "warehouse"):
        build_warehouse(paths)
    log.info("build file ready: %s (published by `python -m ml.train`)", paths.build_duckdb)


def _rollback(paths: Paths, wait: float, run_id: str | None) -> None:
    with warehouse_lock(paths, wait), recorded_run(paths, "rollback") as record:
        version = rollback(paths, run_id)
        record.published_version = version.run_id


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
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    paths = resolve_paths(raw_dir=args.raw_dir, duckdb=args.duckdb, build_duckdb=args.build_duckdb)
    try:
        if args.step in ("warehouse", "demo"):
            _warehouse(paths, args.wait)
        elif args.step == "rollback":
            _rollback(paths, args.wait, args.to)
        else:
            _versions(paths)
    except EXPECTED_ERRORS as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
