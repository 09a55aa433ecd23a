"""`make demo` on a fresh checkout: no export given, so synthetic data, then the whole job."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from ml.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_demo_without_an_export_runs_the_whole_job_on_synthetic_data(tmp_path):
    env = dict(os.environ)
    env.update(
        ONE_CLICK_RAW_DIR=str(tmp_path / "empty_raw"),
        ONE_CLICK_DUCKDB=str(tmp_path / "warehouse" / "one_click.duckdb"),
        ONE_CLICK_MODELS_DIR=str(tmp_path / "models"),
        ONE_CLICK_REPORTS_DIR=str(tmp_path / "reports"),
        ONE_CLICK_SAMPLE_DIR=str(tmp_path / "sample"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "ml.pipeline", "demo", "--customers", "600"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SYNTHETIC" in done.stderr
    assert (tmp_path / "sample" / "market_file.csv").exists()
    assert (tmp_path / "reports" / "index.html").exists()
    with duckdb.connect(str(tmp_path / "warehouse" / "one_click.duckdb"), read_only=True) as con:
        n_segmented = con.execute("select count(*) from segments.customer_segments").fetchone()
        n_mart = con.execute("select count(*) from marts.customer_features").fetchone()
    assert n_segmented == n_mart and n_mart[0] > 500
