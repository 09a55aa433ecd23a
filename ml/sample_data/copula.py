"""Fitting the dependence between the columns: a Gaussian-mixture copula per class.

Every column of the clean customers of both classes is turned into normal
scores (mid-ranks, so ties share one score; categorical columns as ordered
codes, the favourite category ordered along the main axis of its
differences), and per class a two-component Gaussian mixture with full
covariances is fitted on that class's rows, starting from a split of the rows
by the nearer of the class's own mean and the other class's mean. The
components' correlations are then calibrated by simulation until the samples'
within-class normal-score correlations match the real ones (binary columns
otherwise lose half their correlation to discretisation).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ml.sample_data.export_format import COLUMNS
from ml.sample_data.model import Marginal, cholesky, mixture_from_spec
from ml.sample_data.params import round_list
from ml.sample_data.streams import pick

logger = logging.getLogger(__name__)

MIXTURE_REGULARISATION = 0.01  # added to covariance diagonals: tied scores are degenerate
CALIBRATION_SEED = 20_240_601
CALIBRATION_DRAWS = 60_000
CALIBRATION_STEPS = 15
CALIBRATION_TOLERANCE = 0.01


def normal_scores(values: np.ndarray) -> np.ndarray:
    """Mid-rank normal scores: ties share one score, as a discrete copula needs."""
    ranks = pd.Series(values).rank(method="average").to_numpy()
    return ndtri((ranks - 0.5) / len(values))


def coded(part: pd.DataFrame, levels: dict[str, Sequence[str]]) -> np.ndarray:
    """The customer vectors as numbers, categorical columns as codes in *levels* order."""
    out = np.empty((len(part), len(COLUMNS)))
    for j, col in enumerate(COLUMNS):
        if col.categorical:
            codes = {lvl: i for i, lvl in enumerate(levels[col.key])}
            out[:, j] = part[col.key].map(codes).to_numpy(np.float64)
        else:
            out[:, j] = part[col.key].to_numpy(np.float64)
    return out


def pooled_scores(clean: pd.DataFrame, levels: dict[str, Sequence[str]]) -> np.ndarray:
    """Mid-rank normal scores of every column over both classes (one shared coordinate system)."""
    values = coded(clean, levels)
    return np.column_stack([normal_scores(values[:, j]) for j in range(values.shape[1])])


def score_correlation(values: np.ndarray) -> np.ndarray:
    """Correlation of the columns' mid-rank normal scores."""
    scores = np.column_stack([normal_scores(values[:, j]) for j in range(values.shape[1])])
    return np.corrcoef(scores, rowvar=False)


def category_order(clean: pd.DataFrame) -> list[str]:
    """Order the favourite categories so that an ordinal code keeps most of their dependence.

    The copula sees a nominal column as ordered codes; ordering the categories
    along the main direction in which their customers differ in the other
    columns (the first principal axis of the per-category means of normal
    scores) makes that dependence as monotone as possible.
    """
    keys = [c.key for c in COLUMNS if not c.categorical]
    scores = pd.DataFrame(
        {k: normal_scores(clean[k].to_numpy(np.float64)) for k in keys}, index=clean.index
    )
    grouped = scores.groupby(clean["category"])
    means = grouped.mean().sort_index()
    weights = grouped.size().reindex(means.index).to_numpy(np.float64)
    centred = means.to_numpy() - np.average(means.to_numpy(), axis=0, weights=weights)
    _, _, vt = np.linalg.svd(centred * np.sqrt(weights)[:, None], full_matrices=False)
    axis = vt[0] * np.sign(vt[0][np.argmax(np.abs(vt[0]))])  # a fixed orientation
    position = centred @ axis
    return [c for _, c in sorted(zip(np.round(position, 9), means.index, strict=True))]


