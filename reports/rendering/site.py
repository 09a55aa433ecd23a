"""The pages of the report site: one context per page, rendered through the Jinja2 templates.

Contexts hold figures and ready-made chart figures; templates only lay them
out and format numbers through the message catalogue. Nothing here reads
the clock, so the same warehouse always renders the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from reports.data.load import ReportData
from reports.rendering.common import (
    Page,
    run_filename,
)
from reports.rendering.eda_page import eda_page
from reports.rendering.i18n import Messages
from reports.rendering.overview import overview_page
from reports.rendering.run_pages import run_pages
from reports.rendering.segment_pages import segment_pages

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


ASSETS_DIR = TEMPLATES_DIR / "assets"


# Rows a long table shows per page (the sorting script paginates; print shows all).
# How many rows a page holds at all is capped while reading: reports/config.py.
PAGE_SIZE = 25


@dataclass(frozen=True)
class Assets:
    """The one stylesheet and one script, inlined, with their CSP hashes."""

    css: str
    js: str

    @staticmethod
    def _hash(text: str) -> str:
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"

    @property
    def csp(self) -> str:
        """Nothing may load; only this stylesheet and this script may run."""
        return (
            "default-src 'none'; "
            f"style-src {self._hash(self.css)}; "
            f"script-src {self._hash(self.js)}; "
            "img-src data:; base-uri 'none'; form-action 'none'"
        )


@cache
def load_assets() -> Assets:
    return Assets(
        css=(ASSETS_DIR / "report.css").read_text(encoding="utf-8"),
        js=(ASSETS_DIR / "tables.js").read_text(encoding="utf-8"),
    )


def environment() -> jinja2.Environment:
    """Autoescaping on for every template: data strings are untrusted."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def build_pages(data: ReportData, t: Messages) -> list[Page]:
    """Every page of the site, overview first."""
    return [overview_page(data, t), eda_page(data, t), *segment_pages(data, t), *run_pages(data, t)]


def navigation(pages: Sequence[Page], data: ReportData, t: Messages) -> list[dict]:
    """Links every page shows: overview, EDA, each segment, the latest model card."""
    nav = [
        {"href": "index.html", "label": t.text("nav.overview")},
        {"href": "eda.html", "label": t.text("nav.eda")},
    ]
    for page in pages:
        if page.template == "segment.html":
            nav.append({"href": page.filename, "label": page.title})
    if data.runs:
        latest = data.runs[-1]
        nav.append({"href": run_filename(data, latest.run_id), "label": t.text("nav.runs")})
    return nav


def render_pages(data: ReportData, t: Messages) -> dict[str, str]:
    """filename -> HTML text of every page."""
    env = environment()
    assets = load_assets()
    pages = build_pages(data, t)
    nav = navigation(pages, data, t)
    latest = data.runs[-1] if data.runs else None
    common = {
        "t": t,
        "lang": t.lang,
        "csp": assets.csp,
        "css": Markup(assets.css),  # our own file, not data
        "js": Markup(assets.js),
        "page_size": PAGE_SIZE,
        "latest_run": latest,
        "mart": data.columns,
    }
    rendered = {}
    for page in pages:
        template = env.get_template(page.template)
        links = [{**item, "current": item["href"] == page.filename} for item in nav]
        rendered[page.filename] = template.render(
            **common, **page.context, nav=links, page_title=page.title, filename=page.filename
        )
    return rendered


def write_site(pages: dict[str, str], out_dir: Path) -> list[Path]:
    """Write *pages* into *out_dir*, replacing what was there, all at once.

    The pages go into a fresh sibling directory first; the old site is moved
    aside and removed only after the new one is in place.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    try:
        for name, html in pages.items():
            (staging / name).write_text(html, encoding="utf-8")
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a report is meant to be shared
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            old.rmdir()
            out_dir.rename(old)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return [out_dir / name for name in pages]
