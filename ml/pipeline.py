"""Command line for the warehouse as a whole: build, demo, rollback, versions.

    python -m ml.pipeline warehouse   # dbt build into the build file
    python -m ml.pipeline demo        # the main job end to end (what `make demo` runs)
    python -m ml.pipeline rollback    # publish the previous kept version again
    python -m ml.pipeline versions    # list kept versions, marking the published one

Every step takes the single-writer lock and is recorded in the run log.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ml.build_outcome import BuildNotPassedError, require_passed_build
from ml.config import (
    DATA_DIR,
    ENV_BUILD_DUCKDB,
    ENV_DUCKDB,
    ENV_RAW_DIR,
    ENV_SAMPLE_DIR,
    ML_SCHEMA,
    ML_TABLES,
    Paths,
    keep_versions,
    resolve_paths,
)
from ml.dbt_build import WarehouseBuildError, build_warehouse, run_dbt
from ml.progress import timed_stage
from ml.publish import (
    PublishError,
    cleanup_leftovers,
    current_version,
    fault_point,
    list_versions,
    publish,
    rollback,
)
from ml.run_log import LockedError, RunRecord, recorded_run, warehouse_lock

if TYPE_CHECKING:
    from ml.scoring import ScoreSettings
    from ml.training import TrainSettings

log = logging.getLogger("ml.pipeline")

# Errors whose message is the whole story: one line, no traceback (OSError
# covers a warehouse folder that cannot be made or written).
EXPECTED_ERRORS = (
    WarehouseBuildError,
    BuildNotPassedError,
    PublishError,
    LockedError,
    OSError,
)


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
        "--customers",
        type=int,
        default=5000,
        help="demo: synthetic customers to generate when the raw directory is empty (default 5000)",
    )
    parser.add_argument("--seed", type=int, default=42, help="demo: sample-data seed (default 42)")
    parser.add_argument(
        "--lang", choices=("en", "ru"), default="en", help="demo: report language (default en)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another run holds the lock, wait this long before giving up (default 0)",
    )
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    return parser


def attach_alias(con: duckdb.DuckDBPyConnection, wanted: str) -> str:
    """A database alias not in use on *con*: *wanted*, else *wanted*_2, _3, ...

    A database file's catalogue is named after the file, which the user
    chooses (`ONE_CLICK_DUCKDB=.../published.duckdb` names the build file's
    catalogue `published`), so no fixed alias is safe.
    """
    databases = con.execute("select database_name from duckdb_databases()").fetchall()
    taken = {row[0].lower() for row in databases}
    alias, n = wanted, 1
    while alias.lower() in taken:
        n += 1
        alias = f"{wanted}_{n}"
    return alias


def carry_over_ml_history(build: Path, published: Path) -> int:
    """Copy earlier runs' ml.* rows from the published warehouse into a fresh build file.

    dbt rebuilds the build file from nothing, but model cards link runs and
    analysts compare them: the history must follow each new version. Rows of
    run ids the build already holds are left alone. Returns rows copied.
    """
    from ml.warehouse import create_tables  # the ml table definitions live there

    if not published.exists():
        return 0
    copied = 0
    with duckdb.connect(str(build)) as con:
        create_tables(con)
        alias = attach_alias(con, "published")
        quoted = '"' + alias.replace('"', '""') + '"'
        path = str(published).replace("'", "''")
        con.execute(f"attach '{path}' as {quoted} (read_only)")
        try:
            present = {
                row[0]
                for row in con.execute(
                    "select table_name from information_schema.tables"
                    " where table_catalog = ? and table_schema = ?",
                    [alias, ML_SCHEMA],
                ).fetchall()
            }
            for table in sorted(present & set(ML_TABLES)):
                before = con.execute(f"select count(*) from {ML_SCHEMA}.{table}").fetchone()[0]
                con.execute(
                    f"insert into {ML_SCHEMA}.{table} by name "
                    f"select * from {quoted}.{ML_SCHEMA}.{table} "
                    f"where run_id not in (select run_id from {ML_SCHEMA}.{table})"
                )
                after = con.execute(f"select count(*) from {ML_SCHEMA}.{table}").fetchone()[0]
                copied += after - before
        finally:
            con.execute(f"detach {quoted}")
    log.info("carried %d rows of earlier ML runs over from %s", copied, published)
    return copied


def build_after_ml(paths: Paths) -> None:
    """Build and test the models on the ML output (segments, drivers, offers)."""
    report = run_dbt(paths, ("build", "--selector", "after_ml"))
    if not report.success:
        raise WarehouseBuildError(
            "dbt build of the ML-dependent models failed:\n  - " + "\n  - ".join(report.problems)
        )


def finish_ml_run(paths: Paths, record: RunRecord, ml_step: Callable[[str], object]) -> None:
    """Run an ML step on the build file, build what depends on it, then publish.

    The order is the point: analysts see the new warehouse only once the ML
    tables are written, the segment models built and every test passed.
    """
    cleanup_leftovers(paths)
    # Only a complete, passed `dbt build` of the export in use may be published.
    require_passed_build(paths.build_duckdb, paths.raw_dir)
    carry_over_ml_history(paths.build_duckdb, paths.duckdb)
    ml_step(record.run_id)
    fault_point("ml:written")
    with timed_stage("segments"):
        build_after_ml(paths)
    with timed_stage("publish"):
        publish(paths, record.run_id, keep_versions())
    record.published_version = record.run_id


def run_ml_step_and_publish(
    paths: Paths,
    step: str,
    run: Callable[[Path, object], object],
    settings: TrainSettings | ScoreSettings,
    wait: float = 0.0,
) -> str:
    """Lock, record, run *run(build_file, settings)* with this run's id, build, test, publish.

    Serves `ml.train` (step 'train', run_training) and `ml.score` (step
    'score', run_scoring). Returns the run id.
    """
    with warehouse_lock(paths, wait), recorded_run(paths, step) as record:
        finish_ml_run(
            paths,
            record,
            lambda run_id: run(
                paths.build_duckdb,
                dataclasses.replace(settings, run_id=run_id, models_dir=paths.models_dir),
            ),
        )
    return record.run_id


def train_and_publish(
    paths: Paths, settings: TrainSettings | None = None, wait: float = 0.0
) -> str:
    """`python -m ml.train`'s job: train on the build file, build segments, publish."""
    from ml.training import TrainSettings, run_training

    return run_ml_step_and_publish(paths, "train", run_training, settings or TrainSettings(), wait)


