"""The dbt unit tests run in `make test`, not in the data team's plain `dbt build`.

Unit tests check the SQL logic on given/expect rows, never the export, so
(as dbt recommends) they belong to development and CI: the default selector
of selectors.yml leaves them out of every production build, and this file
runs them (`dbt test --selector unit_tests`) on a warehouse built from the
fixture export, whose tables give the unit tests their column types.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml.config import PROJECT_ROOT
from ml.ops.dbt_runner import run_dbt

from .conftest import FIXTURE_RAW_DIR, built_fixture_export

pytestmark = pytest.mark.slow

DBT = str(Path(sys.executable).with_name("dbt"))


def _dbt_ls(workdir: Path, *selection: str) -> list[str]:
    """Names of the resources `dbt ls` selects (the default selector when none given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONE_CLICK_")}
    env.update(
        ONE_CLICK_RAW_DIR=str(FIXTURE_RAW_DIR),
        ONE_CLICK_DUCKDB=str(workdir / "warehouse.duckdb"),
        DBT_TARGET_PATH=str(workdir / "target"),
        DBT_LOG_PATH=str(workdir / "logs"),
    )
    done = subprocess.run(
        [DBT, "--quiet", "ls", "--output", "name", *selection],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split()


def test_plain_dbt_build_selects_no_unit_test_but_every_data_test(tmp_path):
    default = set(_dbt_ls(tmp_path))
    unit_tests = set(_dbt_ls(tmp_path, "--selector", "unit_tests"))
    data_tests = set(_dbt_ls(tmp_path, "--resource-type", "test"))

    assert unit_tests, "no unit test found: the selector unit_tests selects nothing"
    assert not default & unit_tests
    assert data_tests <= default
    assert "assert_export_numbers_are_valid" in data_tests


def test_every_unit_test_before_the_ml_step_runs_and_passes(tmp_path):
    paths = built_fixture_export(tmp_path)
    expected = _dbt_ls(tmp_path / "ls", "--selector", "unit_tests")

    report = run_dbt(paths, ("test", "--selector", "unit_tests"))

    assert report.success, report.problems
    # n_passed also counts the project's hooks
    assert report.n_passed >= len(expected) > 0
