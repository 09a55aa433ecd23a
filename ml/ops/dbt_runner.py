"""Run `dbt build` in-process and turn a failure into a message a user can act on.

dbt itself prints one line per failing row (file, line, value, rule: the
on-run-end report of dbt_project/macros/console_report.sql, which it also
stores in the build file); this wrapper raises with those same lines.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ml.config import (
    DBT_LOG_DIR,
    DBT_TARGET_DIR,
    ENV_BUILD_DUCKDB,
    ENV_DUCKDB,
    ENV_DUCKDB_MEMORY_LIMIT,
    ENV_RAW_DIR,
    PROJECT_ROOT,
    Paths,
)

log = logging.getLogger(__name__)

MAX_FAILING_ROWS_SHOWN = 10

# dbt's saved parse of the project, in its target directory.
PARTIAL_PARSE_FILE = DBT_TARGET_DIR / "partial_parse.msgpack"
# One saved parse per build file (see _saved_parse); the newest few are kept.
PARTIAL_PARSE_CACHE = DBT_TARGET_DIR.parent / "partial_parse"
PARTIAL_PARSES_KEPT = 8


class WarehouseBuildError(RuntimeError):
    """dbt stopped: the message says which node failed and why, with failing rows."""


@dataclass
class BuildReport:
    """What one dbt invocation did."""

    success: bool
    n_passed: int = 0
    n_warned: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for dbt (profiles and sources read them)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _saved_parse(build_duckdb: Path, memory_limit: str) -> Path:
    """Where dbt's parse of the project is kept for builds into *build_duckdb*.

    dbt reuses its last parse (saving ~2 s) only while the profile is
    unchanged, and the profile holds the build file's path and memory limit:
    building one warehouse after another (tests, benchmarks, 1 k then 1 M)
    parsed everything again each time. dbt still checks the parse it is given
    and starts afresh if anything differs, so a stale copy costs a parse,
    never a wrong build.
    """
    key = f"{build_duckdb.resolve()}|{memory_limit}"
    return PARTIAL_PARSE_CACHE / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.msgpack"


def _copy_atomically(source: Path, destination: Path) -> None:
    """Copy, then rename into place: a reader sees the old file or the new one."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{os.getpid()}")
    shutil.copyfile(source, partial)
    os.replace(partial, destination)


def _restore_parse(saved: Path) -> None:
    """Give dbt the parse saved for this build file, if there is one."""
    try:
        if saved.exists():
            _copy_atomically(saved, PARTIAL_PARSE_FILE)
    except OSError as error:  # only a speed-up: dbt parses afresh without it
        log.debug("could not restore the dbt parse %s: %s", saved, error)


