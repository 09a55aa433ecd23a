"""Every model, seed, source and column of the dbt project is described: the check `make test` runs.

Analysts read the warehouse through dbt docs and the yml, so an undescribed
model or column is a defect like a failing test. Two checks, both on dbt's
own parse of the project (``target/manifest.json``):

* :func:`undescribed`: a model, seed, analysis, source, source table,
  exposure or a column declared in yml with an empty description;
* :func:`undeclared_columns`: a column a built table has but its yml does not
  declare, or one the yml declares that the table lacks (needs a built
  warehouse: the tests build one, the CLI takes ``--duckdb``).

    python -m ml.docs.coverage                   # parse the project, check descriptions
    python -m ml.docs.coverage --duckdb FILE     # also compare yml columns with FILE's tables

The ml.* source yml is rendered from the writer's schema; the CLI also fails
when that rendering is stale (``python -m ml.docs.ml_source``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb

from ml.config import PROJECT_ROOT

logger = logging.getLogger(__name__)

# Resource types an analyst reads: relations holding data, and the analyses
# (example queries) that start from them.
_DOCUMENTED_NODES = ("model", "seed", "snapshot", "analysis")


def _label(node: Mapping) -> str:
    if node["resource_type"] == "source":
        return f"source {node['source_name']}.{node['name']}"
    return f"{node['resource_type']} {node['name']}"


def _blank(text: object) -> bool:
    return not str(text or "").strip()


def _documented(manifest: Mapping) -> list[Mapping]:
    """The manifest's models, seeds, snapshots, analyses and source tables of this project."""
    project = manifest.get("metadata", {}).get("project_name")
    nodes = [
        n
        for n in manifest.get("nodes", {}).values()
        if n["resource_type"] in _DOCUMENTED_NODES
        and (project is None or n.get("package_name") == project)
    ]
    sources = [
        s
        for s in manifest.get("sources", {}).values()
        if project is None or s.get("package_name") == project
    ]
    return nodes + sources


def undescribed(manifest: Mapping) -> list[str]:
    """Every model, seed, source, exposure and declared column without a description."""
    problems = []
    seen_sources = set()
    for node in _documented(manifest):
        if node["resource_type"] == "source" and node["source_name"] not in seen_sources:
            seen_sources.add(node["source_name"])
            if _blank(node.get("source_description")):
                problems.append(f"source {node['source_name']}: no description")
        if _blank(node.get("description")):
            problems.append(f"{_label(node)}: no description")
        for column in node.get("columns", {}).values():
            if _blank(column.get("description")):
                problems.append(f"{_label(node)}: column {column['name']} has no description")
    for exposure in manifest.get("exposures", {}).values():
        if _blank(exposure.get("description")):
            problems.append(f"exposure {exposure['name']}: no description")
    return sorted(problems)


def undeclared_columns(manifest: Mapping, built: Mapping[str, Sequence[str]]) -> list[str]:
    """Columns that differ between each relation's yml and its built table.

    *built* maps a node's unique_id to the columns of its table as built;
    nodes missing from it (not built, e.g. the CSV sources) are skipped.
    """
    problems = []
    for node in _documented(manifest):
        actual = built.get(node["unique_id"])
        if actual is None:
            continue
        declared = {c.lower() for c in node.get("columns", {})}
        undeclared = [c for c in actual if c.lower() not in declared]
        absent = sorted(declared - {c.lower() for c in actual})
        if undeclared:
            problems.append(f"{_label(node)}: column(s) not in its yml: {', '.join(undeclared)}")
        if absent:
            problems.append(
                f"{_label(node)}: yml declares column(s) not built: {', '.join(absent)}"
            )
    return problems


def built_columns(con: duckdb.DuckDBPyConnection, manifest: Mapping) -> dict[str, list[str]]:
    """Columns of each documented relation that exists in the database, in table order."""
    rows = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "order by table_schema, table_name, ordinal_position"
    ).fetchall()
    tables: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        tables.setdefault((schema.lower(), table.lower()), []).append(column)
    built = {}
    for node in _documented(manifest):
        name = node.get("alias") or node.get("identifier") or node["name"]
        key = (str(node["schema"]).lower(), str(name).lower())
        if key in tables:
            built[node["unique_id"]] = tables[key]
    return built


def parse_manifest(target_dir: Path) -> dict:
    """Run ``dbt parse`` into *target_dir* and return the manifest (touches no database)."""
    from dbt.cli.main import dbtRunner  # heavy import, only when needed

    args = [
        "parse",
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
        "--target-path",
        str(target_dir),
        "--log-path",
        str(target_dir),
        "--quiet",
    ]
    saved = os.environ.get("DBT_SEND_ANONYMOUS_USAGE_STATS")
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    cwd = Path.cwd()
    try:
        os.chdir(PROJECT_ROOT)
        outcome = dbtRunner().invoke(args)
    finally:
        os.chdir(cwd)
        if saved is None:
            os.environ.pop("DBT_SEND_ANONYMOUS_USAGE_STATS", None)
        else:
            os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = saved
    if not outcome.success:
        raise RuntimeError(f"dbt parse failed: {outcome.exception}")
    return json.loads((target_dir / "manifest.json").read_text(encoding="utf-8"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml.docs.coverage",
        description="Fail when a dbt model, seed, source, exposure or column has no "
        "description, or the ml source yml is stale against ml/contracts/ml_tables.py.",
    )
    parser.add_argument(
        "--duckdb",
        type=Path,
        help="also compare every built table's columns in this warehouse file (opened "
        "read-only) with the columns its yml declares",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print one line per problem; exit 1 when there is any."""
    from ml.docs.ml_source import DocsError, generated_files, shown

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        problems = [
            f"{shown(f.path)} is stale: run `python -m ml.docs.ml_source`"
            for f in generated_files()
            if not f.is_current()
        ]
    except DocsError as error:
        problems = [str(error)]
    with tempfile.TemporaryDirectory(prefix="one-click-docs-") as target:
        manifest = parse_manifest(Path(target))
    problems += undescribed(manifest)
    if args.duckdb:
        with duckdb.connect(str(args.duckdb), read_only=True) as con:
            problems += undeclared_columns(manifest, built_columns(con, manifest))
    for problem in problems:
        logger.error("%s", problem)
    if not problems:
        logger.info("every model, seed, analysis, source, exposure and column is described")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
