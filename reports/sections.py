"""The figures each page shows, computed from the warehouse frames (pure functions, no HTML).

Kept apart from the templates so every number on a page can be tested
against a hand-computed value, and the findings can quote the same numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
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


def slug(text: str) -> str:
    """A file-name-safe form of an id: letters, digits, '_' and '-' only."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")
    return cleaned or "item"


def unique_slugs(ids: list[str]) -> dict[str, str]:
    """Slugs for *ids* that never collide (a suffix is added when two clean to the same)."""
    seen: dict[str, int] = {}
    out = {}
    for value in ids:
        base = slug(value)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out[value] = base if n == 0 else f"{base}-{n + 1}"
    return out


def reason_translator(reasons: pd.DataFrame, lang: str) -> Callable[[object], object]:
    """A function re-wording a reason written by dbt (in any language) in *lang*.

    dbt writes reasons in one language (var reason_language); the seed
    reference.feature_reasons has every language, so the pages can show the
    reader's. A text the seed does not know is returned unchanged.
    """
    target = f"reason_{lang}"
    if reasons.empty or target not in reasons:
        return lambda text: text
    languages = [c for c in reasons.columns if c.startswith("reason_")]
    exact: dict[str, str] = {}
    patterns: list[tuple[re.Pattern[str], str]] = []
    for row in reasons.to_dict("records"):
        for column in languages:
            template = row[column]
            if not isinstance(template, str) or not isinstance(row[target], str):
                continue
            if "{value}" in template:
                before, _, after = template.partition("{value}")
                pattern = re.compile(re.escape(before) + "(.*)" + re.escape(after))
                patterns.append((pattern, row[target]))
            else:
                exact.setdefault(template, row[target])

    def translate(text: object) -> object:
        if not isinstance(text, str):
            return text
        if text in exact:
            return exact[text]
        for pattern, wording in patterns:
            match = pattern.fullmatch(text)
            if match:
                return wording.replace("{value}", match.group(1))
        return text

    return translate
