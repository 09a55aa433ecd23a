"""Warehouse benchmark: plain `dbt build` against pandas and one DuckDB statement, same files.

For each export directory given (e.g. the real export replicated to 1 M and
10 M customers by bench/replicate_export.py), three whole processes run one
after another on the same files:

* `dbt build` as the data team runs it (every model and test), after an
  untimed `dbt parse` so dbt's partial parsing is warm, as on any second run;
* bench/pandas_reference.py (the same cleaning in pandas, no tests);
* bench/duckdb_reference.py (the same cleaning as one DuckDB statement).

Two more steps measure the least time any `dbt build` of this project can
take here (`--tools ...,dbt_startup,sql_replay`):

* `dbt_startup`: `dbt build` selecting no node, parse warm: importing dbt,
  loading the parsed project and writing its artifacts, which every build
  pays before and after its nodes, on one core;
* `sql_replay`: the CPU time of the build's own SQL (every model and data
  test of that round's `dbt build`, tables written to the file) replayed
  without dbt by bench/warehouse_sql_replay.py.

Their sum, startup wall + SQL CPU / cores, is the build's floor: it
assumes every core busy with SQL from the first node to the last and no
per-node cost in dbt, so no schedule and no dbt setting can beat it. The
hooks' work (export checks, checksums) is left out, which only lowers it.

Each is measured from outside: wall clock, and peak resident memory from the
kernel's rusage of that child (`os.wait4`). dbt's per-node times come from its
run_results.json. Results go to bench/results/warehouse_<label>.json and .md
with the machine, the date and the ratios to the references.

    python bench/warehouse_bench.py data/bench/raw_1m data/bench/raw_10m --label after
    python bench/warehouse_bench.py data/bench/raw_1m data/bench/raw_10m \
        --label before_after --before-project-dir data/bench/orig

`--before-project-dir` also times `dbt build` from another checkout of the
project (e.g. `git archive` of the original branch into data/bench/orig), in
the same run on the same files, so before and after share the machine's
conditions; `--project-dir` runs the main build from another checkout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("bench.warehouse")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
PYTHON = sys.executable
DBT = str(Path(sys.executable).with_name("dbt"))
TOOLS = (
    "dbt_build",
    "dbt_build_before",
    "pandas",
    "duckdb_reference",
    "dbt_startup",
    "sql_replay",
)
# `dbt build --select` this: a name no node has, so dbt starts, loads the
# parsed project, writes its artifacts and stops ("Nothing to do").
NO_NODE = "no_node_is_named_this"


def run_measured(
    command: list[str], cwd: Path, env: dict[str, str], keep_output: bool = False
) -> dict[str, object]:
    """Run *command* as a child; its wall and CPU seconds, peak RSS (MiB), success and output tail.

    The tail of the output is kept when the command fails, or always with
    *keep_output*.

    CPU time (user + system of the child) is the steadier figure on a shared
    machine: other jobs stretch the wall time, much less the work done.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    ok = os.waitstatus_to_exitcode(status) == 0
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "ok": ok,
        "tail": text[-2000:] if keep_output or not ok else "",
    }


def machine() -> dict[str, object]:
    """The machine the figures were taken on."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_avg_at_start": [round(x, 2) for x in load],
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    }


def node_times(run_results: Path) -> dict[str, float]:
    """Seconds per dbt node (models and tests) of the last run."""
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return {}
    return {
        result["unique_id"].split(".")[-1]
        if result["unique_id"].startswith("model.")
        else result["unique_id"].split(".")[2]: round(result["execution_time"], 2)
        for result in results
    }


def _dbt_env(project_dir: Path, work: Path, raw_dir: Path) -> dict[str, str]:
    """dbt's environment for a build from *project_dir* into a fresh build file under *work*."""
    env = dict(os.environ)
    env.update(
        ONE_CLICK_RAW_DIR=str(raw_dir),
        ONE_CLICK_DUCKDB=str(work / "warehouse" / "one_click.duckdb"),
        DBT_TARGET_PATH=str(work / "target"),
        DBT_LOG_PATH=str(work / "logs"),
        PYTHONPATH=str(project_dir),
    )
    return env