def fit_mixture(scores: np.ndarray, other_mean: np.ndarray) -> dict[str, Any]:
    """A two-component Gaussian mixture on one class's rows of the shared normal scores.

    EM starts from a split of the class's rows by the nearer of two centres,
    the class's own mean and the other class's mean: the second component is
    meant to catch the customers who behave like the other class. The start
    is fully specified (weights, means, precisions), so the fit does not
    depend on a random initialisation and is reproducible.
    """
    # Imported here: only fitting needs scikit-learn, generation stays numpy/scipy.
    from sklearn.mixture import GaussianMixture

    centres = np.vstack([scores.mean(axis=0), other_mean])
    weights, precisions = _initial_split(scores, centres)
    gm = GaussianMixture(
        n_components=2,
        covariance_type="full",
        reg_covar=MIXTURE_REGULARISATION,
        weights_init=weights,
        means_init=centres,
        precisions_init=precisions,
        max_iter=500,
        random_state=0,
    ).fit(scores)
    if not gm.converged_:
        logger.warning("the Gaussian mixture did not converge; parameters may be rough")
    return {
        "weights": round_list(gm.weights_, 6),
        "means": [round_list(m, 4) for m in gm.means_],
        "covariances": [[round_list(row, 4) for row in c] for c in gm.covariances_],
    }


def _initial_split(scores: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EM's start: weights and precisions of the rows nearer to each centre."""
    k = scores.shape[1]
    nearest = ((scores[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    ridge = MIXTURE_REGULARISATION * np.eye(k)
    weights, precisions = [], []
    for m in range(2):
        part = scores[nearest == m]
        if len(part) <= k:  # too few rows for a covariance: start from the whole class
            part = scores
        weights.append(max(float(np.mean(nearest == m)), 0.05))
        precisions.append(np.linalg.inv(np.cov(part, rowvar=False) + ridge))
    return np.array(weights) / sum(weights), np.stack(precisions)


def calibrate_mixture(
    spec: dict[str, Any], marginals: Sequence[Marginal], observed: np.ndarray
) -> dict[str, Any]:
    """Adjust the components' correlations until samples show the *observed* ones.

    Binary and small-count columns lose correlation twice, once when the real
    ties are scored and once when sampled normals are cut back into levels
    (service × messages came out at half its real value). Fixed-point steps
    on common random numbers move each component's off-diagonal covariances
    by the remaining error; the variances, and with them the mixture's
    marginal CDFs, stay as fitted.
    """
    mixture = mixture_from_spec(spec)
    rng = np.random.default_rng(CALIBRATION_SEED)
    draws = rng.standard_normal((CALIBRATION_DRAWS, len(marginals)))
    component = pick(mixture.cum_weights, rng.uniform(size=CALIBRATION_DRAWS))
    covariances = np.asarray(spec["covariances"], dtype=np.float64)
    scales = np.sqrt(np.stack([np.diag(c) for c in covariances]))
    for _ in range(CALIBRATION_STEPS):
        z = np.empty_like(draws)
        for m, cov in enumerate(covariances):
            inside = component == m
            z[inside] = mixture.means[m] + draws[inside] @ cholesky(cov.tolist()).T
        u = mixture.marginal_cdf(z)
        values = np.column_stack([mg.inverse(u[:, j]) for j, mg in enumerate(marginals)])
        error = observed - score_correlation(values.astype(np.float64))
        np.fill_diagonal(error, 0.0)
        if np.abs(error).max() < CALIBRATION_TOLERANCE:
            break
        for m in range(len(covariances)):
            step = covariances[m] + error * np.outer(scales[m], scales[m])
            covariances[m] = _positive_definite(step)
    calibrated = dict(spec)
    calibrated["covariances"] = [[round_list(row, 4) for row in c] for c in covariances]
    return calibrated


def _positive_definite(matrix: np.ndarray) -> np.ndarray:
    """Clip eigenvalues so a covariance stays usable, then restore its diagonal."""
    sym = (matrix + matrix.T) / 2.0
    vals, vecs = np.linalg.eigh(sym)
    fixed = vecs @ np.diag(np.clip(vals, MIXTURE_REGULARISATION, None)) @ vecs.T
    d = np.sqrt(np.diag(sym) / np.diag(fixed))
    return fixed * np.outer(d, d)
