"""Drawing original customers from the fitted model: class, copula, marginals, labels, row order.

Per customer: the class is drawn from the prior, then a mixture component,
then 17 independent normals are correlated with the component's Cholesky
factor, turned into uniforms by the class's mixture CDF and mapped through the
class's marginals. Every value is a pure function of (key, row): see
``ml.sample_data.streams``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from ml.sample_data.export_format import CLASSES, COLUMN_INDEX, COLUMNS, LABELLED_KEYS
from ml.sample_data.model import Mixture, Model
from ml.sample_data.streams import (
    SLOT_CLASS,
    SLOT_COMPONENT,
    SLOT_COPULA,
    SLOT_DIGIT,
    SLOT_MONEY_ORDER,
    SLOT_SPELLING,
    SLOT_TIME_ORDER,
    pick,
    uniforms,
)


@dataclass
class Customers:
    """A block of generated customers, values on each column's scaled integer grid."""

    rows: np.ndarray  # customer index (id = id_start + row)
    declined: np.ndarray  # bool
    values: np.ndarray  # [customer, column] int64; categoricals as level codes
    labels: dict[str, np.ndarray]  # written spelling per labelled key (object arrays)
    money_order: np.ndarray
    time_order: np.ndarray


def draw_originals(model: Model, key: np.uint64, rows: np.ndarray) -> Customers:
    """Customers *rows* as clean originals, before any defect is applied."""
    declined = uniforms(key, rows, SLOT_CLASS) < model.prior_declined
    values = _values(model, key, rows, declined)
    return Customers(
        rows=rows,
        declined=declined,
        values=values,
        labels=_written_labels(model, key, rows, declined, values),
        money_order=pick(model.money_order_cum, uniforms(key, rows, SLOT_MONEY_ORDER)),
        time_order=pick(model.time_order_cum, uniforms(key, rows, SLOT_TIME_ORDER)),
    )


def _values(model: Model, key: np.uint64, rows: np.ndarray, declined: np.ndarray) -> np.ndarray:
    """Every column's scaled integer value (level codes for categoricals)."""
    n = len(rows)
    k = len(COLUMNS)
    e = np.empty((n, k))
    for j in range(k):
        e[:, j] = ndtri(uniforms(key, rows, SLOT_COPULA + j))
    values = np.empty((n, k), dtype=np.int64)
    for c in (0, 1):
        mask = declined == bool(c)
        if not mask.any():
            continue
        u = _copula_uniforms(model.mixtures[c], uniforms(key, rows[mask], SLOT_COMPONENT), e[mask])
        for j, marginal in enumerate(model.marginals[c]):
            values[mask, j] = marginal.inverse(u[:, j])
    for j, cum in model.last_digits.items():
        digit = pick(cum, uniforms(key, rows, SLOT_DIGIT + j))
        values[:, j] = values[:, j] - values[:, j] % 10 + digit
    return values


def _copula_uniforms(mixture: Mixture, u_component: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Correlated uniforms of one class: a component each, its correlation, the mixture's CDF."""
    component = pick(mixture.cum_weights, u_component)
    z = np.empty_like(e)
    for m in range(len(mixture.weights)):
        inside = component == m
        z[inside] = mixture.means[m] + _correlate(mixture.cholesky[m], e[inside])
    return mixture.marginal_cdf(z)


def _correlate(chol: np.ndarray, e: np.ndarray) -> np.ndarray:
    # Element-wise sums in a fixed order rather than a BLAS matmul, whose
    # blocking could change the last bit of a row depending on the chunk.
    z = np.zeros_like(e)
    for i in range(chol.shape[0]):
        acc = z[:, i]
        for j in range(i + 1):
            acc += chol[i, j] * e[:, j]
    return z


def _written_labels(
    model: Model, key: np.uint64, rows: np.ndarray, declined: np.ndarray, values: np.ndarray
) -> dict[str, np.ndarray]:
    """The labels as the export writes them, the fitted typos at their fitted shares."""
    target = np.array(model.target_labels, dtype=object)
    canonical = {
        "target": (np.array(CLASSES, dtype=object), declined.astype(np.int64)),
        **{
            key_: (np.array(model.levels[key_], dtype=object), values[:, COLUMN_INDEX[key_]])
            for key_ in ("service", "messages", "category")
        },
    }
    labels: dict[str, np.ndarray] = {}
    for s, name in enumerate(LABELLED_KEYS):
        level_names, codes = canonical[name]
        written = target[codes] if name == "target" else level_names[codes]
        variants = [(c, lvl, sp) for (c, kk, lvl), sp in model.spellings.items() if kk == name]
        if variants:
            u = uniforms(key, rows, SLOT_SPELLING + s)
            written = written.copy()
            for c, level, spelling in variants:
                mask = (declined == bool(c)) & (level_names[codes] == level)
                choice = np.array(spelling.labels, dtype=object)
                written[mask] = choice[pick(spelling.cum, u[mask])]
        labels[name] = written
    return labels
