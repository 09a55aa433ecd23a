"""The reports' building blocks: number formats, statistics, label fixes, charts, summaries."""

from __future__ import annotations

import math

import duckdb
import pandas as pd
import pytest

from reports import figures
from reports.data import segments, statistics, summaries
from reports.data.quality import label_fixes
from reports.figures import ChartText
from reports.rendering import naming
from reports.rendering.i18n import (
    Messages,
    format_number,
    format_p_value,
    format_percent,
    placeholders,
)

# --- Number formats ---------------------------------------------------------------------------


def test_numbers_get_the_languages_separators():
    assert format_number(1234567.891, 2, "en") == "1,234,567.89"
    assert format_number(1234567.891, 2, "ru") == "1\u00a0234\u00a0567,89"


def test_negative_numbers_use_a_minus_sign_and_zero_has_no_sign():
    assert format_number(-8.333, 2, "en") == "\u22128.33"
    assert format_number(-0.001, 2, "en") == "0.00"


def test_numbers_round_their_exact_value_half_to_even():
    assert format_number(2.675, 2) == "2.67"  # the float is 2.67499999…
    assert format_number(0.125, 2) == "0.12"  # exactly half: to the even digit
    assert format_number(0.375, 2) == "0.38"


def test_infinity_keeps_its_sign():
    assert format_number(float("-inf"), 1, "ru") == "\u2212∞"
    assert format_number(float("inf"), 1, "en") == "∞"


def test_missing_numbers_show_a_dash():
    assert format_number(None) == "—"
    assert format_number(float("nan"), 2) == "—"
    assert format_percent(None) == "—"


def test_percentages_follow_the_language():
    assert format_percent(0.4167, 1, "en") == "41.7%"
    assert format_percent(0.4167, 1, "ru") == "41,7\u00a0%"


def test_tiny_p_values_are_written_as_below_one_in_a_thousand():
    assert format_p_value(0.00001, "en") == "< 0.001"
    assert format_p_value(0.0312, "ru") == "0,031"


def test_units_come_from_the_catalogue():
    assert Messages("en").unit(12, "days", 0) == "12 days"
    assert Messages("ru").unit(1332.8, "min") == "1\u00a0332,8 мин"
    assert Messages("en").feature_value(0.2384, "promo_purchase_share", 2) == "23.84%"


def test_both_catalogues_have_the_same_keys_and_placeholders():
    en, ru = Messages("en").texts, Messages("ru").texts
    assert set(en) == set(ru)
    different = [k for k in en if placeholders(en[k]) != placeholders(ru[k])]
    assert different == []


def test_values_substituted_into_messages_are_escaped():
    t = Messages("en", {"greeting": "<b>Hello</b> {name}"})
    assert str(t("greeting", name="<script>")) == "<b>Hello</b> &lt;script&gt;"


def test_a_missing_message_key_names_the_key():
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        Messages("en")("no.such.key")


# --- Statistics -------------------------------------------------------------------------------


def test_mann_whitney_of_fully_separated_classes():
    values = pd.Series([1, 2, 3, 10, 11, 12])
    declined = pd.Series([True, True, True, False, False, False])
    result = statistics.compare_numeric("x", values, declined)
    # U of the decliners is 0: every decliner is below every stayer
    assert result.u_statistic == 0.0
    assert result.rank_biserial == -1.0
    assert result.p_value == pytest.approx(0.1, abs=1e-9)  # exact two-sided p = 2/20
    assert (result.mean_declined, result.mean_same) == (2.0, 11.0)
    assert result.difference == -9.0


def test_cramers_v_of_a_perfect_and_of_no_association():
    perfect = pd.DataFrame([[5, 0], [0, 5]])
    none = pd.DataFrame([[5, 5], [5, 5]])
    assert statistics.cramers_v(perfect) == pytest.approx(1.0)
    assert statistics.cramers_v(none) == pytest.approx(0.0)


