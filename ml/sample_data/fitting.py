"""Synthetic sample data in the exact format of the shop's raw export.

Why: the real export («В один клик», 1300 customers) cannot be shared or
scaled, yet CI, demos and load tests need data that the dbt sources read
without a single changed option and that a model learns from the way it learns
from the real data. This module writes the four files of the export
(``market_file.csv``, ``market_money.csv``, ``market_time.csv``, ``money.csv``)
for any number of customers, byte-compatible with the real ones: the same
Cyrillic headers and column order, commas in three files and ``;`` with decimal
commas in ``money.csv``, CRLF line endings, UTF-8 without BOM, the same number
formatting (``3.4``, ``0.0``, ``0.3``, ``4472.0``, ``4,1``) and the same label
defects.

How the parameters are fitted (``python -m ml.sample_data fit``)
----------------------------------------------------------------
Only aggregated statistics go into ``ml/sample_data_params.json``, never rows.

1. The four files are joined into one vector of 17 values per customer: the
   eleven ``market_file`` attributes, revenue for the three months, minutes for
   the two months and the profit. Labels are mapped to canonical values first
   (the nearest known label within two edits, e.g. «стандартт» → «стандарт»,
   «предыдцщий_месяц» → «предыдущий_месяц»); the observed spellings are kept
   as data so the generator writes them back.
2. Defects are detected and counted, then left out of the distribution fit:
   inactive customers (a month with revenue 0.0), implausible revenue (more
   than ``IMPLAUSIBLE_RATIO`` times the customer's own median of the other
   months), and double registrations (records identical on everything but the
   id and the profit; the later record is the twin). For twins the fit keeps
   the rate, the typical length of a run of consecutive twin ids and the id
   lag between a twin and its original (in the real export: one run of 11
   records re-registered 210 ids later).
3. The class prior P(«Снизилась») is the share among original records.
4. Per class, each column gets a marginal: a frequency table when the column
   has at most ``MAX_PMF_LEVELS`` distinct values (integers, shares, the
   marketing average, minutes: the table reproduces their spikes exactly), and
   otherwise ``N_QUANTILES`` evenly spaced quantiles (tenure, revenue, profit)
   plus the distribution of the last decimal digit, because the export rounds
   differently per month (``препредыдущий`` whole roubles, ``предыдущий``
   halves, ``текущий`` tenths with even digits twice as common).
5. The dependence between the columns is a Gaussian-mixture copula per class.
   Every column of the clean customers of both classes is turned into normal
   scores (mid-ranks, so ties share one score; categorical columns as ordered
   codes, the favourite category ordered along the main axis of its
   differences), and per class a two-component Gaussian mixture with full
   covariances is fitted on that class's rows, starting from a split of the
   rows by the nearer of the class's own mean and the other class's mean.
   The components' correlations are then calibrated by simulation until the
   samples' within-class normal-score correlations match the real ones
   (binary columns otherwise lose half their correlation to discretisation).
   The shared coordinates matter: about a quarter of the declined customers
   behave like stable ones, and a component can sit where the stable
   customers are only if both classes are scored alike. A single Gaussian
   copula per class spread that group over the whole class, and a logistic
   regression scored about 0.93 ROC-AUC on such samples against 0.90 on the
   real export; with the mixture it scores 0.90-0.93 across seeds of
   1300-customer samples (0.92 on large ones), and the per-class
   marginals of 4. still hold exactly because each draw goes through its
   class's mixture CDF and then its class's marginal (probability integral
   transform). The target's dependence on behaviour lives in the per-class
   marginals and mixtures.
6. The order of the period rows of each customer (it varies in the export) is
   kept as frequencies of the observed orders.

How a sample is generated
-------------------------
Every random number is a pure function of (seed, customer index, purpose): a
SplitMix64 hash of a counter gives a uniform number, so a customer's record
does not depend on which chunk it is generated in, and a chunk of 100 000
customers is generated and written at a time with vectorised numpy. Per
customer: the class is drawn from the prior, then a mixture component, then
17 independent normals are correlated with the component's Cholesky factor,
turned into uniforms by the class's mixture CDF and mapped through the class's
marginals. Label spellings (the «стандартт» typo), inactive
customers (0.0 revenue in the earliest months), implausible current-month
revenue and runs of double registrations (same attributes, revenue and minutes
under a new id, new profit and row order) are then applied at the fitted rates.
Output is deterministic for a seed and a parameter file (on one platform: a
different LAPACK may move a Cholesky factor's last bit), independent of the
chunk size, and a longer sample starts with the shorter one.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ml.config import DATA_DIR, PROJECT_ROOT, resolve_paths

logger = logging.getLogger(__name__)

DEFAULT_PARAMS = PROJECT_ROOT / "ml" / "sample_data" / "params.json"
DEFAULT_OUT_DIR = DATA_DIR / "sample" / "raw"
DEFAULT_CHUNK_SIZE = 100_000
PARAMS_FORMAT_VERSION = 1

# Fitting choices (see the module docstring).
MAX_PMF_LEVELS = 50
N_QUANTILES = 41
IMPLAUSIBLE_RATIO = 5.0
MIXTURE_REGULARISATION = 0.01  # added to covariance diagonals: tied scores are degenerate
CALIBRATION_SEED = 20_240_601
CALIBRATION_DRAWS = 60_000
CALIBRATION_STEPS = 15
CALIBRATION_TOLERANCE = 0.01
MAX_LABEL_EDITS = 2

# --- The export's format: file names, headers, labels ------------------------
ENCODING = "utf-8"
NEWLINE = "\r\n"
MARKET_FILE = "market_file.csv"
MARKET_MONEY = "market_money.csv"
MARKET_TIME = "market_time.csv"
MONEY = "money.csv"
OUTPUT_FILES = (MARKET_FILE, MARKET_MONEY, MARKET_TIME, MONEY)
SEPARATORS = {MARKET_FILE: ",", MARKET_MONEY: ",", MARKET_TIME: ",", MONEY: ";"}

TARGET_HEADER = "Покупательская активность"
PERIOD_HEADER = "Период"
REVENUE_HEADER = "Выручка"
MINUTES_HEADER = "минут"
PROFIT_HEADER = "Прибыль"

# Canonical labels; the export's own spellings (typos included) are fitted.
TARGET_LABELS = {"stable": "Прежний уровень", "declined": "Снизилась"}
PERIODS = ("препредыдущий_месяц", "предыдущий_месяц", "текущий_месяц")
TIME_PERIODS = PERIODS[1:]
KNOWN_LEVELS = {"service": ("премиум", "стандарт"), "messages": ("да", "нет")}
CLASSES = ("stable", "declined")


@dataclass(frozen=True)
class Column:
    """One value of a customer's vector: where it lives in the export and how it is written.

    ``style`` is the number formatting of the export: ``fixed`` always shows
    ``decimals`` digits (``4472.0``), ``short`` drops trailing zeros but keeps
    one digit (``0.3``, ``0.0``), ``bare`` drops them and the separator too
    (``4``, ``4,1``).
    """

    key: str
    header: str
    decimals: int = 0
    categorical: bool = False
    style: str = "fixed"
    decimal_sep: str = "."


COLUMNS = (
    Column("service", "Тип сервиса", categorical=True),
    Column("messages", "Разрешить сообщать", categorical=True),
    Column("marketing_6m", "Маркет_актив_6_мес", decimals=1),
    Column("marketing_current", "Маркет_актив_тек_мес"),
    Column("tenure", "Длительность"),
    Column("promo_share", "Акционные_покупки", decimals=2, style="short"),
    Column("category", "Популярная_категория", categorical=True),
    Column("categories_per_visit", "Средний_просмотр_категорий_за_визит"),
    Column("unpaid_items", "Неоплаченные_продукты_штук_квартал"),
    Column("service_errors", "Ошибка_сервиса"),
    Column("pages_per_visit", "Страниц_за_визит"),
    Column("revenue_pre_previous", PERIODS[0], decimals=1),
    Column("revenue_previous", PERIODS[1], decimals=1),
    Column("revenue_current", PERIODS[2], decimals=1),
    Column("minutes_previous", TIME_PERIODS[0]),
    Column("minutes_current", TIME_PERIODS[1]),
    Column("profit", PROFIT_HEADER, decimals=2, style="bare", decimal_sep=","),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
MARKET_FILE_COLUMNS = COLUMNS[:11]
REVENUE_KEYS = ("revenue_pre_previous", "revenue_previous", "revenue_current")
MINUTES_KEYS = ("minutes_previous", "minutes_current")
LABELLED_KEYS = ("target", "service", "messages", "category")

HEADERS = {
    MARKET_FILE: ("id", TARGET_HEADER, *(c.header for c in MARKET_FILE_COLUMNS)),
    MARKET_MONEY: ("id", PERIOD_HEADER, REVENUE_HEADER),
    MARKET_TIME: ("id", PERIOD_HEADER, MINUTES_HEADER),
    MONEY: ("id", PROFIT_HEADER),
}

# --- Random streams ---------------------------------------------------------
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


# --- Label handling -----------------------------------------------------------
def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance; the labels are short, so the quadratic version is fine."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def canonical_labels(counts: dict[str, int], known: Sequence[str] | None = None) -> dict[str, str]:
    """Map each observed spelling to its canonical label.

    With *known* labels a spelling maps to the nearest one within
    ``MAX_LABEL_EDITS``; without, rarer spellings join a more frequent one
    within that distance. An unknown label is an error: the generator must not
    silently learn a new meaning.
    """
    mapping: dict[str, str] = {}
    if known is not None:
        for spelling in counts:
            best = min(known, key=lambda k: (edit_distance(spelling, k), k))
            if edit_distance(spelling, best) > MAX_LABEL_EDITS:
                raise ValueError(f"label {spelling!r} is not close to any of {list(known)}")
            mapping[spelling] = best
        return mapping
    canon: list[str] = []
    for spelling in sorted(counts, key=lambda s: (-counts[s], s)):
        near = [c for c in canon if edit_distance(spelling, c) <= MAX_LABEL_EDITS]
        if near:
            mapping[spelling] = near[0]
        else:
            canon.append(spelling)
            mapping[spelling] = spelling
    return mapping


# --- Reading the export (for fitting) --------------------------------------------
def _read_csv(path: Path, sep: str, expected: Sequence[str]) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=sep, dtype=str, encoding=ENCODING, keep_default_na=False)
    if tuple(frame.columns) != tuple(expected):
        raise ValueError(f"{path}: header {list(frame.columns)} != expected {list(expected)}")
    return frame


def _number(values: pd.Series, decimal_sep: str = ".") -> np.ndarray:
    return values.str.replace(decimal_sep, ".", regex=False).astype(np.float64).to_numpy()


def _period_orders(frame: pd.DataFrame, periods: Sequence[str]) -> pd.Series:
    codes = frame["period"].map({p: i for i, p in enumerate(periods)})
    return codes.groupby(frame["id"], sort=False).agg(tuple)


def read_export(raw_dir: Path) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
    """Join the four raw files into one row per customer with canonical labels.

    Returns the table (columns: ``id``, ``declined``, the keys of ``COLUMNS``
    with categorical columns as canonical labels, ``money_order`` and
    ``time_order`` as tuples of period indices, and the spellings in
    ``<key>_spelling``) and the spelling of each period label per file.
    """
    mf = _read_csv(raw_dir / MARKET_FILE, ",", HEADERS[MARKET_FILE])
    mm = _read_csv(raw_dir / MARKET_MONEY, ",", HEADERS[MARKET_MONEY])
    mt = _read_csv(raw_dir / MARKET_TIME, ",", HEADERS[MARKET_TIME])
    mo = _read_csv(raw_dir / MONEY, ";", HEADERS[MONEY])

    table = pd.DataFrame({"id": mf["id"].astype(np.int64)})
    target_map = canonical_labels(
        mf[TARGET_HEADER].value_counts().to_dict(), tuple(TARGET_LABELS.values())
    )
    table["declined"] = mf[TARGET_HEADER].map(target_map).eq(TARGET_LABELS["declined"]).to_numpy()
    table["target_spelling"] = mf[TARGET_HEADER].to_numpy()
    for col in MARKET_FILE_COLUMNS:
        raw = mf[col.header]
        if col.categorical:
            mapping = canonical_labels(raw.value_counts().to_dict(), KNOWN_LEVELS.get(col.key))
            table[col.key] = raw.map(mapping).to_numpy()
            table[f"{col.key}_spelling"] = raw.to_numpy()
        else:
            table[col.key] = _number(raw)

    period_spelling: dict[str, dict[str, str]] = {}
    for name, frame, periods, value_header in (
        (MARKET_MONEY, mm, PERIODS, REVENUE_HEADER),
        (MARKET_TIME, mt, TIME_PERIODS, MINUTES_HEADER),
    ):
        mapping = canonical_labels(frame[PERIOD_HEADER].value_counts().to_dict(), periods)
        inverse = {canon: spelling for spelling, canon in mapping.items()}
        if set(inverse) != set(periods):
            raise ValueError(f"{name}: periods {sorted(mapping)} do not cover {list(periods)}")
        period_spelling[name] = {p: inverse[p] for p in periods}
        long = pd.DataFrame(
            {
                "id": frame["id"].astype(np.int64),
                "period": frame[PERIOD_HEADER].map(mapping),
                "value": _number(frame[value_header]),
            }
        )
        wide = long.pivot(index="id", columns="period", values="value")
        keys = REVENUE_KEYS if name == MARKET_MONEY else MINUTES_KEYS
        for key, period in zip(keys, periods, strict=True):
            table[key] = wide.loc[table["id"], period].to_numpy()
        order_key = "money_order" if name == MARKET_MONEY else "time_order"
        table[order_key] = _period_orders(long, periods).loc[table["id"]].to_numpy()
    profit = pd.Series(_number(mo[PROFIT_HEADER], ","), index=mo["id"].astype(np.int64))
    table["profit"] = profit.loc[table["id"]].to_numpy()
    if table[[c.key for c in COLUMNS]].isna().any().any():
        raise ValueError(f"{raw_dir}: some customer misses a value in one of the files")
    return table, period_spelling


# --- Fitting -------------------------------------------------------------------
def _round_list(values: Sequence[float] | np.ndarray, digits: int) -> list[float]:
    if digits == 0:
        return [round(float(v)) for v in values]
    return [round(float(v), digits) for v in values]


def _probs(counts: np.ndarray) -> list[float]:
    return _round_list(counts / counts.sum(), 6)


def _normal_scores(values: np.ndarray) -> np.ndarray:
    """Mid-rank normal scores: ties share one score, as a discrete copula needs."""
    ranks = pd.Series(values).rank(method="average").to_numpy()
    return ndtri((ranks - 0.5) / len(values))


def _frequency_table(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    levels, counts = np.unique(values, return_counts=True)
    return levels, counts.astype(np.float64)


def _fit_marginal(
    column: Column, values: np.ndarray, levels: Sequence[str] | None, pmf: bool
) -> dict[str, Any]:
    if column.categorical:
        assert levels is not None
        counts = pd.Series(values).value_counts().reindex(levels, fill_value=0).to_numpy()
        return {"probs": _probs(counts.astype(np.float64))}
    if pmf:
        found, counts = _frequency_table(values)
        return {"values": _round_list(found, column.decimals), "probs": _probs(counts)}
    grid = np.linspace(0.0, 1.0, N_QUANTILES)
    return {"quantiles": _round_list(np.quantile(values, grid), column.decimals + 2)}


def _spelling_shares(table: pd.DataFrame, key: str) -> dict[str, dict[str, float]]:
    canon = (
        table[key]
        if key != "target"
        else table["declined"].map({False: "stable", True: "declined"})
    )
    shares: dict[str, dict[str, float]] = {}
    for level, group in table.groupby(canon.to_numpy(), sort=True):
        counts = group[f"{key}_spelling"].value_counts()
        if len(counts) > 1:
            ordered = counts.sort_index()
            shares[str(level)] = dict(
                zip(ordered.index, _probs(ordered.to_numpy(float)), strict=True)
            )
    return shares


def _orders(series: pd.Series, periods: Sequence[str]) -> dict[str, list]:
    counts = series.value_counts()
    ordered = sorted(counts.index)
    return {
        "orders": [[periods[i] for i in order] for order in ordered],
        "probs": _probs(counts.loc[ordered].to_numpy(np.float64)),
    }


def _duplicate_flags(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Twins (later records identical to an earlier one but for id and profit) and their lags."""
    keys = [c.key for c in COLUMNS if c.key != "profit"] + ["declined"]
    keys += [f"{k}_spelling" for k in LABELLED_KEYS]
    first_id = table.groupby(keys, sort=False, dropna=False)["id"].transform("min").to_numpy()
    ids = table["id"].to_numpy()
    twin = ids != first_id
    return twin, (ids - first_id)[twin]


