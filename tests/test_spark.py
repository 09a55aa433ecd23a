"""The same dbt project on Spark: mart, audit and scoring equal DuckDB's on one export.

Marked `spark`: left out of the default `pytest` (pyproject addopts) and run
by `make test-spark`. When asked for explicitly, a missing Java 17 or
pyspark is a failure with the reason, never a silent skip. The Spark build
and `ml.score --engine spark` run as subprocesses (their own JVM), and their
tables are read as the parquet files Spark wrote, so this process needs no JVM.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.config import PROJECT_ROOT
from ml.contracts.features import mart_columns
from ml.model.scoring import ScoreSettings, run_scoring
from ml.model.training import run_training

from .conftest import FIXTURE_RAW_DIR, build_from
from .ml_fixtures import quick_settings

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# Enough customers for both classes and a few duplicates, small enough for a
# local Spark on two cores.
SAMPLE_CUSTOMERS = 300
FLOAT_TOLERANCE = 1e-9


def require_spark() -> None:
    """Fail (not skip) with the reason when Java 17 or pyspark is missing."""
    java = shutil.which("java")
    if java is None:
        pytest.fail("the spark tests need Java 17 on PATH (`java -version`); none found")
    version = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    if not re.search(r'version "17[."]', version):
        pytest.fail(f"the spark tests need Java 17; `java -version` says: {version.strip()}")
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as error:
        pytest.fail(f"the spark tests need the `spark` extra (pip install -e .[spark]): {error}")


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    )


def merged_export(sample: Path, fixture: Path, out: Path) -> Path:
    """The sample export with the hand-made fixture's rows appended (same format, other ids).

    The sample brings enough customers to train and score; the fixture brings
    what the audit records (zero months, implausible revenue, double
    registrations, a repeated id).
    """
    out.mkdir(parents=True)
    for source in sorted(sample.glob("*.csv")):
        data = source.read_bytes()
        if not data.endswith(b"\n"):
            data += b"\r\n" if b"\r\n" in data else b"\n"
        extra = (fixture / source.name).read_bytes().split(b"\n", 1)[1]
        (out / source.name).write_bytes(data + extra)
    return out


def spark_table(spark_dir: Path, schema: str, table: str) -> pd.DataFrame:
    """A Spark table (parquet under the warehouse directory) as a pandas frame."""
    return pd.read_parquet(spark_dir / "warehouse" / f"{schema}.db" / table)


@pytest.fixture(scope="module")
def both_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One sample export built on DuckDB and on Spark, a model trained on DuckDB, and
    that model's scoring run on Spark."""
    require_spark()
    work = tmp_path_factory.mktemp("spark")
    sample = work / "sample_raw"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    _run(
        [
            sys.executable,
            "-m",
            "ml.sample_data",
            "--customers",
            str(SAMPLE_CUSTOMERS),
            "--seed",
            "7",
            "--out",
            str(sample),
        ],
        env,
    )
    raw = merged_export(sample, FIXTURE_RAW_DIR, work / "raw")
    duck = build_from(raw, work / "duckdb", keep_raw=True)
    models = work / "models"
    run_training(
        duck,
        quick_settings(models, families=("tree", "random_forest"), search_size=1, cv_repeats=1),
    )
    spark_dir = work / "spark"
    spark_env = {
        **env,
        "ONE_CLICK_RAW_DIR": str(raw),
        "ONE_CLICK_SPARK_DIR": str(spark_dir),
        "ONE_CLICK_SPARK_MASTER": "local[2]",
        "DBT_TARGET_PATH": str(work / "dbt_target"),
        "DBT_LOG_PATH": str(work / "dbt_logs"),
    }
    dbt = str(Path(sys.executable).parent / "dbt")
    _run([dbt, "build", "--target", "spark"], spark_env)
    # The plain build leaves unit tests to CI (selectors.yml): here they run on Spark too.
    _run([dbt, "test", "--target", "spark", "--selector", "unit_tests"], spark_env)
    _run(
        [
            sys.executable,
            "-m",
            "ml.score",
            "--engine",
            "spark",
            "--models-dir",
            str(models),
            "--no-progress",
        ],
        spark_env,
    )
    # The models on the ML output, on each engine's own scoring run.
    _run([dbt, "build", "--target", "spark", "--selector", "after_ml"], spark_env)
    run_scoring(duck, ScoreSettings(models_dir=models))
    duck_env = {
        **env,
        "ONE_CLICK_RAW_DIR": str(raw),
        "ONE_CLICK_DUCKDB": str(work / "duckdb" / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(work / "dbt_target_duckdb"),
        "DBT_LOG_PATH": str(work / "dbt_logs"),
    }
    _run([dbt, "build", "--selector", "after_ml"], duck_env)
    return {"duckdb": duck, "spark": spark_dir, "models": models}


def _duckdb_table(database: Path, relation: str) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(f"select * from {relation}").df()


def assert_same_rows(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> None:
    """Same columns and rows; numbers equal within a tolerance relative to their size."""
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    left = left.sort_values(keys, na_position="first").reset_index(drop=True)
    right = right.sort_values(keys, na_position="first").reset_index(drop=True)
    for name in left.columns:
        a, b = left[name], right[name]
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            np.testing.assert_allclose(
                a.astype(float), b.astype(float), rtol=FLOAT_TOLERANCE, atol=0, err_msg=name
            )
        else:
            assert a.astype(object).where(a.notna(), None).tolist() == (
                b.astype(object).where(b.notna(), None).tolist()
            ), name


def test_mart_on_spark_equals_the_duckdb_mart(both_builds) -> None:
    duck = _duckdb_table(both_builds["duckdb"], "marts.customer_features")
    spark = spark_table(both_builds["spark"], "marts", "customer_features")
    assert len(duck) > 200
    assert_same_rows(duck, spark, ["customer_id"])


def test_audit_on_spark_equals_the_duckdb_audit(both_builds) -> None:
    # audited_at is the build's start time, different for each build
    duck = _duckdb_table(both_builds["duckdb"], "marts.customer_audit").drop(columns="audited_at")
    spark = spark_table(both_builds["spark"], "marts", "customer_audit").drop(columns="audited_at")
    assert set(duck["reason"]) >= {"inactive_zero_revenue", "implausible_revenue"}
    assert_same_rows(duck, spark, ["customer_id", "reason", "period", "source_line"])


def test_landed_lines_on_spark_are_the_lines_duckdb_read(both_builds) -> None:
    for table in ["customers", "monthly_revenues", "monthly_minutes", "profits"]:
        relation = f"stg_shop_export__{table}"
        columns = ["source_file", "source_line", "customer_id"]
        duck = _duckdb_table(both_builds["duckdb"], f"staging.{relation}")[columns]
        spark = spark_table(both_builds["spark"], "staging", relation)[columns]
        assert_same_rows(duck, spark, ["source_line"])


def test_spark_scoring_equals_duckdb_scoring_with_the_same_model(both_builds) -> None:
    duck = run_scoring(
        both_builds["duckdb"],
        ScoreSettings(models_dir=both_builds["models"], write_back=False),
    )
    expected = duck.tables["predictions"][
        ["customer_id", "p_decline", "predicted_decline", "base_value"]
    ]
    runs = spark_table(both_builds["spark"], "ml", "model_runs")
    assert runs["run_kind"].tolist() == ["score"]
    (run_id,) = runs["run_id"]
    predictions = spark_table(both_builds["spark"], "ml", "predictions")
    predictions = predictions[predictions["run_id"] == run_id]
    assert_same_rows(expected, predictions[expected.columns], ["customer_id"])

    shap = spark_table(both_builds["spark"], "ml", "shap_values")
    shap = shap[shap["run_id"] == run_id]
    expected_shap = duck.tables["shap_values"].frame()
    columns = ["customer_id", "feature", "feature_value", "feature_value_num", "shap_value"]
    assert_same_rows(expected_shap[columns], shap[columns], ["customer_id", "feature"])
    # every probability is explained exactly: base value + SHAP = p_decline
    total = shap.groupby("customer_id")["shap_value"].sum()
    scored = predictions.set_index("customer_id")
    np.testing.assert_allclose(
        scored["base_value"] + total.reindex(scored.index), scored["p_decline"], atol=1e-6
    )
    assert set(shap["feature"]) == set(mart_columns().features)


@pytest.mark.parametrize(
    ("relation", "keys"),
    [
        ("customer_segments", ["customer_id"]),
        ("customer_recommendations", ["customer_id", "offer_rank"]),
        ("segment_summary", ["segment"]),
    ],
)
def test_segments_on_spark_equal_duckdb_segments(both_builds, relation, keys) -> None:
    duck = _duckdb_table(both_builds["duckdb"], f"segments.{relation}")
    spark = spark_table(both_builds["spark"], "segments", relation)
    # each engine's scoring run has its own id and time
    own = [c for c in duck.columns if c == "run_id" or c.endswith("_at")]
    assert len(duck) > 0
    assert_same_rows(duck.drop(columns=own), spark.drop(columns=own), keys)
