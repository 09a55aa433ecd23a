"""Are two trained warehouses' ML results and segment tables the same, row for row?

Compares the tables built from the ML output (segments, drivers, offers) and
the ML tables themselves between two warehouse files, typically the same
export trained with the same seed before and after a change: every column
both files have except run ids and run times (which differ by design), as
multisets of rows (``except all`` both ways). A table that differs is
compared again with its doubles rounded to 8 significant digits: DuckDB's
parallel sums and means differ in their last bits from run to run, so
"same to 1e-7" there is the expected outcome of an unchanged model. Prints
one line per table and exits 1 if any differs beyond that.

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


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of *table* in the attached *database*."""
    described = con.execute(f"select * from {database}.{table} limit 0").description
    return {column[0]: str(column[1]) for column in described}


def _counts(con: duckdb.DuckDBPyConnection, table: str, cols: str) -> tuple[int, ...]:
    b, a = f"b.{table}", f"a.{table}"
    counts = con.execute(
        f"select (select count(*) from {b}), (select count(*) from {a}), "
        f"(select count(*) from (select {cols} from {b} except all select {cols} from {a})), "
        f"(select count(*) from (select {cols} from {a} except all select {cols} from {b}))"
    ).fetchone()
    assert counts is not None
    return tuple(int(n) for n in counts)


def compare(before: Path, after: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Per table: its verdict (same, same to 1e-7, DIFFERS) and (rows before, rows after,
    rows only before, rows only after)."""
    result = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{before}' as b (read_only)")
        con.execute(f"attach '{after}' as a (read_only)")
        for table in TABLES:
            after_columns = _columns(con, "a", table)
            shared = {
                c: kind
                for c, kind in _columns(con, "b", table).items()
                if c in after_columns and c not in RUN_SPECIFIC
            }
            counts = _counts(con, table, ", ".join(f'"{c}"' for c in shared))
            verdict = "same"
            if counts[2] or counts[3]:
                rounded = ", ".join(
                    f"printf('%.7e', \"{c}\")" if kind == "DOUBLE" else f'"{c}"'
                    for c, kind in shared.items()
                )
                counts = _counts(con, table, rounded)
                verdict = "same to 1e-7" if not (counts[2] or counts[3]) else "DIFFERS"
            if counts[0] != counts[1]:
                verdict = "DIFFERS"
            result[table] = (verdict, counts)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="warehouse file before the change")
    parser.add_argument("after", type=Path, help="warehouse file after the change")
    args = parser.parse_args(argv)
    differ = False
    for table, (verdict, counts) in compare(args.before, args.after).items():
        n_before, n_after, only_before, only_after = counts
        differ |= verdict == "DIFFERS"
        sys.stdout.write(
            f"{verdict}  {table}: {n_before} / {n_after} rows, "
            f"{only_before} only before, {only_after} only after\n"
        )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
