"""The command line and the atomic write of the site."""

from __future__ import annotations

import pytest

from ml.contracts.ml_tables import TABLES
from reports import build
from reports.data import ML_COLUMNS
from tests.reports_fixtures import make_warehouse


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--duckdb", "--out", "--lang", "--verbose"):
        assert option in text


def test_the_cli_writes_the_site_where_asked(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb")
    assert build.main(["--duckdb", str(warehouse), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "index.html").exists()


def test_a_missing_warehouse_is_an_error_not_a_traceback(tmp_path):
    assert (
        build.main(["--duckdb", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "out")]) == 1
    )
    assert not (tmp_path / "out").exists()


def test_a_failed_render_leaves_the_previous_site_untouched(tmp_path, monkeypatch):
    warehouse = make_warehouse(tmp_path / "w.duckdb")
    out = tmp_path / "site"
    build.build_reports(warehouse, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(build, "render_pages", broken)
    with pytest.raises(RuntimeError):
        build.build_reports(warehouse, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_failed_write_cleans_up_and_keeps_the_previous_site(tmp_path, monkeypatch):
    out = tmp_path / "site"
    build.write_site({"index.html": "old"}, out)
    with pytest.raises(TypeError):
        build.write_site({"index.html": "new", "eda.html": None}, out)  # type: ignore[dict-item]
    assert (out / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_the_report_reads_the_columns_ml_warehouse_writes():
    for table, fields in ML_COLUMNS.items():
        written = set(TABLES[table].column_names)
        read = {column for column, _ in fields.values()}
        assert read <= written, (table, sorted(read - written))
