"""The fitted parameters turned into arrays once, so that generating a chunk is pure array work."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr

from ml.sample_data.export_format import (
    CLASSES,
    COLUMN_INDEX,
    COLUMNS,
    MARKET_MONEY,
    MARKET_TIME,
    PERIODS,
    TIME_PERIODS,
    Column,
)
from ml.sample_data.params import PARAMS_FORMAT_VERSION


@dataclass(frozen=True)
class Marginal:
    """Inverse CDF of one column in one class, on the column's scaled integer grid."""

    values: np.ndarray  # pmf: scaled values; quantiles: scaled quantile values (float)
    cum: np.ndarray  # pmf: cumulative probabilities; quantiles: probability grid
    is_pmf: bool

    def inverse(self, u: np.ndarray) -> np.ndarray:
        """Map uniforms to values (scaled integers, codes for categoricals)."""
        if self.is_pmf:
            idx = np.searchsorted(self.cum, u, side="right")
            return self.values[np.minimum(idx, len(self.values) - 1)]
        return np.rint(np.interp(u, self.cum, self.values)).astype(np.int64)


@dataclass(frozen=True)
class Mixture:
    """One class's Gaussian mixture on the shared normal scores, ready to sample."""

    cum_weights: np.ndarray
    weights: np.ndarray
    means: np.ndarray  # [component, column]
    cholesky: np.ndarray  # [component, column, column]
    scales: np.ndarray  # [component, column]: marginal standard deviations

    def marginal_cdf(self, z: np.ndarray) -> np.ndarray:
        """The mixture's CDF per column: turns a latent draw into a uniform for the marginals."""
        u = np.zeros_like(z)
        for k, w in enumerate(self.weights):
            u += w * ndtr((z - self.means[k]) / self.scales[k])
        return u


@dataclass(frozen=True)
class Spelling:
    """How one canonical label of one class is written: alternatives and cumulative shares."""

    labels: tuple[str, ...]
    cum: np.ndarray


@dataclass(frozen=True)
class Model:
    """Parameters turned into arrays once, so chunk generation is pure array work."""

    prior_declined: float
    marginals: tuple[tuple[Marginal, ...], ...]  # [class][column]
    mixtures: tuple[Mixture, Mixture]  # [class]
    levels: dict[str, tuple[str, ...]]
    target_labels: tuple[str, str]
    spellings: dict[tuple[int, str, str], Spelling]  # (class, key, canonical) -> spelling
    last_digits: dict[int, np.ndarray]  # column index -> cumulative shares of 0..9
    periods: dict[str, tuple[str, ...]]
    money_orders: np.ndarray
    money_order_cum: np.ndarray
    time_orders: np.ndarray
    time_order_cum: np.ndarray
    inactive_rate: float
    inactive_patterns: np.ndarray  # [pattern, period] bool
    inactive_cum: np.ndarray
    implausible_rate: float
    implausible_period_cum: np.ndarray  # over PERIODS
    implausible_ratio: tuple[float, float]
    duplicate_start_rate: float
    duplicate_run: int
    duplicate_lag: int
    id_start: int


def build_model(params: dict[str, Any]) -> Model:
    """Check the parameter file's version and turn it into sampling arrays."""
    if params.get("format_version") != PARAMS_FORMAT_VERSION:
        raise ValueError(
            f"parameters have format_version {params.get('format_version')}, "
            f"this generator reads {PARAMS_FORMAT_VERSION}; re-run `fit`"
        )
    labels = params["labels"]
    kinds = params["marginal_kind"]
    classes = [params["classes"][cls] for cls in CLASSES]
    mixtures = [mixture_from_spec(spec["mixture"]) for spec in classes]
    return Model(
        prior_declined=float(params["class_prior_declined"]),
        marginals=tuple(
            tuple(marginal_from_spec(col, spec["marginals"][col.key], kinds) for col in COLUMNS)
            for spec in classes
        ),
        mixtures=(mixtures[0], mixtures[1]),
        levels={k: tuple(v) for k, v in labels["levels"].items()},
        target_labels=(labels["target"]["stable"], labels["target"]["declined"]),
        spellings=_spellings(labels["spellings"]),
        last_digits={
            COLUMN_INDEX[k]: cumulative(v) for k, v in params["last_decimal_digit"].items()
        },
        periods={
            MARKET_MONEY: tuple(labels["periods"][MARKET_MONEY][p] for p in PERIODS),
            MARKET_TIME: tuple(labels["periods"][MARKET_TIME][p] for p in TIME_PERIODS),
        },
        **_row_orders(params["row_order"]),
        **_defects(params["defects"]),
        id_start=int(params["source"]["id_start"]),
    )


