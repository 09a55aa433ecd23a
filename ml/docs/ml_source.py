"""The dbt yml of the ml.* tables, rendered from their one definition.

``ml/contracts/ml_tables.py`` (``TABLES``) holds every table the ML step writes:
columns, order, SQL types and descriptions. This module renders it into the
dbt files that describe those tables, so dbt docs, the analysts' view of the
latest run and the Python writer can never disagree:

* ``dbt_project/models/staging/ml/_ml__sources.yml``: source ``ml``, every table
  and column with its type and description, and the data tests of the rules
  ``TABLES`` declares (key, not null, accepted values, ranges, run ids that
  belong to a recorded run);
* ``dbt_project/models/staging/ml/_ml__models.yml``: the staging models
  ``stg_ml__<table>`` (one per ``stg_ml__<table>.sql`` in that folder), every
  column of their table under the writer's name;
* ``dbt_project/models/after_ml/segments/_latest_training_run.yml``: the columns of
  ``segments.latest_training_run`` (every column of ``ml.model_runs``).

    python -m ml.docs.ml_source            # rewrite both files
    python -m ml.docs.ml_source --check    # exit 1 when a file is stale (make test)

A column in ``TABLES`` with a blank description fails both commands with the
column's name.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ml.config import ML_SCHEMA, PROJECT_ROOT
from ml.contracts.ml_tables import TABLES, Column, Table

logger = logging.getLogger(__name__)

STAGING_DIR = PROJECT_ROOT / "dbt_project" / "models" / "staging" / "ml"
SOURCES_YML = STAGING_DIR / "_ml__sources.yml"
STAGING_YML = STAGING_DIR / "_ml__models.yml"
STAGING_PREFIX = "stg_ml__"
LATEST_RUN_YML = (
    PROJECT_ROOT / "dbt_project" / "models" / "after_ml" / "segments" / "_latest_training_run.yml"
)
LATEST_RUN_MODEL = "latest_training_run"

Schema = Mapping[str, Table]


class DocsError(ValueError):
    """The ml tables' definition cannot be rendered: a blank description, a bad rule, a
    staging model of no ml table."""


def missing_descriptions(schema: Schema = TABLES) -> list[str]:
    """Tables and columns of *schema* with a blank description, as ``ml.table[.column]``."""
    missing = [f"{ML_SCHEMA}.{name}" for name, t in schema.items() if not t.description.strip()]
    for name, table in schema.items():
        missing += [
            f"{ML_SCHEMA}.{name}.{c.name}" for c in table.columns if not c.description.strip()
        ]
    return missing


def bad_references(schema: Schema = TABLES) -> list[str]:
    """Columns of *schema* whose ``references`` names no ``table.column`` of *schema*."""
    bad = []
    for name, table in schema.items():
        for column in table.columns:
            if column.references is None:
                continue
            target, _, field = column.references.partition(".")
            if target not in schema or field not in schema[target].column_names:
                bad.append(f"{ML_SCHEMA}.{name}.{column.name} -> {column.references}")
    return bad


def _check(schema: Schema) -> None:
    missing = missing_descriptions(schema)
    if missing:
        raise DocsError(
            "no description for " + ", ".join(missing) + " (ml/contracts/ml_tables.py TABLES)"
        )
    bad = bad_references(schema)
    if bad:
        raise DocsError(
            "references to no ml table column: " + ", ".join(bad) + " (ml/contracts/ml_tables.py)"
        )


def _quote(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar; keeps «», ≥ and – readable.
    return json.dumps(text, ensure_ascii=False)


def _flow(value: object) -> str:
    """*value* as one line of YAML flow (JSON is a subset of YAML); 0.0 written as 0."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _argument_lines(name: str, value: object, indent: str) -> list[str]:
    """An argument in block style down to one line per column (``between``: column -> bounds)."""
    if isinstance(value, Mapping):
        return [f"{indent}{name}:"] + [f"{indent}  {k}: {_flow(v)}" for k, v in value.items()]
    return [f"{indent}{name}: {_flow(value)}"]


# The `where` that limits a test to the newest run's rows: the placeholder is
# replaced by macros/generic_tests/where_subquery.sql (dbt renders no Jinja,
# so no source(), in a test's config).
NEWEST_RUN_WHERE = "run_id = __newest_run__"

# The run kinds the Spark target performs: it scores (python -m ml.score --engine
# spark) but never trains, so a table only training writes never exists there
# and its tests are disabled on that target.
SPARK_RUN_KINDS = ("score",)
ON_DUCKDB_ONLY = "{{ target.type != 'spark' }}"


