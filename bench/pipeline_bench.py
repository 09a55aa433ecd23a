"""Whole-pipeline benchmark from 1 k to 1 M customers: wall time and peak memory per stage.

Each stage runs as its own process, as a user would run it, and is measured
from outside (wall clock; peak resident memory from the kernel's rusage of
that child). Inputs are synthetic exports from `python -m ml.sample_data`
(same seed per size), so the runs are reproducible anywhere.

Stages: generate (sample data), dbt_build (`python -m ml.pipeline warehouse`:
raw load + staging + marts + every test; the raw-load share is read from
dbt's run_results.json), pandas_reference (bench/pandas_reference.py: the
same cleaning, pivoting and filtering in plain pandas), then with --with-ml:
train (`python -m ml.train`: training, SHAP, segments, tests, publish),
score (`python -m ml.score`: batch scoring with the saved model, segments,
publish) and reports (`python -m reports.build`). The steps inside train
and score are timed by the processes themselves (their `stage NAME: S s,
peak M MiB` log lines, ml.model.progress.timed_stage) and listed indented under
them; their memory figure is the process peak so far.

    python bench/pipeline_bench.py --sizes 1000,10000,100000,1000000 [--with-ml]

Writes bench/results/<name>.json, <name>.md and <name>_scaling.html
(--name, default "pipeline"), so runs of different scope do not overwrite
each other.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ml.config import PROJECT_ROOT

log = logging.getLogger("bench.pipeline")

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
PYTHON = sys.executable


@dataclass
class StageResult:
    """One stage at one size."""

    customers: int
    stage: str
    wall_s: float
    peak_rss_mb: float
    ok: bool
    note: str = ""


STAGE_LINE = re.compile(r"stage (\w+): ([\d.]+) s, peak (\d+) MiB")


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, bool, str]:
    """Run *command*; return wall seconds, peak RSS (MiB), success and its stderr."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        errors.seek(0)
        text = errors.read().decode("utf-8", "replace")
    ok = os.waitstatus_to_exitcode(status) == 0
    return wall, usage.ru_maxrss / 1024, ok, text


def inner_stages(customers: int, parent: str, stderr: str) -> list[StageResult]:
    """The steps a process timed itself, as rows indented under *parent*."""
    return [
        StageResult(customers, f"{parent}: {name}", float(seconds), float(peak), True)
        for name, seconds, peak in STAGE_LINE.findall(stderr)
    ]


def staging_seconds(run_results: Path) -> float:
    """Seconds dbt spent building the staging tables (the raw load) in its last run."""
    if not run_results.exists():
        return float("nan")
    results = json.loads(run_results.read_text())["results"]
    return sum(
        r["execution_time"]
        for r in results
        if r["unique_id"].startswith("model.one_click.stg_shop")
    )


def stages_for(workdir: Path, customers: int, with_ml: bool) -> list[tuple[str, list[str]]]:
    raw = workdir / "raw"
    published = workdir / "warehouse" / "one_click.duckdb"
    on_export = ["--raw-dir", str(raw), "--duckdb", str(published)]
    warehouse = [PYTHON, "-m", "ml.pipeline", "warehouse", *on_export]
    generate = ["--customers", str(customers), "--seed", "42", "--out", str(raw)]
    stages = [
        ("generate", [PYTHON, "-m", "ml.sample_data", *generate]),
        ("dbt_build", warehouse),
        ("pandas_reference", [PYTHON, "bench/pandas_reference.py", str(raw)]),
    ]
    if with_ml:
        # The ML steps time the model alone: no report rendering, no progress bar.
        ml_step = [*on_export, "--no-reports", "--no-progress"]
        reports = ["--duckdb", str(published), "--out", str(workdir / "reports")]
        stages += [
            ("train", [PYTHON, "-m", "ml.train", *ml_step]),
            # Publishing consumed the build file: a scoring run starts, as a
            # user's would, from a fresh warehouse build of the (same) export.
            ("dbt_build_for_score", warehouse),
            ("score", [PYTHON, "-m", "ml.score", *ml_step]),
            ("reports", [PYTHON, "-m", "reports.build", *reports]),
        ]
    return stages


def machine() -> dict[str, object]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024**2, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def bench(sizes: list[int], with_ml: bool, keep: bool) -> list[StageResult]:
    results: list[StageResult] = []
    for customers in sizes:
        workdir = Path(tempfile.mkdtemp(prefix=f"bench_{customers}_"))
        env = dict(os.environ)
        env["ONE_CLICK_MODELS_DIR"] = str(workdir / "models")
        env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        try:
            for stage, command in stages_for(workdir, customers, with_ml):
                wall, rss, ok, stderr = run_measured(command, env)
                tail = stderr.strip().splitlines()[-1:] or [""]
                note = "" if ok else tail[0][:200]
                results.append(StageResult(customers, stage, wall, rss, ok, note))
                results.extend(inner_stages(customers, stage, stderr))
                log.info(
                    "%9d %-24s %8.2f s %8.0f MiB %s",
                    customers,
                    stage,
                    wall,
                    rss,
                    "ok" if ok else f"FAILED: {note}",
                )
                if stage == "dbt_build" and ok:
                    raw_load = staging_seconds(
                        PROJECT_ROOT / "data" / "dbt" / "target" / "run_results.json"
                    )
                    results.append(
                        StageResult(
                            customers, "dbt_raw_load (in dbt_build)", raw_load, float("nan"), True
                        )
                    )
                if not ok:
                    break
        finally:
            if not keep:
                shutil.rmtree(workdir, ignore_errors=True)
    return results