def _dbt_build(
    project_dir: Path, work: Path, raw_dir: Path, replay: bool = False
) -> tuple[dict[str, object], dict[str, object] | None]:
    """`dbt build` from *project_dir* into a fresh build file under *work*, parse warm;
    with *replay*, also its SQL replayed without dbt (see `_sql_replay`)."""
    env = _dbt_env(project_dir, work, raw_dir)
    (work / "warehouse" / "build").mkdir(parents=True)
    run_measured([DBT, "parse"], project_dir, env)
    result = run_measured([DBT, "build"], project_dir, env)
    result["nodes_s"] = node_times(work / "target" / "run_results.json")
    replayed = None
    if replay and result["ok"]:
        replayed = _sql_replay(work / "warehouse" / "build" / "one_click.duckdb", work / "target")
    return result, replayed


def _dbt_startup(project_dir: Path, work: Path, raw_dir: Path) -> dict[str, object]:
    """`dbt build` selecting no node, parse warm: what every build pays besides its nodes."""
    env = _dbt_env(project_dir, work, raw_dir)
    (work / "warehouse" / "build").mkdir(parents=True)
    run_measured([DBT, "parse"], project_dir, env)
    return run_measured([DBT, "build", "--select", NO_NODE], project_dir, env)


def _sql_replay(build_file: Path, target: Path) -> dict[str, object]:
    """The CPU seconds of a finished build's SQL replayed without dbt, tables written.

    The process's own figures include copying the build file and starting
    Python; `cpu_s` is the statements' sum that bench/warehouse_sql_replay.py
    prints.
    """
    command = [
        PYTHON, str(PROJECT_ROOT / "bench" / "warehouse_sql_replay.py"),
        "--persist", str(build_file), str(target),
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    result = run_measured(command, PROJECT_ROOT, env, keep_output=True)
    match = re.search(r"total: ([0-9.]+) s CPU", str(result.pop("tail")))
    result["process_cpu_s"] = result["cpu_s"]
    result["cpu_s"] = float(match.group(1)) if match else None
    result["ok"] = result["ok"] and match is not None
    return result


def _fastest(runs: list[dict[str, object]], by: str = "wall_s") -> dict[str, object]:
    """The run with the least wall time (or *by*), with every run's wall and CPU time and
    their medians.

    On a shared machine the other jobs only ever add time, so the fastest
    of a few interleaved runs is the closest to the tool's own cost.
    """
    best = dict(min(runs, key=lambda run: (not run["ok"], run[by] or 0)))
    best["runs_wall_s"] = [run["wall_s"] for run in runs]
    best["runs_cpu_s"] = [run["cpu_s"] for run in runs]
    for figure in ("wall_s", "cpu_s"):
        # a failed replay has no CPU figure: the median is over the runs that have one
        measured = [value for value in best[f"runs_{figure}"] if value is not None]
        best[f"median_{figure}"] = round(statistics.median(measured), 2) if measured else None
    best["ok"] = all(run["ok"] for run in runs)
    return best


def bench_one(
    raw_dir: Path,
    project_dir: Path,
    tools: list[str],
    before_dir: Path | None = None,
    repeat: int = 1,
) -> dict[str, object]:
    """The tools on one export directory, *repeat* rounds interleaved, the fastest kept."""
    customers = sum(1 for _ in (raw_dir / "market_file.csv").open("rb")) - 1
    size_mb = sum(path.stat().st_size for path in raw_dir.glob("*.csv")) / 1e6
    row: dict[str, object] = {
        "raw_dir": str(raw_dir),
        "customers": customers,
        "csv_mb": round(size_mb),
    }
    runs: dict[str, list[dict[str, object]]] = {tool: [] for tool in TOOLS}
    work = Path(tempfile.mkdtemp(prefix="warehouse_bench_", dir=PROJECT_ROOT / "data"))
    try:
        env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
        for _ in range(repeat):
            if "dbt_build" in tools:
                build, replayed = _dbt_build(
                    project_dir, work / "after", raw_dir, replay="sql_replay" in tools
                )
                runs["dbt_build"].append(build)
                if replayed is not None:
                    runs["sql_replay"].append(replayed)
                shutil.rmtree(work / "after", ignore_errors=True)
            if "dbt_build_before" in tools and before_dir is not None:
                build, _ = _dbt_build(before_dir, work / "before", raw_dir)
                runs["dbt_build_before"].append(build)
                shutil.rmtree(work / "before", ignore_errors=True)
            if "dbt_startup" in tools:
                runs["dbt_startup"].append(_dbt_startup(project_dir, work / "startup", raw_dir))
                shutil.rmtree(work / "startup", ignore_errors=True)
            for tool, script in (
                ("pandas", "pandas_reference.py"),
                ("duckdb_reference", "duckdb_reference.py"),
            ):
                if tool in tools:
                    command = [PYTHON, str(PROJECT_ROOT / "bench" / script), str(raw_dir)]
                    runs[tool].append(run_measured(command, PROJECT_ROOT, env))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for tool in TOOLS:
        if runs[tool]:
            # the replay's figure is its statements' CPU time, not its process's wall
            by = "cpu_s" if tool == "sql_replay" else "wall_s"
            result = row[tool] = _fastest(runs[tool], by)
            log.info(
                "%d customers, %s: %s s (runs %s), %s MiB, ok=%s",
                customers, tool, result["wall_s"], result["runs_wall_s"],
                result["peak_rss_mib"], result["ok"],
            )  # fmt: skip
    return row


def ratios(row: dict[str, object]) -> dict[str, float]:
    """Each dbt build's time and memory as multiples of the references' (below 1: dbt is better)."""
    out = {}
    for build in ("dbt_build", "dbt_build_before"):
        dbt = row.get(build)
        for reference in ("pandas", "duckdb_reference"):
            other = row.get(reference)
            if dbt and other:
                out[f"{build}_time_vs_{reference}"] = round(dbt["wall_s"] / other["wall_s"], 2)
                if dbt.get("cpu_s") and other.get("cpu_s"):
                    out[f"{build}_cpu_vs_{reference}"] = round(dbt["cpu_s"] / other["cpu_s"], 2)
                out[f"{build}_memory_vs_{reference}"] = round(
                    dbt["peak_rss_mib"] / other["peak_rss_mib"], 2
                )
    floor = build_floor(row)
    if floor is not None:
        out["floor_s"] = floor
        for other in ("pandas", "duckdb_reference", "dbt_build"):
            if row.get(other):
                out[f"floor_vs_{other}"] = round(floor / row[other]["wall_s"], 2)
    return out


def build_floor(row: dict[str, object], cores: int | None = None) -> float | None:
    """The least wall time a `dbt build` of this project can take here: dbt's start-up and
    artefacts (one core) plus the build's SQL spread over every core. None without both."""
    startup, replay = row.get("dbt_startup"), row.get("sql_replay")
    if not (startup and replay and startup["ok"] and replay["ok"]):
        return None
    return round(startup["wall_s"] + replay["cpu_s"] / (cores or os.cpu_count() or 1), 2)


def markdown(label: str, info: dict[str, object], rows: list[dict[str, object]]) -> str:
    """The results as a Markdown page."""
    lines = [
        f"# Warehouse benchmark ({label})",
        "",
        f"Measured {info['date_utc']} UTC on {info['cpu']}, {info['nproc']} cores, Python "
        f"{info['python']}; load average at start {info['load_avg_at_start']} (the machine "
        "was shared with other jobs). Each figure is one whole process: wall time, CPU time "
        "(user + system) and peak RSS of that child; with several rounds (interleaved), the "
        "fastest run of each step and the median of the rounds, every run in the JSON. "
        "`dbt build` runs after an untimed `dbt parse` (partial parsing warm).",
        "",
        "| customers | CSV MB | step | wall s | CPU s | median wall s | median CPU s "
        "| peak MiB | ok |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        for tool in TOOLS:
            if tool in row:
                r = row[tool]
                lines.append(
                    f"| {row['customers']:,} | {row['csv_mb']} | {tool} | {r['wall_s']} | "
                    f"{r.get('cpu_s', '-')} | {r.get('median_wall_s', '-')} | "
                    f"{r.get('median_cpu_s', '-')} | {r['peak_rss_mib']} | "
                    f"{'yes' if r['ok'] else 'NO'} |"
                )
    for row in rows:
        after, before = row.get("dbt_build"), row.get("dbt_build_before")
        if after and before and len(after["runs_wall_s"]) == len(before["runs_wall_s"]):
            # Rounds are interleaved, so each pair shared the machine's load:
            # the pairs' ratios are steadier than either build's best run.
            pairs = [
                f"{a} / {b} s ({a / b:.2f})"
                for a, b in zip(after["runs_wall_s"], before["runs_wall_s"], strict=True)
            ]
            lines += [
                "",
                f"{row['customers']:,}: dbt_build / dbt_build_before round by round, wall: "
                + "; ".join(pairs),
            ]
    for row in rows:
        floor = row.get("ratios", {}).get("floor_s")
        if floor is not None:
            lines += [
                "",
                f"{row['customers']:,}: floor of any `dbt build` of this project here "
                f"(dbt_startup wall {row['dbt_startup']['wall_s']} s + sql_replay CPU "
                f"{row['sql_replay']['cpu_s']} s / {info['nproc']} cores) = {floor} s; "
                "sql_replay's CPU is its statements' sum, its wall the whole replay "
                "process's (copying the build file included)",
            ]
    lines += ["", "Ratios (dbt build / reference; below 1: dbt is faster or smaller):", ""]
    for row in rows:
        lines.append(f"- {row['customers']:,}: {json.dumps(row.get('ratios', {}))}")
    lines += ["", "dbt nodes, seconds (after / before; a node absent on one side: -):", ""]
    for row in rows:
        after = row.get("dbt_build", {}).get("nodes_s", {})
        before = row.get("dbt_build_before", {}).get("nodes_s", {})
        lines += [
            f"{row['customers']:,} customers:",
            "",
            "| node | after | before |",
            "|---|---:|---:|",
        ]
        for name in sorted(
            set(after) | set(before), key=lambda n: -max(after.get(n, 0), before.get(n, 0))
        ):
            if max(after.get(name, 0), before.get(name, 0)) >= 0.2:
                lines.append(f"| {name[:70]} | {after.get(name, '-')} | {before.get(name, '-')} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Benchmark each export directory and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dirs", type=Path, nargs="+", help="export directories to build")
    parser.add_argument("--label", default="after", help="results name: warehouse_<label>.*")
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=PROJECT_ROOT,
        help="project checkout to run dbt from (default: this one)",
    )
    parser.add_argument(
        "--before-project-dir",
        type=Path,
        help="a checkout of the original project: also time its dbt build (dbt_build_before)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of every tool, interleaved; the fastest run of each is reported (default 1)",
    )
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help=f"comma-separated subset of {', '.join(TOOLS)}"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    info = machine()
    tools = args.tools.split(",")
    rows = []
    for raw_dir in args.raw_dirs:
        row = bench_one(
            raw_dir.resolve(),
            args.project_dir.resolve(),
            tools,
            args.before_project_dir.resolve() if args.before_project_dir else None,
            args.repeat,
        )
        row["ratios"] = ratios(row)
        log.info("ratios: %s", row["ratios"])
        rows.append(row)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "label": args.label,
        "machine": info,
        "project_dir": str(args.project_dir),
        "rows": rows,
    }
    (RESULTS_DIR / f"warehouse_{args.label}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS_DIR / f"warehouse_{args.label}.md").write_text(markdown(args.label, info, rows))
    return 0 if all(row[t]["ok"] for row in rows for t in TOOLS if t in row) else 1


if __name__ == "__main__":
    sys.exit(main())
