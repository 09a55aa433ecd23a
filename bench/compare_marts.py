"""Compare the mart and the audit of two warehouse builds row by row.

A speed change must not change what the warehouse says. This attaches two
build files (e.g. one built from the original branch, one from this one, on
the same export) and counts the rows of `marts.customer_features` and
`marts.customer_audit` that are in one and not the other (`except all`, both
ways, so repeated rows count). The audit's load time (`audited_at`) always
differs and is left out; `--ignore-column` leaves out others (e.g. `detail`
when its number format changed on purpose).

    python bench/compare_marts.py before.duckdb after.duckdb [--ignore-column detail]

Exit 0 when both tables are identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import duckdb

log = logging.getLogger("bench.compare_marts")

TABLES = ("marts.customer_features", "marts.customer_audit")
ALWAYS_IGNORED = ("audited_at",)


def _columns(con: duckdb.DuckDBPyConnection, alias: str, table: str) -> list[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name from duckdb_columns() where database_name = ? "
        "and schema_name = ? and table_name = ? order by column_index",
        [alias, schema, name],
    ).fetchall()
    return [row[0] for row in rows]


def differences(before: Path, after: Path, ignored: tuple[str, ...] = ()) -> dict[str, dict]:
    """Per table: rows only before, rows only after, row counts and the compared columns."""
    con = duckdb.connect()
    con.execute(f"attach '{before}' as before_db (read_only)")
    con.execute(f"attach '{after}' as after_db (read_only)")
    out = {}
    for table in TABLES:
        skip = set(ALWAYS_IGNORED) | set(ignored)
        columns = [c for c in _columns(con, "before_db", table) if c not in skip]
        after_columns = [c for c in _columns(con, "after_db", table) if c not in skip]
        if columns != after_columns:
            out[table] = {"columns_before": columns, "columns_after": after_columns}
            continue
        listed = ", ".join(f'"{c}"' for c in columns)

        def count(query: str) -> int:
            return con.execute(f"select count(*) from ({query})").fetchone()[0]

        a = f"select {listed} from before_db.{table}"
        b = f"select {listed} from after_db.{table}"
        out[table] = {
            "rows_before": count(a),
            "rows_after": count(b),
            "only_before": count(f"{a} except all {b}"),
            "only_after": count(f"{b} except all {a}"),
            "columns": columns,
        }
    return out


def identical(result: dict[str, dict]) -> bool:
    """True when every table has the same columns and the same rows."""
    return all(
        "only_before" in table and table["only_before"] == 0 and table["only_after"] == 0
        for table in result.values()
    )


def main(argv: list[str] | None = None) -> int:
    """Compare two builds and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="build file made before the change")
    parser.add_argument("after", type=Path, help="build file made after the change")
    parser.add_argument(
        "--ignore-column", action="append", default=[], help="a column to leave out (repeatable)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = differences(args.before, args.after, tuple(args.ignore_column))
    for table, counts in result.items():
        log.info("%s: %s", table, {k: v for k, v in counts.items() if k != "columns"})
    same = identical(result)
    log.info("identical" if same else "DIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
