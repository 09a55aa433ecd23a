"""Segments, reasons and offers built by dbt on hand-made ML output for the fixture export.

The fixture mart has 7 active customers; their profits are 0.98, 4.16, 4.87,
4.65, 5.26, 3.05, 2.50 (median 4.16, so high profit = 100004, 100005,
100006). The ML output below gives each a probability (threshold 0.5) and
SHAP values that are zero except:
  100005 (no consent): unpaid_items_quarter +0.5 (4 items, median 2: high),
                       tenure_days +0.4 (136 days, median 703: low),
                       pages_per_visit +0.1 (17 pages, median 6: high);
  100001 (consent):    service_errors +0.3 (1, median 3: low),
                       promo_purchase_share +0.2 (0.0, median 0.27: low),
                       marketing_activity_6m +0.1 (3.4, median 4.8: low);
  100007:              revenue_current_month and tenure_days +0.2 each (a tie),
                       revenue_previous_month -0.1 (toward staying); none actionable.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ml.config import MART_RELATION, Paths
from ml.contracts.features import mart_columns
from ml.io.mart import read_mart, to_mart_data
from ml.io.writer import write_run
from ml.model.explanation import Explanation, ShapRows
from ml.ops.dbt_runner import run_dbt

from .conftest import built_fixture_export
from .ml_fixtures import ml_rows

pytestmark = pytest.mark.slow

P_DECLINE = {
    100001: 0.9,
    100002: 0.2,
    100004: 0.3,
    100005: 0.8,
    100006: 0.7,
    100007: 0.6,
    100008: 0.1,
}
SHAP = {
    (100005, "unpaid_items_quarter"): 0.35,
    (100005, "tenure_days"): 0.25,
    (100005, "pages_per_visit"): 0.1,
    (100001, "service_errors"): 0.3,
    (100001, "promo_purchase_share"): 0.2,
    (100001, "marketing_activity_6m"): 0.1,
    (100007, "revenue_current_month"): 0.2,
    (100007, "tenure_days"): 0.2,
    (100007, "revenue_previous_month"): -0.1,
}


@pytest.fixture(scope="module")
def segmented_paths(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    workdir = tmp_path_factory.mktemp("segments")
    paths = built_fixture_export(workdir)
    run_id = "20261123T000000Z-test"
    frames = {
        "model_runs": ml_rows(
            "model_runs",
            [
                {
                    "run_id": run_id,
                    "run_kind": "train",
                    "started_at": pd.Timestamp("2026-11-23"),
                    "threshold": 0.5,
                    "n_customers": len(P_DECLINE),
                }
            ],
        ),
        "predictions": ml_rows(
            "predictions",
            [
                {
                    "run_id": run_id,
                    "customer_id": c,
                    "p_decline": p,
                    "predicted_decline": p >= 0.5,
                    "p_source": "oof",
                    # base value + SHAP = p, as ml.train writes it
                    "base_value": p - sum(v for (who, _), v in SHAP.items() if who == c),
                }
                for c, p in P_DECLINE.items()
            ],
        ),
    }
    with duckdb.connect(str(paths.build_duckdb)) as con:
        # SHAP rows as ml.train writes them: with each customer's feature values.
        columns = mart_columns()
        data = to_mart_data(read_mart(con, MART_RELATION, columns), columns, with_target=False)
        ids = data.customer_ids.tolist()
        assert sorted(ids) == sorted(P_DECLINE)
        values = pd.DataFrame(
            [[SHAP.get((c, f), 0.0) for f in columns.features] for c in ids],
            columns=list(columns.features),
        )
        explanation = Explanation(values, np.zeros(len(ids)), "tree_exact")
        frames["shap_values"] = ShapRows(
            explanation, data.x, data.customer_ids, run_id, 100, columns.actionable
        )
        write_run(con, frames)
    report = run_dbt(paths, ("build", "--selector", "after_ml"))
    assert report.success, report.problems
    return paths


@pytest.fixture(scope="module")
def segmented(segmented_paths: Paths) -> Path:
    """The build file holding the segment tables."""
    return segmented_paths.build_duckdb


def test_every_active_customer_gets_one_segment_from_the_bands(segmented, query):
    rows = query(
        segmented,
        "select customer_id, risk_band, profit_band, segment, is_key_segment"
        " from segments.customer_segments order by customer_id",
    )
    assert rows == [
        (100001, "high_risk", "low_profit", "high_risk_low_profit", False),
        (100002, "low_risk", "low_profit", "low_risk_low_profit", False),
        (100004, "low_risk", "high_profit", "low_risk_high_profit", False),
        (100005, "high_risk", "high_profit", "high_risk_high_profit", True),
        (100006, "high_risk", "high_profit", "high_risk_high_profit", True),
        (100007, "high_risk", "low_profit", "high_risk_low_profit", False),
        (100008, "low_risk", "low_profit", "low_risk_low_profit", False),
    ]


def test_thresholds_default_to_the_run_threshold_and_median_profit(segmented, query):
    assert query(
        segmented,
        "select distinct risk_threshold, profit_threshold from segments.customer_segments",
    ) == [(0.5, 4.16)]


def test_profit_at_risk_is_probability_times_profit(segmented, query):
    assert query(
        segmented,
        "select round(profit_at_risk, 6) from segments.customer_segments"
        " where customer_id = 100005",
    ) == [(round(0.8 * 4.65, 6),)]


def test_top_reasons_are_the_strongest_positive_shap_values_in_words(segmented, query):
    assert query(
        segmented,
        "select reason_1, reason_2, reason_3 from segments.customer_segments"
        " where customer_id = 100005",
    ) == [
        (
            "many unpaid items left in the cart",
            "recently registered",
            "views many pages per visit",
        )
    ]


def test_drivers_are_positive_shap_only_and_ties_go_to_the_feature_name(segmented, query):
    rows = query(
        segmented,
        "select feature, driver_rank from intermediate.int_risk_drivers_ranked"
        " where customer_id = 100007 and shap_value <> 0 order by feature",
    )
    assert rows == [
        ("revenue_current_month", 1),
        ("revenue_previous_month", None),
        ("tenure_days", 2),
    ]
    ((reason_3,),) = query(
        segmented, "select reason_3 from segments.customer_segments where customer_id = 100007"
    )
    assert reason_3 is None  # two drivers only: a negative SHAP value is never a reason


def test_rebuilding_gives_identical_reasons_and_offers(segmented_paths, segmented, query):
    reasons = "select * from segments.customer_segments order by customer_id"
    offers = "select * from segments.customer_recommendations order by customer_id, offer_rank"
    before = query(segmented, reasons), query(segmented, offers)
    rebuild = ("build", "--select", "customer_segments", "customer_recommendations")
    assert run_dbt(segmented_paths, rebuild).success
    assert (query(segmented, reasons), query(segmented, offers)) == before


def test_segment_summary_counts_and_profit(segmented, query):
    rows = query(
        segmented,
        "select segment, n_customers, round(total_profit, 2), round(mean_p_decline, 3)"
        " from segments.segment_summary order by segment",
    )
    assert rows == [
        ("high_risk_high_profit", 2, 9.91, 0.75),
        ("high_risk_low_profit", 2, 4.03, 0.75),
        ("low_risk_high_profit", 1, 4.87, 0.3),
        ("low_risk_low_profit", 2, 6.66, 0.15),
    ]


def test_offers_follow_actionable_drivers_and_consent(segmented, query):
    rows = query(
        segmented,
        "select customer_id, offer_rank, driver, driver_level, offer_code, channel"
        " from segments.customer_recommendations order by customer_id, offer_rank",
    )
    # 100005 does not allow messages: the cart reminder comes on the site.
    # Its tenure driver is not actionable; many pages has no catalogue offer.
    # 100001's low service errors and low promo share have no offer either.
    assert rows == [
        (100001, 1, "marketing_activity_6m", "low", "favourite_category_digest_email", "email"),
        (100005, 1, "unpaid_items_quarter", "high", "cart_reminder_site", "site"),
    ]


def test_each_offer_carries_its_drivers_own_shap_value_of_the_run(segmented, query):
    rows = query(
        segmented,
        "select customer_id, driver, driver_shap_value, run_id"
        " from segments.customer_recommendations order by customer_id",
    )
    assert [(c, d, v) for c, d, v, _ in rows] == [
        (c, d, SHAP[(c, d)]) for c, d in [(100001, "marketing_activity_6m"),
                                           (100005, "unpaid_items_quarter")]
    ]  # fmt: skip
    assert {run for *_, run in rows} == {"20261123T000000Z-test"}


def _shift_base_value(paths: Paths, delta: float) -> None:
    with duckdb.connect(str(paths.build_duckdb)) as con:
        con.execute(
            "update ml.predictions set base_value = base_value + ? where customer_id = 100005",
            [delta],
        )


def test_a_reason_beside_a_probability_its_shap_does_not_explain_fails_the_build(
    segmented_paths,
) -> None:
    # The published probability and its base value are the latest run's
    # (int_predictions_filtered_to_latest_run), so that model is rebuilt too.
    rebuilt = ("build", "--select", "int_predictions_filtered_to_latest_run")
    _shift_base_value(segmented_paths, 0.01)
    try:
        check = (*rebuilt, "assert_reasons_explain_the_published_probability")
        assert not run_dbt(segmented_paths, check).success
    finally:
        _shift_base_value(segmented_paths, -0.01)
        assert run_dbt(segmented_paths, rebuilt).success


def test_key_segment_profile_needs_two_customers_per_group(segmented, query):
    # The default comparison group (low risk, high profit) has one customer only.
    assert query(segmented, "select count(*) from segments.key_segment_profile") == [(0,)]


def test_key_segment_profile_compares_means_with_welch_t(segmented_paths, segmented, query):
    # Against the two at-risk, less profitable customers (100001: 5 pages,
    # 100007: 7 pages) the key segment (100005, 100006: 17 pages each) differs
    # by 11 pages; Welch t = 11 / sqrt(0/2 + 2/2) = 11 with 2 - 1 = 1 degree
    # of freedom (the key side does not vary), so p = 1 - 2/pi * atan(11)
    # = 0.0577: not significant at 5 %, however large t looks.
    paths = segmented_paths
    recut = ("build", "--select", "key_segment_profile", "--vars",
             "{comparison_segment: high_risk_low_profit}")  # fmt: skip
    try:
        assert run_dbt(paths, recut).success
        rows = query(
            segmented,
            "select key_n, key_mean, comparison_n, comparison_mean, difference,"
            " round(welch_t, 6), welch_df, p_value, is_significant"
            " from segments.key_segment_profile where feature = 'pages_per_visit'",
        )
    finally:
        assert run_dbt(paths, ("build", "--select", "key_segment_profile")).success
    assert rows == [(2, 17.0, 2, 6.0, 11.0, 11.0, 1.0, pytest.approx(0.0577, abs=1e-4), False)]
    assert rows[0][7] == pytest.approx(1 - 2 / math.pi * math.atan(11), abs=1e-9)


def test_segment_feature_profile_compares_every_segment_with_all_other_customers(segmented):
    # Each segment against the rest of the mart, recomputed from the customers
    # with pandas and scipy's Welch test: the pooled moments of the others and
    # the SQL p-value must agree.
    with duckdb.connect(str(segmented), read_only=True) as con:
        profile = con.execute("select * from segments.segment_feature_profile").df()
        mart = con.execute(
            "select f.*, s.segment from marts.customer_features as f"
            " left join segments.customer_segments as s using (customer_id)"
        ).df()
    columns = mart_columns()
    booleans = [c for c in columns.categorical if columns.data_types.get(c) == "boolean"]
    features = [*columns.numeric, *booleans]
    segments = ["high_risk_high_profit", "high_risk_low_profit", "low_risk_high_profit",
                "low_risk_low_profit"]  # fmt: skip
    assert sorted(map(tuple, profile[["segment", "feature"]].to_numpy())) == sorted(
        (s, f) for s in segments for f in features
    )
    for row in profile.to_dict("records"):
        inside = mart["segment"] == row["segment"]
        a = mart.loc[inside, row["feature"]].astype(float)
        b = mart.loc[~inside, row["feature"]].astype(float)
        assert (row["n"], row["comparison_n"]) == (len(a), len(b))
        assert row["mean"] == pytest.approx(a.mean())
        assert row["comparison_mean"] == pytest.approx(b.mean())
        assert row["std"] == pytest.approx(a.std(ddof=1), nan_ok=True)
        assert row["comparison_std"] == pytest.approx(b.std(ddof=1), nan_ok=True)
        with warnings.catch_warnings():
            # scipy warns on a side with no spread; the SQL's answer is still defined
            warnings.simplefilter("ignore", RuntimeWarning)
            test = stats.ttest_ind(a, b, equal_var=False)
        if len(a) < 2 or not np.isfinite(test.statistic):
            assert pd.isna(row["welch_t"]) and pd.isna(row["p_value"])
            assert not row["is_significant"]
        else:
            assert row["welch_t"] == pytest.approx(test.statistic)
            assert row["p_value"] == pytest.approx(test.pvalue, rel=1e-7, abs=1e-9)
            assert row["is_significant"] == (test.pvalue < 0.05)
    ranks = profile.sort_values(["segment", "difference_rank"])
    for _, rows in ranks.groupby("segment"):
        sizes = rows["standardized_difference"].abs().fillna(0).to_numpy()
        assert list(rows["difference_rank"]) == list(range(1, len(rows) + 1))
        assert all(sizes[:-1] >= sizes[1:])


# --- The ml source's tests (rendered from ml/contracts/ml_tables.py) ------------------------

OLDER_RUN = "20261101T000000Z-older"


def _ml_source_test(paths: Paths, *extra: str) -> list[str]:
    """Run the ml source's data tests; the problems, empty when they all pass."""
    report = run_dbt(paths, ("test", "--select", "source:ml", *extra))
    assert report.success == (report.problems == [])
    return report.problems


