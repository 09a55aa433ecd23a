"""Writing customers as the export writes them: number styles, separators, CRLF lines.

The export shows ``3.4``, ``0.0``, ``0.3``, ``4472.0`` and ``4,1``: each
column has its own style (see ``Column``), and ``money.csv`` uses ``;`` with
decimal commas.
"""

from __future__ import annotations

import numpy as np

from ml.sample_data.drawing import Customers
from ml.sample_data.export_format import (
    COLUMN_INDEX,
    COLUMNS,
    MARKET_FILE,
    MARKET_FILE_COLUMNS,
    MARKET_MONEY,
    MARKET_TIME,
    MINUTES_KEYS,
    MONEY,
    NEWLINE,
    REVENUE_KEYS,
    SEPARATORS,
    Column,
)
from ml.sample_data.model import Model


def format_scaled(value: int, column: Column) -> str:
    """Write one scaled integer the way the export writes that column."""
    if column.decimals == 0:
        return str(value)
    scale = 10**column.decimals
    whole, frac = divmod(value, scale)
    digits = f"{frac:0{column.decimals}d}"
    if column.style == "short":
        digits = digits.rstrip("0") or "0"
    elif column.style == "bare":
        digits = digits.rstrip("0")
        if not digits:
            return str(whole)
    return f"{whole}{column.decimal_sep}{digits}"


class Formatter:
    """Formats columns through cached lookup tables: string conversion dominates the run time."""

    TABLE_LIMIT = 200_000

    def __init__(self) -> None:
        self._tables: dict[str, np.ndarray] = {}

    def column(self, values: np.ndarray, column: Column) -> list[str]:
        """Strings for scaled integer *values* of *column*."""
        if len(values) == 0:
            return []
        if values.min() < 0:
            raise ValueError(f"{column.key}: negative values cannot be written")
        top = int(values.max())
        size = min(top, self.TABLE_LIMIT) + 1
        table = self._tables.get(column.key)
        if table is None or len(table) < size:
            table = np.array([format_scaled(v, column) for v in range(size)], dtype=object)
            self._tables[column.key] = table
        out = table[np.minimum(values, len(table) - 1)]
        for i in np.flatnonzero(values >= len(table)):
            out[i] = format_scaled(int(values[i]), column)
        return out.tolist()


def format_block(block: Customers, model: Model, formatter: Formatter) -> dict[str, str]:
    """The block's lines of each file, CRLF-terminated."""
    ids = list(map(str, (block.rows + model.id_start).tolist()))
    fields: list[list[str]] = [ids, block.labels["target"].tolist()]
    for col in MARKET_FILE_COLUMNS:
        if col.key in block.labels:
            fields.append(block.labels[col.key].tolist())
        else:
            fields.append(formatter.column(block.values[:, COLUMN_INDEX[col.key]], col))
    profit = COLUMNS[COLUMN_INDEX["profit"]]
    return {
        MARKET_FILE: _lines(SEPARATORS[MARKET_FILE], fields),
        MARKET_MONEY: _period_lines(block, model, formatter, ids, MARKET_MONEY),
        MARKET_TIME: _period_lines(block, model, formatter, ids, MARKET_TIME),
        MONEY: _lines(
            SEPARATORS[MONEY],
            [ids, formatter.column(block.values[:, COLUMN_INDEX["profit"]], profit)],
        ),
    }


def _period_lines(
    block: Customers, model: Model, formatter: Formatter, ids: list[str], name: str
) -> str:
    """One line per customer and period, the periods in each customer's drawn order."""
    if name == MARKET_MONEY:
        keys, orders, order = REVENUE_KEYS, model.money_orders, block.money_order
    else:
        keys, orders, order = MINUTES_KEYS, model.time_orders, block.time_order
    width = len(keys)
    periods = orders[order]  # [customer, position] -> period index
    cols = np.array([COLUMN_INDEX[k] for k in keys])
    values = block.values[np.arange(len(ids))[:, None], cols[periods]].ravel()
    labels = np.array(model.periods[name], dtype=object)[periods.ravel()].tolist()
    repeated = [i for i in ids for _ in range(width)]
    text = formatter.column(values, COLUMNS[cols[0]])
    return _lines(SEPARATORS[name], [repeated, labels, text])


def _lines(sep: str, fields: list[list[str]]) -> str:
    if not fields[0]:
        return ""
    return NEWLINE.join(map(sep.join, zip(*fields, strict=True))) + NEWLINE
