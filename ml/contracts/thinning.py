"""The one rule for showing a long series by a bounded number of its points.

The ML step thins ROC and precision-recall curves with it before writing
ml.evaluation_curves, and the reports thin the SHAP dots they read with it,
so whatever is drawn keeps the ends and spreads evenly in the same way.
"""

from __future__ import annotations

import numpy as np


def sample_evenly(n: int, limit: int) -> np.ndarray:
    """Indices of at most *limit* of *n* items spread evenly, ends kept (deterministic)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))
