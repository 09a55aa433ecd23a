"""The warehouse is documented end to end: every model, source and column described, the ml
source rendered from the writer's schema, exposures that match what the Python code reads,
and the analysts' one-query view of the latest training run."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from ml.config import DBT_TARGET_DIR, MART_MODEL, PROJECT_ROOT, Paths
from ml.contracts.features import mart_columns
from ml.contracts.ml_tables import TABLES, Column
from ml.docs import ml_source
from ml.docs.coverage import built_columns, parse_manifest, undeclared_columns, undescribed
from ml.docs.ml_source import (
    NEWEST_RUN_WHERE,
    DocsError,
    generated_files,
    missing_descriptions,
    render_sources_yml,
    render_staging_yml,
    staged_tables,
)
from ml.io.writer import write_run
from ml.ops.dbt_runner import run_dbt

from .conftest import built_fixture_export
from .ml_fixtures import ml_rows

# --- The ml source follows the writer's schema ---------------------------------------------


def test_generated_yml_files_are_current_with_the_writers_schema():
    stale = [str(f.path.relative_to(PROJECT_ROOT)) for f in generated_files() if not f.is_current()]
    assert stale == [], "run `python -m ml.docs.ml_source`"


def test_ml_source_declares_every_written_column_in_order_with_its_type():
    spec = yaml.safe_load(ml_source.SOURCES_YML.read_text(encoding="utf-8"))
    (source,) = spec["sources"]
    declared = {
        table["name"]: tuple((c["name"], c["data_type"]) for c in table["columns"])
        for table in source["tables"]
    }
    assert declared == {
        name: tuple((c.name, c.sql_type) for c in table.columns) for name, table in TABLES.items()
    }


def test_every_ml_table_and_column_has_a_description():
    assert missing_descriptions() == []


def test_a_written_column_without_description_is_named():
    runs = TABLES["model_runs"]
    undescribed = Column("a_column_nobody_described", "varchar", " ")
    schema = {**TABLES, "model_runs": replace(runs, columns=(*runs.columns, undescribed))}
    assert missing_descriptions(schema) == ["ml.model_runs.a_column_nobody_described"]
    with pytest.raises(DocsError, match=r"ml\.model_runs\.a_column_nobody_described"):
        render_sources_yml(schema)


def test_an_undescribed_table_is_named():
    schema = {**TABLES, "predictions": replace(TABLES["predictions"], description="")}
    assert missing_descriptions(schema) == ["ml.predictions"]


def test_check_fails_on_a_stale_file_and_passes_once_rewritten(tmp_path, monkeypatch):
    for name in ("SOURCES_YML", "STAGING_YML", "LATEST_RUN_YML"):
        stale = tmp_path / f"{name}.yml"
        stale.write_text("version: 2\n", encoding="utf-8")
        monkeypatch.setattr(ml_source, name, stale)
    assert ml_source.main(["--check"]) == 1
    assert ml_source.main([]) == 0
    assert ml_source.main(["--check"]) == 0
    assert (tmp_path / "SOURCES_YML.yml").read_text(encoding="utf-8") == render_sources_yml()


def _source_tables(text: str) -> dict[str, dict]:
    (source,) = yaml.safe_load(text)["sources"]
    return {table["name"]: table for table in source["tables"]}


def _tests(node: dict) -> dict[str, dict]:
    """A yml node's data tests by test name: {generic test: {arguments, config}}."""
    return {name: spec for test in node.get("data_tests", []) for name, spec in test.items()}


def test_every_ml_table_key_is_tested_unique_and_not_null():
    tables = _source_tables(render_sources_yml())
    assert set(tables) == set(TABLES)
    for name, table in tables.items():
        tests = _tests(table)
        key = list(TABLES[name].key)
        assert key, name
        assert set(key) <= set(tests["column_values"]["arguments"]["not_null"])
        if name == "shap_values":  # a grid: one row per run, customer and feature
            assert tests["one_row_per_item"]["arguments"] == {
                "columns": ["run_id", "customer_id"],
                "item_column": "feature",
            }
        else:
            assert tests["unique_combination_of_columns"]["arguments"] == {
                "combination_of_columns": key
            }


def test_ml_column_rules_are_rendered_as_one_column_values_test_per_table():
    predictions = _tests(_source_tables(render_sources_yml())["predictions"])
    rules = predictions["column_values"]["arguments"]
    assert rules["not_null"] == [
        "run_id", "customer_id", "p_decline", "predicted_decline", "p_source"
    ]  # fmt: skip
    assert rules["accepted_values"] == {"p_source": ["oof", "holdout", "unseen", "model"]}
    assert rules["between"] == {
        "p_decline": {"min_value": 0, "max_value": 1},
        "base_value": {"min_value": 0, "max_value": 1},
    }