def test_cramers_v_of_a_two_by_two_table_written_out():
    # expected counts 12, 18 / 28, 42: chi² = 4/12 + 4/18 + 4/28 + 4/42 = 0.79365
    table = pd.DataFrame([[10, 20], [30, 40]])
    assert statistics.cramers_v(table) == pytest.approx((0.79365 / 100) ** 0.5, rel=1e-4)


def test_cramers_v_of_a_single_level_is_zero():
    assert statistics.cramers_v(pd.DataFrame([[4, 6]])) == 0.0


def test_chi_square_of_a_categorical_feature():
    values = pd.Series(["a", "a", "a", "b", "b", "b", "b", "b"])
    declined = pd.Series([True, True, True, True, False, False, False, False])
    result = statistics.compare_categorical("x", values, declined)
    # table [[3, 0], [1, 4]]: chi2 = 8 * (3*4 - 0*1)^2 / (3 * 5 * 4 * 4) = 4.8
    assert result.chi2 == pytest.approx(4.8)
    assert result.cramers_v == pytest.approx(math.sqrt(4.8 / 8))
    assert result.shares.loc["a", "declined"] == 0.75
    assert result.shares.loc["b", "same"] == 1.0


def test_correlation_ratio_is_one_when_categories_explain_everything():
    categories = pd.Series(["a", "a", "b", "b"])
    assert statistics.correlation_ratio(categories, pd.Series([1, 1, 5, 5])) == pytest.approx(1.0)
    # means 2 and 3 around 2.5: between = 2 * 0.25 * 2 = 1; total = 1 + 1 + 1 + 1 + ... = 5
    values = pd.Series([1.0, 3.0, 2.0, 4.0])
    assert statistics.correlation_ratio(categories, values) == pytest.approx(math.sqrt(1 / 5))


def test_holm_adjusts_the_smallest_p_value_most():
    assert statistics.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(statistics.holm([float("nan"), 0.5])[0])


def test_strong_pairs_are_flagged_from_point_seven():
    frame = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 4, 6, 8], "c": [4, 1, 3, 2]})
    matrix = statistics.association_matrix(frame, ["a", "b", "c"], set())
    pairs = statistics.strong_pairs(matrix)
    assert [(p.a, p.b, p.method) for p in pairs] == [("a", "b", "spearman")]
    assert pairs[0].value == pytest.approx(1.0)


def test_integer_features_get_one_histogram_bin_per_value():
    edges = statistics.histogram_edges(pd.Series([1, 2, 2, 4]))
    assert list(edges) == [0.5, 1.5, 2.5, 3.5, 4.5]


# --- Data quality -----------------------------------------------------------------------------

LABEL_MAP = pd.DataFrame(
    [
        ("service_type", "стандарт", "стандарт"),
        ("service_type", "стандартт", "стандарт"),
        ("allow_messages", "да", "да"),
        ("period", "предыдущий_месяц", "previous_month"),
        ("period", "предыдцщий_месяц", "previous_month"),
        ("period", "текущий_месяц", "current_month"),
    ],
    columns=["field", "raw_label", "canonical_label"],
)


def test_label_fixes_are_the_misspellings_with_their_row_counts():
    spellings = pd.DataFrame(
        [
            ("service_type", "стандарт", 900),
            ("service_type", "стандартт", 10),
            ("allow_messages", "да", 962),
            ("period", "предыдущий_месяц", 1300),
            ("period", "предыдцщий_месяц", 1300),
            ("period", "текущий_месяц", 2600),
        ],
        columns=["field", "raw_label", "n_rows"],
    )
    fixes = label_fixes(spellings, LABEL_MAP)
    assert fixes[["field", "raw_label", "reference_label", "n_rows"]].values.tolist() == [
        ["period", "предыдцщий_месяц", "предыдущий_месяц", 1300],
        ["service_type", "стандартт", "стандарт", 10],
    ]


def test_a_typo_is_a_fix_even_when_the_correct_spelling_never_occurs():
    spellings = pd.DataFrame(
        [("service_type", "стандартт", 7)], columns=["field", "raw_label", "n_rows"]
    )
    assert label_fixes(spellings, LABEL_MAP)["n_rows"].tolist() == [7]


