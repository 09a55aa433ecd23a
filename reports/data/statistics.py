"""The statistics of the exploratory analysis, as pure functions.

The segment profiles are not here: dbt models segment_feature_profile and
key_segment_profile compute them (Welch's test, macros/welch_test.sql).

Why these tests: the features are skewed counts and shares, so decliners and
stayers are compared with Mann–Whitney U (no normality assumed) and the
rank-biserial correlation as its effect size; categorical features with a
chi-square test of independence and Cramér's V. Sixteen features mean
sixteen tests, so p-values are Holm-adjusted before a difference is called
significant. Associations between features of mixed kinds are put on one
0–1 scale: |Spearman ρ| (numeric–numeric), Cramér's V (categorical–
categorical) and the correlation ratio η (categorical–numeric).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats.contingency import association as contingency_association

SIGNIFICANCE = 0.05
# |association| at or above which two features are flagged as multicollinear.
STRONG_ASSOCIATION = 0.7


@dataclass(frozen=True)
class NumericComparison:
    """A numeric feature in decliners vs. stayers."""

    feature: str
    n_declined: int
    n_same: int
    mean_declined: float
    mean_same: float
    median_declined: float
    median_same: float
    u_statistic: float
    p_value: float
    rank_biserial: float  # > 0: decliners tend to have larger values

    @property
    def difference(self) -> float:
        return self.mean_declined - self.mean_same


@dataclass(frozen=True)
class CategoricalComparison:
    """A categorical feature in decliners vs. stayers."""

    feature: str
    shares: pd.DataFrame  # index: level; columns: declined, same (shares within class)
    chi2: float
    p_value: float
    cramers_v: float


def compare_numeric(feature: str, values: pd.Series, declined: pd.Series) -> NumericComparison:
    """Two-sided Mann–Whitney U of *values* between declined and same-level customers."""
    declined = declined.astype(bool)
    a = values[declined].astype(float).to_numpy()
    b = values[~declined].astype(float).to_numpy()
    if len(a) and len(b):
        result = stats.mannwhitneyu(a, b, alternative="two-sided")
        u, p = float(result.statistic), float(result.pvalue)
        r = 2 * u / (len(a) * len(b)) - 1
    else:
        u = p = r = math.nan
    return NumericComparison(
        feature=feature,
        n_declined=len(a),
        n_same=len(b),
        mean_declined=float(np.mean(a)) if len(a) else math.nan,
        mean_same=float(np.mean(b)) if len(b) else math.nan,
        median_declined=float(np.median(a)) if len(a) else math.nan,
        median_same=float(np.median(b)) if len(b) else math.nan,
        u_statistic=u,
        p_value=p,
        rank_biserial=r,
    )


def contingency(x: pd.Series, y: pd.Series) -> pd.DataFrame:
    """Counts of every (x, y) pair, levels sorted as text."""
    return pd.crosstab(x.astype(str), y.astype(str))


def cramers_v(table: pd.DataFrame) -> float:
    """Cramér's V of a table of counts (no bias correction; 0 for a single row or column)."""
    observed = table.to_numpy()
    if min(observed.shape) < 2 or observed.sum() == 0:
        return 0.0
    cramer = contingency_association(observed.astype(np.int64), method="cramer", correction=False)
    return float(cramer)


def compare_categorical(
    feature: str, values: pd.Series, declined: pd.Series
) -> CategoricalComparison:
    """Chi-square test of independence (no continuity correction) and Cramér's V."""
    labels = declined.astype(bool).map({True: "declined", False: "same"})
    table = contingency(values, labels).reindex(columns=["declined", "same"], fill_value=0)
    shares = table / table.sum(axis=0).replace(0, np.nan)
    if min(table.shape) >= 2 and (table.sum(axis=0) > 0).all():
        result = stats.chi2_contingency(table.to_numpy(dtype=float), correction=False)
        chi2, p = float(result.statistic), float(result.pvalue)
    else:
        chi2, p = math.nan, math.nan
    return CategoricalComparison(
        feature=feature, shares=shares, chi2=chi2, p_value=p, cramers_v=cramers_v(table)
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given; NaN stays NaN)."""
    indexed = [(p, i) for i, p in enumerate(p_values) if not math.isnan(p)]
    indexed.sort()
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def correlation_ratio(categories: pd.Series, values: pd.Series) -> float:
    """η: share of the variance of *values* explained by the category means (0–1)."""
    y = values.astype(float).to_numpy()
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0:
        return 0.0
    frame = pd.DataFrame({"c": categories.astype(str).to_numpy(), "y": y})
    groups = frame.groupby("c")["y"]
    between = float(((groups.mean() - y.mean()) ** 2 * groups.size()).sum())
    return math.sqrt(between / total)


def spearman(x: pd.Series, y: pd.Series) -> float:
    """Spearman's ρ (0 when either side is constant)."""
    if x.nunique() < 2 or y.nunique() < 2:
        return 0.0
    return float(stats.spearmanr(x.astype(float), y.astype(float)).statistic)


