"""The mart loader refuses unusable marts with a message that says what is wrong."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ml.config import MART_RELATION
from ml.contracts.features import mart_columns
from ml.io.mart import (
    MartError,
    categorical_as_text,
    data_fingerprint,
    model_inputs,
    open_duckdb,
    read_mart,
    validate_for_training,
)

from .ml_fixtures import synthetic_mart, write_mart


def _read(path: Path) -> pd.DataFrame:
    with open_duckdb(path, read_only=True) as con:
        return read_mart(con, MART_RELATION, mart_columns())


def test_missing_duckdb_file_is_refused_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.duckdb"
    with pytest.raises(MartError, match="does not exist"):
        _read(path)
    assert not path.exists()


def test_missing_mart_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(MartError, match=r"marts\.customer_features does not exist"):
        _read(path)


def test_mart_missing_a_contract_column_is_refused(tmp_path: Path) -> None:
    frame = synthetic_mart().drop(columns=["tenure_days"])
    path = write_mart(tmp_path / "w.duckdb", frame)
    with pytest.raises(MartError, match=r"lacks contract column.*tenure_days"):
        _read(path)


def test_extra_columns_are_ignored_and_rows_come_in_customer_order(tmp_path: Path) -> None:
    frame = synthetic_mart(n=30).sample(frac=1.0, random_state=1)
    frame["something_else"] = 1
    read = _read(write_mart(tmp_path / "w.duckdb", frame))
    assert list(read.columns) == list(mart_columns().all)
    assert read["customer_id"].is_monotonic_increasing


def test_empty_mart_is_refused() -> None:
    with pytest.raises(MartError, match="empty"):
        validate_for_training(synthetic_mart().iloc[0:0], mart_columns())


def test_single_class_mart_is_refused() -> None:
    frame = synthetic_mart()
    frame["activity_declined"] = False
    with pytest.raises(MartError, match="only one class"):
        validate_for_training(frame, mart_columns())


def test_nulls_in_features_are_refused() -> None:
    frame = synthetic_mart()
    frame["pages_per_visit"] = frame["pages_per_visit"].astype(float)
    frame.loc[3, "pages_per_visit"] = None
    with pytest.raises(MartError, match="pages_per_visit=1"):
        validate_for_training(frame, mart_columns())


def test_duplicate_customer_ids_are_refused() -> None:
    frame = synthetic_mart()
    frame.loc[1, "customer_id"] = frame.loc[0, "customer_id"]
    with pytest.raises(MartError, match="unique"):
        validate_for_training(frame, mart_columns())


def test_boolean_categoricals_become_true_false_text() -> None:
    assert categorical_as_text(pd.Series([True, False])).tolist() == ["true", "false"]


def test_model_inputs_hold_features_only_in_contract_order() -> None:
    x = model_inputs(synthetic_mart(n=10, twins=0), mart_columns())
    assert tuple(x.columns) == mart_columns().features
    assert "activity_declined" not in x.columns and "profit" not in x.columns


def test_fingerprint_ignores_row_order_but_not_content() -> None:
    frame = synthetic_mart(n=20, twins=0)
    shuffled = frame.sample(frac=1.0, random_state=3)
    changed = frame.copy()
    changed.loc[0, "tenure_days"] += 1
    assert data_fingerprint(frame) == data_fingerprint(shuffled)
    assert data_fingerprint(frame) != data_fingerprint(changed)
