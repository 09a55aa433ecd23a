"""Hostile strings in labels render as text: autoescaping everywhere, charts included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reports.build import build_reports
from tests.reports_fixtures import HOSTILE, make_warehouse


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    warehouse = make_warehouse(root / "hostile.duckdb", hostile=True)
    build_reports(warehouse, root / "site", "en")
    return root / "site"


def _pages(site: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(site.glob("*.html"))}


def test_no_hostile_tag_survives_on_any_page(hostile_site):
    for name, html in _pages(hostile_site).items():
        assert len(re.findall(r"<script", html)) == 1, name  # the one hashed table script
        for tag in ("<img", "<iframe", "<svg onload", "<b>bold"):
            assert tag not in html, (name, tag)


def test_hostile_labels_are_shown_as_text(hostile_site):
    pages = _pages(hostile_site)
    index = pages["index.html"]
    assert "&lt;script&gt;alert(&#39;segment&#39;)&lt;/script&gt;" in index  # segment name
    assert "&lt;svg onload=alert(&#39;family&#39;)&gt;" in index  # model family
    assert "&lt;iframe src=&#39;https://example.com&#39;&gt;&lt;/iframe&gt;" in index  # audit
    key = pages["segment-high_risk_high_profit.html"]
    assert "&#34;&gt;&lt;script&gt;alert(&#34;reason&#34;)&lt;/script&gt;" in key  # reason
    assert "&lt;/td&gt;&lt;script&gt;alert(&#39;offer&#39;)&lt;/script&gt;" in key  # offer
    eda = pages["eda.html"]
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in eda  # category inside a chart


def test_a_hostile_run_id_gets_a_safe_file_name_and_escaped_text(hostile_site):
    assert (hostile_site / "run-train--b-bold-b.html").exists()
    card = (hostile_site / "run-train--b-bold-b.html").read_text(encoding="utf-8")
    assert f"Model card: run {HOSTILE['run_id']}" not in card
    assert "Model card: run train-&lt;b&gt;bold&lt;/b&gt;" in card