@dataclass(frozen=True)
class Association:
    """Strength of association between two columns and the measure used."""

    a: str
    b: str
    value: float  # signed for Spearman, 0–1 otherwise
    method: str  # spearman | cramers_v | correlation_ratio

    @property
    def strength(self) -> float:
        return abs(self.value)


def association(frame: pd.DataFrame, a: str, b: str, categorical: set[str]) -> Association:
    """The measure that fits the kinds of columns *a* and *b*."""
    if a in categorical and b in categorical:
        return Association(a, b, cramers_v(contingency(frame[a], frame[b])), "cramers_v")
    if a in categorical:
        return Association(a, b, correlation_ratio(frame[a], frame[b]), "correlation_ratio")
    if b in categorical:
        return Association(a, b, correlation_ratio(frame[b], frame[a]), "correlation_ratio")
    return Association(a, b, spearman(frame[a], frame[b]), "spearman")


def association_matrix(
    frame: pd.DataFrame, columns: Sequence[str], categorical: set[str]
) -> list[list[Association]]:
    """Every pair of *columns* (rows × columns, diagonal = 1).

    Each measure is symmetric, so a pair is computed once, above the
    diagonal, and mirrored below it: half the work on a large sample.
    """
    matrix: list[list[Association]] = []
    for i, a in enumerate(columns):
        row = []
        for j, b in enumerate(columns):
            if i == j:
                row.append(Association(a, b, 1.0, "identity"))
            elif i < j:
                row.append(association(frame, a, b, categorical))
            else:  # row j is complete: mirror its cell
                row.append(Association(a, b, matrix[j][i].value, matrix[j][i].method))
        matrix.append(row)
    return matrix


def strong_pairs(
    matrix: list[list[Association]], threshold: float = STRONG_ASSOCIATION
) -> list[Association]:
    """Pairs above the diagonal with strength ≥ *threshold*, strongest first."""
    pairs = [
        matrix[i][j]
        for i in range(len(matrix))
        for j in range(i + 1, len(matrix))
        if matrix[i][j].strength >= threshold
    ]
    return sorted(pairs, key=lambda p: (-p.strength, p.a, p.b))


def histogram_edges(values: pd.Series, max_bins: int = 20) -> np.ndarray:
    """Shared bin edges for both classes: one bin per integer for small counts, else equal width."""
    v = values.astype(float).to_numpy()
    lo, hi = float(np.min(v)), float(np.max(v))
    if lo == hi:
        return np.array([lo - 0.5, hi + 0.5])
    is_integer = bool(np.all(np.equal(np.mod(v, 1), 0)))
    if is_integer and hi - lo + 1 <= max_bins:
        return np.arange(lo - 0.5, hi + 1.5, 1.0)
    return np.linspace(lo, hi, max_bins + 1)


def class_histograms(
    values: pd.Series, declined: pd.Series, max_bins: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(edges, share of decliners per bin, share of stayers per bin): classes of unequal size
    are compared by shape, not by count."""
    edges = histogram_edges(values, max_bins)
    declined = declined.astype(bool).to_numpy()
    v = values.astype(float).to_numpy()
    a, _ = np.histogram(v[declined], bins=edges)
    b, _ = np.histogram(v[~declined], bins=edges)
    return edges, a / max(a.sum(), 1), b / max(b.sum(), 1)


def order_periods(summary: pd.DataFrame, period_order: Sequence[str]) -> pd.DataFrame:
    """The per-period summary (measure, period, declined, mean, median, n) in reading order:
    revenue before minutes, decliners first, periods in *period_order* (unknown ones last)."""
    rank = {p: i for i, p in enumerate(period_order)}
    out = summary.assign(period_rank=summary["period"].map(lambda p: rank.get(p, len(rank))))
    out = out.sort_values(
        ["measure", "declined", "period_rank", "period"],
        ascending=[False, False, True, True],
        ignore_index=True,
    )
    return out.drop(columns="period_rank")
