"""The source definitions agree with themselves: read types match the declared columns."""

from __future__ import annotations

import ast

import yaml

from ml.config import PROJECT_ROOT, RAW_FILES

SOURCES_YML = (
    PROJECT_ROOT
    / "dbt_project"
    / "models"
    / "staging"
    / "shop_export"
    / "_shop_export__sources.yml"
)


def _tables() -> dict[str, dict]:
    spec = yaml.safe_load(SOURCES_YML.read_text(encoding="utf-8"))
    (source,) = spec["sources"]
    return {table["name"]: table for table in source["tables"]}


def test_every_raw_file_is_a_declared_source():
    assert sorted(_tables()) == sorted(RAW_FILES)


def test_read_columns_match_declared_columns_in_order_and_type():
    for name, table in _tables().items():
        read_columns = ast.literal_eval(" ".join(table["config"]["read_columns"].split()))
        declared = {c["name"]: c["data_type"].upper() for c in table["columns"]}
        assert list(read_columns) == list(declared), name
        assert read_columns == declared, name
