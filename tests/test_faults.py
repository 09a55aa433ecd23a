"""Killed runs and concurrent readers: the published warehouse is never half-built.

Runs the real command lines as subprocesses on a 400-customer synthetic
export, SIGKILLs them at fixed points ($ONE_CLICK_FAULT_POINT holds a run at
a named step, see ml.ops.publish.fault_point) or mid-dbt, and checks the
published file is byte-for-byte unchanged and still opens; then that the
next run cleans up and publishes, while a reader that opened the old version
keeps reading it consistently.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ml.config import PROJECT_ROOT, Paths
from ml.ops.publish import FAULT_POINT_ENV
from ml.sample_data import write_sample

from .conftest import paths_in

pytestmark = pytest.mark.slow

QUICK_TRAIN = [
    "--families", "dummy,logreg", "--search-size", "1", "--cv-folds", "3",
    "--cv-repeats", "1", "--ensemble-top-k", "0", "--no-reports", "--no-progress",
]  # fmt: skip


def _env(paths: Paths, fault: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ONE_CLICK_RAW_DIR=str(paths.raw_dir),
        ONE_CLICK_DUCKDB=str(paths.duckdb),
        ONE_CLICK_BUILD_DUCKDB=str(paths.build_duckdb),
        ONE_CLICK_MODELS_DIR=str(paths.models_dir),
    )
    env.pop(FAULT_POINT_ENV, None)
    if fault:
        env[FAULT_POINT_ENV] = fault
    return env


def _run(paths: Paths, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=PROJECT_ROOT, env=_env(paths),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def _start(paths: Paths, args: list[str], fault: str | None, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", *args], cwd=PROJECT_ROOT, env=_env(paths, fault),
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def _wait_for(condition, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _latest_run(database: Path) -> str:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            "select run_id from ml.model_runs order by started_at desc limit 1"
        ).fetchone()[0]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """A warehouse built, trained and published once from a synthetic export."""
    workdir = tmp_path_factory.mktemp("faults")
    write_sample(workdir / "raw", 400, seed=7)
    paths = paths_in(workdir, workdir / "raw")
    _run(paths, "ml.pipeline", "warehouse")
    _run(paths, "ml.train", *QUICK_TRAIN)
    return paths


def test_kill_during_dbt_build_leaves_the_published_warehouse_intact(published, tmp_path):
    before = _sha256(published.duckdb)
    log = tmp_path / "dbt.log"
    process = _start(published, ["ml.pipeline", "warehouse"], None, log)
    # wait until dbt is building models, then kill it mid-build
    _wait_for(lambda: "START sql table model" in log.read_text())
    _kill(process)
    assert _sha256(published.duckdb) == before
    assert _latest_run(published.duckdb)
    _run(published, "ml.pipeline", "warehouse")  # the lock died with the process


@pytest.mark.parametrize("fault", ["ml:written", "publish:versioned", "publish:linked"])
def test_kill_after_ml_write_back_or_mid_publish_changes_nothing_published(
    fault, published, tmp_path
):
    _run(published, "ml.pipeline", "warehouse")
    before = _sha256(published.duckdb)
    log = tmp_path / "train.log"
    process = _start(published, ["ml.train", *QUICK_TRAIN], fault, log)
    _wait_for(lambda: f"fault point {fault} reached" in log.read_text())
    _kill(process)
    assert _sha256(published.duckdb) == before
    run_before = _latest_run(published.duckdb)

    # The next run cleans up and publishes, while an analyst's connection
    # opened on the old version keeps a consistent view of it.
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(published.duckdb)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert reader.stdout.readline().strip() == run_before
    _run(published, "ml.pipeline", "warehouse")
    _run(published, "ml.train", *QUICK_TRAIN)
    out, _ = reader.communicate("again\n", timeout=60)
    assert out.strip() == run_before
    assert _latest_run(published.duckdb) != run_before
    with duckdb.connect(str(published.duckdb), read_only=True) as con:
        runs = {r[0] for r in con.execute("select run_id from ml.model_runs").fetchall()}
    assert run_before in runs  # earlier runs are carried into each new version
    assert not published.duckdb.with_name(f".{published.duckdb.name}.incoming").exists()


# An analyst's session: opens the published file once, reads, waits, reads again.
_READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
query = "select run_id from ml.model_runs order by started_at desc limit 1"
print(con.execute(query).fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute(query).fetchone()[0], flush=True)
"""


def _small_disk() -> None:
    """In the child: files may not grow past 1 MB, as on a full disk (EFBIG, not a signal)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


def test_a_full_disk_fails_the_build_cleanly_and_keeps_the_published_warehouse(published):
    before = _sha256(published.duckdb)
    done = subprocess.run(
        [sys.executable, "-m", "ml.pipeline", "warehouse"], cwd=PROJECT_ROOT,
        env=_env(published), preexec_fn=_small_disk, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 1
    assert "File too large" in done.stderr.strip().splitlines()[-1]
    assert _sha256(published.duckdb) == before
    _run(published, "ml.pipeline", "warehouse")  # and the next run, with room, succeeds