def marginal_from_spec(col: Column, spec: dict[str, Any], kinds: dict[str, str]) -> Marginal:
    """One column's marginal from its entry in the parameter file."""
    scale = 10**col.decimals
    if col.categorical:
        return Marginal(np.arange(len(spec["probs"])), cumulative(spec["probs"]), True)
    if kinds[col.key] == "pmf":
        values = np.rint(np.asarray(spec["values"]) * scale).astype(np.int64)
        return Marginal(values, cumulative(spec["probs"]), True)
    quantiles = np.asarray(spec["quantiles"], dtype=np.float64) * scale
    return Marginal(quantiles, np.linspace(0.0, 1.0, len(quantiles)), False)


def mixture_from_spec(spec: dict[str, Any]) -> Mixture:
    """One class's mixture from its entry in the parameter file."""
    covariances = np.asarray(spec["covariances"], dtype=np.float64)
    return Mixture(
        cum_weights=cumulative(spec["weights"]),
        weights=np.asarray(spec["weights"], dtype=np.float64) / np.sum(spec["weights"]),
        means=np.asarray(spec["means"], dtype=np.float64),
        cholesky=np.stack([cholesky(c.tolist()) for c in covariances]),
        scales=np.sqrt(np.stack([np.diag(c) for c in covariances])),
    )


def cumulative(probs: Sequence[float]) -> np.ndarray:
    """Cumulative shares ending at exactly 1, whatever the rounding of *probs*."""
    cum = np.cumsum(np.asarray(probs, dtype=np.float64))
    return cum / cum[-1]


def cholesky(covariance: list[list[float]]) -> np.ndarray:
    """Cholesky factor, repairing a matrix that rounding made slightly indefinite."""
    matrix = np.asarray(covariance, dtype=np.float64)
    matrix = (matrix + matrix.T) / 2.0
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(matrix)
        return np.linalg.cholesky(vecs @ np.diag(np.clip(vals, 1e-6, None)) @ vecs.T)


def _spellings(by_class: dict[str, Any]) -> dict[tuple[int, str, str], Spelling]:
    spellings: dict[tuple[int, str, str], Spelling] = {}
    for c, cls in enumerate(CLASSES):
        for key, by_level in by_class.get(cls, {}).items():
            for level, shares in by_level.items():
                spellings[(c, key, level)] = Spelling(
                    tuple(shares), cumulative(list(shares.values()))
                )
    return spellings


def _row_orders(spec: dict[str, Any]) -> dict[str, np.ndarray]:
    """The observed orders of each customer's period rows, as period indices, and their shares."""
    out: dict[str, np.ndarray] = {}
    for name, prefix, periods in (
        (MARKET_MONEY, "money", PERIODS),
        (MARKET_TIME, "time", TIME_PERIODS),
    ):
        index = {p: i for i, p in enumerate(periods)}
        orders = spec[name]["orders"]
        out[f"{prefix}_orders"] = np.array([[index[p] for p in o] for o in orders], dtype=np.int64)
        out[f"{prefix}_order_cum"] = cumulative(spec[name]["probs"])
    return out


def _defects(defects: dict[str, Any]) -> dict[str, Any]:
    """The defect rates and shapes as the Model's fields; empty entries get harmless defaults."""
    zero = defects["inactive"]["zero_periods"] or {",".join(PERIODS[:2]): 1.0}
    implausible = defects["implausible_revenue"]
    ratio = implausible["ratio_range"] or [1.0, 1.0]
    period_shares = [implausible["periods"].get(p, 0.0) for p in PERIODS]
    if not any(period_shares):
        period_shares = [0.0, 0.0, 1.0]
    duplicates = defects["duplicates"]
    run = int(duplicates["run_length"])
    return {
        "inactive_rate": float(defects["inactive"]["rate"]),
        "inactive_patterns": np.array([[p in k.split(",") for p in PERIODS] for k in zero]),
        "inactive_cum": cumulative(list(zero.values())),
        "implausible_rate": float(implausible["rate"]),
        "implausible_period_cum": cumulative(period_shares),
        "implausible_ratio": (float(ratio[0]), float(ratio[1])),
        "duplicate_start_rate": _duplicate_start_rate(float(duplicates["rate"]), run),
        "duplicate_run": run,
        "duplicate_lag": int(duplicates["lag"]),
    }


def _duplicate_start_rate(rate: float, run: int) -> float:
    """Chance that a run of twins starts at a customer, for a wanted share of twins.

    A customer is a twin when it lies in a run and its original does not, so
    the share is q (1 - q) with q = 1 - (1 - s)^run; solve for s.
    """
    if rate <= 0:
        return 0.0
    q = (1.0 - math.sqrt(max(0.0, 1.0 - 4.0 * rate))) / 2.0
    return 1.0 - (1.0 - q) ** (1.0 / run)
