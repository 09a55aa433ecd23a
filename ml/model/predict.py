"""Probabilities of a fitted model, the one way every stage asks for them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def positive_proba(model: Any, x: pd.DataFrame, batch_rows: int | None = None) -> np.ndarray:
    """Probability of class 1 (activity declined), whatever order the classes were learnt in.

    With *batch_rows*, rows go to the model that many at a time, so the
    pipeline's intermediate arrays stay bounded however many customers there are.
    """
    positive = list(model.classes_).index(1)
    if batch_rows is None or len(x) <= batch_rows:
        return model.predict_proba(x)[:, positive]
    return np.concatenate(
        [
            model.predict_proba(x.iloc[start : start + batch_rows])[:, positive]
            for start in range(0, len(x), batch_rows)
        ]
    )
