"""The command line the two warehouse references share (pandas_reference, duckdb_reference).

Both take the same arguments and log the same way, so bench/warehouse_bench.py
and a person at the shell call them alike.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def reference_args(doc: str, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``RAW_DIR [--out mart.parquet]`` (the description is *doc*'s first line)
    and log INFO messages bare to stderr."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("raw_dir", type=Path, help="directory with the four export CSVs")
    parser.add_argument("--out", type=Path, help="write the mart to this parquet file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return args