def test_config(table: Table) -> dict[str, str]:
    """The config every data test of *table* shares: newest run only, DuckDB only."""
    config = {}
    if table.newest_run_tested:
        config["where"] = NEWEST_RUN_WHERE
    if not set(table.run_kinds) & set(SPARK_RUN_KINDS):
        config["enabled"] = ON_DUCKDB_ONLY
    return config


def _test_lines(
    test: str, name: str, arguments: Mapping[str, object], config: Mapping[str, str]
) -> list[str]:
    lines = [f"- {test}:", f"    name: {name}", "    arguments:"]
    for argument, value in arguments.items():
        lines += _argument_lines(argument, value, "      ")
    if config:
        lines += [
            "    config:",
            *(f"      {key}: {_quote(value)}" for key, value in config.items()),
        ]
    return lines


Tests = list[tuple[str, str, dict[str, object]]]


def table_tests(table: Table) -> Tests:
    """The table-level data tests (test, name, arguments) of *table*'s rules.

    ``unique_combination_of_columns`` fails on a repeated key (dbt_utils' name, and
    unlike ``primary_key`` it reads a filtered relation: see ``newest_run_tested``),
    ``one_row_per_item`` on a repeated or missing item of a grid (``grid_column``);
    ``column_values`` checks every other rule (key columns and others not null,
    accepted values, ranges) in one scan, naming the column, value and rule of each
    failing row.
    """
    prefix = f"{ML_SCHEMA}_{table.name}"
    tests: Tests = []
    if table.grid_column:
        grid = {"columns": list(table.key[:-1]), "item_column": table.grid_column}
        tests.append(("one_row_per_item", f"{prefix}_key", grid))
    elif table.key:
        key = {"combination_of_columns": list(table.key)}
        tests.append(("unique_combination_of_columns", f"{prefix}_key", key))
    rules: dict[str, object] = {}
    not_null = [c.name for c in table.columns if c.not_null or c.name in table.key]
    if not_null:
        rules["not_null"] = not_null
    accepted = {c.name: list(c.accepted_values) for c in table.columns if c.accepted_values}
    if accepted:
        rules["accepted_values"] = accepted
    between = {
        c.name: {
            bound: value
            for bound, value in zip(("min_value", "max_value"), c.value_range, strict=True)
            if value is not None
        }
        for c in table.columns
        if c.value_range is not None
    }
    if between:
        rules["between"] = between
    if rules:
        tests.append(("column_values", f"{prefix}_values", rules))
    return tests


def column_tests(table: Table, column: Column) -> Tests:
    """The data tests (test, name, arguments) of *column*: its values exist where it refers.

    ``exists_in``, not dbt's ``relationships``: its failing rows name the value and
    both tables, once per value rather than once per row.
    """
    if column.references is None:
        return []
    target, _, field = column.references.partition(".")
    reference = {
        "to": f"source('{ML_SCHEMA}', '{target}')",
        "field": field,
        "from_file": f"{ML_SCHEMA}.{table.name}",
        "to_file": f"{ML_SCHEMA}.{target}",
    }
    return [("exists_in", f"{ML_SCHEMA}_{table.name}_{column.name}_in_{target}", reference)]


def _tests_block(tests: Tests, config: Mapping[str, str], indent: str) -> list[str]:
    lines = [f"{indent}data_tests:"]
    for test, name, arguments in tests:
        lines += [f"{indent}  {line}" for line in _test_lines(test, name, arguments, config)]
    return lines


def _column_lines(table: Table, indent: str, with_tests: bool = False) -> list[str]:
    lines = []
    for column in table.columns:
        lines += [
            f"{indent}- name: {column.name}",
            f"{indent}  data_type: {column.sql_type}",
            f"{indent}  description: {_quote(column.description)}",
        ]
        tests = column_tests(table, column) if with_tests else []
        if tests:
            lines += _tests_block(tests, test_config(table), f"{indent}  ")
    return lines


_HEADER = (
    "# Generated by `python -m ml.docs.ml_source` from ml/contracts/ml_tables.py\n"
    "# (TABLES: every column the ML step writes, its type and description).\n"
    "# Do not edit by hand: change that and rerun; `make test` fails when stale.\n"
)


def _yml_file(lines: list[str]) -> str:
    """A generated dbt yml file: the do-not-edit header, the version, then *lines*."""
    return _HEADER + "\n".join(["version: 2", "", *lines]) + "\n"


