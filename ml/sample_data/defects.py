"""The export's defects at their fitted rates: inactive, implausible revenue, twins.

Inactive customers get 0.0 revenue in the earliest months, implausible
revenue multiplies one month by a factor in the fitted range, and runs of
double registrations repeat an earlier record (same attributes, revenue and
minutes) under a new id with a new profit and row order.
"""

from __future__ import annotations

import math

import numpy as np

from ml.sample_data.drawing import Customers
from ml.sample_data.export_format import COLUMN_INDEX, LABELLED_KEYS, REVENUE_KEYS
from ml.sample_data.model import Model
from ml.sample_data.streams import (
    SLOT_DUPLICATE_RUN,
    SLOT_IMPLAUSIBLE,
    SLOT_IMPLAUSIBLE_FACTOR,
    SLOT_IMPLAUSIBLE_PERIOD,
    SLOT_INACTIVE,
    SLOT_INACTIVE_PATTERN,
    pick,
    uniforms,
)

_REVENUE = [COLUMN_INDEX[k] for k in REVENUE_KEYS]


def apply_inactive(model: Model, key: np.uint64, rows: np.ndarray, values: np.ndarray) -> None:
    """Zero the revenue of inactive customers in one of the fitted patterns of months, in place."""
    if model.inactive_rate <= 0:
        return
    inactive = uniforms(key, rows, SLOT_INACTIVE) < model.inactive_rate
    if not inactive.any():
        return
    pattern = pick(model.inactive_cum, uniforms(key, rows[inactive], SLOT_INACTIVE_PATTERN))
    block = values[inactive][:, _REVENUE]
    block[model.inactive_patterns[pattern]] = 0
    values[np.ix_(inactive, _REVENUE)] = block


def apply_implausible(model: Model, key: np.uint64, rows: np.ndarray, values: np.ndarray) -> None:
    """Multiply one month's revenue of the hit customers by a factor in the fitted range."""
    if model.implausible_rate <= 0:
        return
    hit = np.flatnonzero(uniforms(key, rows, SLOT_IMPLAUSIBLE) < model.implausible_rate)
    if not len(hit):
        return
    period = pick(model.implausible_period_cum, uniforms(key, rows[hit], SLOT_IMPLAUSIBLE_PERIOD))
    u = uniforms(key, rows[hit], SLOT_IMPLAUSIBLE_FACTOR).tolist()
    lo, hi = model.implausible_ratio
    # math.exp per value: rare rows, and no SIMD path that could vary by position.
    factor = np.array([lo * math.exp(x * math.log(hi / lo)) for x in u])
    cols = np.array(_REVENUE)[period]
    values[hit, cols] = np.rint(values[hit, cols] * factor).astype(np.int64)


def twin_mask(model: Model, key: np.uint64, start: int, stop: int) -> np.ndarray:
    """Which of customers start..stop-1 are twins of the customer ``duplicate_lag`` ids earlier.

    A customer is a twin when it lies in a run and its original does not, so
    a twin never copies another twin.
    """
    rows = np.arange(start, stop, dtype=np.int64)
    twin = _in_run(model, key, start, stop)
    lag = model.duplicate_lag
    lo = max(start, lag)
    has_source = rows >= lag
    source_in_run = np.zeros(len(rows), dtype=bool)
    if lo < stop:
        source_in_run[has_source] = _in_run(model, key, lo - lag, stop - lag)
    return twin & has_source & ~source_in_run


def copy_twins(block: Customers, twin: np.ndarray, original: Customers) -> None:
    """Overwrite the *twin* customers of *block* with their *original* records, profit aside."""
    profit = COLUMN_INDEX["profit"]
    keep_profit = block.values[twin, profit]
    block.values[twin] = original.values
    block.values[twin, profit] = keep_profit
    block.declined[twin] = original.declined
    for name in LABELLED_KEYS:
        block.labels[name][twin] = original.labels[name]


def _in_run(model: Model, key: np.uint64, start: int, stop: int) -> np.ndarray:
    """Whether customers start..stop-1 lie in a run of twins (a run started within the window)."""
    first = max(0, start - model.duplicate_run + 1)
    starts = uniforms(key, np.arange(first, stop), SLOT_DUPLICATE_RUN) < model.duplicate_start_rate
    csum = np.concatenate([[0], np.cumsum(starts)])
    idx = np.arange(start, stop) - first
    return (csum[idx + 1] - csum[np.maximum(idx + 1 - model.duplicate_run, 0)]) > 0
