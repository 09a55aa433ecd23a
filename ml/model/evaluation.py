"""Decision threshold, confusion, calibration and curve points from predicted probabilities.

The threshold is chosen on out-of-fold probabilities (never on the hold-out
and never on in-sample fits), by a rule stated up front and recorded with the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, precision_recall_curve, roc_auc_score, roc_curve

from ml.config import CURVE_MAX_POINTS
from ml.contracts.thinning import sample_evenly


@dataclass(frozen=True)
class ThresholdRule:
    """How to turn probabilities into a yes/no offer decision.

    ``f1``: maximise F1 (balance of precision and recall of decliners).
    ``cost:r``: minimise ``r * missed decliners + wasted offers``, i.e. a
    missed decliner costs *r* times an offer sent to a customer who would
    have stayed. ``fixed:t``: use *t* as is.
    """

    kind: str
    value: float | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value:g}"


def parse_threshold_rule(text: str) -> ThresholdRule:
    """Parse ``f1``, ``cost:<ratio>`` or ``fixed:<t>``; ValueError lists the accepted forms."""
    kind, _, raw = text.strip().lower().partition(":")
    if kind == "f1" and not raw:
        return ThresholdRule("f1")
    if kind in ("cost", "fixed") and raw:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if kind == "cost" and value > 0 and math.isfinite(value):
            return ThresholdRule("cost", value)
        if kind == "fixed" and 0 <= value <= 1:
            return ThresholdRule("fixed", value)
    raise ValueError(
        f"bad threshold rule {text!r}: use 'f1', 'cost:<ratio > 0>' "
        "(cost of a missed decliner / cost of a wasted offer) or 'fixed:<0..1>'"
    )


def _counts_by_threshold(
    y: np.ndarray, p: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Candidate thresholds (descending) with TP and FP when predicting ``p >= threshold``.

    The first candidate lies above every probability (nobody gets an offer),
    so a cost rule can also conclude that no offer pays.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1]
    thresholds = np.r_[np.nextafter(ps[0], np.inf), ps[last_of_tie]]
    tp = np.r_[0, np.cumsum(ys)[last_of_tie]]
    fp = np.r_[0, np.cumsum(1 - ys)[last_of_tie]]
    positives = np.full_like(tp, ys.sum())
    return thresholds, tp, fp, positives


def choose_threshold(y: np.ndarray, p: np.ndarray, rule: ThresholdRule) -> float:
    """The threshold *rule* picks on (*y*, *p*); ties go to the higher one (fewer offers)."""
    if rule.kind == "fixed":
        assert rule.value is not None
        return float(rule.value)
    thresholds, tp, fp, positives = _counts_by_threshold(y, p)
    fn = positives - tp
    if rule.kind == "f1":
        denominator = 2 * tp + fp + fn
        objective = np.divide(2 * tp, denominator, out=np.zeros(len(tp)), where=denominator > 0)
        best = int(np.argmax(objective))
    elif rule.kind == "cost":
        assert rule.value is not None
        best = int(np.argmin(rule.value * fn + fp))
    else:
        raise ValueError(f"unknown threshold rule kind {rule.kind!r}")
    return float(thresholds[best])


def confusion_at(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Confusion counts and precision / recall / F1 when offering to ``p >= threshold``."""
    y = np.asarray(y, dtype=int)
    predicted = np.asarray(p) >= threshold
    tp = int(np.sum(predicted & (y == 1)))
    fp = int(np.sum(predicted & (y == 0)))
    fn = int(np.sum(~predicted & (y == 1)))
    tn = int(np.sum(~predicted & (y == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def summary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """ROC-AUC, Brier score and the confusion at *threshold* for one set of predictions."""
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        **confusion_at(y, p, threshold),
    }


def reliability_table(y: np.ndarray, p: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Reliability-curve points: mean predicted vs observed decline rate in equal-width bins.

    Empty bins are dropped; the count of each bin is kept so a plot can show
    how much evidence stands behind each point.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    frame = pd.DataFrame({"bin": bins, "p": p, "y": y})
    table = frame.groupby("bin").agg(
        mean_predicted=("p", "mean"), observed=("y", "mean"), count=("y", "size")
    )
    return table.reset_index(drop=True)


def _finite_or_none(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def _curve(dataset: str, name: str, x, y, threshold=None, count=None) -> pd.DataFrame:
    n = len(x)
    return pd.DataFrame(
        {
            "dataset": dataset,
            "curve": name,
            "point_index": np.arange(n, dtype=np.int64),
            "x": np.asarray(x, dtype=float),
            "y": np.asarray(y, dtype=float),
            "threshold": _finite_or_none(np.asarray(threshold, dtype=float))
            if threshold is not None
            else [None] * n,
            "bin_count": list(count) if count is not None else [None] * n,
        }
    )


def evaluation_curves(
    y: np.ndarray,
    p: np.ndarray,
    dataset: str,
    n_bins: int,
    max_points: int = CURVE_MAX_POINTS,
) -> pd.DataFrame:
    """ROC, precision-recall, reliability and metric-by-threshold points in one long table.

    The HTML report plots every chart from this table alone. Curves:
    ``roc`` (x = false-positive rate, y = true-positive rate), ``pr``
    (x = recall, y = precision), ``calibration`` (x = mean predicted,
    y = observed rate, with bin_count), and ``precision_at_threshold``,
    ``recall_at_threshold``, ``f1_at_threshold`` (x = threshold). ROC and
    precision-recall keep at most *max_points* points each, ends included.
    """
    fpr, tpr, roc_thr = roc_curve(y, p)
    precision, recall, pr_thr = precision_recall_curve(y, p)
    pr_thr = np.r_[pr_thr, np.nan]
    keep_roc = sample_evenly(len(fpr), max_points)
    keep_pr = sample_evenly(len(recall), max_points)
    fpr, tpr, roc_thr = fpr[keep_roc], tpr[keep_roc], roc_thr[keep_roc]
    precision, recall, pr_thr = precision[keep_pr], recall[keep_pr], pr_thr[keep_pr]
    reliability = reliability_table(y, p, n_bins)
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    by_threshold = [confusion_at(y, p, t) for t in grid]
    parts = [
        _curve(dataset, "roc", fpr, tpr, roc_thr),
        _curve(dataset, "pr", recall, precision, pr_thr),
        _curve(
            dataset,
            "calibration",
            reliability["mean_predicted"],
            reliability["observed"],
            count=reliability["count"].astype(int).tolist(),
        ),
    ]
    for metric in ("precision", "recall", "f1"):
        values = [row[metric] for row in by_threshold]
        parts.append(_curve(dataset, f"{metric}_at_threshold", grid, values, grid))
    return pd.concat(parts, ignore_index=True)
