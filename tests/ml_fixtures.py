"""Shared builders for the ML tests: small synthetic marts and the real-export warehouse.

Test modules import these helpers (``from .ml_fixtures import ...``); the
warehouse built from the real export reaches the ML tests through ONE
function, :func:`real_mart_duckdb`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml.config import MART_RELATION
from ml.contracts.features import MartColumns, mart_columns
from ml.contracts.ml_tables import TABLES
from ml.model.training import TrainSettings

# A protocol small enough for tests: four cheap families (logistic regression
# for comparison only: it is never selected), 3-fold CV twice.
QUICK_TRAINING = {
    "families": ("dummy", "logreg", "tree", "extra_trees"),
    "search_size": 2,
    "cv_folds": 3,
    "cv_repeats": 2,
    "oof_folds": 3,
    "n_jobs": 1,
    "permutation_repeats": 2,
}


def quick_cli_args(build_duckdb: Path, models_dir: Path, families: str) -> list[str]:
    """`python -m ml.train` options for a quick run on *build_duckdb* that publishes
    nothing: the given *families*, one configuration each, 3-fold CV once."""
    return [
        "--build-duckdb",
        str(build_duckdb),
        "--no-publish",
        "--models-dir",
        str(models_dir),
        "--families",
        families,
        "--search-size",
        "1",
        "--cv-folds",
        "3",
        "--cv-repeats",
        "1",
    ]


def ml_rows(table: str, rows: list[dict]) -> pd.DataFrame:
    """*rows* of ml.*table* with every column the writer declares (those not given NULL)."""
    return pd.DataFrame(rows).reindex(columns=list(TABLES[table].column_names))


def quick_settings(models_dir: Path, **overrides: object) -> TrainSettings:
    """TrainSettings of QUICK_TRAINING writing the model to *models_dir*, with *overrides*."""
    return TrainSettings(**{**QUICK_TRAINING, "models_dir": models_dir, **overrides})


def synthetic_mart(
    n: int = 120, seed: int = 0, twins: int = 4, columns: MartColumns | None = None
) -> pd.DataFrame:
    """A mart-shaped frame following the contract, whose target depends on two numerics.

    Columns and their types come from the contract, so the helper follows it
    when it changes. The first *twins* customers get a duplicate record
    (same features and target, new id, same `duplicate_group_id`).
    """
    columns = columns or mart_columns()
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({columns.id: np.arange(1000, 1000 + n, dtype=np.int64)})
    signal = np.zeros(n)
    for i, name in enumerate(columns.numeric):
        if columns.data_types[name] == "integer":
            values = rng.integers(0, 20, size=n).astype(np.int32)
        else:
            values = rng.normal(10.0, 3.0, size=n).round(2)
        frame[name] = values
        if i < 2:
            signal += (values - values.mean()) / (values.std() + 1e-9)
    for name in columns.categorical:
        if columns.data_types[name] == "boolean":
            frame[name] = rng.random(n) < 0.5
        else:
            frame[name] = rng.choice(["alpha", "beta", "gamma"], size=n)
    probability = 1 / (1 + np.exp(-2.0 * signal))
    frame[columns.target] = rng.random(n) < probability
    frame[columns.profit] = rng.normal(4.0, 1.0, size=n).round(2)
    frame[columns.group] = frame[columns.id]
    for name in columns.all:
        if name not in frame.columns:  # quality flags
            frame[name] = False
    if twins:
        copies = frame.iloc[:twins].copy()
        copies[columns.id] = np.arange(1000 + n, 1000 + n + twins, dtype=np.int64)
        frame = pd.concat([frame, copies], ignore_index=True)
    return frame[list(columns.all)]


def write_mart(path: Path, frame: pd.DataFrame, relation: str = MART_RELATION) -> Path:
    """Create a DuckDB file holding *frame* as the mart relation; return its path."""
    schema, table = relation.split(".")
    con = duckdb.connect(str(path))
    try:
        con.register("mart_frame", frame)
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create table {schema}.{table} as select * from mart_frame")
    finally:
        con.close()
    return path


def real_mart_duckdb(real_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the dbt build of the real export (conftest's ``real_warehouse``).

    Training writes its ml.* tables into the file it reads, so it gets a copy:
    the session-wide build stays as dbt left it for the other tests.
    """
    copy = tmp_path / "real_export.duckdb"
    shutil.copy2(real_warehouse, copy)
    wal = real_warehouse.with_name(real_warehouse.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, copy.with_name(copy.name + ".wal"))
    return copy


def groups_straddling(groups: np.ndarray, left: np.ndarray, right: np.ndarray) -> set:
    """Groups present on both sides of a split (empty for a correct split)."""
    return set(np.asarray(groups)[left]) & set(np.asarray(groups)[right])