def test_only_the_per_customer_tables_are_tested_on_their_newest_run():
    filtered = {}
    for name, table in _source_tables(render_sources_yml()).items():
        nodes = [table, *table["columns"]]
        wheres = {s.get("config", {}).get("where") for n in nodes for s in _tests(n).values()}
        filtered[name] = wheres
    assert filtered == {
        name: {NEWEST_RUN_WHERE} if name in ("predictions", "shap_values") else {None}
        for name in TABLES
    }


def test_tests_of_tables_only_training_writes_are_off_on_spark_which_only_scores():
    enabled = {}
    for name, table in _source_tables(render_sources_yml()).items():
        nodes = [table, *table["columns"]]
        configs = [s.get("config", {}) for n in nodes for s in _tests(n).values()]
        enabled[name] = {c.get("enabled") for c in configs}
    on_duckdb_only = "{{ target.type != 'spark' }}"
    assert enabled == {
        "model_runs": {None},
        "predictions": {None},
        "shap_values": {None},
        "model_candidates": {on_duckdb_only},
        "feature_importance": {on_duckdb_only},
        "evaluation_curves": {on_duckdb_only},
    }


def test_every_run_id_but_model_runs_own_must_be_a_recorded_run():
    references = {
        (name, column["name"]): _tests(column)["exists_in"]["arguments"]
        for name, table in _source_tables(render_sources_yml()).items()
        for column in table["columns"]
        if "exists_in" in _tests(column)
    }
    assert references == {
        (name, "run_id"): {
            "to": "source('ml', 'model_runs')",
            "field": "run_id",
            "from_file": f"ml.{name}",
            "to_file": "ml.model_runs",
        }
        for name in TABLES
        if name != "model_runs"
    }


def test_a_reference_to_no_ml_column_is_named():
    runs = TABLES["predictions"]
    broken = replace(runs.columns[0], references="model_runs.no_such_column")
    schema = {**TABLES, "predictions": replace(runs, columns=(broken, *runs.columns[1:]))}
    with pytest.raises(DocsError, match=r"ml\.predictions\.run_id -> model_runs\.no_such_column"):
        render_sources_yml(schema)


def test_a_grid_column_must_end_the_key():
    with pytest.raises(ValueError, match=r"ml\.shap_values: grid column customer_id is not"):
        replace(TABLES["shap_values"], grid_column="customer_id")


def test_a_key_of_no_column_is_refused():
    with pytest.raises(ValueError, match=r"ml\.predictions: key column\(s\) \['nobody'\]"):
        replace(TABLES["predictions"], key=("run_id", "nobody"))


def test_staging_models_have_every_column_of_their_table_under_the_writers_name():
    spec = yaml.safe_load(ml_source.STAGING_YML.read_text(encoding="utf-8"))
    models = {
        m["name"]: [(c["name"], c["data_type"]) for c in m["columns"]] for m in spec["models"]
    }
    staged = sorted(p.stem for p in ml_source.STAGING_DIR.glob("stg_ml__*.sql"))
    assert sorted(models) == staged
    for model, columns in models.items():
        table = TABLES[model.removeprefix("stg_ml__")]
        assert columns == [(c.name, c.sql_type) for c in table.columns]


def test_staging_yml_follows_the_staging_sql_files(tmp_path):
    for table in ("shap_values", "model_runs"):
        (tmp_path / f"stg_ml__{table}.sql").write_text("-- a view\n", encoding="utf-8")
    assert staged_tables(tmp_path) == ["model_runs", "shap_values"]  # in TABLES order
    rendered = yaml.safe_load(render_staging_yml(staged_tables(tmp_path)))
    assert [m["name"] for m in rendered["models"]] == ["stg_ml__model_runs", "stg_ml__shap_values"]
    (tmp_path / "stg_ml__no_such_table.sql").write_text("-- a view\n", encoding="utf-8")
    with pytest.raises(DocsError, match="stg_ml__no_such_table"):
        staged_tables(tmp_path)


# --- The coverage rules, on hand-made manifests --------------------------------------------