def _save_parse(saved: Path) -> None:
    """Keep dbt's parse for the next build into the same file; prune old ones."""
    try:
        if not PARTIAL_PARSE_FILE.exists():
            return
        _copy_atomically(PARTIAL_PARSE_FILE, saved)
        kept = sorted(
            PARTIAL_PARSE_CACHE.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in kept[PARTIAL_PARSES_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError as error:
        log.debug("could not keep the dbt parse in %s: %s", saved, error)


def _open_ahead(build_duckdb: Path) -> duckdb.DuckDBPyConnection | None:
    """A connection to the build file to hold while dbt runs (see `run_dbt`).

    With `keep_open` false (set for this process in `run_dbt`) dbt-duckdb closes the database
    whenever no node is using it and opens it again for the next node: dozens
    of opens and checkpoints per build, about 1 s. While this connection is
    open DuckDB keeps the database instance, and each node's connect finds it
    (same path, default configuration: dbt-duckdb applies its settings per
    cursor).
    """
    try:
        return duckdb.connect(str(build_duckdb))
    except duckdb.Error as error:  # dbt opens the file itself and reports the problem
        log.debug("could not open %s ahead of dbt: %s", build_duckdb, error)
        return None


def _checkpoint_and_close(connection: duckdb.DuckDBPyConnection | None) -> str | None:
    """Write everything dbt built into the file and close; the error, if writing failed.

    An explicit checkpoint, because closing swallows a failed one (a full
    disk would otherwise leave a build that only looks complete).
    """
    if connection is None:
        return None
    try:
        connection.execute("checkpoint")
    except duckdb.Error as error:
        return str(error)
    finally:
        connection.close()
    return None


def _failing_rows(duckdb_path: Path, relation_name: str | None) -> str:
    """The first failing rows a test stored, as text; '' when none were stored."""
    if not relation_name or not duckdb_path.exists():
        return ""
    # dbt names the relation "database"."schema"."table"; the database is the file.
    relation = ".".join(relation_name.split(".")[-2:])
    try:
        with duckdb.connect(str(duckdb_path), read_only=True) as con:
            frame = con.execute(f"select * from {relation} limit {MAX_FAILING_ROWS_SHOWN}").df()
    except duckdb.Error:
        return ""
    if frame.empty:
        return ""
    return frame.to_string(index=False, max_colwidth=120)


_CSV_ERROR = re.compile(
    r"CSV Error on Line: (?P<line>\d+).*?Original Line:\s*\n(?P<original>[^\n]*)\n"
    r"(?P<error>[^\n]+).*?file = (?P<file>[^\n]+)",
    re.DOTALL,
)


def condense_duckdb_csv_error(message: str) -> str:
    """One line out of DuckDB's CSV error: file, line, column and what was wrong.

    DuckDB appends its reader options and generic advice (including "this
    type was auto-detected", untrue here: the types are declared), which
    hides the one fact a user needs.
    """
    match = _CSV_ERROR.search(message)
    if not match:
        return message
    return (
        f"{Path(match['file'].strip()).name} line {match['line']}: {match['error'].strip()} "
        f"(line reads: {match['original'].strip()!r})"
    )


def _without_jinja_trace(message: str) -> str:
    """Drop dbt's "Compilation Error in ..." and "> in macro ..." lines around our text."""
    kept = [
        line
        for line in message.strip().splitlines()
        if line.strip()
        and not line.lstrip().startswith(">")
        and not line.startswith("Compilation Error in operation")
    ]
    return "\n".join(line.strip() for line in kept)


def _console_lines(
    connection: duckdb.DuckDBPyConnection | None, duckdb_path: Path
) -> list[tuple[str, str]] | None:
    """(severity, text) of the console report dbt's on-run-end wrote for its latest invocation.

    The report is made once, in SQL (dbt_project/macros/console_report.sql),
    for plain `dbt build` and for this wrapper alike. None when the build
    file has no report (dbt stopped before on-run-end, or an older file).
    """
    query = (
        "select severity, message from build_outcome.messages where invocation_id = ("
        "select invocation_id from build_outcome.invocations "
        "order by started_at desc limit 1) order by line_number"
    )
    try:
        if connection is not None:
            return [(row[0], row[1]) for row in connection.execute(query).fetchall()]
        if not duckdb_path.exists():
            return None
        with duckdb.connect(str(duckdb_path), read_only=True) as con:
            return [(row[0], row[1]) for row in con.execute(query).fetchall()]
    except duckdb.Error:
        return None


def _describe(result, duckdb_path: Path) -> str:
    node = result.node
    where = getattr(node, "original_file_path", "") or ""
    message = condense_duckdb_csv_error(str(result.message or result.status))
    text = f"{node.resource_type} {node.name} ({where}): {message}"
    if str(node.resource_type) == "test":
        rows = _failing_rows(duckdb_path, getattr(node, "relation_name", None))
        if rows:
            text += "\n" + "\n".join("      " + line for line in rows.splitlines())
    return text


def run_dbt(
    paths: Paths,
    command: Sequence[str] = ("build",),
    extra_args: Sequence[str] = (),
    memory_limit: str | None = None,
) -> BuildReport:
    """Invoke dbt with the run's raw directory and warehouse file; never raises for a failed node.

    Works from the project root whatever the caller's directory, because dbt
    resolves `dbt_project.yml`, `profiles.yml` and relative paths from there.
    *memory_limit* (DuckDB's spelling, e.g. ``1536MB``) replaces the
    profile's default budget for this invocation; a budget the user set in
    ONE_CLICK_DUCKDB_MEMORY_LIMIT wins over both.
    """
    paths.build_duckdb.parent.mkdir(parents=True, exist_ok=True)
    log.info(
        "dbt %s (raw: %s, build file: %s)", " ".join(command), paths.raw_dir, paths.build_duckdb
    )
    environment = _dbt_environment(paths, memory_limit)
    outcome, lines, write_error = _invoke(paths, _dbt_args(command, extra_args), environment)
    return _report(outcome, lines, write_error, paths.build_duckdb)


def _dbt_args(command: Sequence[str], extra_args: Sequence[str]) -> list[str]:
    return [
        *command,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
        "--target-path",
        str(DBT_TARGET_DIR),
        "--log-path",
        str(DBT_LOG_DIR),
        *extra_args,
    ]


def _dbt_environment(paths: Paths, memory_limit: str | None = None) -> dict[str, str]:
    environment = {
        ENV_RAW_DIR: str(paths.raw_dir.resolve()),
        ENV_DUCKDB: str(paths.duckdb.resolve()),
        ENV_BUILD_DUCKDB: str(paths.build_duckdb.resolve()),
        # no usage events: the only network this project may touch is none
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # dbt-duckdb must close the file when the run ends, not at process
        # exit: this process publishes it next (profiles.yml keep_open); the
        # connection _open_ahead holds spares the reopening meanwhile
        "ONE_CLICK_DBT_KEEP_OPEN": "false",
    }
    if memory_limit and not os.environ.get(ENV_DUCKDB_MEMORY_LIMIT):
        environment[ENV_DUCKDB_MEMORY_LIMIT] = memory_limit
    return environment


def _invoke(
    paths: Paths, args: list[str], environment: dict[str, str]
) -> tuple[Any, list[tuple[str, str]] | None, str | None]:
    """Run dbt in-process from the project root: its result, console lines and write error."""
    from dbt.cli.main import dbtRunner  # heavy import, only when a build runs

    memory_limit = environment.get(
        ENV_DUCKDB_MEMORY_LIMIT, os.environ.get(ENV_DUCKDB_MEMORY_LIMIT, "")
    )
    saved_parse = _saved_parse(paths.build_duckdb, memory_limit)
    _restore_parse(saved_parse)
    held = _open_ahead(paths.build_duckdb.resolve())  # the path dbt gets, for DuckDB to match
    cwd = Path.cwd()
    try:
        os.chdir(PROJECT_ROOT)
        with _environment(environment):
            outcome = dbtRunner().invoke(args)
    finally:
        os.chdir(cwd)
        lines = _console_lines(held, paths.build_duckdb.resolve())
        write_error = _checkpoint_and_close(held)
        _save_parse(saved_parse)
    return outcome, lines, write_error


def _report(
    outcome: Any,
    lines: list[tuple[str, str]] | None,
    write_error: str | None,
    build_duckdb: Path,
) -> BuildReport:
    """What the build did, in the words the console report recorded (or dbt's results)."""
    report = BuildReport(success=outcome.success and write_error is None)
    if outcome.exception is not None:
        report.problems.extend(_without_jinja_trace(str(outcome.exception)).splitlines())
    results = getattr(outcome.result, "results", None) or []
    statuses = [str(result.status) for result in results]
    report.n_warned += statuses.count("warn")
    report.n_passed += sum(status in ("success", "pass") for status in statuses)
    if lines:
        # The export check's refusal is both dbt's exception and a recorded line.
        report.problems.extend(
            text for severity, text in lines if severity == "ERROR" and text not in report.problems
        )
        report.warnings.extend(text for severity, text in lines if severity != "ERROR")
    elif outcome.exception is None:
        # No report was recorded (an older build file): describe the nodes here.
        for result, status in zip(results, statuses, strict=True):
            if status in ("error", "fail", "runtime error"):
                report.problems.append(_describe(result, build_duckdb))
            elif status == "warn":
                report.warnings.append(_describe(result, build_duckdb))
    if write_error is not None:
        report.problems.append(f"could not write {build_duckdb}: {write_error}")
    if not report.success and not report.problems:
        report.problems.append("dbt reported a failure; see data/dbt/logs/dbt.log")
    return report


def build_warehouse(paths: Paths, extra_args: Sequence[str] = ()) -> BuildReport:
    """`dbt build` (seeds, models, data and unit tests); raise with every problem if any fails."""
    report = run_dbt(paths, ("build",), extra_args)
    for warning in report.warnings:
        log.warning("%s", warning)
    if not report.success:
        raise WarehouseBuildError("dbt build failed:\n  - " + "\n  - ".join(report.problems))
    log.info("dbt build passed: %d nodes, %d warnings", report.n_passed, report.n_warned)
    return report
