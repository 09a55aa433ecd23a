"""Threshold rules, confusion counts and calibration points on hand-checked examples."""

from __future__ import annotations

import numpy as np
import pytest

from ml.model.evaluation import (
    ThresholdRule,
    choose_threshold,
    confusion_at,
    evaluation_curves,
    parse_threshold_rule,
    reliability_table,
)

# Six customers, scores in descending order; declined = 1.
Y = np.array([1, 1, 0, 1, 0, 0])
P = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.1])


def test_f1_rule_picks_the_threshold_with_the_best_f1() -> None:
    # F1 at 0.9, 0.8, 0.7, 0.6, 0.3, 0.1 = 0.50, 0.80, 0.67, 0.86, 0.75, 0.67
    assert choose_threshold(Y, P, ThresholdRule("f1")) == 0.6


def test_cost_rule_weighs_missed_decliners_against_wasted_offers() -> None:
    # ratio 5: cost = 5*FN + FP = 10, 5, 6, 1, 2, 3 at 0.9 ... 0.1 (and 15 for nobody)
    assert choose_threshold(Y, P, ThresholdRule("cost", 5.0)) == 0.6
    # ratio 1: costs 2, 1, 2, 1, 2, 3: a tie goes to the higher threshold (fewer offers)
    assert choose_threshold(Y, P, ThresholdRule("cost", 1.0)) == 0.8


def test_cost_rule_can_conclude_that_no_offer_pays() -> None:
    y = np.array([0, 0, 1])
    p = np.array([0.9, 0.8, 0.1])
    threshold = choose_threshold(y, p, ThresholdRule("cost", 0.5))
    assert threshold > 0.9
    assert confusion_at(y, p, threshold)["tp"] + confusion_at(y, p, threshold)["fp"] == 0


def test_fixed_rule_returns_its_value() -> None:
    assert choose_threshold(Y, P, parse_threshold_rule("fixed:0.35")) == 0.35


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f1", ThresholdRule("f1")),
        ("cost:3", ThresholdRule("cost", 3.0)),
        ("FIXED:0.5", ThresholdRule("fixed", 0.5)),
    ],
)
def test_threshold_rules_parse(text: str, expected: ThresholdRule) -> None:
    assert parse_threshold_rule(text) == expected


@pytest.mark.parametrize("text", ["", "f2", "cost", "cost:-1", "cost:abc", "fixed:1.5", "f1:2"])
def test_bad_threshold_rules_are_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="use 'f1'"):
        parse_threshold_rule(text)


def test_confusion_at_threshold() -> None:
    assert confusion_at(Y, P, 0.6) == {
        "tp": 3,
        "fp": 1,
        "tn": 2,
        "fn": 0,
        "precision": 0.75,
        "recall": 1.0,
        "f1": pytest.approx(6 / 7),
    }


def test_reliability_table_bins_by_predicted_probability() -> None:
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.05, 0.15, 0.12, 0.95, 0.91])
    table = reliability_table(y, p, n_bins=10)
    assert table["count"].tolist() == [1, 2, 2]
    assert table["observed"].tolist() == [0.0, 0.5, 1.0]
    assert table["mean_predicted"].tolist() == pytest.approx([0.05, 0.135, 0.93])


def test_evaluation_curves_hold_every_chart_of_the_report() -> None:
    curves = evaluation_curves(Y, P, "oof", n_bins=5)
    assert set(curves["curve"]) == {
        "roc",
        "pr",
        "calibration",
        "precision_at_threshold",
        "recall_at_threshold",
        "f1_at_threshold",
    }
    roc = curves[curves["curve"] == "roc"]
    assert (roc["x"].iloc[0], roc["y"].iloc[0]) == (0.0, 0.0)
    assert (roc["x"].iloc[-1], roc["y"].iloc[-1]) == (1.0, 1.0)
    assert curves.loc[curves["curve"] == "calibration", "bin_count"].sum() == len(Y)
    assert (curves["dataset"] == "oof").all()
