"""Benchmark of `python -m ml.train` on the real export: wall time, peak memory, quality.

Builds the warehouse from the export with dbt into a scratch directory, then
runs the training command line RUNS times under `/usr/bin/time -v` (fresh
process each time, as a user would; wall and CPU time, since the machine may
be shared), reads the figures back from `ml.model_runs`, checks that every
run produced identical predictions, SHAP values and base values (same seed
and data), and measures the largest additivity gap
|base_value + Σ SHAP − p_decline| over every customer. Prints a Markdown
table for bench/results/ml_train.md.

    python bench/ml_train.py [--raw-dir ../shared/data/raw] [--runs 2] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ml.config import PROJECT_ROOT, resolve_paths
from ml.ops.dbt_runner import build_warehouse

log = logging.getLogger("bench.ml_train")

METRICS = (
    "model_family",
    "ensemble_members",
    "n_configs_tried",
    "cv_roc_auc_mean",
    "cv_roc_auc_std",
    "nested_cv_roc_auc_mean",
    "nested_cv_roc_auc_std",
    "holdout_roc_auc",
    "oof_roc_auc",
    "brier",
    "threshold",
    "shap_method",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--raw-dir",
        type=Path,
        default=PROJECT_ROOT.parent / "shared" / "data" / "raw",
        help="the export's four CSV files (default: ../shared/data/raw)",
    )
    parser.add_argument("--runs", type=int, default=2, help="training runs to time (default 2)")
    parser.add_argument(
        "--workdir", type=Path, help="scratch directory (default: a new temporary one)"
    )
    parser.add_argument(
        "train_args", nargs="*", help="extra ml.train options, after `--` (e.g. -- --search-size 4)"
    )
    return parser


def _time_training(warehouse: Path, models: Path, extra: list[str]) -> dict[str, float]:
    command = [
        "/usr/bin/time", "-v", sys.executable, "-m", "ml.train",
        "--duckdb", str(warehouse), "--models-dir", str(models), "--no-progress", *extra,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ml.train failed:\n{done.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    user = re.search(r"User time \(seconds\): ([\d.]+)", done.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", done.stderr)
    assert wall and rss and user and system, "unexpected /usr/bin/time output"
    hours, minutes, seconds = int(wall[1] or 0), int(wall[2]), float(wall[3])
    return {
        "wall_s": hours * 3600 + minutes * 60 + seconds,
        "cpu_s": float(user[1]) + float(system[1]),
        "peak_rss_mb": int(rss[1]) / 1024,
        "load_1m": os.getloadavg()[0],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    """Build, train RUNS times, print the figures; exit 1 if runs disagree."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ml_train_bench_"))
    paths = resolve_paths(raw_dir=args.raw_dir, duckdb=workdir / "one_click.duckdb")
    paths.build_duckdb.parent.mkdir(parents=True, exist_ok=True)
    timings = []
    for run in range(args.runs):
        # ml.train publishes the build file (moves it), so every run gets a fresh
        # dbt build, untimed; earlier runs' ml.* rows are carried into the new file.
        build_warehouse(paths)
        timing = _time_training(paths.duckdb, workdir / "models", args.train_args)
        log.info("run %d: %.1f s, %.0f MB", run + 1, timing["wall_s"], timing["peak_rss_mb"])
        timings.append(timing)
    with duckdb.connect(str(paths.duckdb), read_only=True) as con:
        runs = con.execute(
            f"select run_id, {', '.join(METRICS)} from ml.model_runs "
            "where run_kind = 'train' order by started_at"
        ).fetchall()[-len(timings) :]
        run_ids = [[row[0] for row in runs]]
        distinct = con.execute(
            "select count(distinct s) from (select string_agg(p_decline::varchar || '/' || "
            "base_value::varchar, ',' order by customer_id) as s from ml.predictions "
            "where run_id in (select unnest(?)) group by run_id)",
            run_ids,
        ).fetchone()[0]
        distinct_shap = con.execute(
            "select count(distinct s) from (select string_agg(shap_value::varchar, ',' "
            "order by customer_id, feature) as s from ml.shap_values "
            "where run_id in (select unnest(?)) group by run_id)",
            run_ids,
        ).fetchone()[0]
        (gap,) = con.execute(
            "select max(abs(p.base_value + s.total - p.p_decline)) from ml.predictions p "
            "join (select run_id, customer_id, sum(shap_value) as total from ml.shap_values "
            "group by all) s using (run_id, customer_id) where p.run_id in (select unnest(?))",
            run_ids,
        ).fetchone()
    load = os.getloadavg()
    print(f"\nMachine: {platform.node()}, nproc {os.cpu_count()}, {_cpu_model()}, Python "
          f"{platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
          f"load average now {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}\n")  # fmt: skip
    print("| run | wall s | CPU s | load (1 min) | peak RSS MB | " + " | ".join(METRICS) + " |")
    print("|---" * (5 + len(METRICS)) + "|")
    for i, (row, timing) in enumerate(zip(runs, timings, strict=True), start=1):
        values = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row[1:]]
        print(
            f"| {i} | {timing['wall_s']:.1f} | {timing['cpu_s']:.1f} | {timing['load_1m']:.1f} | "
            f"{timing['peak_rss_mb']:.0f} | " + " | ".join(values) + " |"
        )
    same = distinct == 1 and distinct_shap == 1
    print(f"\nIdentical predictions, base values and SHAP values across runs: "
          f"{'yes' if same else 'NO'}")  # fmt: skip
    print(f"Largest |base_value + sum(SHAP) - p_decline| over every customer: {gap:.3g}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