def _ml_source_test_after(paths: Paths, change: str, undo: str) -> list[str]:
    """The ml source tests' problems once *change* (SQL) is made; *undo* restores the tables."""
    with duckdb.connect(str(paths.build_duckdb)) as con:
        con.execute(change)
    try:
        return _ml_source_test(paths)
    finally:
        with duckdb.connect(str(paths.build_duckdb)) as con:
            con.execute(undo)


def test_the_ml_tables_as_written_pass_their_source_tests(segmented_paths) -> None:
    assert _ml_source_test(segmented_paths) == []


def test_a_probability_outside_0_1_in_the_newest_run_fails_the_source_tests(
    segmented_paths,
) -> None:
    problems = _ml_source_test_after(
        segmented_paths,
        "update ml.predictions set p_decline = 1.5 where customer_id = 100005",
        "update ml.predictions set p_decline = 0.8 where customer_id = 100005",
    )
    assert "p_decline = 1.5 (must be ≤ 1)" in problems


def test_rows_of_a_run_no_model_run_records_fail_the_source_tests(segmented_paths) -> None:
    problems = _ml_source_test_after(
        segmented_paths,
        "update ml.model_runs set run_id = 'unrecorded'",
        "update ml.model_runs set run_id = '20261123T000000Z-test'",
    )
    assert [p for p in problems if "not in ml.model_runs" in p] == [
        "run_id 20261123T000000Z-test is in ml.predictions but not in ml.model_runs",
        "run_id 20261123T000000Z-test is in ml.shap_values but not in ml.model_runs",
    ]


