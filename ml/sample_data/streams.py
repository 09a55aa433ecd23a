"""Counter-based random streams: every random number a pure function of (seed, customer, purpose).

A SplitMix64 hash of a counter gives a uniform number, so a customer's record
does not depend on which chunk it is generated in, and a twin can look up its
original's record by index.
"""

from __future__ import annotations

import numpy as np

from ml.sample_data.export_format import COLUMNS

# Each purpose has a fixed slot: changing a slot changes every sample, so only
# append new ones.
SLOT_CLASS = 0
SLOT_DUPLICATE_RUN = 1
SLOT_INACTIVE = 2
SLOT_INACTIVE_PATTERN = 3
SLOT_IMPLAUSIBLE = 4
SLOT_IMPLAUSIBLE_PERIOD = 5
SLOT_IMPLAUSIBLE_FACTOR = 6
SLOT_MONEY_ORDER = 7
SLOT_TIME_ORDER = 8
SLOT_SPELLING = 9  # + index in LABELLED_KEYS
SLOT_COMPONENT = 13
SLOT_COPULA = 16  # + column index
SLOT_DIGIT = SLOT_COPULA + len(COLUMNS)  # + column index
N_SLOTS = SLOT_DIGIT + len(COLUMNS)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def seed_key(seed: int) -> np.uint64:
    """Turn a user seed into the 64-bit key of the counter-based streams."""
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0]


def uniforms(key: np.uint64, rows: np.ndarray, slot: int) -> np.ndarray:
    """Uniform numbers in (0, 1) for customers *rows* and purpose *slot*.

    A SplitMix64 output at counter ``rows * N_SLOTS + slot``: a pure function
    of its inputs, which is what makes the output independent of chunking and
    lets a twin look up its original's record by index.
    """
    counter = rows.astype(np.uint64) * np.uint64(N_SLOTS) + np.uint64(slot + 1)
    x = key + counter * _GOLDEN
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn by uniforms *u* from cumulative shares *cum* (inverse CDF of a table)."""
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
