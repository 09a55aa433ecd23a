"""Publish a finished build as the warehouse analysts read; keep versions; roll back.

Why this shape: DuckDB lets one process write a file, and while it writes no
other process may open that file at all. So nothing ever writes the published
file. Each run builds a private build file; when every step and test passed,
the build file is checkpointed (no WAL left), moved into `versions/`, and a
hard link to it is renamed over the published path. A rename within one
filesystem is atomic: a reader opens either the old or the new file, and a
connection opened before the swap keeps reading the old inode consistently.
Versions are hard links, so keeping them costs no copy, and a rollback is the
same atomic rename.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ml.config import Paths
from ml.contracts.run_ids import RUN_ID_PATTERN

log = logging.getLogger(__name__)

_VERSION_NAME = re.compile(rf"^(?P<stem>.+)\.(?P<run_id>{RUN_ID_PATTERN})\.duckdb$")


FAULT_POINT_ENV = "ONE_CLICK_FAULT_POINT"


def fault_point(name: str) -> None:
    """Stop here for good when $ONE_CLICK_FAULT_POINT names this point.

    The kill tests use it to SIGKILL a run at an exact step (mid-publish, after
    the ML write-back) instead of guessing with timers. Unset, it costs nothing.
    """
    if os.environ.get(FAULT_POINT_ENV) == name:
        log.warning("fault point %s reached: waiting to be killed", name)
        while True:
            time.sleep(1)


class PublishError(RuntimeError):
    """The build file cannot be published (missing, unreadable, or not checkpointed)."""


@dataclass(frozen=True)
class Version:
    """A published version kept for rollback."""

    run_id: str
    path: Path


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def checkpoint(database: Path) -> None:
    """Fold the WAL into the file so the file alone is the whole database."""
    with duckdb.connect(str(database)) as con:
        con.execute("checkpoint")
    if _wal(database).exists():
        raise PublishError(f"{database}: a WAL file remains after checkpoint; not publishing")


def list_versions(paths: Paths) -> list[Version]:
    """Kept versions, oldest first (run ids start with a UTC timestamp)."""
    if not paths.versions_dir.exists():
        return []
    versions = []
    for entry in paths.versions_dir.iterdir():
        match = _VERSION_NAME.match(entry.name)
        if match and match["stem"] == paths.duckdb.stem:
            versions.append(Version(run_id=match["run_id"], path=entry))
    return sorted(versions, key=lambda version: version.run_id)


def _swap_in(source: Path, published: Path) -> None:
    """Atomically make *published* the same file as *source* (hard link + rename)."""
    staging = published.with_name(f".{published.name}.incoming")
    staging.unlink(missing_ok=True)
    os.link(source, staging)
    fault_point("publish:linked")
    os.replace(staging, published)
    _fsync_dir(published.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(paths: Paths, run_id: str, keep: int) -> Path:
    """Replace the published warehouse by the build file; return the kept version's path.

    The build file is consumed (moved into versions/); the next run builds anew.
    """
    build = paths.build_duckdb
    if not build.exists():
        raise PublishError(f"{build}: no build file to publish; run `dbt build` first")
    checkpoint(build)
    paths.versions_dir.mkdir(parents=True, exist_ok=True)
    version = paths.versions_dir / f"{paths.duckdb.stem}.{run_id}.duckdb"
    os.replace(build, version)
    fault_point("publish:versioned")
    _swap_in(version, paths.duckdb)
    log.info("published %s (version %s)", paths.duckdb, run_id)
    prune_versions(paths, keep)
    return version


def prune_versions(paths: Paths, keep: int) -> list[Path]:
    """Delete all but the newest *keep* versions (never the published one)."""
    published_inode = paths.duckdb.stat().st_ino if paths.duckdb.exists() else None
    versions = list_versions(paths)
    removed = []
    for version in versions[: max(len(versions) - max(keep, 1), 0)]:
        if version.path.stat().st_ino == published_inode:
            continue
        version.path.unlink()
        removed.append(version.path)
    return removed


def current_version(paths: Paths) -> Version | None:
    """The kept version the published file is, if any."""
    if not paths.duckdb.exists():
        return None
    inode = paths.duckdb.stat().st_ino
    for version in list_versions(paths):
        if version.path.stat().st_ino == inode:
            return version
    return None


def rollback(paths: Paths, run_id: str | None = None) -> Version:
    """Publish an earlier version again: the one before the current, or *run_id*."""
    versions = list_versions(paths)
    if run_id is not None:
        chosen = [v for v in versions if v.run_id == run_id]
        if not chosen:
            known = ", ".join(v.run_id for v in versions) or "none"
            raise PublishError(f"no kept version {run_id!r}; kept versions: {known}")
        target = chosen[0]
    else:
        current = current_version(paths)
        older = [v for v in versions if current is None or v.run_id < current.run_id]
        if not older:
            raise PublishError("no earlier version is kept to roll back to")
        target = older[-1]
    _swap_in(target.path, paths.duckdb)
    log.info("rolled back %s to version %s", paths.duckdb, target.run_id)
    return target


def cleanup_leftovers(paths: Paths) -> list[Path]:
    """Remove what a killed run can leave: a half-made link beside the published file."""
    leftovers = [paths.duckdb.with_name(f".{paths.duckdb.name}.incoming")]
    removed = [p for p in leftovers if p.exists()]
    for path in removed:
        path.unlink()
    return removed
