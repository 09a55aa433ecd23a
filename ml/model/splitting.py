"""Group-aware splits: a duplicate-record group never sits on both sides of any split.

The export holds customers registered twice with identical attributes. If one
twin trains the model and the other scores it, the score is inflated; every
split here keeps a `duplicate_group_id` group on one side.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split


def holdout_split(
    y: np.ndarray, groups: np.ndarray, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/hold-out row indices with each group kept on one side.

    Rows are first split exactly as the published solutions do
    (``train_test_split(stratify=y, random_state=seed)`` over rows in
    customer-id order), so the hold-out stays comparable with theirs; then
    every group is moved to the side of its first row (the representative,
    i.e. the smallest customer id). Only twins move, so class balance shifts
    by at most a handful of rows.
    """
    n = len(y)
    if len(groups) != n:
        raise ValueError("y and groups must have the same length")
    rows = np.arange(n)
    _, test_rows = train_test_split(rows, test_size=test_size, random_state=seed, stratify=y)
    is_test = np.zeros(n, dtype=bool)
    is_test[test_rows] = True
    first_row_side = pd.Series(is_test).groupby(groups, sort=False).transform("first")
    is_test = first_row_side.to_numpy(dtype=bool)
    return rows[~is_test], rows[is_test]


class RepeatedStratifiedGroupKFold:
    """Stratified group k-fold repeated with a different shuffle each time.

    scikit-learn has repeated stratified k-fold and stratified group k-fold
    but not both at once; repetition steadies the mean ROC-AUC on ~1000
    customers, grouping keeps twins together. Repetition r is shuffled with
    ``random_state + r`` so the folds are reproducible from the seed alone.
    """

    def __init__(self, n_splits: int = 5, n_repeats: int = 3, random_state: int = 0) -> None:
        if n_splits < 2 or n_repeats < 1:
            raise ValueError("need n_splits >= 2 and n_repeats >= 1")
        self.n_splits = n_splits
        self.n_repeats = n_repeats
        self.random_state = random_state

    def split(
        self, x: object, y: np.ndarray, groups: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train, validation) row indices, `n_splits` per repetition."""
        for repeat in range(self.n_repeats):
            folds = StratifiedGroupKFold(
                n_splits=self.n_splits, shuffle=True, random_state=self.random_state + repeat
            )
            yield from folds.split(np.zeros(len(y)), y, groups)

    def get_n_splits(self, x: object = None, y: object = None, groups: object = None) -> int:
        """Number of (train, validation) pairs, as scikit-learn splitters report it."""
        return self.n_splits * self.n_repeats


def fold_list(
    y: np.ndarray, groups: np.ndarray, n_splits: int, n_repeats: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Materialised folds, so every model family is scored on exactly the same splits."""
    splitter = RepeatedStratifiedGroupKFold(n_splits, n_repeats, random_state=seed)
    return list(splitter.split(None, y, groups))


def _keep_groups_whole(chosen: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Move every group to the side (or fold) of its first row."""
    return pd.Series(chosen).groupby(groups, sort=False).transform("first").to_numpy()


def stratified_group_sample(y: np.ndarray, groups: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted row indices of a class-stratified sample of about *size* rows, groups kept whole.

    All rows when *size* covers them. Large-N training draws its search and
    fit samples with this; a twin joins the sample exactly when its group's
    first row does, so the size may differ from *size* by a few rows.
    """
    n = len(y)
    if len(groups) != n:
        raise ValueError("y and groups must have the same length")
    rows = np.arange(n)
    if size >= n:
        return rows
    taken, _ = train_test_split(rows, train_size=size, random_state=seed, stratify=y)
    chosen = np.zeros(n, dtype=bool)
    chosen[taken] = True
    return rows[_keep_groups_whole(chosen, groups)]


def large_fold_list(
    y: np.ndarray, groups: np.ndarray, n_splits: int, n_repeats: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Repeated stratified k-fold with groups kept whole, in linear time.

    StratifiedGroupKFold balances groups one at a time (~30 s for 200 k rows
    here); with singleton groups and a few twins, stratified k-fold over rows
    followed by moving each group to its first row's fold gives the same
    guarantees (no group straddles, classes balanced to within a few rows).
    Repetition r is shuffled with ``seed + r``.
    """
    rows = np.arange(len(y))
    folds: list[tuple[np.ndarray, np.ndarray]] = []
    for repeat in range(n_repeats):
        fold_of = np.empty(len(y), dtype=np.int64)
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed + repeat)
        for k, (_, val) in enumerate(splitter.split(rows, y)):
            fold_of[val] = k
        fold_of = _keep_groups_whole(fold_of, groups)
        folds.extend((rows[fold_of != k], rows[fold_of == k]) for k in range(n_splits))
    return folds