def _runs(ids: np.ndarray) -> list[int]:
    if len(ids) == 0:
        return []
    ids = np.sort(ids)
    breaks = np.flatnonzero(np.diff(ids) != 1)
    edges = np.concatenate([[0], breaks + 1, [len(ids)]])
    return np.diff(edges).tolist()


def _coded(part: pd.DataFrame, levels: dict[str, Sequence[str]]) -> np.ndarray:
    """The customer vectors as numbers, categorical columns as codes in *levels* order."""
    out = np.empty((len(part), len(COLUMNS)))
    for j, col in enumerate(COLUMNS):
        if col.categorical:
            codes = {lvl: i for i, lvl in enumerate(levels[col.key])}
            out[:, j] = part[col.key].map(codes).to_numpy(np.float64)
        else:
            out[:, j] = part[col.key].to_numpy(np.float64)
    return out


def _pooled_scores(clean: pd.DataFrame, levels: dict[str, Sequence[str]]) -> np.ndarray:
    """Mid-rank normal scores of every column over both classes (one shared coordinate system)."""
    values = _coded(clean, levels)
    return np.column_stack([_normal_scores(values[:, j]) for j in range(values.shape[1])])


def _category_order(clean: pd.DataFrame) -> list[str]:
    """Order the favourite categories so that an ordinal code keeps most of their dependence.

    The copula sees a nominal column as ordered codes; ordering the categories
    along the main direction in which their customers differ in the other
    columns (the first principal axis of the per-category means of normal
    scores) makes that dependence as monotone as possible.
    """
    keys = [c.key for c in COLUMNS if not c.categorical]
    scores = pd.DataFrame(
        {k: _normal_scores(clean[k].to_numpy(np.float64)) for k in keys}, index=clean.index
    )
    grouped = scores.groupby(clean["category"])
    means = grouped.mean().sort_index()
    weights = grouped.size().reindex(means.index).to_numpy(np.float64)
    centred = means.to_numpy() - np.average(means.to_numpy(), axis=0, weights=weights)
    _, _, vt = np.linalg.svd(centred * np.sqrt(weights)[:, None], full_matrices=False)
    axis = vt[0] * np.sign(vt[0][np.argmax(np.abs(vt[0]))])  # a fixed orientation
    position = centred @ axis
    return [c for _, c in sorted(zip(np.round(position, 9), means.index, strict=True))]


