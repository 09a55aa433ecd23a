"""The segment models built inside ml.train get their own DuckDB memory budget.

They run in the model's process, and DuckDB caches up to its budget (the
profile's 8 GB): at a million customers that budget, not the work, set the
process's peak. The user's own ONE_CLICK_DUCKDB_MEMORY_LIMIT still wins.
"""

from __future__ import annotations

import pytest

from ml.config import AFTER_ML_DUCKDB_MEMORY_LIMIT, ENV_DUCKDB_MEMORY_LIMIT
from ml.ops import dbt_runner, workflow

from .conftest import paths_in


def test_a_budget_given_for_one_dbt_call_reaches_the_profile(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_DUCKDB_MEMORY_LIMIT, raising=False)
    paths = paths_in(tmp_path, tmp_path / "raw")
    environment = dbt_runner._dbt_environment(paths, "1536MB")
    assert environment[ENV_DUCKDB_MEMORY_LIMIT] == "1536MB"


def test_without_a_budget_the_profile_default_stays(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_DUCKDB_MEMORY_LIMIT, raising=False)
    paths = paths_in(tmp_path, tmp_path / "raw")
    assert ENV_DUCKDB_MEMORY_LIMIT not in dbt_runner._dbt_environment(paths)


def test_the_users_budget_wins_over_the_one_given(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(ENV_DUCKDB_MEMORY_LIMIT, "300MB")
    paths = paths_in(tmp_path, tmp_path / "raw")
    assert ENV_DUCKDB_MEMORY_LIMIT not in dbt_runner._dbt_environment(paths, "1536MB")


def test_the_segment_build_runs_with_the_after_ml_budget(tmp_path, monkeypatch) -> None:
    calls = []

    def fake_run_dbt(paths, command, extra_args=(), memory_limit=None):
        calls.append((tuple(command), memory_limit))
        return dbt_runner.BuildReport(success=True)

    monkeypatch.setattr(workflow, "run_dbt", fake_run_dbt)
    workflow.build_after_ml(paths_in(tmp_path, tmp_path / "raw"))
    assert calls == [(("build", "--selector", "after_ml"), AFTER_ML_DUCKDB_MEMORY_LIMIT)]


@pytest.mark.parametrize("limit", ["1536MB", "300MB"])
def test_each_budget_keeps_its_own_saved_parse(tmp_path, limit) -> None:
    # dbt reparses when the profile (which holds the budget) changes: a parse
    # saved under one budget must not be handed to a build under another
    build = tmp_path / "build.duckdb"
    assert dbt_runner._saved_parse(build, limit) != dbt_runner._saved_parse(build, "8GB")
