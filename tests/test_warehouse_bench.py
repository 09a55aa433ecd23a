"""The warehouse benchmark's arithmetic (bench/warehouse_bench.py): the build's floor."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent.parent / "bench" / "warehouse_bench.py"
_SPEC = importlib.util.spec_from_file_location("warehouse_bench", _PATH)
warehouse_bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(warehouse_bench)


def _row(startup_ok=True, replay_ok=True):
    return {
        "dbt_startup": {"wall_s": 3.0, "cpu_s": 2.9, "ok": startup_ok},
        "sql_replay": {"wall_s": 9.0, "cpu_s": 10.0, "ok": replay_ok},
        "pandas": {"wall_s": 4.0, "cpu_s": 4.5, "peak_rss_mib": 1000.0, "ok": True},
        "dbt_build": {"wall_s": 10.0, "cpu_s": 15.0, "peak_rss_mib": 800.0, "ok": True},
    }


def test_the_floor_is_startup_plus_the_sql_spread_over_every_core():
    assert warehouse_bench.build_floor(_row(), cores=2) == 8.0
    assert warehouse_bench.build_floor(_row(), cores=4) == 5.5


@pytest.mark.parametrize("row", [_row(startup_ok=False), _row(replay_ok=False), {}])
def test_no_floor_without_both_measurements(row):
    assert warehouse_bench.build_floor(row, cores=2) is None


def test_ratios_set_the_floor_beside_the_build_and_the_references(monkeypatch):
    monkeypatch.setattr(warehouse_bench.os, "cpu_count", lambda: 2)
    ratios = warehouse_bench.ratios(_row())
    assert ratios["floor_s"] == 8.0
    assert ratios["floor_vs_pandas"] == 2.0
    assert ratios["floor_vs_dbt_build"] == 0.8
    assert ratios["dbt_build_time_vs_pandas"] == 2.5


def test_a_failed_replay_is_kept_out_of_the_best_run_and_the_median():
    runs = [
        {"wall_s": 5.0, "cpu_s": None, "ok": False},
        {"wall_s": 9.0, "cpu_s": 12.0, "ok": True},
        {"wall_s": 8.0, "cpu_s": 14.0, "ok": True},
    ]
    best = warehouse_bench._fastest(runs, by="cpu_s")
    assert best["cpu_s"] == 12.0
    assert best["median_cpu_s"] == 13.0
    assert not best["ok"]