def _fit_mixture(scores: np.ndarray, other_mean: np.ndarray) -> dict[str, Any]:
    """A two-component Gaussian mixture on one class's rows of the shared normal scores.

    EM starts from a split of the class's rows by the nearer of two centres,
    the class's own mean and the other class's mean: the second component is
    meant to catch the customers who behave like the other class. The start
    is fully specified (weights, means, precisions), so the fit does not
    depend on a random initialisation and is reproducible.
    """
    # Imported here: only fitting needs scikit-learn, generation stays numpy/scipy.
    from sklearn.mixture import GaussianMixture

    k = scores.shape[1]
    centres = np.vstack([scores.mean(axis=0), other_mean])
    nearest = ((scores[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    ridge = MIXTURE_REGULARISATION * np.eye(k)
    weights, precisions = [], []
    for m in range(2):
        part = scores[nearest == m]
        if len(part) <= k:  # too few rows for a covariance: start from the whole class
            part = scores
        weights.append(max(float(np.mean(nearest == m)), 0.05))
        precisions.append(np.linalg.inv(np.cov(part, rowvar=False) + ridge))
    gm = GaussianMixture(
        n_components=2,
        covariance_type="full",
        reg_covar=MIXTURE_REGULARISATION,
        weights_init=np.array(weights) / sum(weights),
        means_init=centres,
        precisions_init=np.stack(precisions),
        max_iter=500,
        random_state=0,
    ).fit(scores)
    if not gm.converged_:
        logger.warning("the Gaussian mixture did not converge; parameters may be rough")
    return {
        "weights": _round_list(gm.weights_, 6),
        "means": [_round_list(m, 4) for m in gm.means_],
        "covariances": [[_round_list(row, 4) for row in c] for c in gm.covariances_],
    }


def _score_correlation(values: np.ndarray) -> np.ndarray:
    """Correlation of the columns' mid-rank normal scores."""
    scores = np.column_stack([_normal_scores(values[:, j]) for j in range(values.shape[1])])
    return np.corrcoef(scores, rowvar=False)


def _calibrate_mixture(
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
    mixture = _mixture(spec)
    rng = np.random.default_rng(CALIBRATION_SEED)
    draws = rng.standard_normal((CALIBRATION_DRAWS, len(marginals)))
    component = _pick(mixture.cum_weights, rng.uniform(size=CALIBRATION_DRAWS))
    covariances = np.asarray(spec["covariances"], dtype=np.float64)
    scales = np.sqrt(np.stack([np.diag(c) for c in covariances]))
    for _ in range(CALIBRATION_STEPS):
        z = np.empty_like(draws)
        for m, cov in enumerate(covariances):
            inside = component == m
            z[inside] = mixture.means[m] + draws[inside] @ _cholesky(cov.tolist()).T
        u = mixture.marginal_cdf(z)
        values = np.column_stack([mg.inverse(u[:, j]) for j, mg in enumerate(marginals)])
        error = observed - _score_correlation(values.astype(np.float64))
        np.fill_diagonal(error, 0.0)
        if np.abs(error).max() < CALIBRATION_TOLERANCE:
            break
        for m in range(len(covariances)):
            step = covariances[m] + error * np.outer(scales[m], scales[m])
            covariances[m] = _positive_definite(step)
    calibrated = dict(spec)
    calibrated["covariances"] = [[_round_list(row, 4) for row in c] for c in covariances]
    return calibrated


def _positive_definite(matrix: np.ndarray) -> np.ndarray:
    """Clip eigenvalues so a covariance stays usable, then restore its diagonal."""
    sym = (matrix + matrix.T) / 2.0
    vals, vecs = np.linalg.eigh(sym)
    fixed = vecs @ np.diag(np.clip(vals, MIXTURE_REGULARISATION, None)) @ vecs.T
    d = np.sqrt(np.diag(sym) / np.diag(fixed))
    return fixed * np.outer(d, d)


def fit_params(raw_dir: Path) -> dict[str, Any]:
    """Derive the generator's parameters from a real export in *raw_dir* (aggregates only)."""
    table, period_spelling = read_export(raw_dir)
    n_total = len(table)
    twin, lags = _duplicate_flags(table)
    revenue = table[list(REVENUE_KEYS)].to_numpy()
    inactive = (revenue == 0).any(axis=1)
    ratios = np.zeros_like(revenue)
    for j in range(revenue.shape[1]):
        # The median of the two other months, ignoring inactive (zero) months.
        others = np.delete(revenue, j, axis=1)
        positive = (others > 0).sum(axis=1)
        median = np.where(others > 0, others, 0.0).sum(axis=1) / np.maximum(positive, 1)
        ratios[:, j] = np.where(positive > 0, revenue[:, j] / np.maximum(median, 1e-9), 0.0)
    implausible_cell = ratios > IMPLAUSIBLE_RATIO
    implausible = implausible_cell.any(axis=1)
    originals = table[~twin]
    clean = table[~twin & ~inactive & ~implausible]

    levels = {
        "service": list(KNOWN_LEVELS["service"]),
        "messages": list(KNOWN_LEVELS["messages"]),
        "category": _category_order(clean),
    }
    scores = _pooled_scores(clean, levels)
    is_declined = clean["declined"].to_numpy()
    pmf = {
        c.key: bool(clean[c.key].nunique() <= MAX_PMF_LEVELS) for c in COLUMNS if not c.categorical
    }
    kinds = {k: "pmf" if v else "quantiles" for k, v in pmf.items()}

    classes: dict[str, Any] = {}
    for name, declined in zip(CLASSES, (False, True), strict=True):
        part = clean[clean["declined"] == declined]
        marginals = {
            col.key: _fit_marginal(
                col, part[col.key].to_numpy(), levels.get(col.key), pmf.get(col.key, False)
            )
            for col in COLUMNS
        }
        classes[name] = {
            "customers": len(part),
            "marginals": marginals,
            "mixture": _calibrate_mixture(
                _fit_mixture(
                    scores[is_declined == declined], scores[is_declined != declined].mean(axis=0)
                ),
                [_marginal_from_spec(col, marginals[col.key], kinds) for col in COLUMNS],
                _score_correlation(_coded(part, levels)),
            ),
        }

    last_digits = {}
    for col in COLUMNS:
        if col.decimals and not pmf.get(col.key, True):
            scaled = np.rint(clean[col.key].to_numpy() * 10**col.decimals).astype(np.int64)
            last_digits[col.key] = _probs(np.bincount(scaled % 10, minlength=10).astype(float))

    zero_patterns = pd.Series(
        [
            ",".join(p for p, v in zip(PERIODS, row, strict=True) if v == 0)
            for row in revenue[inactive]
        ]
    ).value_counts()
    runs = _runs(table["id"].to_numpy()[twin])
    implausible_periods = implausible_cell[implausible].sum(axis=0).astype(np.float64)
    implausible_ratios = ratios[implausible_cell]
    params: dict[str, Any] = {
        "about": (
            "Aggregated statistics of the shop's export for the synthetic sample "
            "generator (ml/sample_data.py); written by `python -m ml.sample_data fit`. "
            "No customer rows."
        ),
        "format_version": PARAMS_FORMAT_VERSION,
        "source": {
            "customers": n_total,
            "id_start": int(table["id"].min()),
            "originals": len(originals),
            "clean": len(clean),
        },
        "labels": {
            "target": {
                cls: originals.loc[originals["declined"] == d, "target_spelling"].mode().iloc[0]
                for cls, d in zip(CLASSES, (False, True), strict=True)
            },
            "levels": levels,
            "periods": period_spelling,
            "spellings": {
                cls: {
                    key: shares
                    for key in LABELLED_KEYS
                    if (shares := _spelling_shares(originals[originals["declined"] == d], key))
                }
                for cls, d in zip(CLASSES, (False, True), strict=True)
            },
        },
        "row_order": {
            MARKET_MONEY: _orders(table["money_order"], PERIODS),
            MARKET_TIME: _orders(table["time_order"], TIME_PERIODS),
        },
        "class_prior_declined": round(float(originals["declined"].mean()), 6),
        "marginal_kind": kinds,
        "last_decimal_digit": last_digits,
        "defects": {
            "inactive": {
                "rate": round(float(inactive[~twin].mean()), 6),
                "zero_periods": {
                    k: round(float(v), 6) for k, v in (zero_patterns / zero_patterns.sum()).items()
                }
                if len(zero_patterns)
                else {},
            },
            "implausible_revenue": {
                "rate": round(float(implausible[~twin].mean()), 6),
                "detected_as": f"revenue > {IMPLAUSIBLE_RATIO} x the customer's median of "
                "the other months",
                "periods": {
                    p: round(float(c / implausible_periods.sum()), 6)
                    for p, c in zip(PERIODS, implausible_periods, strict=True)
                    if c
                },
                "ratio_range": _round_list([implausible_ratios.min(), implausible_ratios.max()], 3)
                if len(implausible_ratios)
                else [],
            },
            "duplicates": {
                "rate": round(float(twin.mean()), 6),
                "run_length": round(float(np.mean(runs))) if runs else 1,
                "lag": int(np.median(lags)) if len(lags) else 1,
            },
        },
        "classes": classes,
    }
    return params


def dumps_params(params: dict[str, Any]) -> str:
    """JSON for the repository: stable order, one line per list of scalars, Cyrillic as is."""
    text = json.dumps(params, ensure_ascii=False, indent=2)

    def collapse(match: re.Match[str]) -> str:
        return json.dumps(json.loads(match.group(0)), ensure_ascii=False)

    # A list whose items are all scalars (numbers, or strings without quotes inside).
    text = re.sub(r"\[(?:[^\[\]{}\"]|\"[^\"]*\")*\]", collapse, text)
    return text + "\n"


# --- The fitted model, ready to sample ----------------------------------------------
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


def _marginal_from_spec(col: Column, spec: dict[str, Any], kinds: dict[str, str]) -> Marginal:
    scale = 10**col.decimals
    if col.categorical:
        return Marginal(np.arange(len(spec["probs"])), _cumulative(spec["probs"]), True)
    if kinds[col.key] == "pmf":
        values = np.rint(np.asarray(spec["values"]) * scale).astype(np.int64)
        return Marginal(values, _cumulative(spec["probs"]), True)
    quantiles = np.asarray(spec["quantiles"], dtype=np.float64) * scale
    return Marginal(quantiles, np.linspace(0.0, 1.0, len(quantiles)), False)


def _cumulative(probs: Sequence[float]) -> np.ndarray:
    cum = np.cumsum(np.asarray(probs, dtype=np.float64))
    return cum / cum[-1]


def _cholesky(covariance: list[list[float]]) -> np.ndarray:
    """Cholesky factor, repairing a matrix that rounding made slightly indefinite."""
    matrix = np.asarray(covariance, dtype=np.float64)
    matrix = (matrix + matrix.T) / 2.0
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(matrix)
        return np.linalg.cholesky(vecs @ np.diag(np.clip(vals, 1e-6, None)) @ vecs.T)


def _mixture(spec: dict[str, Any]) -> Mixture:
    covariances = np.asarray(spec["covariances"], dtype=np.float64)
    return Mixture(
        cum_weights=_cumulative(spec["weights"]),
        weights=np.asarray(spec["weights"], dtype=np.float64) / np.sum(spec["weights"]),
        means=np.asarray(spec["means"], dtype=np.float64),
        cholesky=np.stack([_cholesky(c.tolist()) for c in covariances]),
        scales=np.sqrt(np.stack([np.diag(c) for c in covariances])),
    )


def _duplicate_start_rate(rate: float, run: int) -> float:
    """Chance that a run of twins starts at a customer, for a wanted share of twins.

    A customer is a twin when it lies in a run and its original does not, so
    the share is q (1 - q) with q = 1 - (1 - s)^run; solve for s.
    """
    if rate <= 0:
        return 0.0
    q = (1.0 - math.sqrt(max(0.0, 1.0 - 4.0 * rate))) / 2.0
    return 1.0 - (1.0 - q) ** (1.0 / run)


def build_model(params: dict[str, Any]) -> Model:
    """Check the parameter file's version and turn it into sampling arrays."""
    if params.get("format_version") != PARAMS_FORMAT_VERSION:
        raise ValueError(
            f"parameters have format_version {params.get('format_version')}, "
            f"this generator reads {PARAMS_FORMAT_VERSION}; re-run `fit`"
        )
    labels = params["labels"]
    levels = {k: tuple(v) for k, v in labels["levels"].items()}
    kinds = params["marginal_kind"]
    marginals = []
    mixtures = []
    for cls in CLASSES:
        spec = params["classes"][cls]
        per_column = []
        for col in COLUMNS:
            per_column.append(_marginal_from_spec(col, spec["marginals"][col.key], kinds))
        marginals.append(tuple(per_column))
        mixtures.append(_mixture(spec["mixture"]))

    spellings: dict[tuple[int, str, str], Spelling] = {}
    for c, cls in enumerate(CLASSES):
        for key, by_level in labels["spellings"].get(cls, {}).items():
            for level, shares in by_level.items():
                spellings[(c, key, level)] = Spelling(
                    tuple(shares), _cumulative(list(shares.values()))
                )

    def orders(name: str, periods: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        spec = params["row_order"][name]
        index = {p: i for i, p in enumerate(periods)}
        return (
            np.array([[index[p] for p in o] for o in spec["orders"]], dtype=np.int64),
            _cumulative(spec["probs"]),
        )

    defects = params["defects"]
    zero = defects["inactive"]["zero_periods"] or {",".join(PERIODS[:2]): 1.0}
    patterns = np.array([[p in k.split(",") for p in PERIODS] for k in zero])
    implausible = defects["implausible_revenue"]
    ratio = implausible["ratio_range"] or [1.0, 1.0]
    period_shares = [implausible["periods"].get(p, 0.0) for p in PERIODS]
    if not any(period_shares):
        period_shares = [0.0, 0.0, 1.0]
    duplicates = defects["duplicates"]
    money_orders, money_cum = orders(MARKET_MONEY, PERIODS)
    time_orders, time_cum = orders(MARKET_TIME, TIME_PERIODS)
    return Model(
        prior_declined=float(params["class_prior_declined"]),
        marginals=tuple(marginals),
        mixtures=(mixtures[0], mixtures[1]),
        levels=levels,
        target_labels=(labels["target"]["stable"], labels["target"]["declined"]),
        spellings=spellings,
        last_digits={
            COLUMN_INDEX[k]: _cumulative(v) for k, v in params["last_decimal_digit"].items()
        },
        periods={
            MARKET_MONEY: tuple(labels["periods"][MARKET_MONEY][p] for p in PERIODS),
            MARKET_TIME: tuple(labels["periods"][MARKET_TIME][p] for p in TIME_PERIODS),
        },
        money_orders=money_orders,
        money_order_cum=money_cum,
        time_orders=time_orders,
        time_order_cum=time_cum,
        inactive_rate=float(defects["inactive"]["rate"]),
        inactive_patterns=patterns,
        inactive_cum=_cumulative(list(zero.values())),
        implausible_rate=float(implausible["rate"]),
        implausible_period_cum=_cumulative(period_shares),
        implausible_ratio=(float(ratio[0]), float(ratio[1])),
        duplicate_start_rate=_duplicate_start_rate(
            float(duplicates["rate"]), int(duplicates["run_length"])
        ),
        duplicate_run=int(duplicates["run_length"]),
        duplicate_lag=int(duplicates["lag"]),
        id_start=int(params["source"]["id_start"]),
    )


def load_params(path: Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """Read a parameter file written by ``fit``."""
    return json.loads(Path(path).read_text(encoding=ENCODING))


# --- Sampling --------------------------------------------------------------------
@dataclass
class Customers:
    """A block of generated customers, values on each column's scaled integer grid."""

    rows: np.ndarray  # customer index (id = id_start + row)
    declined: np.ndarray  # bool
    values: np.ndarray  # [customer, column] int64; categoricals as level codes
    labels: dict[str, np.ndarray]  # written spelling per labelled key (object arrays)
    money_order: np.ndarray
    time_order: np.ndarray


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)


def _correlate(chol: np.ndarray, e: np.ndarray) -> np.ndarray:
    # Element-wise sums in a fixed order rather than a BLAS matmul, whose
    # blocking could change the last bit of a row depending on the chunk.
    z = np.zeros_like(e)
    for i in range(chol.shape[0]):
        acc = z[:, i]
        for j in range(i + 1):
            acc += chol[i, j] * e[:, j]
    return z


def _draw(model: Model, key: np.uint64, rows: np.ndarray) -> Customers:
    """Generate customers *rows* as originals: every value a pure function of (key, row)."""
    n = len(rows)
    k = len(COLUMNS)
    declined = uniforms(key, rows, SLOT_CLASS) < model.prior_declined
    e = np.empty((n, k))
    for j in range(k):
        e[:, j] = ndtri(uniforms(key, rows, SLOT_COPULA + j))
    component = np.zeros(n, dtype=np.int64)
    values = np.empty((n, k), dtype=np.int64)
    for c in (0, 1):
        mixture = model.mixtures[c]
        mask = declined == bool(c)
        if not mask.any():
            continue
        component[mask] = _pick(mixture.cum_weights, uniforms(key, rows[mask], SLOT_COMPONENT))
        z = np.empty((int(mask.sum()), k))
        for m in range(len(mixture.weights)):
            inside = component[mask] == m
            z[inside] = mixture.means[m] + _correlate(mixture.cholesky[m], e[mask][inside])
        u = mixture.marginal_cdf(z)
        for j, marginal in enumerate(model.marginals[c]):
            values[mask, j] = marginal.inverse(u[:, j])
    for j, cum in model.last_digits.items():
        digit = _pick(cum, uniforms(key, rows, SLOT_DIGIT + j))
        values[:, j] = values[:, j] - values[:, j] % 10 + digit

    labels: dict[str, np.ndarray] = {}
    target = np.array(model.target_labels, dtype=object)
    canonical = {
        "target": (np.array(CLASSES, dtype=object), declined.astype(np.int64)),
        **{
            key_: (np.array(model.levels[key_], dtype=object), values[:, COLUMN_INDEX[key_]])
            for key_ in ("service", "messages", "category")
        },
    }
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
                written[mask] = choice[_pick(spelling.cum, u[mask])]
        labels[name] = written

    revenue = [COLUMN_INDEX[k] for k in REVENUE_KEYS]
    if model.inactive_rate > 0:
        inactive = uniforms(key, rows, SLOT_INACTIVE) < model.inactive_rate
        if inactive.any():
            pattern = _pick(
                model.inactive_cum, uniforms(key, rows[inactive], SLOT_INACTIVE_PATTERN)
            )
            block = values[inactive][:, revenue]
            block[model.inactive_patterns[pattern]] = 0
            values[np.ix_(inactive, revenue)] = block
    if model.implausible_rate > 0:
        hit = np.flatnonzero(uniforms(key, rows, SLOT_IMPLAUSIBLE) < model.implausible_rate)
        if len(hit):
            period = _pick(
                model.implausible_period_cum, uniforms(key, rows[hit], SLOT_IMPLAUSIBLE_PERIOD)
            )
            u = uniforms(key, rows[hit], SLOT_IMPLAUSIBLE_FACTOR).tolist()
            lo, hi = model.implausible_ratio
            # math.exp per value: rare rows, and no SIMD path that could vary by position.
            factor = np.array([lo * math.exp(x * math.log(hi / lo)) for x in u])
            cols = np.array(revenue)[period]
            values[hit, cols] = np.rint(values[hit, cols] * factor).astype(np.int64)

    money_order = _pick(model.money_order_cum, uniforms(key, rows, SLOT_MONEY_ORDER))
    time_order = _pick(model.time_order_cum, uniforms(key, rows, SLOT_TIME_ORDER))
    return Customers(rows, declined, values, labels, money_order, time_order)


def _in_run(model: Model, key: np.uint64, start: int, stop: int) -> np.ndarray:
    """Whether customers start..stop-1 lie in a run of twins (a run started within the window)."""
    first = max(0, start - model.duplicate_run + 1)
    starts = uniforms(key, np.arange(first, stop), SLOT_DUPLICATE_RUN) < model.duplicate_start_rate
    csum = np.concatenate([[0], np.cumsum(starts)])
    idx = np.arange(start, stop) - first
    return (csum[idx + 1] - csum[np.maximum(idx + 1 - model.duplicate_run, 0)]) > 0


def generate_block(model: Model, key: np.uint64, start: int, stop: int) -> Customers:
    """Customers start..stop-1 with twins in place; identical whatever the block bounds."""
    rows = np.arange(start, stop, dtype=np.int64)
    block = _draw(model, key, rows)
    if model.duplicate_start_rate <= 0 or stop - model.duplicate_lag <= 0:
        return block
    twin = _in_run(model, key, start, stop)
    lag = model.duplicate_lag
    source = rows - lag
    lo = max(start, lag)
    has_source = rows >= lag
    source_in_run = np.zeros(len(rows), dtype=bool)
    if lo < stop:
        source_in_run[has_source] = _in_run(model, key, lo - lag, stop - lag)
    twin &= has_source & ~source_in_run
    if twin.any():
        original = _draw(model, key, source[twin])
        profit = COLUMN_INDEX["profit"]
        keep_profit = block.values[twin, profit]
        block.values[twin] = original.values
        block.values[twin, profit] = keep_profit
        block.declined[twin] = original.declined
        for name in LABELLED_KEYS:
            block.labels[name][twin] = original.labels[name]
    return block


# --- Writing ----------------------------------------------------------------------
def format_scaled(value: int, column: Column) -> str:
    """Write one scaled integer the way the export writes that column."""
    if column.decimals == 0:
        return str(value)
    scale = 10**column.decimals
    whole, frac = divmod(value, scale)
    digits = f"{frac:0{column.decimals}d}"
    if column.style == "short":
        digits = digits.rstrip("0") or "0"
    elif column.style == "bare":
        digits = digits.rstrip("0")
        if not digits:
            return str(whole)
    return f"{whole}{column.decimal_sep}{digits}"


class Formatter:
    """Formats columns through cached lookup tables: string conversion dominates the run time."""

    TABLE_LIMIT = 200_000

    def __init__(self) -> None:
        self._tables: dict[str, np.ndarray] = {}

    def column(self, values: np.ndarray, column: Column) -> list[str]:
        """Strings for scaled integer *values* of *column*."""
        if len(values) == 0:
            return []
        if values.min() < 0:
            raise ValueError(f"{column.key}: negative values cannot be written")
        top = int(values.max())
        size = min(top, self.TABLE_LIMIT) + 1
        table = self._tables.get(column.key)
        if table is None or len(table) < size:
            table = np.array([format_scaled(v, column) for v in range(size)], dtype=object)
            self._tables[column.key] = table
        out = table[np.minimum(values, len(table) - 1)]
        for i in np.flatnonzero(values >= len(table)):
            out[i] = format_scaled(int(values[i]), column)
        return out.tolist()


def format_block(block: Customers, model: Model, formatter: Formatter) -> dict[str, str]:
    """The block's lines of each file, CRLF-terminated."""
    ids = list(map(str, (block.rows + model.id_start).tolist()))
    n = len(ids)
    fields: list[list[str]] = [ids, block.labels["target"].tolist()]
    for col in MARKET_FILE_COLUMNS:
        if col.key in block.labels:
            fields.append(block.labels[col.key].tolist())
        else:
            fields.append(formatter.column(block.values[:, COLUMN_INDEX[col.key]], col))
    out = {MARKET_FILE: _lines(",", fields)}

    for name, keys, orders, order in (
        (MARKET_MONEY, REVENUE_KEYS, model.money_orders, block.money_order),
        (MARKET_TIME, MINUTES_KEYS, model.time_orders, block.time_order),
    ):
        width = len(keys)
        periods = orders[order]  # [customer, position] -> period index
        cols = np.array([COLUMN_INDEX[k] for k in keys])
        values = block.values[np.arange(n)[:, None], cols[periods]].ravel()
        labels = np.array(model.periods[name], dtype=object)[periods.ravel()].tolist()
        repeated = [i for i in ids for _ in range(width)]
        text = formatter.column(values, COLUMNS[cols[0]])
        out[name] = _lines(",", [repeated, labels, text])

    profit = COLUMNS[COLUMN_INDEX["profit"]]
    out[MONEY] = _lines(
        ";", [ids, formatter.column(block.values[:, COLUMN_INDEX["profit"]], profit)]
    )
    return out


def _lines(sep: str, fields: list[list[str]]) -> str:
    if not fields[0]:
        return ""
    return NEWLINE.join(map(sep.join, zip(*fields, strict=True))) + NEWLINE


def header_line(name: str) -> str:
    """The header of file *name* as the export writes it."""
    return SEPARATORS[name].join(HEADERS[name]) + NEWLINE


def iter_blocks(
    model: Model, n_customers: int, seed: int, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[Customers]:
    """Generate the sample chunk by chunk; memory is bounded by *chunk_size*."""
    if n_customers < 0 or chunk_size < 1:
        raise ValueError("n_customers must be >= 0 and chunk_size >= 1")
    key = seed_key(seed)
    for start in range(0, n_customers, chunk_size):
        yield generate_block(model, key, start, min(start + chunk_size, n_customers))


def write_sample(
    out_dir: Path,
    n_customers: int,
    seed: int,
    params: dict[str, Any] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> dict[str, Path]:
    """Write the four export files for *n_customers* synthetic customers into *out_dir*.

    Files are written under a temporary name and renamed at the end, so an
    interrupted run never leaves a truncated file that looks complete.
    """
    model = build_model(params if params is not None else load_params())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = {name: out_dir / name for name in OUTPUT_FILES}
    partial = {name: out_dir / f".{name}.partial" for name in OUTPUT_FILES}
    handles = {name: partial[name].open("wb") for name in OUTPUT_FILES}
    started = time.perf_counter()
    try:
        for name, handle in handles.items():
            handle.write(header_line(name).encode(ENCODING))
        formatter = Formatter()
        done = 0
        for block in iter_blocks(model, n_customers, seed, chunk_size):
            for name, text in format_block(block, model, formatter).items():
                handles[name].write(text.encode(ENCODING))
            done += len(block.rows)
            logger.debug("generated %d / %d customers", done, n_customers)
    except BaseException:
        for name, handle in handles.items():
            handle.close()
            partial[name].unlink(missing_ok=True)
        raise
    for name, handle in handles.items():
        handle.close()
        os.replace(partial[name], final[name])
        logger.info("wrote %s (%.1f MB)", final[name], final[name].stat().st_size / 1e6)
    logger.info(
        "these files are SYNTHETIC sample data, not the shop's export: %d customers, "
        "seed %d, %.1f s",
        n_customers,
        seed,
        time.perf_counter() - started,
    )
    return final


# --- Command line -----------------------------------------------------------------
SUBCOMMANDS = ("generate", "fit")


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type for integers of at least *minimum*, so bad input is a usage error."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The CLI: ``generate`` (the default when no subcommand is given) and ``fit``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="How much to log (DEBUG adds progress per chunk when generating). Default: INFO.",
    )
    parser = argparse.ArgumentParser(
        prog="python -m ml.sample_data",
        description=(
            "Synthetic customers in the exact format of the shop's raw export "
            "(market_file.csv, market_money.csv, market_time.csv, money.csv). "
            "'generate' is the default subcommand: `python -m ml.sample_data "
            "--customers 10000 --seed 1 --out DIR` works without it. "
            "'fit' derives the parameters from a real export. "
            "See `python -m ml.sample_data generate --help` for the options."
        ),
        epilog=(
            "generate options: --customers N, --seed S, --out DIR, --params FILE, "
            "--chunk-size N, --log-level LEVEL. "
            "fit options: --raw DIR, --out FILE, --log-level LEVEL. "
            "The files written are synthetic, never the shop's data."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{generate,fit}")
    gen = sub.add_parser(
        "generate",
        parents=[common],
        help="write a synthetic export (the default)",
        description="Write the four files of a synthetic export of the shop.",
    )
    gen.add_argument(
        "--customers",
        type=_count(0),
        default=1300,
        help="Number of customers (rows of market_file.csv), twins included. Default: 1300, "
        "the size of the real export.",
    )
    gen.add_argument(
        "--seed",
        type=_count(0),
        default=0,
        help="Non-negative seed; the same seed and parameter file give byte-identical files. "
        "Default: 0.",
    )
    gen.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="Directory for the four files (created if missing; existing files are "
        f"replaced). Default: {DEFAULT_OUT_DIR}.",
    )
    gen.add_argument(
        "--params",
        type=Path,
        default=DEFAULT_PARAMS,
        help=f"Parameter file written by 'fit'. Default: {DEFAULT_PARAMS}.",
    )
    gen.add_argument(
        "--chunk-size",
        type=_count(1),
        default=DEFAULT_CHUNK_SIZE,
        help="Customers generated and written at a time; bounds memory, does not change the "
        f"output. Default: {DEFAULT_CHUNK_SIZE}.",
    )
    fit = sub.add_parser(
        "fit",
        parents=[common],
        help="derive the parameter file from a real export",
        description="Fit aggregated statistics of a real export (never rows) into a JSON file.",
    )
    fit.add_argument(
        "--raw",
        type=Path,
        default=None,
        help="Directory with the real export's four files. Default: the project's raw "
        "directory (ONE_CLICK_RAW_DIR or data/raw).",
    )
    fit.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_PARAMS,
        help=f"Where to write the parameters. Default: {DEFAULT_PARAMS}.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in (*SUBCOMMANDS, "-h", "--help"):
        args_list.insert(0, "generate")
    args = build_parser().parse_args(args_list)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "fit":
        raw = resolve_paths(raw_dir=args.raw).raw_dir
        params = fit_params(raw)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(dumps_params(params), encoding=ENCODING)
        logger.info(
            "fitted %d customers from %s into %s (aggregates only)",
            params["source"]["customers"],
            raw,
            args.out,
        )
        return 0
    write_sample(args.out, args.customers, args.seed, load_params(args.params), args.chunk_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
