"""dbt-duckdb plugin of the project (profiles.yml `plugins:`), loaded by plain `dbt` too.

Two things SQL and profile Jinja cannot do:

- create the folder of the database file before DuckDB opens it, so
  `ONE_CLICK_DUCKDB=/new/folder/shop.duckdb dbt build` works, and say in one
  line why when the folder cannot be made (DuckDB's own error is a 30-line
  traceback naming only the file);
- give SQL the SHA-256 of a file, streamed (`one_click_file_sha256(path)`), so
  the build outcome recorded by `on-run-end` (macros/build_outcome.sql) names
  the exact export it was built from, in the same form as the run log
  (`ml.ops.run_log.fingerprint_file`), without holding a file in memory.
  The checksum is started in a background thread as soon as the build
  records the file's signature (on-run-start), so reading gigabytes of
  export overlaps the build instead of delaying its end; it is used only
  when the file still has that signature at the end.

It also keeps Python's cyclic garbage collector off dbt's loaded project in
the `dbt` command's own process (`freeze_loaded_objects`).

dbt imports this module by name, so it must be importable wherever `dbt`
runs: the project is installed into `.venv` (`pip install -e .`); console
scripts do not put the current directory on `sys.path`.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

from ml.ops.run_log import fingerprint_file

# DuckDB paths that are not files on this machine.
_NOT_A_FILE = (":memory:", "md:", "motherduck:", "s3://", "gcs://", "http://", "https://")


class _Checksum:
    """The SHA-256 of one file, computed in a daemon thread (hashlib releases the GIL).

    A daemon thread rather than an executor: a process that ends before the
    checksum is asked for (a failed start) must not wait for gigabytes to
    be read.
    """

    def __init__(self, path: str) -> None:
        self._done = threading.Event()
        self._digest: str | None = None
        self._thread = threading.Thread(
            target=self._run, args=(path,), name="one-click-sha256", daemon=True
        )
        self._thread.start()

    def _run(self, path: str) -> None:
        try:
            self._digest = fingerprint_file(Path(path))[0]
        except OSError:
            self._digest = None  # the caller hashes again and sees the error itself
        finally:
            self._done.set()

    def result(self) -> str | None:
        """The digest (waits for it); None when the file could not be read."""
        self._done.wait()
        return self._digest


# Checksums started by file_signature, by (real path, signature at start);
# kept after use, so that taking the signature again at the end of a build
# does not start another read of an unchanged file.
_checksums: dict[tuple[str, str], _Checksum] = {}
_checksums_lock = threading.Lock()


def file_sha256(path: str | None) -> str | None:
    """SHA-256 of the file at *path*; None when there is no such file.

    The checksum started in the background when the file's signature was
    taken is used when the file still has that signature (the same size and
    modification time: the same file, as far as the build can tell, which is
    how it judges a file changed during the build); otherwise the file is
    read now.
    """
    signature = _signature(path)
    if path is None or signature is None:
        return None
    with _checksums_lock:
        started = _checksums.get((os.path.realpath(path), signature))
    digest = started.result() if started is not None else None
    return digest if digest is not None else fingerprint_file(Path(path))[0]


def _signature(path: str | None) -> str | None:
    if path is None or not os.path.isfile(path):
        return None
    stat = os.stat(path)
    return f"{stat.st_size} bytes, mtime_ns {stat.st_mtime_ns}"


def file_signature(path: str | None) -> str | None:
    """Size and modification time of the file at *path* (None when absent): cheap, no read.

    Taken when dbt starts and again when it ends: a file replaced while dbt
    read it has another signature, and its build is not trusted. The first
    time a file is seen with a signature, its checksum starts in the
    background, for file_sha256 at the end of the build.
    """
    signature = _signature(path)
    if path is not None and signature is not None:
        key = (os.path.realpath(path), signature)
        with _checksums_lock:
            if key not in _checksums:
                _checksums[key] = _Checksum(path)
    return signature


def real_path(path: str | None) -> str | None:
    """The absolute, symlink-free form of *path* (relative paths resolve against the cwd)."""
    return None if path is None else os.path.realpath(path)


def line_ending_fault(path: str | None) -> str | None:
    """Where a file mixes line endings: 'line N ends with LF only, the other lines with CRLF'.

    DuckDB reads a CRLF file whose one line ends with a bare LF as "The CSV
    Parser state machine reached an invalid state", naming neither the line
    nor the cause. Streamed; None when the file's line endings agree.
    """
    if path is None or not os.path.isfile(path):
        return None
    first: dict[str, int] = {}
    counts = {"CRLF": 0, "LF only": 0}
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                break  # the last line may have no ending at all
            kind = "CRLF" if line.endswith(b"\r\n") else "LF only"
            counts[kind] += 1
            first.setdefault(kind, number)
    if not counts["CRLF"] or not counts["LF only"]:
        return None
    odd = "LF only" if counts["LF only"] <= counts["CRLF"] else "CRLF"
    usual = "CRLF" if odd == "LF only" else "LF only"
    others = "CRLF" if usual == "CRLF" else "LF"
    many = counts[odd] > 1
    return (
        f"line {first[odd]} ends with {odd} ({counts[odd]} line{'s' if many else ''} in all) "
        f"while the other lines end with {others}; save the file with one kind of line ending"
    )


def ensure_database_folder(database: str) -> None:
    """Create the folder of *database*, or raise one line saying why it cannot be made."""
    if not database or database.startswith(_NOT_A_FILE):
        return
    folder = Path(database).expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or str(error)
        raise DbtRuntimeError(
            f"cannot create the folder {folder} for the warehouse file {database}: {reason}; "
            "set ONE_CLICK_DUCKDB (or ONE_CLICK_BUILD_DUCKDB) to a path you can write"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK) and not _read_only(database):
        raise DbtRuntimeError(
            f"cannot write in {folder} (warehouse file {database}): permission denied; "
            "set ONE_CLICK_DUCKDB (or ONE_CLICK_BUILD_DUCKDB) to a path you can write"
        )


def documenting() -> bool:
    """Whether this dbt invocation is `dbt docs generate`."""
    from dbt.flags import get_flags

    return getattr(get_flags(), "WHICH", None) == "generate"


def _read_only(database: str) -> bool:
    return os.path.exists(database) and not os.access(database, os.W_OK)


def freeze_loaded_objects(program: str | None = None) -> bool:
    """In a `dbt` command's process, put the objects alive now out of the garbage collector's
    reach until exit (`gc.freeze`); whether it did.

    dbt-duckdb loads this plugin when it opens the warehouse, after dbt has
    loaded the parsed project: about 190 000 objects that live until the
    process ends, which every later full collection walked again (py-spy,
    1 M build: 9 % of the main thread's samples in the collector; the A/B
    is in bench/results/warehouse.md, sixth pass). They are handed back to the
    collector at exit, so DuckDB's objects are finalized as usual.
    Only in the `dbt` command's process (*program*, default `sys.argv[0]`):
    a process that goes on after dbt (ml/ops/dbt_runner.py, the tests)
    would keep whatever garbage was frozen with them.
    """
    if Path(program if program is not None else sys.argv[0]).name != "dbt":
        return False
    gc.freeze()
    atexit.register(gc.unfreeze)
    return True


class Plugin(BasePlugin):
    """Folder creation before connecting; file checksums for SQL after; the loaded project
    kept out of the garbage collector's way."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        """Runs once per dbt invocation, when dbt-duckdb first opens the warehouse."""
        freeze_loaded_objects()

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """Runs just before dbt-duckdb opens the database: make its folder first.

        `dbt docs generate` instead opens the published file (profiles.yml
        points it there) read-only: documenting must never write what
        analysts read, nor create a build file.
        """
        if documenting():
            config["access_mode"] = "read_only"
            if not os.path.exists(creds.path):
                raise DbtRuntimeError(
                    f"no published warehouse at {creds.path} yet: `dbt docs generate` "
                    "documents the published warehouse; run `dbt build` and "
                    "`python -m ml.train` first"
                )
            return
        ensure_database_folder(creds.path)

    def configure_connection(self, conn: Any) -> None:
        """Register the file functions the build-outcome macros call.

        dbt opens a connection per node; while another connection keeps the
        database open (ml/ops/dbt_runner.py holds one) the functions registered by
        the previous node are still there.
        """
        functions = {
            "one_click_file_sha256": file_sha256,
            "one_click_file_signature": file_signature,
            "one_click_line_ending_fault": line_ending_fault,
            "one_click_real_path": real_path,
        }
        for name, function in functions.items():
            try:
                conn.create_function(
                    name,
                    function,
                    ["VARCHAR"],
                    "VARCHAR",
                    null_handling="special",
                    side_effects=True,
                )
            except duckdb.CatalogException:
                continue  # registered by an earlier connection to the same database