def write_results(results: list[StageResult], sizes: list[int], name: str) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    meta = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine()}
    (RESULTS_DIR / f"{name}.json").write_text(
        json.dumps({**meta, "results": [asdict(r) for r in results]}, indent=2, allow_nan=True)
        + "\n"
    )
    stages = list(dict.fromkeys(r.stage for r in results))
    table = {(r.customers, r.stage): r for r in results}
    lines = [
        "# Pipeline benchmark",
        "",
        f"Measured {meta['date']} on {meta['machine']['cpu']}, "
        f"{meta['machine']['cores']} cores, {meta['machine']['memory_gib']} GiB, "
        f"Python {meta['machine']['python']}. Synthetic exports (seed 42). "
        "Each cell: wall seconds / peak RSS MiB of the stage's process.",
        "",
        "| stage | " + " | ".join(f"{n:,}" for n in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for stage in stages:
        cells = []
        for n in sizes:
            r = table.get((n, stage))
            if r is None:
                cells.append("—")
            elif not r.ok:
                cells.append("failed")
            elif math.isnan(r.peak_rss_mb):
                cells.append(f"{r.wall_s:.2f} s")
            else:
                cells.append(f"{r.wall_s:.2f} s / {r.peak_rss_mb:,.0f} MiB")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    ratio = [
        f"{n:,}: {table[(n, 'pandas_reference')].wall_s / table[(n, 'dbt_build')].wall_s:.2f}"
        for n in sizes
        if (n, "pandas_reference") in table and (n, "dbt_build") in table
    ]
    lines += [
        "",
        "pandas reference time / dbt build time (above 1: the warehouse is faster): "
        + ", ".join(ratio),
    ]
    totals = [end_to_end(table, n) for n in sizes]
    if any(totals):
        lines.append(
            f"\nEnd to end ({' + '.join(END_TO_END)}; wall s summed, peak the largest): "
            + ", ".join(f"{n:,}: {t}" for n, t in zip(sizes, totals, strict=True) if t)
        )
    lines.append("")
    (RESULTS_DIR / f"{name}.md").write_text("\n".join(lines))
    write_plot(results, stages, RESULTS_DIR / f"{name}_scaling.html")


# The stages a user runs to go from an export to the reports.
END_TO_END = ("dbt_build", "train", "reports")


def end_to_end(table: dict[tuple[int, str], StageResult], customers: int) -> str:
    """'S s / M MiB' over the END_TO_END stages at one size; '' unless all ran and passed."""
    parts = [table.get((customers, stage)) for stage in END_TO_END]
    if not all(r is not None and r.ok for r in parts):
        return ""
    wall = sum(r.wall_s for r in parts if r)
    peak = max(r.peak_rss_mb for r in parts if r)
    return f"{wall:.1f} s / {peak:,.0f} MiB"


def write_plot(results: list[StageResult], stages: list[str], path: Path) -> None:
    """Log-log time vs customers, one line per stage, drawn with the report chart code."""
    from reports.figures import PALETTE, ChartText, Series, line_chart

    series = []
    for stage in [s for s in stages if ":" not in s and "(" not in s]:  # top-level only
        points = sorted(
            (r.customers, r.wall_s) for r in results if r.stage == stage and r.ok and r.wall_s > 0
        )
        if len(points) >= 2:
            series.append(
                Series(
                    stage,
                    [math.log10(n) for n, _ in points],
                    [math.log10(t) for _, t in points],
                    colour=PALETTE[len(series) % len(PALETTE)],
                    markers=True,
                )
            )
    if not series:
        return
    markup = line_chart(
        "scaling",
        ChartText(
            "Pipeline time vs customers (log-log)",
            "customers (log10)",
            "wall seconds (log10)",
            "Wall time of each stage against the number of customers, both on log10 scales.",
        ),
        series,
        fmt_x=lambda v: f"1e{v:g}",
        fmt_y=lambda v: f"1e{v:g}",
    )
    # A standalone page: the chart's legend is HTML beside the SVG.
    path.write_text(
        "<!doctype html><meta charset='utf-8'><title>Pipeline scaling</title>"
        "<style>body{font-family:sans-serif}.legend{list-style:none;display:flex;gap:1em}"
        "</style>" + str(markup) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000,1000000",
        help="comma-separated numbers of customers (default: 1k to 1M)",
    )
    parser.add_argument(
        "--with-ml",
        action="store_true",
        help="also time ml.train (with segments and publish) and reports.build",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directories")
    parser.add_argument("--name", default="pipeline", help="results file stem under bench/results/")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sizes = [int(s) for s in args.sizes.split(",")]
    results = bench(sizes, args.with_ml, args.keep)
    write_results(results, sizes, args.name)
    log.info("wrote %s", RESULTS_DIR / f"{args.name}.md")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
