"""Every page opened from disk in headless Chromium: no console error, no request, a screenshot.

Uses Debian's /usr/bin/chromium through Playwright (never `playwright install`:
it downloads a browser). Missing either is a skip on a developer's machine and
a failure in CI (CI=true), where .ci/run installs both.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reports.build import build_reports
from tests.reports_fixtures import make_warehouse

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NARROW = {"width": 375, "height": 800}
WIDE = {"width": 1280, "height": 900}


@dataclass
class PageVisit:
    """What a browser saw while opening one page."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    overflow_px: int = 0
    hidden_rows_in_print: int = 0


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright")
    if not CHROMIUM.exists():
        _missing(f"Chromium at {CHROMIUM} (Debian package chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing; CI must have it")
    pytest.skip(f"{what} is missing")


def visit(browser, path: Path, screenshot: Path) -> PageVisit:
    """Open *path* wide (screenshot) and narrow (horizontal overflow), then as printed."""
    seen = PageVisit()
    own = path.resolve().as_uri()
    for viewport in (WIDE, NARROW):
        page = browser.new_page(viewport=viewport)
        page.on("console", lambda m: m.type == "error" and seen.errors.append(m.text))
        page.on("pageerror", lambda e: seen.errors.append(str(e)))
        page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: r.url != own and seen.requests.append(r.url))
        page.goto(own, wait_until="load")
        if viewport is WIDE:
            page.screenshot(path=str(screenshot), full_page=True)
            page.emulate_media(media="print")
            seen.hidden_rows_in_print = page.evaluate(
                "Array.from(document.querySelectorAll('tr'))"
                ".filter(r => getComputedStyle(r).display === 'none').length"
            )
        else:
            seen.overflow_px = page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
        page.close()
    return seen


def check_site(browser, site: Path) -> dict[str, PageVisit]:
    shots = site / "screenshots"
    shots.mkdir(exist_ok=True)
    return {
        path.name: visit(browser, path, shots / f"{path.stem}.png")
        for path in sorted(site.glob("*.html"))
    }


def assert_clean(visits: dict[str, PageVisit]) -> None:
    for name, seen in visits.items():
        assert seen.errors == [], (name, seen.errors)
        assert seen.requests == [], (name, seen.requests)
        assert seen.dialogs == [], (name, seen.dialogs)
        assert seen.overflow_px <= 0, (name, f"{seen.overflow_px}px wider than a phone")
        assert seen.hidden_rows_in_print == 0, (name, "paginated rows missing in print")


def test_every_fixture_page_opens_cleanly_and_gets_a_screenshot(browser, tmp_path):
    site = tmp_path / "site"
    build_reports(make_warehouse(tmp_path / "w.duckdb"), site, "en")
    visits = check_site(browser, site)
    assert len(visits) == 8
    assert_clean(visits)
    assert (site / "screenshots" / "index.png").stat().st_size > 10_000


def test_russian_pages_open_cleanly(browser, tmp_path):
    site = tmp_path / "site"
    build_reports(make_warehouse(tmp_path / "w.duckdb"), site, "ru")
    assert_clean(check_site(browser, site))


def test_hostile_labels_run_no_script_in_the_browser(browser, tmp_path):
    site = tmp_path / "site"
    build_reports(make_warehouse(tmp_path / "w.duckdb", hostile=True), site, "en")
    assert_clean(check_site(browser, site))


def test_sorting_a_column_reorders_its_rows(browser, tmp_path):
    site = tmp_path / "site"
    build_reports(make_warehouse(tmp_path / "w.duckdb"), site, "en")
    page = browser.new_page(viewport=WIDE)
    page.goto((site / "segment-high_risk_high_profit.html").resolve().as_uri())
    first_column = (
        "Array.from(document.querySelectorAll('#table-customers tbody tr td:first-child'))"
    )
    assert page.evaluate(f"{first_column}.map(c => c.textContent)") == ["101", "102", "105"]
    page.click("#table-customers thead th:nth-child(3) button")  # monthly profit, ascending
    assert page.evaluate(f"{first_column}.map(c => c.textContent)") == ["102", "101", "105"]
    page.close()


@pytest.mark.slow
@pytest.mark.real_data
def test_real_export_pages_open_cleanly(browser, real_warehouse, tmp_path):
    """The pages the real export gives before any model run (data quality and EDA)."""
    site = tmp_path / "site"
    build_reports(real_warehouse, site, "en")
    visits = check_site(browser, site)
    assert sorted(visits) == ["eda.html", "index.html"]
    assert_clean(visits)
    if os.environ.get("REPORTS_SCREENSHOTS_DIR"):  # keep them for a person to look at
        shutil.copytree(site, os.environ["REPORTS_SCREENSHOTS_DIR"], dirs_exist_ok=True)
