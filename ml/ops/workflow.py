"""The warehouse's jobs as functions: build, ML step then publish, demo, rollback.

Each job takes the single-writer lock and is recorded in the run log. The
command lines (ml.pipeline, ml.train, ml.score) call these; they know nothing
of argument parsing.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ml.config import (
    AFTER_ML_DUCKDB_MEMORY_LIMIT,
    DATA_DIR,
    ENV_RAW_DIR,
    ENV_SAMPLE_DIR,
    ML_SCHEMA,
    Paths,
    keep_versions,
)
from ml.contracts.ml_tables import TABLES
from ml.contracts.sql import quote_identifier, quote_literal
from ml.model.progress import timed_stage
from ml.ops.build_outcome import require_passed_build
from ml.ops.dbt_runner import WarehouseBuildError, build_warehouse, run_dbt
from ml.ops.publish import cleanup_leftovers, fault_point, publish, rollback
from ml.ops.run_log import RunRecord, recorded_run, warehouse_lock

if TYPE_CHECKING:
    from ml.model.scoring import ScoreSettings
    from ml.model.training import TrainSettings

log = logging.getLogger("ml.pipeline")


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
    from ml.io.writer import create_tables

    if not published.exists():
        return 0
    copied = 0
    with duckdb.connect(str(build)) as con:
        create_tables(con)
        alias = attach_alias(con, "published")
        quoted = quote_identifier(alias)
        con.execute(f"attach {quote_literal(str(published))} as {quoted} (read_only)")
        try:
            present = {
                row[0]
                for row in con.execute(
                    "select table_name from information_schema.tables"
                    " where table_catalog = ? and table_schema = ?",
                    [alias, ML_SCHEMA],
                ).fetchall()
            }
            for table in sorted(present & set(TABLES)):
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
    report = run_dbt(
        paths, ("build", "--selector", "after_ml"), memory_limit=AFTER_ML_DUCKDB_MEMORY_LIMIT
    )
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
    from ml.model.training import TrainSettings, run_training

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
    build_locked(paths, wait)
    train_and_publish(paths, wait=wait)
    overview = render_reports(paths, lang)
    log.info("published warehouse: %s", paths.duckdb)
    log.info("report: %s", overview.resolve().as_uri())
    return overview


def build_locked(paths: Paths, wait: float) -> None:
    """`dbt build` of the export into the build file, under the lock, recorded."""
    with warehouse_lock(paths, wait), recorded_run(paths, "warehouse"):
        build_warehouse(paths)
    log.info("build file ready: %s (published by `python -m ml.train`)", paths.build_duckdb)


def rollback_locked(paths: Paths, wait: float, run_id: str | None) -> None:
    """Publish the previous kept version (or *run_id*) again, under the lock, recorded."""
    with warehouse_lock(paths, wait), recorded_run(paths, "rollback") as record:
        version = rollback(paths, run_id)
        record.published_version = version.run_id
