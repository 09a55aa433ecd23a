"""What every command line shares: options, logging, the expected errors and exit codes."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from tqdm.contrib.logging import logging_redirect_tqdm

from ml.config import (
    ENV_BUILD_DUCKDB,
    ENV_DUCKDB,
    ENV_MODELS_DIR,
    ENV_RAW_DIR,
    MART_RELATION,
    resolve_paths,
)
from ml.contracts.command_line import add_logging_options, command_parser
from ml.io.mart import MartError
from ml.io.writer import WriteBackError
from ml.model.store import ModelStoreError
from ml.ops.build_outcome import BuildNotPassedError, read_invocations, refusal
from ml.ops.dbt_runner import WarehouseBuildError
from ml.ops.publish import PublishError
from ml.ops.run_log import LockedError
from ml.ops.workflow import render_reports, run_ml_step_and_publish

logger = logging.getLogger("ml")

# Errors whose message is the whole story for the user: one line, no traceback
# (OSError covers a warehouse folder that cannot be made or written).
EXPECTED_ERRORS = (
    BuildNotPassedError,
    MartError,
    ModelStoreError,
    WriteBackError,
    WarehouseBuildError,
    PublishError,
    LockedError,
    ValueError,
    OSError,
)


def ml_step_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The parser of an ML step (ml.train, ml.score): the common options already added."""
    parser = command_parser(prog, description)
    add_common_options(parser)
    return parser


def add_location_options(parser: argparse.ArgumentParser) -> None:
    """Where the export, the build file and the published warehouse are (every command)."""
    parser.add_argument(
        "--duckdb",
        type=Path,
        metavar="PATH",
        help=f"Published warehouse that analysts read (default: ${ENV_DUCKDB} or "
        "data/warehouse/one_click.duckdb). Steps work on the private build file and then "
        "replace this file atomically.",
    )
    parser.add_argument(
        "--build-duckdb",
        type=Path,
        metavar="PATH",
        help=f"Private build file that `dbt build` writes and the ML step reads (default: "
        f"${ENV_BUILD_DUCKDB} or build/<name> beside the published file).",
    )
    parser.add_argument(
        "--raw-dir",
        type=Path,
        metavar="DIR",
        help=f"The export's four CSV files (default: ${ENV_RAW_DIR} or data/raw). The ML "
        "step refuses a build file whose latest complete `dbt build` failed, did not finish, "
        "or read other files than these.",
    )


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """How a run waits for the lock and which language its reports speak."""
    parser.add_argument(
        "--lang",
        choices=("en", "ru"),
        default="en",
        help="Language of the HTML reports (default: en).",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="When another run holds the warehouse lock, wait this long before giving up "
        "(default: 0, refuse at once).",
    )


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options of both ML commands (ml.train, ml.score): locations, publishing, logging."""
    add_location_options(parser)
    parser.add_argument(
        "--no-publish",
        action="store_true",
        help="Only write the ml.* tables into the build file: no segment models, no publish, "
        "no reports (for experiments).",
    )
    parser.add_argument(
        "--no-reports",
        action="store_true",
        help="Publish without rendering the HTML reports (python -m reports.build does it).",
    )
    add_run_options(parser)
    parser.add_argument(
        "--relation",
        default=MART_RELATION,
        metavar="SCHEMA.TABLE",
        help=f"Feature mart to read; its columns must match the dbt contract "
        f"(default: {MART_RELATION}).",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        metavar="DIR",
        help=f"Directory of the persisted model and its card "
        f"(default: ${ENV_MODELS_DIR} or data/models).",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="Hide the per-stage progress bars (they go to stderr; logging stays on).",
    )
    add_logging_options(parser)


def run_command(action: Callable[[], object], progress: bool) -> int:
    """Run *action*; 0 on success, 1 with a one-line cause on failure.

    Known failures (bad mart, missing model, rolled-back write) are logged as
    one line; anything else also gets its traceback at DEBUG level.
    """
    try:
        if progress:
            with logging_redirect_tqdm():
                action()
        else:
            action()
    except EXPECTED_ERRORS as error:
        logger.error("%s: %s", type(error).__name__, error)
        return 1
    except Exception as error:
        logger.error(
            "unexpected %s: %s (rerun with --log-level DEBUG for the traceback)",
            type(error).__name__,
            error,
        )
        logger.debug("traceback", exc_info=True)
        return 1
    return 0


def run_step(
    args: argparse.Namespace,
    step: str,
    run: Callable[..., object],
    settings: Any,
) -> int:
    """What `ml.train` and `ml.score` do once their settings are built.

    With --no-publish only *run* on the build file; otherwise the whole
    publish sequence (:func:`ml.ops.workflow.run_ml_step_and_publish`), then the reports
    unless --no-reports.
    """
    paths = resolve_paths(
        raw_dir=args.raw_dir,
        duckdb=args.duckdb,
        build_duckdb=args.build_duckdb,
        models_dir=args.models_dir,
    )
    settings = dataclasses.replace(settings, models_dir=paths.models_dir)

    def action() -> None:
        if args.no_publish:
            _warn_unless_passed(paths.build_duckdb, paths.raw_dir)
            run(paths.build_duckdb, settings)
            return
        run_ml_step_and_publish(paths, step, run, settings, wait=args.wait)
        if not args.no_reports:
            render_reports(paths, args.lang)

    return run_command(action, not args.no_progress)


def _warn_unless_passed(build_duckdb: Path, raw_dir: Path) -> None:
    """--no-publish writes only into the private build file, so an unchecked build is allowed
    (experiments on hand-made marts), but never silently."""
    if not build_duckdb.exists():
        return  # the step itself says the file does not exist
    try:
        reason = refusal(read_invocations(build_duckdb), raw_dir, build_duckdb)
    except duckdb.Error as error:
        reason = f"cannot read its build outcome ({error})"
    if reason:
        logger.warning("--no-publish on a build that would not be published: %s", reason)
