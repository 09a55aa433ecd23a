"""The warehouse's results do not change when its SQL is made faster.

A 100 k-customer export is replicated deterministically from the real one
(bench/replicate_export.py, seed 0) and built with `dbt build`; the mart and
the audit must match checksums stored in tests/fixtures/mart_checksums.json,
which were taken from a build by the original (slower) SQL. The audit is
compared without its load time and its `detail` text (whose number format
was changed on purpose).

If a change to the rules is intended, regenerate the stored values with
`python -m tests.test_warehouse_mart_checksum BUILD.duckdb` and say why in
the commit.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ml.config import PROJECT_ROOT

from .conftest import build_from

pytestmark = pytest.mark.slow

CHECKSUMS = PROJECT_ROOT / "tests" / "fixtures" / "mart_checksums.json"
N_CUSTOMERS = 100_000
QUERIES = {
    "customer_features": "select * from marts.customer_features order by customer_id",
    "customer_audit": (
        "select * exclude (audited_at, detail) from marts.customer_audit"
        " order by customer_id, reason, period, source_line"
    ),
}


def checksums(build_duckdb: Path) -> dict[str, dict[str, object]]:
    """Row count and SHA-256 of every row's repr, per table, in a stable order."""
    out: dict[str, dict[str, object]] = {}
    with duckdb.connect(str(build_duckdb), read_only=True) as con:
        for name, query in QUERIES.items():
            digest = hashlib.sha256()
            n_rows = 0
            result = con.execute(query)
            while rows := result.fetchmany(10_000):
                for row in rows:
                    digest.update(repr(row).encode())
                    n_rows += 1
            out[name] = {"rows": n_rows, "sha256": digest.hexdigest()}
    return out


def test_mart_and_audit_match_the_stored_checksums(real_raw_dir, tmp_path):
    raw = tmp_path / "replicated"
    subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "replicate_export.py"), str(real_raw_dir),
         str(raw), "--customers", str(N_CUSTOMERS), "--seed", "0"],
        check=True, capture_output=True,
    )  # fmt: skip
    build = build_from(raw, tmp_path / "work")

    assert checksums(build) == json.loads(CHECKSUMS.read_text())


if __name__ == "__main__":
    CHECKSUMS.write_text(json.dumps(checksums(Path(sys.argv[1])), indent=2) + "\n")
