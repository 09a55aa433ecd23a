"""Are two trained warehouses' ML results and segment tables the same, row for row?

Compares the tables built from the ML output (segments, drivers, offers) and
the ML tables themselves between two warehouse files, typically the same
export trained with the same seed before and after a change: every column
both files have except run ids and run times (which differ by design), as
multisets of rows (``except all`` both ways). Prints one line per table
and exits 1 if any differs.

    python bench/ml_train_compare.py BEFORE.duckdb AFTER.duckdb
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

# Tables of one run: their rows must not depend on the run's id or clock.
TABLES = (
    "ml.predictions",
    "ml.shap_values",
    "ml.feature_importance",
    "intermediate.int_predictions_filtered_to_latest_run",
    "intermediate.int_risk_drivers_ranked",
    "segments.customer_segments",
    "segments.customer_recommendations",
    "segments.segment_summary",
    "segments.segment_feature_profile",
    "segments.key_segment_profile",
)
RUN_SPECIFIC = {"run_id"}


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [database, schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def compare(before: Path, after: Path) -> dict[str, tuple[int, int, int, int]]:
    """Per table: (rows before, rows after, rows only before, rows only after)."""
    result = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{before}' as b (read_only)")
        con.execute(f"attach '{after}' as a (read_only)")
        for table in TABLES:
            shared = [
                c
                for c in _columns(con, "b", table)
                if c in set(_columns(con, "a", table)) and c not in RUN_SPECIFIC
            ]
            cols = ", ".join(f'"{c}"' for c in shared)
            b, a = f"b.{table}", f"a.{table}"
            counts = con.execute(
                f"select (select count(*) from {b}), (select count(*) from {a}), "
                f"(select count(*) from (select {cols} from {b} except all select {cols} from {a})), "
                f"(select count(*) from (select {cols} from {a} except all select {cols} from {b}))"
            ).fetchone()
            assert counts is not None
            result[table] = (int(counts[0]), int(counts[1]), int(counts[2]), int(counts[3]))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="warehouse file before the change")
    parser.add_argument("after", type=Path, help="warehouse file after the change")
    args = parser.parse_args(argv)
    differ = False
    for table, (n_before, n_after, only_before, only_after) in compare(
        args.before, args.after
    ).items():
        same = n_before == n_after and only_before == only_after == 0
        differ |= not same
        sys.stdout.write(
            f"{'same' if same else 'DIFFERS'}  {table}: {n_before} / {n_after} rows, "
            f"{only_before} only before, {only_after} only after\n"
        )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
