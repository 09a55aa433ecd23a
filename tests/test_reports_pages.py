"""Every page rendered from the hand-made fixture warehouse shows exactly its table values."""

from __future__ import annotations

import base64
import hashlib
import re
from html import unescape
from pathlib import Path

import duckdb
import pytest

from reports.build import build_reports
from reports.config import MoneyUnits
from tests.reports_fixtures import element_text, make_warehouse, table_rows

# The fixture's money units (the default is none: tests/test_reports_money_units.py).
MONEY_EN = MoneyUnits(revenue="₽", profit="k₽")

NEW_RUN = "train-20260201T000000Z-bbbb"
OLD_RUN = "train-20260101T000000Z-aaaa"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_warehouse(tmp_path_factory.mktemp("reports_wh") / "fixture.duckdb")


@pytest.fixture(scope="module")
def site(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports_site") / "site"
    build_reports(warehouse, out, "en", money=MONEY_EN)
    return out


@pytest.fixture(scope="module")
def site_ru(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports_site_ru") / "site"
    build_reports(warehouse, out, "ru", money=MoneyUnits(revenue="₽", profit="тыс. ₽"))
    return out


def page(site: Path, name: str) -> str:
    return (site / name).read_text(encoding="utf-8")


def test_the_site_has_overview_eda_one_page_per_segment_and_per_run(site):
    assert sorted(p.name for p in site.iterdir()) == [
        "eda.html",
        "index.html",
        f"run-{OLD_RUN}.html",
        f"run-{NEW_RUN}.html",
        "segment-high_risk_high_profit.html",
        "segment-high_risk_low_profit.html",
        "segment-low_risk_high_profit.html",
        "segment-low_risk_low_profit.html",
    ]


# --- Overview ---------------------------------------------------------------------------------


def test_overview_shows_rows_read_per_file(site):
    assert table_rows(page(site, "index.html"), "table-rows-per-file")[1:] == [
        ["market_file.csv", "stg_shop_export__customers", "13"],
        ["market_money.csv", "stg_shop_export__monthly_revenues", "39"],
        ["market_time.csv", "stg_shop_export__monthly_minutes", "26"],
        ["money.csv", "stg_shop_export__profits", "13"],
    ]


def test_overview_shows_audited_records_by_reason(site):
    assert table_rows(page(site, "index.html"), "table-audit-summary")[1:] == [
        ["Possible duplicate", "flagged", "2", "2"],
        ["Implausible revenue", "replaced", "1", "1"],
        ["Inactive (zero revenue in a month)", "excluded", "2", "1"],
    ]


def test_overview_shows_the_replaced_revenue_with_both_values(site):
    rows = table_rows(page(site, "index.html"), "table-audit-records")
    replaced = [r for r in rows if r[1] == "Implausible revenue"]
    assert replaced == [
        [
            "104",
            "Implausible revenue",
            "replaced",
            "market_money.csv:12",
            "current month",
            "99,999.0 ₽",
            "5,000.0 ₽",
            "—",
            "too high",
        ]
    ]


def test_overview_shows_label_fixes_with_their_row_counts(site):
    assert table_rows(page(site, "index.html"), "table-label-fixes")[1:] == [
        ["Period", "«предыдцщий_месяц»", "«предыдущий_месяц»", "13"],
        ["Service type", "«стандартт»", "«стандарт»", "2"],
    ]


def test_overview_shows_the_class_balance(site):
    assert element_text(page(site, "index.html"), "cards-balance") == (
        "12active customers 5Activity declined 7Same level 41.7%share whose activity declined"
    )


def test_overview_compares_every_candidate_family_of_the_chosen_run(site):
    assert table_rows(page(site, "index.html"), "table-candidates")[1:] == [
        ["Logistic regression (chosen)", "0.812 ± 0.035", "0.12 s", "6"],
        ["Gradient boosting", "0.795 ± 0.040", "1.50 s", "6"],
        ["Baseline (class prior)", "0.500 ± 0.000", "0.01 s", "1"],
    ]


def test_overview_shows_the_chosen_models_metrics(site):
    assert element_text(page(site, "index.html"), "cards-model") == (
        "0.789Hold-out ROC-AUC 0.801Out-of-fold ROC-AUC 0.812 ± 0.035Cross-validated ROC-AUC "
        "0.50Decision threshold 0.179Hold-out Brier score"
    )


def test_overview_shows_the_confusion_matrices_stored_with_the_run(site):
    html = page(site, "index.html")
    assert table_rows(html, "table-confusion-oof")[1:] == [
        ["Actually declined", "4", "1"],
        ["Actually same level", "2", "5"],
    ]
    assert table_rows(html, "table-confusion-holdout")[1:] == [
        ["Actually declined", "1", "0"],
        ["Actually same level", "1", "1"],
    ]


def test_overview_draws_every_chart_with_a_title_and_text_alternative(site):
    html = page(site, "index.html")
    for chart in (
        "class-balance",
        "candidates",
        "roc",
        "pr",
        "calibration",
        "importance",
        "beeswarm",
        "segment-map",
    ):
        assert f'id="chart-{chart}"' in html
        assert f'aria-labelledby="chart-{chart}-title chart-{chart}-desc"' in html
    assert "hold-out ROC-AUC 0.789, out-of-fold ROC-AUC 0.801" in html


def test_overview_shows_the_segment_summary(site):
    assert table_rows(page(site, "index.html"), "table-segments")[1:] == [
        [
            "At risk and profitable (key segment)",
            "3",
            "25.0%",
            "75.0%",
            "15.5 k₽",
            "5.17 k₽",
            "11.4 k₽",
            "66.7%",
        ],
        [
            "At risk and less profitable",
            "3",
            "25.0%",
            "65.0%",
            "6.0 k₽",
            "2.00 k₽",
            "3.9 k₽",
            "33.3%",
        ],
        ["Stable and profitable", "3", "25.0%", "28.3%", "16.5 k₽", "5.50 k₽", "4.3 k₽", "100.0%"],
        [
            "Stable and less profitable",
            "3",
            "25.0%",
            "11.7%",
            "4.5 k₽",
            "1.50 k₽",
            "0.6 k₽",
            "100.0%",
        ],
    ]


def test_overview_counts_the_key_segments_offers_by_channel(site):
    html = page(site, "index.html")
    assert table_rows(html, "table-offers-by-channel")[1:] == [
        ["on the site", "2", "2"],
        ["e-mail", "1", "1"],
    ]
    assert table_rows(html, "table-offers")[1:] == [
        ["Personal recommendations", "on the site", "Pages per visit", "2"],
        ["Loyalty cashback", "e-mail", "Share of purchases on promotion", "1"],
    ]


def test_overview_findings_are_written_from_the_data(site):
    html = page(site, "index.html")
    assert "41.7% of active customers (5 of 12) bought less" in html
    assert (
        "25.0% of active customers (3) are in the key segment «At risk and profitable», "
        "holding 11.4 k₽ of monthly profit at risk (56.6% of all profit at risk)." in html
    )
    assert (
        "the key segment differs most in: Pages per visit (2.3 against 10.7); "
        "Share of purchases on promotion (73.3% against 20.0%)." in html
    )
    assert "The strongest driver of predicted decline is Share of purchases on promotion" in html


# --- EDA --------------------------------------------------------------------------------------


def test_eda_compares_each_numeric_feature_between_the_classes(site):
    rows = table_rows(page(site, "eda.html"), "table-numeric")
    promo = next(r for r in rows if r[0] == "Share of purchases on promotion")
    # decliners 0.9 0.8 0.7 0.6 0.5, stayers 0.1 0.2 0.3 0.4 0.2 0.1 0.3
    assert promo[1:7] == ["70.00%", "22.86%", "47.14%", "70.00%", "20.00%", "1.00"]
    # fully separated classes, yet with 14 tests Holm's correction lifts p above 5 %
    assert promo[7:] == ["0.055", "no"]
    tenure = next(r for r in rows if r[0] == "Days since registration")
    assert tenure[1:] == [
        "300.00 days",
        "900.00 days",
        "−600.00 days",
        "300.00 days",
        "900.00 days",
        "−1.00",
        "0.028",
        "yes",
    ]


def test_eda_shows_categorical_shares_per_class(site):
    rows = table_rows(page(site, "eda.html"), "table-categorical")
    assert ["Service type", "premium", "80.0%", "0.0%", "0.84", "0.010"] in rows


def test_eda_shows_revenue_and_minutes_by_period(site):
    rows = table_rows(page(site, "eda.html"), "table-periods")
    assert rows[1:4] == [
        ["Revenue", "two months ago", "Activity declined", "5", "4,000.0 ₽", "4,000.0 ₽"],
        ["Revenue", "previous month", "Activity declined", "5", "4,500.0 ₽", "4,500.0 ₽"],
        ["Revenue", "current month", "Activity declined", "5", "5,000.0 ₽", "5,000.0 ₽"],
    ]
    assert [
        "Minutes on the site",
        "current month",
        "Same level",
        "7",
        "14.0 min",
        "14.0 min",
    ] in rows


def test_eda_flags_multicollinear_pairs(site):
    rows = table_rows(page(site, "eda.html"), "table-collinear")
    assert rows[1] == [
        "Minutes on site last month",
        "Minutes on site this month",
        "Spearman ρ",
        "1.00",
    ]


# --- Segment pages ----------------------------------------------------------------------------


def test_segment_page_profiles_the_key_segment_from_key_segment_profile(site):
    rows = table_rows(page(site, "segment-high_risk_high_profit.html"), "table-profile")
    assert rows[1:] == [
        ["Pages per visit", "2.33", "10.67", "−8.33", "−7.21", "−8.80", "yes"],
        ["Share of purchases on promotion", "73.33%", "20.00%", "53.33%", "3.27", "4.00", "yes"],
        [
            "Days since registration",
            "266.67 days",
            "933.33 days",
            "−666.67 days",
            "−2.55",
            "−1.50",
            "no",
        ],
    ]


def test_segment_page_lists_customers_by_profit_at_risk_with_reasons_and_offers(site):
    rows = table_rows(page(site, "segment-high_risk_high_profit.html"), "table-customers")
    assert [r[:4] for r in rows[1:]] == [
        ["101", "90.0%", "5.00 k₽", "4.50 k₽"],
        ["102", "80.0%", "4.50 k₽", "3.60 k₽"],
        ["105", "55.0%", "6.00 k₽", "3.30 k₽"],
    ]
    assert rows[1][5] == "Loyalty cashback (e-mail)Personal recommendations (on the site)"
    assert rows[3][5] == "—"


def test_other_segments_are_compared_with_all_other_customers(site):
    html = page(site, "segment-low_risk_low_profit.html")
    assert "Profile against «all other customers»" in html
    rows = table_rows(html, "table-profile")
    tenure = next(r for r in rows if r[0] == "Days since registration")
    # 107, 108, 111: 700, 800, 1100 against the other nine customers' mean 5200 / 9
    assert tenure[1:3] == ["866.67 days", "577.78 days"]


# --- Model cards ------------------------------------------------------------------------------


def test_model_card_shows_fingerprint_parameters_and_metrics(site):
    html = page(site, f"run-{NEW_RUN}.html")
    assert "ab12" * 16 in html
    assert table_rows(html, "table-params")[1:] == [["C", "0.3"], ["l1_ratio", "0.5"]]
    assert table_rows(html, "table-metrics")[1:7] == [
        ["Cross-validated ROC-AUC", "0.812 ± 0.035"],
        ["Hold-out ROC-AUC", "0.789"],
        ["Out-of-fold ROC-AUC", "0.801"],
        ["Decision threshold", "0.500"],
        ["Hold-out Brier score", "0.179"],
        ["Out-of-fold Brier score", "0.157"],
    ]
    assert table_rows(html, "table-libraries")[1:] == [
        ["python", "3.11.7"],
        ["scikit-learn", "1.9.1"],
    ]


def test_model_cards_link_to_each_other_in_time_order(site):
    new, old = page(site, f"run-{NEW_RUN}.html"), page(site, f"run-{OLD_RUN}.html")
    assert f'<a href="run-{OLD_RUN}.html" rel="prev">' in new
    assert f'<a href="run-{NEW_RUN}.html" rel="next">' in old
    assert [r[0] for r in table_rows(new, "table-runs")[1:]] == [NEW_RUN, OLD_RUN]


def test_model_card_states_its_limits_with_its_own_numbers(site):
    html = page(site, f"run-{NEW_RUN}.html")
    assert "The hold-out has 3 customers" in html
    assert "± 0.035 (standard deviation)" in html


# --- Every page -------------------------------------------------------------------------------


def test_every_page_has_a_strict_csp_matching_its_inline_style_and_script(site):
    for path in site.glob("*.html"):
        html = path.read_text(encoding="utf-8")
        csp = unescape(
            re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
        )
        style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
        script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)

        def sha(text: str) -> str:
            return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

        assert csp.startswith("default-src 'none'; ")
        assert f"style-src 'sha256-{sha(style)}'" in csp
        assert f"script-src 'sha256-{sha(script)}'" in csp


def test_no_page_refers_to_anything_outside_itself(site):
    for path in site.glob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html), path.name
        assert "http://" not in html and "https://" not in html, path.name
        assert " style=" not in html and " on" + "click=" not in html, path.name