def render_sources_yml(schema: Schema = TABLES) -> str:
    """The dbt source ``ml``: every table and column of *schema*, typed and described."""
    _check(schema)
    lines = [
        "# Tables the ML step (`python -m ml.train`, `python -m ml.score`) writes into",
        "# schema `ml` of the warehouse file. Declared so the models built on them",
        "# (segments, recommendations) keep their lineage in dbt docs. They do not",
        "# exist before the first ML run: a plain `dbt build` leaves everything",
        "# downstream of this source out (see selectors.yml).",
        "sources:",
        f"  - name: {ML_SCHEMA}",
        f"    schema: {ML_SCHEMA}",
        "    description: "
        + _quote(
            "Output of the decline-risk model (python -m ml.train / ml.score): every run's "
            "rows, kept across versions, tied together by run_id."
        ),
        "    tables:",
    ]
    for name, table in schema.items():
        lines += [f"      - name: {name}", f"        description: {_quote(table.description)}"]
        tests = table_tests(table)
        if tests:
            lines += _tests_block(tests, test_config(table), "        ")
        lines += ["        columns:", *_column_lines(table, "          ", with_tests=True)]
    return _yml_file(lines)


def staged_tables(staging_dir: Path = STAGING_DIR, schema: Schema = TABLES) -> list[str]:
    """The ml tables with a staging model: one per ``stg_ml__<table>.sql`` in *staging_dir*.

    The SQL files decide which tables dbt models read through staging; a file
    named after no ml table raises :class:`DocsError`.
    """
    names = sorted(p.stem.removeprefix(STAGING_PREFIX) for p in staging_dir.glob("*.sql"))
    unknown = [n for n in names if n not in schema]
    if unknown:
        raise DocsError(
            "staging models of no ml table: "
            + ", ".join(f"{STAGING_PREFIX}{n}" for n in unknown)
            + f" (tables: {', '.join(schema)})"
        )
    return [n for n in schema if n in names]


def render_staging_yml(tables: list[str], schema: Schema = TABLES) -> str:
    """The yml of the ``stg_ml__*`` models: each a view of its ml table, every column as written.

    The source carries the tests; the views add nothing to test.
    """
    _check(schema)
    lines = [
        "# One staging model per ml table that dbt models read: a view of the table",
        "# with every column under the writer's name (stg_ml__<table>.sql selects",
        "# them from the source, macros/ml_columns.sql). Tests are on the source.",
        "models:",
    ]
    for name in tables:
        lines += [
            f"  - name: {STAGING_PREFIX}{name}",
            "    description: "
            + _quote(f"{ML_SCHEMA}.{name} as the ML step wrote it. {schema[name].description}"),
            "    columns:",
            *_column_lines(schema[name], "      "),
        ]
    return _yml_file(lines)


def render_latest_run_yml(schema: Schema = TABLES) -> str:
    """The yml of ``segments.latest_training_run``: every ``ml.model_runs`` column."""
    _check(schema)
    lines = [
        "models:",
        f"  - name: {LATEST_RUN_MODEL}",
        "    description: "
        + _quote(
            "The newest training run (python -m ml.train) as one row with every column of "
            "ml.model_runs: `select * from segments.latest_training_run`. Newest = latest "
            "started_at, ties broken by run_id. Empty before the first training run."
        ),
        "    columns:",
        *_column_lines(schema["model_runs"], "      "),
    ]
    return _yml_file(lines)


@dataclass(frozen=True)
class GeneratedFile:
    """One file this module renders, and its expected content."""

    path: Path
    content: str

    def is_current(self) -> bool:
        return self.path.exists() and self.path.read_text(encoding="utf-8") == self.content


def generated_files(schema: Schema = TABLES) -> list[GeneratedFile]:
    """Every file rendered from the writer's schema; raises :class:`DocsError` when undescribed."""
    return [
        GeneratedFile(SOURCES_YML, render_sources_yml(schema)),
        GeneratedFile(STAGING_YML, render_staging_yml(staged_tables(STAGING_DIR, schema), schema)),
        GeneratedFile(LATEST_RUN_YML, render_latest_run_yml(schema)),
    ]


def shown(path: Path) -> str:
    """*path* relative to the project root when inside it, for messages."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml.docs.ml_source",
        description="Render the dbt yml that describes the ml.* tables (source `ml` with "
        "its data tests, the stg_ml__* models and segments.latest_training_run) from the "
        "ml tables' definition in ml/contracts/ml_tables.py.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming each file that differs from what would be rendered",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the generated yml files; 1 on a missing description."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        files = generated_files()
    except DocsError as error:
        logger.error("%s", error)
        return 1
    stale = [f for f in files if not f.is_current()]
    if args.check:
        for file in stale:
            logger.error("%s is stale: run `python -m ml.docs.ml_source`", shown(file.path))
        return 1 if stale else 0
    for file in stale:
        file.path.write_text(file.content, encoding="utf-8")
        logger.info("wrote %s", shown(file.path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
