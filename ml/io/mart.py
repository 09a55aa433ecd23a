"""Load the feature mart from DuckDB and refuse it early when it cannot train a model.

Everything the model code needs to know about columns comes from the mart's
dbt contract (:func:`ml.contracts.features.mart_columns`); this module only checks that
the table in the warehouse honours it and turns it into model inputs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml.contracts.features import MartColumns
from ml.contracts.sql import quote_identifier

logger = logging.getLogger(__name__)


class MartError(ValueError):
    """The mart is missing, empty or unusable; the message says which and why."""


@dataclass(frozen=True)
class MartData:
    """Model inputs of one mart snapshot, rows in customer-id order."""

    frame: pd.DataFrame  # the mart as read, sorted by customer id
    x: pd.DataFrame  # features only, categoricals as text
    y: np.ndarray | None  # 0/1 target, None when the mart carries no usable target
    groups: np.ndarray  # duplicate-record group of each row
    customer_ids: np.ndarray


def _split_relation(relation: str) -> tuple[str, str]:
    schema, _, table = relation.rpartition(".")
    return schema or "main", table


def read_mart(con: duckdb.DuckDBPyConnection, relation: str, columns: MartColumns) -> pd.DataFrame:
    """Read the contract's columns of *relation*, or raise :class:`MartError` saying what is wrong.

    Only contract columns are selected (in contract order), so an extra column
    in the table never reaches the model and a missing one fails loudly here
    rather than as a KeyError deep inside scikit-learn.
    """
    schema, table = _split_relation(relation)
    found = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not found:
        raise MartError(
            f"mart {relation} does not exist in the DuckDB file; build it first (dbt build)"
        )
    present = {name for (name,) in found}
    missing = [c for c in columns.all if c not in present]
    if missing:
        raise MartError(f"mart {relation} lacks contract column(s): {', '.join(missing)}")
    select = ", ".join(quote_identifier(c) for c in columns.all)
    source = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    frame = con.execute(
        f"select {select} from {source} order by {quote_identifier(columns.id)}"
    ).df()
    logger.info("read %d rows x %d columns from %s", len(frame), frame.shape[1], relation)
    return frame


def validate_for_training(frame: pd.DataFrame, columns: MartColumns) -> None:
    """Refuse a mart that cannot train an honest model (empty, one class, nulls, duplicate ids)."""
    _validate_common(frame, columns)
    target = frame[columns.target]
    if target.isna().any():
        raise MartError(f"target column {columns.target} has {int(target.isna().sum())} nulls")
    classes = sorted(target.astype(bool).unique().tolist())
    if len(classes) < 2:
        raise MartError(
            f"target column {columns.target} has only one class ({classes}); "
            "a classifier needs both declined and stable customers"
        )
    positives = int(target.astype(bool).sum())
    minority = min(positives, len(frame) - positives)
    if minority < 10:
        raise MartError(
            f"only {minority} customers in the minority class; too few to cross-validate"
        )


def validate_for_scoring(frame: pd.DataFrame, columns: MartColumns) -> None:
    """Refuse a mart that cannot be scored (empty, nulls in features, duplicate ids)."""
    _validate_common(frame, columns)


def _validate_common(frame: pd.DataFrame, columns: MartColumns) -> None:
    if frame.empty:
        raise MartError("mart is empty: no active customers to model")
    ids = frame[columns.id]
    if ids.isna().any() or ids.duplicated().any():
        raise MartError(f"{columns.id} must be unique and not null (one row per customer)")
    needed = [*columns.features, columns.group]
    nulls = {c: int(n) for c, n in frame[needed].isna().sum().items() if n}
    if nulls:
        detail = ", ".join(f"{c}={n}" for c, n in nulls.items())
        raise MartError(f"null values in model inputs ({detail}); the contract forbids them")


def categorical_as_text(series: pd.Series) -> pd.Series:
    """Text form of a categorical column, the same for training and scoring.

    Booleans become 'true'/'false' (as DuckDB prints them) so every categorical
    reaches the one-hot encoder with one dtype, whatever its SQL type.
    """
    if pd.api.types.is_bool_dtype(series):
        return series.map({True: "true", False: "false"}).astype(object)
    return series.astype(str).astype(object)


def model_inputs(frame: pd.DataFrame, columns: MartColumns) -> pd.DataFrame:
    """The feature matrix in contract order: numerics as float, categoricals as text."""
    x = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for name in columns.features:
        values = frame[name].reset_index(drop=True)
        if name in columns.categorical:
            x[name] = categorical_as_text(values)
        else:
            x[name] = values.astype(float)
    return x


def to_mart_data(frame: pd.DataFrame, columns: MartColumns, with_target: bool) -> MartData:
    """Bundle features, target and groups of a validated mart frame."""
    frame = frame.reset_index(drop=True)
    y = frame[columns.target].astype(bool).astype(int).to_numpy() if with_target else None
    return MartData(
        frame=frame,
        x=model_inputs(frame, columns),
        y=y,
        groups=frame[columns.group].to_numpy(),
        customer_ids=frame[columns.id].to_numpy(),
    )


def load_mart(
    con: duckdb.DuckDBPyConnection, relation: str, columns: MartColumns, for_training: bool
) -> tuple[pd.DataFrame, MartData]:
    """The mart as read and as model inputs, refused early when unusable for the purpose.

    Training needs the target (both classes, no nulls); scoring does not.
    """
    frame = read_mart(con, relation, columns)
    validate = validate_for_training if for_training else validate_for_scoring
    validate(frame, columns)
    return frame, to_mart_data(frame, columns, with_target=for_training)


def data_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of the mart content, independent of row order, to tell snapshots apart.

    Two runs on the same fingerprint and seed must give identical predictions;
    the fingerprint in `ml.model_runs` lets anyone check that claim.
    """
    ordered = frame.sort_values(list(frame.columns[:1])).reset_index(drop=True)
    row_hashes = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    digest = hashlib.sha256()
    digest.update(",".join(map(str, ordered.columns)).encode())
    digest.update(row_hashes.tobytes())
    return digest.hexdigest()


@contextmanager
def open_duckdb(
    con_or_path: duckdb.DuckDBPyConnection | str | Path, read_only: bool
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection: the caller's own (left open) or a new one on an existing file.

    A missing file is refused instead of silently created empty, which would
    otherwise turn a wrong path into a confusing "mart does not exist".
    """
    if isinstance(con_or_path, duckdb.DuckDBPyConnection):
        yield con_or_path
        return
    path = Path(con_or_path)
    if not path.exists():
        raise MartError(f"DuckDB file {path} does not exist; build the warehouse first (dbt build)")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as error:
        raise MartError(f"cannot open {path}: {error}") from error
    try:
        yield con
    finally:
        con.close()
