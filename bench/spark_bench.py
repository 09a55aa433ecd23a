"""DuckDB against Spark on the same export: `dbt build` and `ml.score`, timed end to end.

    python bench/spark_bench.py                     # real export replicated to 100 k
    python bench/spark_bench.py --customers 20000

The real export (../shared/data/raw) is replicated to --customers with
bench/replicate_export.py. A model is trained once on the real export's own
DuckDB build (training stays on one machine, on a sample), then both engines
run the data team's commands as subprocesses, each timed as a whole:

    DuckDB  dbt build                  python -m ml.score --no-publish
    Spark   dbt build --target spark   python -m ml.score --engine spark

Spark runs in session mode (`local[*]`, one machine), so the figures compare
the engines where DuckDB is at home; the Spark path is for data that lives
on a cluster. Results go to bench/results/spark.md with the machine, date,
load and the ratios Spark / DuckDB measured in the same run. Generated data
stays under data/bench/spark/ (gitignored).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from replicate_export import replicate  # noqa: E402

log = logging.getLogger("bench.spark")

REAL_RAW_DIR = ROOT.parent / "shared" / "data" / "raw"
WORK_DIR = ROOT / "data" / "bench" / "spark"
RESULTS = ROOT / "bench" / "results" / "spark.md"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def timed(label: str, command: list[str], env: dict[str, str]) -> float:
    """Run *command* from the project root; its wall time in seconds (fails loudly)."""
    log.info("%s: %s", label, " ".join(command))
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"{label} failed (exit {result.returncode})")
    log.info("%s: %.1f s", label, elapsed)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000, help="export size (100 000)")
    parser.add_argument("--raw-dir", type=Path, default=REAL_RAW_DIR, help="the real export")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (Markdown)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    python = sys.executable
    dbt = str(Path(python).parent / "dbt")
    work = WORK_DIR / f"n{args.customers}"
    shutil.rmtree(work, ignore_errors=True)
    raw = work / "raw"
    replicate(args.raw_dir, raw, args.customers)
    base = {**os.environ, "PYTHONPATH": str(ROOT), "DBT_LOG_PATH": str(work / "dbt_logs")}

    # The model: trained on the real export, on one machine.
    sample_env = {
        **base,
        "ONE_CLICK_RAW_DIR": str(args.raw_dir),
        "ONE_CLICK_DUCKDB": str(work / "sample" / "warehouse.duckdb"),
        "ONE_CLICK_MODELS_DIR": str(work / "models"),
        "DBT_TARGET_PATH": str(work / "dbt_target_sample"),
    }
    timed("sample dbt build", [dbt, "build"], sample_env)
    timed(
        "train on the sample",
        [
            python,
            "-m",
            "ml.train",
            "--no-publish",
            "--no-progress",
            "--families",
            "random_forest",
            "--search-size",
            "4",
            "--cv-repeats",
            "1",
        ],
        sample_env,
    )

    duck_env = {
        **base,
        "ONE_CLICK_RAW_DIR": str(raw),
        "ONE_CLICK_DUCKDB": str(work / "duckdb" / "warehouse.duckdb"),
        "ONE_CLICK_MODELS_DIR": str(work / "models"),
        "DBT_TARGET_PATH": str(work / "dbt_target_duckdb"),
    }
    spark_env = {
        **duck_env,
        "ONE_CLICK_SPARK_DIR": str(work / "spark"),
        "DBT_TARGET_PATH": str(work / "dbt_target_spark"),
    }
    load_before = os.getloadavg()[0]
    no_shap = ["--no-shap", "--no-progress"]
    times = {
        ("DuckDB", "dbt build"): timed("duckdb dbt build", [dbt, "build"], duck_env),
        ("DuckDB", "ml.score --no-shap"): timed(
            "duckdb ml.score",
            [python, "-m", "ml.score", "--no-publish", *no_shap],
            duck_env,
        ),
        ("Spark", "dbt build"): timed(
            "spark dbt build", [dbt, "build", "--target", "spark"], spark_env
        ),
        ("Spark", "ml.score --no-shap"): timed(
            "spark ml.score",
            [python, "-m", "ml.score", "--engine", "spark", *no_shap],
            spark_env,
        ),
        # DuckDB scoring leaves out SHAP above the large-N cost limit
        # (ml.config); Spark explains every customer, partition by partition.
        ("Spark", "ml.score with exact SHAP"): timed(
            "spark ml.score with SHAP",
            [python, "-m", "ml.score", "--engine", "spark", "--no-progress"],
            spark_env,
        ),
    }
    load_after = os.getloadavg()[0]

    lines = [
        "# DuckDB vs Spark: the same dbt project and scoring on one export",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: `nproc` {os.cpu_count()}, {_cpu_model()}, Python {platform.python_version()}",
        f"- load average (1 min) before / after the timed runs: {load_before:.1f} / "
        f"{load_after:.1f} (the machine is shared: absolute times vary, ratios less so)",
        f"- input: the real export replicated to {args.customers:,} customers "
        "(bench/replicate_export.py); model trained on the real export (one machine)",
        "- Spark: session mode, `local[*]`, one JVM on this machine; DuckDB: defaults",
        "- each step a whole subprocess, start-up included (Spark's JVM, dbt's parse)",
        "",
        "| step | DuckDB (s) | Spark (s) | Spark / DuckDB |",
        "| --- | ---: | ---: | ---: |",
    ]
    for step in ("dbt build", "ml.score --no-shap"):
        duck, spark = times[("DuckDB", step)], times[("Spark", step)]
        lines.append(f"| {step} | {duck:.1f} | {spark:.1f} | {spark / duck:.1f} |")
    shap_s = times[("Spark", "ml.score with exact SHAP")]
    lines.append(
        f"| ml.score with exact SHAP | not computed (above the large-N cost limit) "
        f"| {shap_s:.1f} | |"
    )
    lines.append("")
    lines.append(
        f"Command: `python bench/spark_bench.py --customers {args.customers}`. "
        "On one machine DuckDB is the faster engine; Spark's case is data that "
        "already lives on a cluster, where the same SQL and scoring run unchanged."
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