def test_a_repeated_or_missing_shap_row_of_the_newest_run_fails_naming_the_customer(
    segmented_paths,
) -> None:
    problems = _ml_source_test_after(
        segmented_paths,
        "update ml.shap_values set feature = 'tenure_days'"
        " where customer_id = 100005 and feature = 'pages_per_visit'",
        "update ml.shap_values set feature = 'pages_per_visit'"
        " where customer_id = 100005 and feature = 'tenure_days' and shap_value = 0.1",
    )
    assert problems == [
        "run_id 20261123T000000Z-test, customer_id 100005: pages_per_visit 0 times,"
        " tenure_days 2 times (must be once per feature)"
    ]
    assert _ml_source_test(segmented_paths) == []


def test_per_customer_tables_are_tested_on_the_newest_run_only(segmented_paths) -> None:
    # An older run's repeated customer (checked by the build after its own
    # write) is not read again; the same repeat in the newest run fails.
    older = ml_rows(
        "predictions",
        [
            {
                "run_id": OLDER_RUN,
                "customer_id": 100001,
                "p_decline": 0.5,
                "p_source": "oof",
                "predicted_decline": True,
            }
        ]
        * 2,
    )
    run = ml_rows(
        "model_runs",
        [
            {
                "run_id": OLDER_RUN,
                "run_kind": "train",
                "started_at": pd.Timestamp("2026-11-01"),
                "n_customers": 1,
                "threshold": 0.5,
            }
        ],
    )
    with duckdb.connect(str(segmented_paths.build_duckdb)) as con:
        con.register("older", older)
        con.register("run", run)
        con.execute("insert into ml.predictions select * from older")
        con.execute("insert into ml.model_runs select * from run")
    try:
        assert _ml_source_test(segmented_paths) == []
        # ... unless asked to retest every kept run
        assert _ml_source_test(segmented_paths, "--vars", "{ml_tests_every_run: true}") == [
            f"run_id = {OLDER_RUN}, customer_id = 100001, n_rows = 2 (fails ml_predictions_key)"
        ]
        with duckdb.connect(str(segmented_paths.build_duckdb)) as con:
            con.execute(
                f"update ml.predictions set run_id = '20261123T000000Z-test' "
                f"where run_id = '{OLDER_RUN}'"
            )
        assert _ml_source_test(segmented_paths) == [
            "run_id = 20261123T000000Z-test, customer_id = 100001, n_rows = 3"
            " (fails ml_predictions_key)"
        ]
    finally:
        with duckdb.connect(str(segmented_paths.build_duckdb)) as con:
            con.execute("delete from ml.predictions where customer_id = 100001 and p_decline = 0.5")
            con.execute(f"delete from ml.model_runs where run_id = '{OLDER_RUN}'")
