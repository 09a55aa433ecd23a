"""Money is printed in the units the shop set, bare when it set none (the export states none)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reports import build
from reports.build import build_reports
from reports.config import ENV_PROFIT_UNIT, ENV_REVENUE_UNIT, MoneyUnits, money_units_from_env
from reports.rendering.i18n import Messages
from tests.reports_fixtures import make_warehouse, table_rows

# --- The setting ------------------------------------------------------------------------------


def test_no_unit_is_set_by_default():
    assert money_units_from_env({}) == MoneyUnits(revenue="", profit="")


def test_units_are_read_from_the_environment_each_on_its_own():
    env = {ENV_REVENUE_UNIT: " ₽ ", ENV_PROFIT_UNIT: "тыс. ₽"}
    assert money_units_from_env(env) == MoneyUnits(revenue="₽", profit="тыс. ₽")


def test_without_a_unit_money_is_a_bare_number_in_the_languages_format():
    assert Messages("en").unit(1332.8, "profit") == "1,332.8"
    assert Messages("ru").unit(1332.8, "revenue") == "1\u00a0332,8"
    assert Messages("en").feature_value(5000, "revenue_current_month", 0) == "5,000"
    assert Messages("en").with_money_unit("Monthly profit", "profit") == "Monthly profit"


def test_a_set_unit_follows_the_number():
    t = Messages("ru", money=MoneyUnits(revenue="₽", profit="тыс. ₽"))
    assert t.unit(1332.8, "profit") == "1\u00a0332,8 тыс. ₽"
    assert t.unit(5000, "revenue", 0) == "5\u00a0000 ₽"
    assert t.feature_value(4.16, "profit", 2) == "4,16 тыс. ₽"
    assert t.with_money_unit("Прибыль в месяц", "profit") == "Прибыль в месяц, тыс. ₽"


def test_a_missing_amount_stays_a_dash_whatever_the_unit():
    assert Messages("en", money=MoneyUnits(profit="k₽")).unit(None, "profit") == "—"


# --- The pages follow it ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_warehouse(tmp_path_factory.mktemp("money_wh") / "fixture.duckdb")


def _site(warehouse: Path, out: Path, money: MoneyUnits | None) -> Path:
    build_reports(warehouse, out, "en", money=money)
    return out


def _pages(site: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(site.glob("*.html")))


def test_by_default_no_page_prints_a_currency(warehouse, tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_REVENUE_UNIT, raising=False)
    monkeypatch.delenv(ENV_PROFIT_UNIT, raising=False)
    site = _site(warehouse, tmp_path / "site", None)
    html = _pages(site)
    assert not re.search("₽|руб|roubl", html)
    segments = table_rows((site / "index.html").read_text(encoding="utf-8"), "table-segments")
    key = segments[1]
    assert key[4:7] == ["15.5", "5.17", "11.4"]  # total, mean profit, profit at risk


def test_every_money_figure_carries_the_set_units(warehouse, tmp_path):
    site = _site(warehouse, tmp_path / "site", MoneyUnits(revenue="RUB", profit="kRUB"))
    index = (site / "index.html").read_text(encoding="utf-8")
    segments = table_rows(index, "table-segments")
    assert segments[1][4:7] == ["15.5 kRUB", "5.17 kRUB", "11.4 kRUB"]
    audit = [r for r in table_rows(index, "table-audit-records") if r[1] == "Implausible revenue"]
    assert audit[0][5:7] == ["99,999.0 RUB", "5,000.0 RUB"]
    assert "Monthly profit, kRUB" in index  # the segment map's axis
    assert "Mean revenue, RUB" in _pages(site)  # the revenue-by-period chart's axis


def test_the_environment_sets_the_units_of_a_run(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_PROFIT_UNIT, "kRUB")
    monkeypatch.delenv(ENV_REVENUE_UNIT, raising=False)
    site = _site(warehouse, tmp_path / "site", None)
    segments = table_rows((site / "index.html").read_text(encoding="utf-8"), "table-segments")
    assert segments[1][4] == "15.5 kRUB"


def test_the_command_line_overrides_the_environment(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_PROFIT_UNIT, "kRUB")
    monkeypatch.setenv(ENV_REVENUE_UNIT, "RUB")
    out = tmp_path / "site"
    args = ["--duckdb", str(warehouse), "--out", str(out), "--profit-unit", "thousand"]
    assert build.main(args) == 0
    index = (out / "index.html").read_text(encoding="utf-8")
    assert table_rows(index, "table-segments")[1][4] == "15.5 thousand"
    audit = [r for r in table_rows(index, "table-audit-records") if r[1] == "Implausible revenue"]
    assert audit[0][5] == "99,999.0 RUB"