def render_reports(paths: Paths, lang: str = "en") -> Path:
    """Render the HTML reports from the published warehouse; return the overview page."""
    from reports.build import build_reports

    build_reports(paths.duckdb, paths.reports_dir, lang=lang)
    return paths.reports_dir / "index.html"


def demo(paths: Paths, customers: int, seed: int, lang: str, wait: float) -> Path:
    """The main job end to end; uses synthetic sample data when the raw directory is empty."""
    from ml.sample_data import write_sample

    if not (paths.raw_dir / "market_file.csv").exists():
        sample_dir = Path(os.environ.get(ENV_SAMPLE_DIR, DATA_DIR / "sample" / "raw"))
        log.warning(
            "no export in %s: generating SYNTHETIC sample data (%d customers, seed %d) in %s; "
            "set %s to run on a real export",
            paths.raw_dir,
            customers,
            seed,
            sample_dir,
            ENV_RAW_DIR,
        )
        write_sample(sample_dir, customers, seed)
        paths = dataclasses.replace(paths, raw_dir=sample_dir)
    _warehouse(paths, wait)
    train_and_publish(paths, wait=wait)
    overview = render_reports(paths, lang)
    log.info("published warehouse: %s", paths.duckdb)
    log.info("report: %s", overview.resolve().as_uri())
    return overview


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
        if args.step == "warehouse":
            _warehouse(paths, args.wait)
        elif args.step == "demo":
            demo(paths, args.customers, args.seed, args.lang, args.wait)
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
