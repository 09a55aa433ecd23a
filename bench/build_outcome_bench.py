"""What recording the build outcome costs a passing `dbt build` (the on-run-start and
on-run-end hooks of dbt_project/macros/build_outcome.sql: SHA-256 of the export,
every node's status; no stored failures are read on a pass).

Runs plain `dbt build` alternately from this project and from a copy of a
reference commit without the hooks, on the same synthetic export, and writes
bench/results/build_outcome.md with the machine, the date, each run's wall time
and the hooks' own times from dbt's log.

    python bench/build_outcome_bench.py --raw-dir DIR [--reference fd8b8b2] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT_ROOT / "bench" / "results" / "build_outcome.md"
DBT = str(Path(sys.executable).with_name("dbt"))
_HOOK = re.compile(r"OK hook: one_click\.(on-run-\w+)\.(\d+) .*?in ([\d.]+)s")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _reference_copy(commit: str, workdir: Path) -> Path:
    """The project as of *commit*, extracted beside the run (no hooks recording outcomes)."""
    target = workdir / "reference"
    target.mkdir()
    archive = subprocess.run(
        ["git", "archive", commit], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def _build(project: Path, raw: Path, workdir: Path, label: str) -> tuple[float, dict[str, float]]:
    env = dict(os.environ)
    env.update(
        ONE_CLICK_RAW_DIR=str(raw),
        ONE_CLICK_DUCKDB=str(workdir / label / "one_click.duckdb"),
        DBT_TARGET_PATH=str(workdir / label / "target"),
        DBT_LOG_PATH=str(workdir / label / "logs"),
        # the reference copy must import its own code, this project its own
        PYTHONPATH=str(project),
    )
    (workdir / label / "build").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    done = subprocess.run(
        [DBT, "build"], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"dbt build failed in {project}:\n{done.stdout[-3000:]}")
    hooks = {f"{m[1]}.{m[2]}": float(m[3]) for m in _HOOK.finditer(_ANSI.sub("", done.stdout))}
    return wall, hooks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-dir", type=Path, required=True, help="the export to build")
    parser.add_argument(
        "--reference", default="fd8b8b2", help="commit without the outcome hooks (default fd8b8b2)"
    )
    parser.add_argument("--runs", type=int, default=2, help="builds per project (default 2)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="build_outcome_bench_"))
    reference = _reference_copy(args.reference, workdir)
    rows, walls = [], {"reference": [], "this": []}
    hook_times: dict[str, list[float]] = {}
    for run in range(args.runs):
        for label, project in (("reference", reference), ("this", PROJECT_ROOT)):
            wall, hooks = _build(project, args.raw_dir.resolve(), workdir, label)
            walls[label].append(wall)
            if label == "this":
                for name, seconds in hooks.items():
                    hook_times.setdefault(name, []).append(seconds)
            rows.append(
                f"| {run + 1} | {label} | {wall:.1f} | "
                + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(hooks.items()))
                + " |"
            )

    size_mb = sum(p.stat().st_size for p in args.raw_dir.glob("*.csv")) / 2**20
    ratio = statistics.median(walls["this"]) / statistics.median(walls["reference"])
    text = "\n".join(
        [
            "# Cost of recording the build outcome (passing `dbt build`)",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {os.cpu_count()} CPUs (`nproc` {os.cpu_count()}), {_cpu_model()}; "
            "shared with other work while measured, so wall times carry noise",
            f"- export: {args.raw_dir.name}, {size_mb:.0f} MB of CSV",
            f"- reference: commit {args.reference} (same models, no outcome hooks)",
            "",
            "| run | project | wall s | hooks |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
            f"Median wall time, this / reference: {ratio:.3f} "
            f"({statistics.median(walls['this']):.1f} s / "
            f"{statistics.median(walls['reference']):.1f} s).",
            "Hook times (median): "
            + ", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in sorted(hook_times.items()))
            + ".",
            "",
        ]
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