def _node(name: str, description: str, columns: dict[str, str], kind: str = "model") -> dict:
    return {
        "unique_id": f"{kind}.p.{name}",
        "resource_type": kind,
        "package_name": "p",
        "name": name,
        "schema": "s",
        "alias": name,
        "description": description,
        "columns": {c: {"name": c, "description": d} for c, d in columns.items()},
    }


def _manifest(*nodes: dict, sources: tuple[dict, ...] = (), exposures: tuple = ()) -> dict:
    return {
        "metadata": {"project_name": "p"},
        "nodes": {n["unique_id"]: n for n in nodes},
        "sources": {s["unique_id"]: s for s in sources},
        "exposures": {e["name"]: e for e in exposures},
    }


def test_described_models_and_columns_pass():
    manifest = _manifest(_node("m", "A model.", {"id": "Id."}))
    assert undescribed(manifest) == []


def test_an_undescribed_model_seed_analysis_column_source_and_exposure_are_each_named():
    source = {
        **_node("raw", "", {"x": ""}, kind="source"),
        "source_name": "shop",
        "source_description": " ",
    }
    manifest = _manifest(
        _node("m", "", {"id": "Id.", "amount": ""}),
        _node("s", "A seed.", {"code": " "}, kind="seed"),
        _node("a", "", {}, kind="analysis"),
        sources=(source,),
        exposures=({"name": "report", "description": ""},),
    )
    assert undescribed(manifest) == [
        "analysis a: no description",
        "exposure report: no description",
        "model m: column amount has no description",
        "model m: no description",
        "seed s: column code has no description",
        "source shop.raw: column x has no description",
        "source shop.raw: no description",
        "source shop: no description",
    ]


def test_tests_and_other_packages_nodes_are_not_checked():
    test = {**_node("t", "", {}), "resource_type": "test"}
    other = {**_node("o", "", {}), "package_name": "dbt"}
    assert undescribed(_manifest(test, other)) == []


def test_built_columns_missing_from_yml_and_declared_columns_not_built_are_named():
    manifest = _manifest(_node("m", "A model.", {"id": "Id.", "gone": "Dropped."}))
    built = {"model.p.m": ["id", "new_column"]}
    assert undeclared_columns(manifest, built) == [
        "model m: column(s) not in its yml: new_column",
        "model m: yml declares column(s) not built: gone",
    ]
    assert undeclared_columns(manifest, {}) == []  # not built: nothing to compare


def test_built_columns_are_read_from_the_database_by_schema_and_alias():
    manifest = _manifest(_node("m", "A model.", {}))
    with duckdb.connect() as con:
        con.execute("create schema s; create table s.m (id integer, amount double)")
        assert built_columns(con, manifest) == {"model.p.m": ["id", "amount"]}


# --- The project itself ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """dbt's parse of the project (no database touched)."""
    return parse_manifest(tmp_path_factory.mktemp("dbt_parse"))


@pytest.mark.slow
def test_every_model_seed_analysis_source_exposure_and_column_is_described(manifest):
    assert undescribed(manifest) == []


def _strings_in(package: Path) -> list[str]:
    """Every string literal of a package's modules (SQL and table names live in them)."""
    texts = []
    for module in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.append(node.value)
    return texts


def _relations(manifest: dict) -> dict[str, str]:
    """unique_id of every table of the warehouse (models, seeds, ml tables), by name."""
    relations = {
        n["name"]: uid
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] in ("model", "seed")
    }
    # sources read from files (the CSV export) are not tables of the warehouse
    relations |= {
        s["name"]: uid
        for uid, s in manifest["sources"].items()
        if not s["config"].get("external_location")
    }
    return relations


def _exposure(manifest: dict, name: str) -> dict:
    (exposure,) = [e for e in manifest["exposures"].values() if e["name"] == name]
    return exposure


@pytest.mark.slow
def test_the_reports_exposure_lists_exactly_the_relations_the_reports_read(manifest):
    strings = _strings_in(PROJECT_ROOT / "reports")
    read = {
        uid
        for name, uid in _relations(manifest).items()
        if any(re.search(rf"\b{re.escape(name)}\b", text) for text in strings)
    }
    exposure = _exposure(manifest, "html_reports")
    assert set(exposure["depends_on"]["nodes"]) == read


@pytest.mark.slow
def test_the_model_exposure_depends_on_the_feature_mart(manifest):
    exposure = _exposure(manifest, "decline_risk_model")
    assert exposure["depends_on"]["nodes"] == [_relations(manifest)[MART_MODEL]]


# --- Built: yml columns are the built columns; the latest training run -------------------

