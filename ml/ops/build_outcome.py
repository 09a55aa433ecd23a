"""Has the build file passed a complete `dbt build` of the export we are pointed at?

Plain `dbt build` records its outcome in the build file (schema
`build_outcome`, written by dbt_project/macros/build_outcome.sql): the
command, the export directory, every node's status, and the SHA-256 of each
export file. `python -m ml.train` and `ml.score` publish only a build whose
latest complete `dbt build` passed, with nothing but passing `dbt test` runs
after it, on exactly the export files that are in ONE_CLICK_RAW_DIR now.
Anything else is refused in one line that names the failed tests or what
differs, so a failed build can never reach the analysts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from ml.config import RAW_FILES
from ml.ops.run_log import fingerprint_file

log = logging.getLogger(__name__)

OUTCOME_SCHEMA = "build_outcome"
# Node statuses that fail a build (a skipped node was never built or tested).
FAILED_STATUSES = ("error", "fail", "runtime error")
# Failed tests named in the one-line refusal before "and N more".
MAX_NAMED = 5


class BuildNotPassedError(RuntimeError):
    """The build file is not a passed, complete `dbt build` of the export in use."""


@dataclass(frozen=True)
class Invocation:
    """One recorded dbt invocation on the build file."""

    invocation_id: str
    command: str
    dbt_command: str
    kind: str  # complete_build | after_ml | partial
    raw_dir: str | None
    started_at: datetime | None
    status: str  # running | passed | failed
    failed: tuple[str, ...] = ()
    n_skipped: int = 0
    files: dict[str, str | None] = field(default_factory=dict)  # file name -> sha256


def read_invocations(build_duckdb: Path) -> list[Invocation] | None:
    """Every recorded invocation, oldest first; None when the file records none."""
    with duckdb.connect(str(build_duckdb), read_only=True) as con:
        present = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = 'invocations'",
            [OUTCOME_SCHEMA],
        ).fetchone()[0]
        if not present:
            return None
        rows = con.execute(
            f"select invocation_id, command, dbt_command, kind, raw_dir, started_at, status, "
            f"coalesce(n_skipped, 0) from {OUTCOME_SCHEMA}.invocations "
            f"order by started_at, invocation_id"
        ).fetchall()
        failed: dict[str, list[str]] = {}
        for invocation_id, name in con.execute(
            f"select invocation_id, name from {OUTCOME_SCHEMA}.nodes "
            f"where status in {FAILED_STATUSES} order by name"
        ).fetchall():
            failed.setdefault(invocation_id, []).append(name)
        for invocation_id, names in con.execute(
            f"select invocation_id, failed_nodes from {OUTCOME_SCHEMA}.invocations "
            "where len(failed_nodes) > 0"
        ).fetchall():
            # what failed outside any node: the export check, files changed
            # while read, nodes an interrupted run never reached
            failed.setdefault(invocation_id, []).extend(
                n for n in names if n not in failed.get(invocation_id, [])
            )
        files: dict[str, dict[str, str | None]] = {}
        for invocation_id, file_name, sha256 in con.execute(
            f"select invocation_id, file_name, sha256 from {OUTCOME_SCHEMA}.files"
        ).fetchall():
            files.setdefault(invocation_id, {})[file_name] = sha256
    return [
        Invocation(
            invocation_id=row[0],
            command=row[1],
            dbt_command=row[2],
            kind=row[3],
            raw_dir=row[4],
            started_at=row[5],
            status=row[6],
            n_skipped=int(row[7]),
            failed=tuple(failed.get(row[0], ())),
            files=files.get(row[0], {}),
        )
        for row in rows
    ]


def _names(failed: tuple[str, ...]) -> str:
    shown = ", ".join(failed[:MAX_NAMED])
    more = len(failed) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def refusal(invocations: list[Invocation] | None, raw_dir: Path, build_duckdb: Path) -> str | None:
    """Why *build_duckdb* must not be used for the export in *raw_dir*; None when it may.

    Pure: takes what :func:`read_invocations` read and the current export.
    """
    rebuild = f"run `dbt build` on the export in {raw_dir}"
    if invocations is None:
        return (
            f"{build_duckdb} holds no recorded `dbt build` (made by an older version or by "
            f"another tool); {rebuild}"
        )
    relevant = [i for i in invocations if i.kind != "after_ml"]
    complete = [i for i in relevant if i.kind == "complete_build"]
    if not complete:
        last = relevant[-1].command if relevant else "none"
        return (
            f"{build_duckdb} was never made by a complete `dbt build` (last dbt command: "
            f"{last}); {rebuild}"
        )
    build = complete[-1]
    if build.status == "running":
        return (
            f"the last `dbt build` into {build_duckdb} (started {build.started_at:%Y-%m-%d %H:%M}"
            f" UTC) did not finish: it was stopped or is still running; {rebuild}"
        )
    if build.status != "passed":
        if build.failed:
            what = f"failed: {_names(build.failed)}"
        else:
            what = f"did not complete ({build.n_skipped} node(s) skipped)"
        return (
            f"the last `dbt build` {what}; nothing is published until a `dbt build` passes "
            "(the console and build_outcome.messages name the file, line and value)"
        )
    for later in relevant[relevant.index(build) + 1 :]:
        if later.dbt_command == "test" and later.status == "passed":
            continue
        state = "" if later.status == "passed" else f" ({later.status})"
        return (
            f"after the last complete `dbt build`, `{later.command}`{state} changed or "
            f"tested the build file partially; {rebuild} again"
        )
    return _export_differs(build, raw_dir)


def _export_differs(build: Invocation, raw_dir: Path) -> str | None:
    """Why the export in *raw_dir* is not the one *build* read; None when it is."""
    built_from = build.raw_dir or "an unknown directory"
    for name in sorted({f"{table}.csv" for table in RAW_FILES} | set(build.files)):
        path = raw_dir / name
        recorded = build.files.get(name)
        if not path.is_file():
            return (
                f"{path} is missing: the build file was built from {built_from}; point "
                "ONE_CLICK_RAW_DIR at the export that was built, or run `dbt build` on this one"
            )
        if recorded is None or fingerprint_file(path)[0] != recorded:
            return (
                f"the export in {raw_dir} is not the one the build file was built from "
                f"({name} differs; built from {built_from}); run `dbt build` on it first"
            )
    return None


def require_passed_build(build_duckdb: Path, raw_dir: Path) -> None:
    """Raise :class:`BuildNotPassedError` unless *build_duckdb* passed a build of *raw_dir*."""
    if not build_duckdb.exists():
        raise BuildNotPassedError(
            f"no build file at {build_duckdb}: run `dbt build` on the export in {raw_dir} first"
        )
    try:
        invocations = read_invocations(build_duckdb)
    except duckdb.Error as error:
        raise BuildNotPassedError(
            f"cannot read the build outcome in {build_duckdb}: {error}"
        ) from None
    reason = refusal(invocations, raw_dir, build_duckdb)
    if reason:
        raise BuildNotPassedError(reason)
    log.info("build file %s passed `dbt build` of the export in %s", build_duckdb, raw_dir)
