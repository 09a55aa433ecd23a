"""Summaries the pages quote, computed from the warehouse frames (pure functions, no HTML).

Kept apart from the templates so every number on a page can be tested
against a hand-computed value, and the findings can quote the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ClassBalance:
    """How many active customers declined and how many kept their level."""

    n_declined: int
    n_same: int

    @property
    def n(self) -> int:
        return self.n_declined + self.n_same

    @property
    def share_declined(self) -> float:
        return self.n_declined / self.n if self.n else math.nan


@dataclass(frozen=True)
class Confusion:
    """Offers at the threshold against what happened (positive = activity declined)."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else math.nan

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan

    @property
    def f1(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else math.nan


def confusion(predictions: pd.DataFrame, threshold: float | None) -> Confusion | None:
    """Counts when customers with p_decline ≥ *threshold* are predicted to decline.

    Without a threshold the run's own labels (predicted_decline) are used.
    """
    if predictions.empty:
        return None
    actual = predictions["declined"].astype(bool).to_numpy()
    if threshold is None or (isinstance(threshold, float) and math.isnan(threshold)):
        predicted = predictions["predicted_decline"].astype(bool).to_numpy()
        threshold = math.nan
    else:
        predicted = predictions["p_decline"].to_numpy(dtype=float) >= threshold
    return Confusion(
        threshold=float(threshold),
        tp=int(np.sum(predicted & actual)),
        fp=int(np.sum(predicted & ~actual)),
        fn=int(np.sum(~predicted & actual)),
        tn=int(np.sum(~predicted & ~actual)),
    )


def confusion_from_run(run: object, dataset: str) -> Confusion | None:
    """The counts ml.model_runs stored for *dataset* ('oof' or 'holdout'), if it has them."""
    counts = {k: getattr(run, f"{dataset}_{k}", None) for k in ("tp", "fp", "fn", "tn")}
    threshold = getattr(run, "threshold", None)
    if any(v is None for v in counts.values()) or threshold is None:
        return None
    return Confusion(threshold=float(threshold), **{k: int(v) for k, v in counts.items()})


def run_confusions(run: object, predictions: pd.DataFrame | None) -> list[tuple[Confusion, str]]:
    """Confusion at the threshold per dataset: the run's stored counts, else (out-of-fold
    only) counted from its predictions."""
    out = []
    for dataset in ("oof", "holdout"):
        stored = confusion_from_run(run, dataset)
        if stored is None and dataset == "oof" and predictions is not None:
            stored = confusion(predictions, getattr(run, "threshold", None))
        if stored is not None:
            out.append((stored, dataset))
    return out


def key_segment(summary: pd.DataFrame) -> pd.Series | None:
    """The row of the key segment in segments.segment_summary."""
    rows = summary[summary["is_key_segment"].astype(bool)]
    return None if rows.empty else rows.iloc[0]