RUNS = (
    # run_id, kind, started, parent
    ("20261101T000000Z-a", "train", "2026-11-01", None),
    ("20261120T000000Z-b", "train", "2026-11-20", None),
    ("20261125T000000Z-c", "score", "2026-11-25", "20261120T000000Z-b"),
)
TRAINED = "20261120T000000Z-b"


@pytest.fixture(scope="module")
def documented_paths(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The fixture export built, with three ML runs written and every after-ML model built."""
    workdir = tmp_path_factory.mktemp("documented")
    paths = built_fixture_export(workdir)
    with duckdb.connect(str(paths.build_duckdb), read_only=True) as con:
        rows = con.execute("select customer_id from marts.customer_features").fetchall()
    customers = [c for (c,) in rows]
    p_decline = dict(zip(customers, (0.1, 0.9) * len(customers), strict=False))
    features = mart_columns().features
    runs = [
        {
            "run_id": run_id,
            "run_kind": kind,
            "started_at": pd.Timestamp(started),
            "parent_run_id": parent,
            "threshold": 0.5,
            "n_customers": len(customers),
            "model_family": f"family_{run_id[-1]}",
        }
        for run_id, kind, started, parent in RUNS
    ]
    frames = {
        "model_runs": ml_rows("model_runs", runs),
        "predictions": ml_rows(
            "predictions",
            [
                {
                    "run_id": TRAINED,
                    "customer_id": c,
                    "p_decline": p,
                    "predicted_decline": p >= 0.5,
                    "p_source": "oof",
                    # the published probability is base value + Σ SHAP (a data test checks it)
                    "base_value": 0.5,
                }
                for c, p in p_decline.items()
            ],
        ),
        "shap_values": ml_rows(
            "shap_values",
            [
                {
                    "run_id": TRAINED,
                    "customer_id": c,
                    "feature": f,
                    "shap_value": (p - 0.5) / len(features),
                }
                for c, p in p_decline.items()
                for f in features
            ],
        ),
    }
    with duckdb.connect(str(paths.build_duckdb)) as con:
        write_run(con, frames)
    report = run_dbt(paths, ("build", "--selector", "after_ml"))
    assert report.success, report.problems
    return paths


@pytest.mark.slow
def test_every_built_table_has_exactly_the_columns_its_yml_declares(documented_paths, manifest):
    with duckdb.connect(str(documented_paths.build_duckdb), read_only=True) as con:
        built = built_columns(con, manifest)
    models = {
        uid
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] in ("model", "seed") and n["package_name"] == "one_click"
    }
    assert models - set(built) == set()  # every model was found, so none went unchecked
    assert undeclared_columns(manifest, built) == []


@pytest.mark.slow
def test_latest_training_run_is_the_newest_train_run_with_every_column(documented_paths, query):
    database = documented_paths.build_duckdb
    assert query(database, "select run_id, model_family from segments.latest_training_run") == [
        (TRAINED, "family_b")
    ]
    columns = query(
        database,
        "select column_name from information_schema.columns where table_schema = 'segments' "
        "and table_name = 'latest_training_run' order by ordinal_position",
    )
    assert [c for (c,) in columns] == [name for name in TABLES["model_runs"].column_names]


ANALYSES_DIR = PROJECT_ROOT / "dbt_project" / "analyses"


@pytest.mark.slow
def test_every_analysis_compiles_and_runs_on_the_warehouse(documented_paths, query):
    report = run_dbt(documented_paths, ("compile", "--select", "path:dbt_project/analyses"))
    assert report.success, report.problems
    compiled = DBT_TARGET_DIR / "compiled" / "one_click" / "dbt_project" / "analyses"
    names = sorted(p.stem for p in ANALYSES_DIR.glob("*.sql"))
    assert names and all((compiled / f"{name}.sql").exists() for name in names)
    results = {
        name: query(documented_paths.build_duckdb, (compiled / f"{name}.sql").read_text())
        for name in names
    }
    offers = results["offers_by_channel_latest_run"]
    assert offers, "the fixture run recommends offers"
    assert {(run_id, str(started)[:10]) for _, _, _, run_id, started, _, _ in offers} == {
        (TRAINED, "2026-11-20")
    }


def test_mart_descriptions_are_plain_text_for_the_python_that_reads_them():
    # ml/contracts/features.py reads the contract yml without dbt: a doc() reference
    # would reach the model card as template text.
    templated = {c: d for c, d in mart_columns().descriptions.items() if "{{" in d or "{%" in d}
    assert templated == {}