# --- Charts -----------------------------------------------------------------------------------


def test_nice_ticks_are_round_numbers():
    assert figures.nice_ticks(0, 1, 5) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert figures.nice_ticks(0, 800, 4) == [0, 200, 400, 600, 800]


def test_swarm_offsets_stack_dots_alternately_and_deterministically():
    assert figures.swarm_offsets([10.0, 10.5, 11.0, 50.0], 2.0, 20.0) == [-0.0, 2.0, -2.0, -0.0]


def test_a_chart_has_title_description_axis_labels_and_escaped_text():
    svg = figures.line_chart(
        "c1",
        ChartText("T<i>", "X axis", "Y axis", "desc & more", "note"),
        [figures.Series("<script>", [0, 1], [0, 1], "#000000")],
        fmt_x=str,
        fmt_y=str,
    )
    assert '<title id="c1-title">T&lt;i&gt;</title>' in svg
    assert '<desc id="c1-desc">desc &amp; more</desc>' in svg
    assert 'role="img" aria-labelledby="c1-title c1-desc"' in svg
    assert ">X axis</text>" in svg and ">Y axis</text>" in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_value_ranks_share_ties():
    assert figures.value_ranks([3.0, 1.0, 2.0, 2.0]) == [1.0, 0.0, 0.5, 0.5]


# --- Sections ---------------------------------------------------------------------------------


def test_confusion_counts_offers_at_the_threshold():
    predictions = pd.DataFrame(
        {
            "p_decline": [0.9, 0.6, 0.4, 0.2],
            "predicted_decline": [True, True, False, False],
            "declined": [True, False, True, False],
        }
    )
    result = summaries.confusion(predictions, 0.5)
    assert (result.tp, result.fp, result.fn, result.tn) == (1, 1, 1, 1)
    assert result.precision == 0.5 and result.recall == 0.5


def test_offers_by_channel_count_offers_and_customers_of_the_segment_only():
    recs = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "offer_rank": [1, 2, 1, 1],
            "segment": ["k", "k", "k", "other"],
            "profit_at_risk": [2.0, 2.0, 1.0, 3.0],
            "driver": ["d1", "d2", "d2", "d1"],
            "channel": ["email", "site", "site", "email"],
            "offer_code": ["a", "b", "b", "a"],
            "offer": ["A", "B", "B", "A"],
        }
    )
    with duckdb.connect() as con:
        con.execute("create schema segments")
        con.register("recs", recs)
        con.execute("create table segments.customer_recommendations as select * from recs")
        by_channel, by_code = segments.read_offer_counts(con)
    key = by_channel[by_channel["segment"] == "k"].drop(columns="segment")
    assert key.values.tolist() == [["site", 2, 2], ["email", 1, 1]]
    key = by_code[by_code["segment"] == "k"].drop(columns="segment")
    assert key.values.tolist() == [["b", "site", "d2", 2, "B"], ["a", "email", "d1", 1, "A"]]


def test_slugs_are_file_safe_and_unique():
    assert naming.unique_slugs(["a b", "a/b", "ok"]) == {"a b": "a-b", "a/b": "a-b-2", "ok": "ok"}


def test_reasons_are_reworded_in_the_readers_language():
    reasons = pd.DataFrame(
        [
            (
                "promo_purchase_share",
                "high",
                "buys mostly on promotion",
                "покупает в основном по акциям",
            ),
            (
                "favourite_category",
                "*",
                "favourite category «{value}»",
                "любимая категория «{value}»",
            ),
        ],
        columns=["feature", "level", "reason_en", "reason_ru"],
    )
    to_ru = naming.reason_translator(reasons, "ru")
    assert to_ru("buys mostly on promotion") == "покупает в основном по акциям"
    assert to_ru("favourite category «Кухонная посуда»") == "любимая категория «Кухонная посуда»"
    assert to_ru("unknown reason") == "unknown reason"
    assert naming.reason_translator(reasons, "en")("покупает в основном по акциям") == (
        "buys mostly on promotion"
    )
