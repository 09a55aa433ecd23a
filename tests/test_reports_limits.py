"""Large warehouses: what the pages read and show is capped, thinned or sampled, and says so.

The limits of reports/config.py are lowered below the fixture's sizes (twelve
customers, three per segment), so each cap takes effect on a warehouse small
enough to check by hand; at the default limits the same fixture shows
everything and no page mentions a cap.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.contracts.features import mart_columns
from ml.contracts.thinning import sample_evenly
from reports.build import build_reports
from reports.config import Limits, MoneyUnits
from reports.data import export
from reports.data.load import load_report_data
from reports.data.model import read_shap_points
from reports.data.warehouse import connect, one_thread
from tests.reports_fixtures import IDS, make_warehouse, table_rows, write_ml

KEY_PAGE = "segment-high_risk_high_profit.html"
SMALL = Limits(
    segment_customers=2,
    eda_sample=8,
    swarm_points_per_feature=5,
    map_points=5,
    audit_records_per_reason=1,
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_warehouse(tmp_path_factory.mktemp("limits_wh") / "fixture.duckdb")


def _build(warehouse: Path, out: Path, lang: str, limits: Limits) -> Path:
    build_reports(warehouse, out, lang, limits=limits, money=MoneyUnits(revenue="₽", profit="k₽"))
    return out


@pytest.fixture(scope="module")
def capped(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(warehouse, tmp_path_factory.mktemp("capped") / "site", "en", SMALL)


@pytest.fixture(scope="module")
def capped_ru(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(warehouse, tmp_path_factory.mktemp("capped_ru") / "site", "ru", SMALL)


@pytest.fixture(scope="module")
def full(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(warehouse, tmp_path_factory.mktemp("full") / "site", "en", Limits())


def page(site: Path, name: str) -> str:
    return (site / name).read_text(encoding="utf-8")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- Segment pages ----------------------------------------------------------------------------


def test_a_segment_page_lists_only_the_cap_largest_profit_at_risk_first(capped):
    rows = table_rows(page(capped, KEY_PAGE), "table-customers")
    # 101 (4.50), 102 (3.60) listed; 105 (3.30) is the third of three
    assert [r[:4] for r in rows[1:]] == [
        ["101", "90.0%", "5.00 k₽", "4.50 k₽"],
        ["102", "80.0%", "4.50 k₽", "3.60 k₽"],
    ]
    assert rows[1][5] == "Loyalty cashback (e-mail)Personal recommendations (on the site)"
    assert rows[2][5] == "Personal recommendations (on the site)"
    other = table_rows(page(capped, "segment-low_risk_low_profit.html"), "table-customers")
    assert [r[0] for r in other[1:]] == ["107", "108"]  # 0.30, 0.25; not 111 (0.025)


def test_a_capped_segment_page_says_where_the_other_customers_are(capped, capped_ru):
    note = text_of(page(capped, KEY_PAGE))
    assert (
        "Listed: the 2 customers of this segment with the largest profit at risk, of 3. "
        "Every customer of the segment is in the warehouse table segments.customer_segments, "
        "with their offers in segments.customer_recommendations." in note
    )
    assert "Показаны 2 покупателей сегмента с наибольшей прибылью под угрозой из 3." in text_of(
        page(capped_ru, KEY_PAGE)
    )
    assert "The 2 customers of «At risk and profitable» with the largest profit at risk" in (
        text_of(page(capped, "index.html"))
    )


def test_below_the_cap_a_segment_page_lists_everyone_and_mentions_no_cap(full):
    html = page(full, KEY_PAGE)
    assert len(table_rows(html, "table-customers")) == 1 + 3
    assert 'id="note-customers-capped"' not in html
    assert "Every customer of «At risk and profitable» with reasons and offers" in page(
        full, "index.html"
    )


def test_offer_counts_cover_the_whole_segment_even_when_the_list_is_capped(capped):
    # 102's offer counts although only 101 and 102 are listed and the cap is per segment
    assert table_rows(page(capped, "index.html"), "table-offers-by-channel")[1:] == [
        ["on the site", "2", "2"],
        ["e-mail", "1", "1"],
    ]


def test_only_the_listed_customers_recommendations_are_read(warehouse):
    data = load_report_data(warehouse, mart_columns(), Limits(segment_customers=1))
    segments = data.segments
    assert sorted(segments.customers["customer_id"]) == [101, 106, 107, 109]  # top of each
    # 102 and 103 have offers but are not listed
    assert sorted(set(segments.recommendations["customer_id"])) == [101]


# --- SHAP beeswarm ----------------------------------------------------------------------------


def _shap_warehouse(path: Path, n: int) -> Path:
    """ml.shap_values with two features of *n* customers each, many SHAP values tied."""
    rng = np.random.default_rng(7)
    rows = [
        {
            "run_id": run_id,
            "customer_id": cid,
            "feature": feature,
            "shap_value": float(np.round(rng.normal(), 1)),
            "feature_value_num": float(rng.integers(0, 50)) if feature == "x" else None,
        }
        for run_id in ("run-a", "run-b")
        for feature in ("x", "category")
        for cid in range(1, n + 1)
    ]
    with duckdb.connect(str(path)) as con:
        write_ml(con, {"shap_values": rows})
    return path


def test_the_thinned_shap_read_keeps_the_dots_the_chart_would_pick_from_all(tmp_path):
    warehouse = _shap_warehouse(tmp_path / "shap.duckdb", 1000)
    with connect(warehouse) as con:
        dots, counts = read_shap_points(con, "run-a", per_feature=50)
        everything = con.execute(
            "select * from ml.shap_values where run_id = 'run-a' order by customer_id"
        ).df()
    assert counts == {"category": 1000, "x": 1000}
    for feature in ("x", "category"):
        got = dots[dots["feature"] == feature]
        assert len(got) == 50
        ranked = everything[everything["feature"] == feature].sort_values(
            ["shap_value", "customer_id"], kind="stable"
        )
        expected = ranked.iloc[sample_evenly(len(ranked), 50)]
        assert got["customer_id"].tolist() == expected["customer_id"].tolist()
        assert got["shap_value"].tolist() == expected["shap_value"].tolist()
        assert got["shap_value"].is_monotonic_increasing


def test_below_the_limit_every_shap_value_is_a_dot(tmp_path):
    warehouse = _shap_warehouse(tmp_path / "shap.duckdb", 30)
    with connect(warehouse) as con:
        dots, counts = read_shap_points(con, "run-b", per_feature=400)
    assert counts == {"category": 30, "x": 30}
    assert len(dots) == 60 and set(dots["customer_id"]) == set(range(1, 31))


def test_the_beeswarm_caption_counts_dots_shown_of_all_stored(capped, full):
    # three features of twelve customers; five dots each: positions 0, 3, 6, 8, 11
    assert "15 of 36 dots shown, spread evenly over each feature&#39;s values." in page(
        capped, "index.html"
    )
    assert "dots shown" not in page(full, "index.html")


def test_the_segment_map_shows_at_most_its_points_yet_counts_every_customer(capped):
    html = page(capped, "index.html")
    chart = re.search(r'<figure class="chart" id="chart-segment-map">.*?</figure>', html, re.S)
    assert chart.group(0).count("<circle") == 5
    assert "Scatter plot of 12 customers" in chart.group(0)


# --- Exploratory analysis ---------------------------------------------------------------------


def test_a_sampled_eda_says_so_and_counts_classes_over_everyone(capped, capped_ru):
    html = page(capped, "eda.html")
    assert (
        "computed on a random sample of 8 of the 12 active customers, drawn with a fixed seed"
        in text_of(html)
    )
    assert "Active customers: 12, of whom 5 (41.7%) bought less." in text_of(html)
    # per-period figures stay over every customer: five decliners
    assert table_rows(html, "table-periods")[1][3] == "5"
    assert "рассчитаны по случайной выборке: 8 из 12 активных покупателей" in text_of(
        page(capped_ru, "eda.html")
    )


def test_an_eda_of_every_customer_mentions_no_sample(full):
    assert 'id="note-sample"' not in page(full, "eda.html")


def test_the_eda_sample_is_a_fixed_random_subset(warehouse):
    columns = mart_columns()
    with connect(warehouse) as con:
        first, part = export.read_features(con, columns, limit=8, seed=1)
        again, _ = export.read_features(con, columns, limit=8, seed=1)
        whole, whole_part = export.read_features(con, columns, limit=12, seed=1)
    assert (part.n, part.n_total, part.is_partial) == (8, 12, True)
    assert (whole_part.n, whole_part.is_partial) == (12, False)
    assert first[columns.id].tolist() == again[columns.id].tolist()
    assert first[columns.id].is_monotonic_increasing
    assert set(first[columns.id]) < set(IDS)
    pd.testing.assert_frame_equal(
        first.reset_index(drop=True),
        whole[whole[columns.id].isin(first[columns.id])].reset_index(drop=True),
    )


# --- Overview: audited records ----------------------------------------------------------------


def test_the_audit_list_is_capped_per_reason_and_says_so(capped, full):
    html = page(capped, "index.html")
    rows = table_rows(html, "table-audit-records")[1:]
    assert sorted(r[1] for r in rows) == [
        "Implausible revenue",
        "Inactive (zero revenue in a month)",
        "Possible duplicate",
    ]
    assert (
        "3 of the 5 audited records are listed: for each reason at most 1, "
        "those of the lowest customer ids." in text_of(html)
    )
    assert "Audited records (a selection)" in html
    assert 'id="note-audit-capped"' not in page(full, "index.html")
    assert len(table_rows(page(full, "index.html"), "table-audit-records")) == 1 + 5


# --- Determinism ------------------------------------------------------------------------------


def test_sums_of_doubles_run_on_one_thread_and_the_setting_is_restored():
    with duckdb.connect() as con:
        con.execute("set threads = 2")
        with one_thread(con):
            assert con.execute("select current_setting('threads')").fetchall() == [(1,)]
        assert con.execute("select current_setting('threads')").fetchall() == [(2,)]
