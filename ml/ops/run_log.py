"""The run log and the single-writer lock.

Every run (warehouse build, training, scoring, publish, rollback) is recorded
in `run_log.duckdb` beside the published warehouse: a file of its own, so a
failed run is recorded even though its warehouse is thrown away. The lock
keeps two runs from writing at once; it is an OS lock, so a killed run
releases it with its process.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ml.config import RAW_FILES, Paths
from ml.contracts.run_ids import new_run_id

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


class LockedError(RuntimeError):
    """Another run holds the warehouse lock."""


def fingerprint_file(path: Path) -> tuple[str, int]:
    """SHA-256 and number of data rows (lines after the header), streamed in 1 MiB chunks."""
    digest = hashlib.sha256()
    newlines = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    lines = newlines + (1 if last and last != b"\n" else 0)
    return digest.hexdigest(), max(lines - 1, 0)


def fingerprint_export(raw_dir: Path) -> dict[str, dict[str, object]]:
    """Checksum and row count of each export file present in *raw_dir*."""
    result: dict[str, dict[str, object]] = {}
    for name in RAW_FILES:
        path = raw_dir / f"{name}.csv"
        if path.exists():
            sha256, rows = fingerprint_file(path)
            result[path.name] = {"sha256": sha256, "rows": rows}
    return result


@contextlib.contextmanager
def warehouse_lock(paths: Paths, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the single-writer lock; wait up to *wait_seconds*, then refuse clearly."""
    paths.lock_file.parent.mkdir(parents=True, exist_ok=True)
    handle = paths.lock_file.open("a+")
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise LockedError(
                        f"another run is writing the warehouse ({holder}); "
                        f"wait for it to finish (lock: {paths.lock_file})"
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


@dataclass
class RunRecord:
    """One row of the run log, filled in while the run goes."""

    run_id: str
    step: str
    raw_dir: str
    inputs: dict[str, dict[str, object]] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "running"
    message: str = ""
    published_version: str | None = None


_RUN_LOG_DDL = """
create table if not exists run_log (
    run_id varchar primary key,
    step varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    duration_s double,
    status varchar not null,
    message varchar,
    raw_dir varchar,
    inputs json,
    published_version varchar
)
"""


def write_run_record(run_log: Path, record: RunRecord) -> None:
    """Insert or update the record (called at start and at the end of a run)."""
    run_log.parent.mkdir(parents=True, exist_ok=True)
    finished = None if record.status == "running" else datetime.now(UTC)
    duration = (finished - record.started_at).total_seconds() if finished else None
    with duckdb.connect(str(run_log)) as con:
        con.execute(_RUN_LOG_DDL)
        con.execute(
            "insert or replace into run_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record.run_id,
                record.step,
                record.started_at,
                finished,
                duration,
                record.status,
                record.message,
                record.raw_dir,
                json.dumps(record.inputs, sort_keys=True),
                record.published_version,
            ],
        )


@contextlib.contextmanager
def recorded_run(paths: Paths, step: str, run_id: str | None = None) -> Iterator[RunRecord]:
    """Record a run: 'running' at start, then 'succeeded' or 'failed' with the cause."""
    record = RunRecord(
        run_id=run_id or new_run_id(),
        step=step,
        raw_dir=str(paths.raw_dir),
        inputs=fingerprint_export(paths.raw_dir),
    )
    write_run_record(paths.run_log, record)
    try:
        yield record
    except BaseException as error:
        record.status = "failed"
        record.message = (str(error).strip().splitlines() or [type(error).__name__])[0][:500]
        write_run_record(paths.run_log, record)
        raise
    record.status = "succeeded"
    write_run_record(paths.run_log, record)
