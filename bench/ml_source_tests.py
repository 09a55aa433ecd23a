"""What the `ml` source's data tests cost at scale, newest run only against every kept run.

The per-customer tables (ml.predictions, ml.shap_values) keep a row per
customer (and per feature) for every run, and their tests read only the newest
run (`where: run_id = __newest_run__`, macros/generic_tests/where_subquery.sql).
This fills a scratch warehouse with --customers customers x --features
features x --runs kept runs (the writer's own tables, rows made in SQL), then
runs `dbt test --select source:ml` alternately as configured and with
`--vars '{ml_tests_every_run: true}'` (every kept run: the reference), and
writes bench/results/ml_source_tests.md with the machine, the date, each run's
wall time and peak memory, and the slowest tests.

    python bench/ml_source_tests.py --raw-dir ../shared/data/raw [--customers 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from ml.contracts.features import mart_columns  # noqa: E402
from ml.io.writer import create_tables  # noqa: E402

RESULTS = PROJECT_ROOT / "bench" / "results" / "ml_source_tests.md"
DBT = str(Path(sys.executable).with_name("dbt"))
MODES = {"newest run": (), "every run (reference)": ("--vars", "{ml_tests_every_run: true}")}


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def run_ids(n_runs: int) -> list[str]:
    """Sortable run ids, oldest first, in the format of ml/contracts/run_ids.py."""
    return [f"202611{day:02d}T000000Z-bench" for day in range(1, n_runs + 1)]


def fill_warehouse(path: Path, n_customers: int, features: list[str], n_runs: int) -> None:
    """The writer's ml tables holding *n_runs* runs of *n_customers* customers, valid rows."""
    with duckdb.connect(str(path)) as con:
        create_tables(con)
        con.execute("create temp table runs (run_id varchar)")
        con.executemany("insert into runs values (?)", [[r] for r in run_ids(n_runs)])
        con.execute("create temp table features (feature varchar)")
        con.executemany("insert into features values (?)", [[f] for f in features])
        con.execute(
            "insert into ml.model_runs by name select run_id, 'train' as run_kind,"
            " current_timestamp as started_at, ? as n_customers, 0.5 as threshold from runs",
            [n_customers],
        )
        con.execute(
            "insert into ml.predictions by name select runs.run_id, range as customer_id,"
            " (range % 1000) / 1000.0 as p_decline, range % 1000 >= 500 as predicted_decline,"
            " 'oof' as p_source, 0.5 as base_value from runs cross join range(?)",
            [n_customers],
        )
        con.execute(
            "insert into ml.shap_values by name select runs.run_id, range as customer_id,"
            " features.feature, cast(range % 97 as varchar) as feature_value,"
            " range % 97 as feature_value_num, ((range % 1000) / 1000.0 - 0.5) / ? as shap_value"
            " from runs cross join range(?) cross join features",
            [len(features), n_customers],
        )


def run_tests(raw_dir: Path, warehouse: Path, workdir: Path, extra: tuple[str, ...]) -> dict:
    """One `dbt test --select source:ml`: wall time, peak RSS and every test's own time."""
    env = dict(os.environ)
    env.update(
        ONE_CLICK_RAW_DIR=str(raw_dir),
        ONE_CLICK_BUILD_DUCKDB=str(warehouse),
        ONE_CLICK_DUCKDB=str(workdir / "published.duckdb"),
        DBT_TARGET_PATH=str(workdir / "target"),
        DBT_LOG_PATH=str(workdir / "logs"),
        PYTHONPATH=str(PROJECT_ROOT),
    )
    command = [DBT, "test", "--select", "source:ml", *extra]
    start = time.perf_counter()
    with open(workdir / "dbt.log", "w") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        tail = (workdir / "dbt.log").read_text().splitlines()[-30:]
        raise SystemExit("dbt test failed:\n" + "\n".join(tail))
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    nodes = {r["unique_id"].split(".")[2]: r["execution_time"] for r in results}
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "nodes": nodes}


def _report(args: argparse.Namespace, runs: dict[str, list[dict]], n_features: int) -> str:
    medians = {mode: statistics.median(r["seconds"] for r in rs) for mode, rs in runs.items()}
    newest, every = (medians[m] for m in MODES)
    lines = [
        "# The `ml` source's data tests: newest run only vs every kept run",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores "
        f"(`nproc`), {_cpu_model()}; shared with other jobs, so absolute times vary",
        f"- data: {args.customers:,} customers x {n_features} features x {args.runs} kept runs "
        f"({args.customers * n_features * args.runs:,} ml.shap_values rows)",
        "- command: `dbt test --select source:ml` (whole process: parse, hooks, 18 tests), "
        f"alternating, {args.repeats} run(s) each; `python bench/ml_source_tests.py`",
        "",
        "| mode | wall s (each run) | median s | the tests' own s (each run) | peak RSS MiB |",
        "|---|---|---|---|---|",
    ]
    for mode, rs in runs.items():
        times = ", ".join(f"{r['seconds']:.1f}" for r in rs)
        own = ", ".join(f"{sum(r['nodes'].values()):.1f}" for r in rs)
        peak = max(r["peak_mib"] for r in rs)
        lines.append(f"| {mode} | {times} | {medians[mode]:.1f} | {own} | {peak:.0f} |")
    lines += [
        "",
        f"Newest run only takes {newest / every:.2f} x the time of every kept run "
        f"({newest:.1f} s against {every:.1f} s, medians).",
        "",
        "Slowest tests (seconds, last run of each mode):",
        "",
        "| test | " + " | ".join(MODES) + " |",
        "|---|" + "---|" * len(MODES),
    ]
    last = {mode: rs[-1]["nodes"] for mode, rs in runs.items()}
    slowest = sorted(last["every run (reference)"].items(), key=lambda kv: -kv[1])[:6]
    for node, _ in slowest:
        lines.append(f"| {node} | " + " | ".join(f"{last[m][node]:.2f}" for m in MODES) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--raw-dir", type=Path, required=True, help="an export (dbt's hooks check it)"
    )
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers per run")
    parser.add_argument("--runs", type=int, default=3, help="kept runs in the ml tables")
    parser.add_argument("--repeats", type=int, default=2, help="dbt test runs per mode")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report goes")
    args = parser.parse_args(argv)
    features = list(mart_columns().features)
    workdir = Path(tempfile.mkdtemp(prefix="ml_source_tests_"))
    try:
        warehouse = workdir / "build" / "one_click.duckdb"
        warehouse.parent.mkdir()
        fill_warehouse(warehouse, args.customers, features, args.runs)
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for _ in range(args.repeats):
            for mode, extra in MODES.items():
                runs[mode].append(run_tests(args.raw_dir.resolve(), warehouse, workdir, extra))
                print(f"{mode}: {runs[mode][-1]['seconds']:.1f} s", flush=True)
        args.out.write_text(_report(args, runs, len(features)), encoding="utf-8")
        print(f"wrote {args.out}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
