"""CPU time of each model's and test's SQL, replayed in one DuckDB process without dbt.

`dbt build` node times mix the SQL with dbt's own per-node work and, on a
shared machine, with other jobs; this separates the SQL. It copies a finished
build file, then runs every model's and data test's compiled SQL from the
build's manifest (in run_results.json order, so each reads what it read in
the build) as `create temp table ... as` (or a table in the file with
`--persist`, which adds DuckDB's cost of writing it), and prints the CPU
seconds of each statement (user + system of this process) and their sum.
A staging model's landing pre-hook (its file copied into a temporary table)
runs first and counts in the model's time.

    python bench/warehouse_sql_replay.py data/dev/warehouse/build/one_click.duckdb data/dev/target

Views are skipped (their SQL runs inside their readers). Compare two
checkouts by replaying each one's build on the same export.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

log = logging.getLogger("bench.warehouse_sql_replay")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (every DuckDB thread included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# A staging model's pre-hook that copies its export file into a temporary
# table first (macros/stage_export_file.sql: land_export_rows).
LANDING_HOOK = re.compile(r"land_export_rows\('(\w+)'\)")


def landing_statements(manifest: dict, node: dict) -> list[str]:
    """The statements of *node*'s landing pre-hook, as DuckDB runs them; none for other nodes."""
    out = []
    for hook in node["config"].get("pre-hook", []):
        match = LANDING_HOOK.search(hook["sql"])
        if match:
            table = match.group(1)
            source = manifest["sources"][f"source.one_click.shop_export.{table}"]
            out += [
                "set session preserve_insertion_order = true",
                f'create or replace temporary table "{table}__landed" as '
                f"select * from {source['relation_name']}",
                "reset session preserve_insertion_order",
            ]
    return out


def statements(target: Path, select: str = "") -> list[tuple[str, list[str], str]]:
    """(unique_id, landing statements, SQL) of each model and data test the build ran, in its
    order; views left out."""
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = manifest["nodes"]
    order = [
        r["unique_id"] for r in json.loads((target / "run_results.json").read_text())["results"]
    ]
    out = []
    for unique_id in order:
        node = nodes.get(unique_id)
        if (
            node is None
            or node["resource_type"] not in ("model", "test")
            or select not in unique_id
        ):
            continue
        if node["resource_type"] == "model" and node["config"]["materialized"] == "view":
            continue
        out.append((unique_id, landing_statements(manifest, node), node["compiled_code"]))
    return out


def replay(build_file: Path, target: Path, persist: bool, select: str) -> dict[str, float]:
    """CPU seconds of each statement, replayed on a copy of *build_file*."""
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="sql_replay_") as work:
        # the copy keeps the file's name: compiled SQL names its catalog
        copy = Path(work) / build_file.name
        shutil.copy(build_file, copy)
        con = duckdb.connect(str(copy))
        # as the models' pre-hooks set it (macros/insertion_order.sql)
        con.execute("set preserve_insertion_order = false")
        kind = "table" if persist else "temp table"
        for unique_id, landing, sql in statements(target, select):
            started, wall = cpu_seconds(), time.perf_counter()
            for statement in landing:
                con.execute(statement)
            con.execute(f"create or replace {kind} replayed as {sql}")
            times[unique_id] = round(cpu_seconds() - started, 3)
            log.info("%6.2f s CPU %6.2f s wall  %s", times[unique_id], time.perf_counter() - wall,
                     unique_id)  # fmt: skip
        con.close()
    return times


def main(argv: list[str] | None = None) -> int:
    """Replay one build and print the CPU time per node and in all."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_file", type=Path, help="a finished build's DuckDB file (copied)")
    parser.add_argument("target", type=Path, help="that build's dbt target directory")
    parser.add_argument(
        "--persist", action="store_true", help="write tables into the file, not temp tables"
    )
    parser.add_argument("--select", default="", help="only nodes whose unique_id contains this")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    times = replay(args.build_file, args.target, args.persist, args.select)
    log.info("total: %.2f s CPU over %d statements", sum(times.values()), len(times))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
