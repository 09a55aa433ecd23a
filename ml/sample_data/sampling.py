"""Generating a sample block by block: originals, then the defects, then twins in place.

Output is deterministic for a seed and a parameter file (on one platform: a
different LAPACK may move a Cholesky factor's last bit), independent of the
chunk size, and a longer sample starts with the shorter one, because every
random number is a pure function of (seed, customer index, purpose).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ml.sample_data.defects import apply_implausible, apply_inactive, copy_twins, twin_mask
from ml.sample_data.drawing import Customers, draw_originals
from ml.sample_data.model import Model
from ml.sample_data.streams import seed_key

DEFAULT_CHUNK_SIZE = 100_000


def iter_blocks(
    model: Model, n_customers: int, seed: int, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[Customers]:
    """Generate the sample chunk by chunk; memory is bounded by *chunk_size*."""
    if n_customers < 0 or chunk_size < 1:
        raise ValueError("n_customers must be >= 0 and chunk_size >= 1")
    key = seed_key(seed)
    for start in range(0, n_customers, chunk_size):
        yield generate_block(model, key, start, min(start + chunk_size, n_customers))


def generate_block(model: Model, key: np.uint64, start: int, stop: int) -> Customers:
    """Customers start..stop-1 with twins in place; identical whatever the block bounds."""
    rows = np.arange(start, stop, dtype=np.int64)
    block = _draw(model, key, rows)
    if model.duplicate_start_rate <= 0 or stop - model.duplicate_lag <= 0:
        return block
    twin = twin_mask(model, key, start, stop)
    if twin.any():
        copy_twins(block, twin, _draw(model, key, rows[twin] - model.duplicate_lag))
    return block


def _draw(model: Model, key: np.uint64, rows: np.ndarray) -> Customers:
    """Customers *rows* as originals, with the defects that change their values."""
    customers = draw_originals(model, key, rows)
    apply_inactive(model, key, rows, customers.values)
    apply_implausible(model, key, rows, customers.values)
    return customers
