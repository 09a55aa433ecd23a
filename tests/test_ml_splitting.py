"""The hold-out split and the repeated CV folds keep duplicate-record groups together."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from ml.model.splitting import (
    RepeatedStratifiedGroupKFold,
    fold_list,
    holdout_split,
)

from .ml_fixtures import groups_straddling


def _labels_and_groups() -> tuple[np.ndarray, np.ndarray]:
    # 40 customers, 16 declined; customers 0-5 each have a twin (rows 40-45).
    y = np.array([1] * 16 + [0] * 24 + [1] * 6)
    groups = np.r_[np.arange(40), np.arange(6)]
    return y, groups


def test_holdout_keeps_each_duplicate_group_on_one_side() -> None:
    y, groups = _labels_and_groups()
    for seed in range(20):
        train, hold = holdout_split(y, groups, test_size=0.25, seed=seed)
        assert groups_straddling(groups, train, hold) == set()
        assert sorted(np.r_[train, hold]) == list(range(len(y)))


def test_holdout_equals_the_published_stratified_split_when_there_are_no_twins() -> None:
    y = np.array([1] * 30 + [0] * 70)
    groups = np.arange(100)
    train, hold = holdout_split(y, groups, test_size=0.25, seed=42)
    expected_train, expected_hold = train_test_split(
        np.arange(100), test_size=0.25, random_state=42, stratify=y
    )
    assert sorted(hold) == sorted(expected_hold)
    assert sorted(train) == sorted(expected_train)


def test_holdout_is_stratified_and_a_quarter() -> None:
    y = np.array([1] * 40 + [0] * 60)
    _, hold = holdout_split(y, np.arange(100), test_size=0.25, seed=7)
    assert len(hold) == 25
    assert y[hold].sum() == 10  # 40 % declined, as in the whole set


def test_repeated_group_kfold_validates_each_row_once_per_repeat_and_keeps_groups() -> None:
    y, groups = _labels_and_groups()
    splitter = RepeatedStratifiedGroupKFold(n_splits=4, n_repeats=3, random_state=1)
    folds = list(splitter.split(None, y, groups))
    assert len(folds) == splitter.get_n_splits() == 12
    for repeat in range(3):
        validated = np.concatenate([val for _, val in folds[repeat * 4 : (repeat + 1) * 4]])
        assert sorted(validated) == list(range(len(y)))
    for train, val in folds:
        assert groups_straddling(groups, train, val) == set()


def test_repeats_differ_but_folds_are_reproducible_from_the_seed() -> None:
    y, groups = _labels_and_groups()
    first = fold_list(y, groups, n_splits=4, n_repeats=2, seed=3)
    again = fold_list(y, groups, n_splits=4, n_repeats=2, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    repeat_one = {tuple(sorted(v)) for _, v in first[:4]}
    repeat_two = {tuple(sorted(v)) for _, v in first[4:]}
    assert repeat_one != repeat_two
