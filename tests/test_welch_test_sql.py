"""The Welch test macros (dbt_project/macros/welch_test.sql), compiled by dbt and run in DuckDB.

The p-value is a quadrature in portable SQL (no t-distribution CDF in
DuckDB or Spark): these tests hold it to scipy over the whole range the
profiles can meet, and the Welch statistics to scipy's own Welch test.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ml.config import DBT_LOG_DIR, PROJECT_ROOT

pytestmark = pytest.mark.slow

# Degrees of freedom from 1 (two customers on a side) to 1e7 (ten million
# customers) and beyond, fractional ones included as Welch-Satterthwaite gives them; |t|
# on both sides of the switch between the two integrals at 2.
DFS = sorted({*np.geomspace(1, 1e7, 36), 1.0, 1.0001, 1.5, 2.0, 2.5, 3.0, 7.3, 1e8, 1e9})
TS = sorted(
    {*np.linspace(0, 50, 51), 1e-8, 1e-4, 0.01, 0.5, 0.999999, 1.96, 1.999999, 2.000001, 2.5}
)
ABSOLUTE_TOLERANCE = 1e-9
RELATIVE_TOLERANCE = 1e-7  # where p >= 1e-12; below, the absolute bound says it all


def compile_inline(sql: str, workdir: Path) -> str:
    """*sql* compiled by dbt in this project (its macros), as DuckDB would run it."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            "compile",
            "--inline",
            sql,
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(DBT_LOG_DIR),
            "--quiet",
        ]
    )
    assert result.success, result.exception
    return result.result.results[0].node.compiled_code


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Both macros compiled in one dbt invocation (a query that returns nothing)."""
    workdir = tmp_path_factory.mktemp("welch_sql")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ONE_CLICK_DUCKDB", str(workdir / "one_click.duckdb"))
        env.setenv("ONE_CLICK_BUILD_DUCKDB", str(workdir / "build.duckdb"))
        code = compile_inline(
            "with {{ t_test_p_value_ctes('t_inputs', ['id'], 't', 'df', 'p') }}"
            " select * from p"
            " -- welch --\n"
            "with {{ welch_test_ctes('moments', ['feature'], 'compared') }}"
            " select * from compared",
            workdir,
        )
    p_value, welch = code.split("-- welch --")
    return {"p_value": p_value, "welch": welch}


def reference_p_value(t: float, df: float) -> float:
    """Two-sided P(|T| >= |t|): scipy, but the closed form for df = 1 (Cauchy),
    where scipy's t.sf is off by up to 3e-9 for |t| near 0."""
    if df == 1.0:
        return 1 - 2 / math.pi * math.atan(abs(t))
    return float(2 * stats.t.sf(abs(t), df))


def test_p_value_matches_scipy_over_the_range_profiles_meet(compiled):
    grid = pd.DataFrame([(t, df) for df in DFS for t in TS], columns=["t", "df"])
    # negative t: the test is two-sided
    grid["t"] = grid["t"] * np.where(np.arange(len(grid)) % 2, -1, 1)
    grid.insert(0, "id", range(len(grid)))
    con = duckdb.connect()
    con.register("t_inputs", grid)
    got = con.execute(compiled["p_value"]).df().set_index("id").sort_index()["p_value"]
    expected = np.array(
        [reference_p_value(t, df) for t, df in zip(grid["t"], grid["df"], strict=True)]
    )
    absolute = np.abs(got.to_numpy() - expected)
    relative = np.where(expected >= 1e-12, absolute / np.maximum(expected, 1e-300), 0.0)
    assert len(got) == len(grid)
    worst = grid.assign(got=got.to_numpy(), expected=expected, absolute=absolute)
    assert absolute.max() < ABSOLUTE_TOLERANCE, worst.nlargest(3, "absolute")
    assert relative.max() < RELATIVE_TOLERANCE, worst.assign(relative=relative).nlargest(
        3, "relative"
    )


def test_p_value_leaves_out_rows_without_t_or_df(compiled):
    inputs = pd.DataFrame({"id": [1, 2, 3], "t": [None, 1.0, 0.0], "df": [5.0, None, 4.0]})
    con = duckdb.connect()
    con.register("t_inputs", inputs)
    assert con.execute(compiled["p_value"]).fetchall() == [(3, 1.0)]


def _welch(compiled: dict[str, str], moments: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("moments", moments)
    return con.execute(compiled["welch"]).df().set_index("feature")


def test_welch_statistics_match_scipys_welch_test(compiled):
    group = np.array([1.0, 2.0, 4.0, 7.0])
    rest = np.array([3.0, 5.0, 6.0, 9.0, 10.0, 12.0])
    moments = pd.DataFrame(
        {
            "feature": ["x"],
            "n": [len(group)],
            "mean": [group.mean()],
            "std": [group.std(ddof=1)],
            "comparison_n": [len(rest)],
            "comparison_mean": [rest.mean()],
            "comparison_std": [rest.std(ddof=1)],
        }
    )
    row = _welch(compiled, moments).loc["x"]
    scipy_test = stats.ttest_ind(group, rest, equal_var=False)
    v1, v2 = group.var(ddof=1) / 4, rest.var(ddof=1) / 6
    assert row["difference"] == pytest.approx(3.5 - 7.5)
    assert row["relative_difference"] == pytest.approx(-4 / 7.5)
    assert row["standardized_difference"] == pytest.approx(
        -4 / math.sqrt((group.var(ddof=1) + rest.var(ddof=1)) / 2)
    )
    assert row["welch_t"] == pytest.approx(scipy_test.statistic, rel=1e-12)
    assert row["welch_df"] == pytest.approx((v1 + v2) ** 2 / (v1**2 / 3 + v2**2 / 5), rel=1e-12)
    assert row["p_value"] == pytest.approx(scipy_test.pvalue, rel=1e-7)
    assert bool(row["is_significant"]) == (scipy_test.pvalue < 0.05)


def test_welch_needs_two_customers_and_some_spread_on_each_side(compiled):
    moments = pd.DataFrame(
        {
            "feature": ["one_customer", "no_spread", "one_side_flat"],
            "n": [1, 3, 3],
            "mean": [5.0, 2.0, 2.0],
            "std": [None, 0.0, 0.0],
            "comparison_n": [10, 4, 4],
            "comparison_mean": [1.0, 1.0, 1.0],
            "comparison_std": [1.0, 0.0, 2.0],
        }
    )
    out = _welch(compiled, moments)
    assert out.loc["one_customer", ["welch_t", "welch_df", "p_value"]].isna().all()
    assert out.loc["no_spread", ["welch_t", "welch_df", "p_value"]].isna().all()
    assert not out["is_significant"].loc[["one_customer", "no_spread"]].any()
    # one flat side: the variance of the mean is the other side's, df = its n - 1
    assert out.loc["one_side_flat", "welch_t"] == pytest.approx(1 / math.sqrt(4 / 4))
    assert out.loc["one_side_flat", "welch_df"] == pytest.approx(3.0)
    assert out.loc["one_side_flat", "p_value"] == pytest.approx(2 * stats.t.sf(1.0, 3))
