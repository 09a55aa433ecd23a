"""Reading a real export into one row per customer, the input of fitting."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ml.sample_data.export_format import (
    COLUMNS,
    ENCODING,
    HEADERS,
    KNOWN_LEVELS,
    MARKET_FILE,
    MARKET_FILE_COLUMNS,
    MARKET_MONEY,
    MARKET_TIME,
    MINUTES_HEADER,
    MINUTES_KEYS,
    MONEY,
    PERIOD_HEADER,
    PERIODS,
    PROFIT_HEADER,
    REVENUE_HEADER,
    REVENUE_KEYS,
    SEPARATORS,
    TARGET_HEADER,
    TARGET_LABELS,
    TIME_PERIODS,
)
from ml.sample_data.labels import canonical_labels


def read_export(raw_dir: Path) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
    """Join the four raw files into one row per customer with canonical labels.

    Returns the table (columns: ``id``, ``declined``, the keys of ``COLUMNS``
    with categorical columns as canonical labels, ``money_order`` and
    ``time_order`` as tuples of period indices, and the spellings in
    ``<key>_spelling``) and the spelling of each period label per file.
    """
    files = {
        name: _read_csv(raw_dir / name, SEPARATORS[name], HEADERS[name])
        for name in (MARKET_FILE, MARKET_MONEY, MARKET_TIME, MONEY)
    }
    table = _customer_attributes(files[MARKET_FILE])
    period_spelling = {
        MARKET_MONEY: _add_periods(table, files[MARKET_MONEY], MARKET_MONEY),
        MARKET_TIME: _add_periods(table, files[MARKET_TIME], MARKET_TIME),
    }
    money = files[MONEY]
    profit = pd.Series(_number(money[PROFIT_HEADER], ","), index=money["id"].astype(np.int64))
    table["profit"] = profit.loc[table["id"]].to_numpy()
    if table[[c.key for c in COLUMNS]].isna().any().any():
        raise ValueError(f"{raw_dir}: some customer misses a value in one of the files")
    return table, period_spelling


def _read_csv(path: Path, sep: str, expected: Sequence[str]) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=sep, dtype=str, encoding=ENCODING, keep_default_na=False)
    if tuple(frame.columns) != tuple(expected):
        raise ValueError(f"{path}: header {list(frame.columns)} != expected {list(expected)}")
    return frame


def _number(values: pd.Series, decimal_sep: str = ".") -> np.ndarray:
    return values.str.replace(decimal_sep, ".", regex=False).astype(np.float64).to_numpy()


def _customer_attributes(market_file: pd.DataFrame) -> pd.DataFrame:
    """``market_file.csv`` as numbers and canonical labels, spellings kept beside them."""
    table = pd.DataFrame({"id": market_file["id"].astype(np.int64)})
    target = market_file[TARGET_HEADER]
    target_map = canonical_labels(target.value_counts().to_dict(), tuple(TARGET_LABELS.values()))
    table["declined"] = target.map(target_map).eq(TARGET_LABELS["declined"]).to_numpy()
    table["target_spelling"] = target.to_numpy()
    for col in MARKET_FILE_COLUMNS:
        raw = market_file[col.header]
        if col.categorical:
            mapping = canonical_labels(raw.value_counts().to_dict(), KNOWN_LEVELS.get(col.key))
            table[col.key] = raw.map(mapping).to_numpy()
            table[f"{col.key}_spelling"] = raw.to_numpy()
        else:
            table[col.key] = _number(raw)
    return table


def _add_periods(table: pd.DataFrame, frame: pd.DataFrame, name: str) -> dict[str, str]:
    """Add one value column per period and the customers' row order; return the spellings."""
    money = name == MARKET_MONEY
    periods = PERIODS if money else TIME_PERIODS
    mapping = canonical_labels(frame[PERIOD_HEADER].value_counts().to_dict(), periods)
    inverse = {canon: spelling for spelling, canon in mapping.items()}
    if set(inverse) != set(periods):
        raise ValueError(f"{name}: periods {sorted(mapping)} do not cover {list(periods)}")
    long = pd.DataFrame(
        {
            "id": frame["id"].astype(np.int64),
            "period": frame[PERIOD_HEADER].map(mapping),
            "value": _number(frame[REVENUE_HEADER if money else MINUTES_HEADER]),
        }
    )
    wide = long.pivot(index="id", columns="period", values="value")
    for key, period in zip(REVENUE_KEYS if money else MINUTES_KEYS, periods, strict=True):
        table[key] = wide.loc[table["id"], period].to_numpy()
    order_key = "money_order" if money else "time_order"
    table[order_key] = _period_orders(long, periods).loc[table["id"]].to_numpy()
    return {p: inverse[p] for p in periods}


def _period_orders(frame: pd.DataFrame, periods: Sequence[str]) -> pd.Series:
    codes = frame["period"].map({p: i for i, p in enumerate(periods)})
    return codes.groupby(frame["id"], sort=False).agg(tuple)
