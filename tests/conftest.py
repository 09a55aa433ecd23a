"""Shared fixtures: warehouses built by dbt from the hand-made fixture export and the real one."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from ml.config import PROJECT_ROOT, Paths
from ml.ops.dbt_runner import build_warehouse, run_dbt

FIXTURE_RAW_DIR = PROJECT_ROOT / "tests" / "fixtures" / "raw_small"
# The shop's real export sits beside the project root; CI always has it.
REAL_RAW_DIR = PROJECT_ROOT.parent / "shared" / "data" / "raw"


def paths_in(workdir: Path, raw_dir: Path) -> Paths:
    """Every location of a run, inside *workdir* (published file: workdir/warehouse.duckdb)."""
    return Paths(
        raw_dir=raw_dir,
        duckdb=workdir / "warehouse.duckdb",
        reports_dir=workdir / "reports",
        models_dir=workdir / "models",
    )


def build_from(raw_dir: Path, workdir: Path, *, keep_raw: bool = False) -> Path:
    """Copy an export into *workdir*, build the warehouse from it, return the build file.

    The copy is deleted after the build unless *keep_raw*: every test that uses
    the result thereby also checks the warehouse does not need the CSVs.
    """
    raw_copy = workdir / "raw"
    shutil.copytree(raw_dir, raw_copy)
    paths = paths_in(workdir, raw_copy)
    build_warehouse(paths)
    if not keep_raw:
        shutil.rmtree(raw_copy)
    return paths.build_duckdb


def built_fixture_export(workdir: Path) -> Paths:
    """The fixture export copied into *workdir* and built by `dbt build` (the copy kept).

    For tests that go on to run dbt again (tests, after-ML models) on the same files.
    """
    raw = workdir / "raw"
    shutil.copytree(FIXTURE_RAW_DIR, raw)
    paths = paths_in(workdir, raw)
    assert run_dbt(paths, ("build",)).success
    return paths


@pytest.fixture(scope="session")
def fixture_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse built from tests/fixtures/raw_small (8 hand-made customers)."""
    return build_from(FIXTURE_RAW_DIR, tmp_path_factory.mktemp("fixture_warehouse"))


@pytest.fixture(scope="session")
def real_raw_dir() -> Path:
    """The real export; missing is a failure in CI and a skip on a developer's machine."""
    if not (REAL_RAW_DIR / "market_file.csv").exists():
        if os.environ.get("CI"):
            pytest.fail(f"the real export is missing at {REAL_RAW_DIR}; CI must have it")
        pytest.skip(f"the real export is not at {REAL_RAW_DIR}")
    return REAL_RAW_DIR


@pytest.fixture(scope="session")
def real_warehouse(real_raw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse built from the real export."""
    return build_from(real_raw_dir, tmp_path_factory.mktemp("real_warehouse"))


@pytest.fixture
def query() -> Iterator:
    """`query(database, sql)` -> list of tuples, through a read-only connection."""

    def run(database: Path, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(database), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    yield run