def test_rendering_is_deterministic(warehouse, site, tmp_path):
    again = tmp_path / "again"
    build_reports(warehouse, again, "en", money=MONEY_EN)
    for path in site.glob("*.html"):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_russian_pages_use_the_russian_catalogue_and_number_format(site_ru):
    html = page(site_ru, "index.html")
    assert '<html lang="ru">' in html
    assert table_rows(html, "table-segments")[1][:3] == [
        "Под угрозой и прибыльные (ключевой сегмент)",
        "3",
        "25,0\u00a0%",
    ]
    assert table_rows(html, "table-segments")[1][6] == "11,4 тыс. ₽"
    customers = table_rows(page(site_ru, "segment-high_risk_high_profit.html"), "table-customers")
    assert customers[1][4] == (
        "покупает в основном по акциямсмотрит мало страниц за визит"
        "любимая категория «Товары для детей»"
    )
    assert customers[1][5].startswith("Кешбэк программы лояльности (e-mail)")


def test_a_warehouse_without_model_or_segments_still_renders_the_data_pages(tmp_path):
    warehouse = make_warehouse(tmp_path / "no_ml.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop schema ml cascade")
        con.execute("drop schema segments cascade")
    files = build_reports(warehouse, tmp_path / "site", "en")
    assert sorted(f.name for f in files) == ["eda.html", "index.html"]
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "No model has been trained on this warehouse yet" in html
    assert "Segments are built after the first model run." in html
