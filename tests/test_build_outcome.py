"""Which recorded dbt invocations let ml.train publish a build file (build_outcome.refusal)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ml.ops.build_outcome import Invocation, refusal
from ml.ops.run_log import fingerprint_file

BUILD = Path("/w/build/one_click.duckdb")
STARTED = datetime(2026, 12, 1, 9, 30)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("market_file", "market_money", "market_time", "money"):
        (raw / f"{name}.csv").write_text(f"{name}\n1\n", encoding="utf-8")
    return raw


def _build(export: Path, **changes) -> Invocation:
    values = dict(
        invocation_id="b1",
        command="dbt build",
        dbt_command="build",
        kind="complete_build",
        raw_dir=str(export),
        started_at=STARTED,
        status="passed",
        files={p.name: fingerprint_file(p)[0] for p in export.iterdir()},
    )
    values.update(changes)
    return Invocation(**values)


def test_a_passed_complete_build_of_the_same_files_is_accepted(export):
    assert refusal([_build(export)], export, BUILD) is None


def test_the_same_files_in_another_folder_are_the_same_export(export, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in export.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    assert refusal([_build(export)], copy, BUILD) is None


def test_a_failed_build_is_refused_naming_its_failed_tests(export):
    failed = _build(export, status="failed", failed=("market_file_labels_are_known",))
    assert refusal([failed], export, BUILD) == (
        "the last `dbt build` failed: market_file_labels_are_known; nothing is published "
        "until a `dbt build` passes (the console and build_outcome.messages name the file, "
        "line and value)"
    )


def test_more_than_five_failed_tests_are_counted(export):
    failed = _build(export, status="failed", failed=tuple(f"t{i}" for i in range(7)))
    assert "failed: t0, t1, t2, t3, t4 and 2 more;" in refusal([failed], export, BUILD)


def test_a_build_that_never_finished_is_refused(export):
    killed = _build(export, status="running")
    assert "(started 2026-12-01 09:30 UTC) did not finish" in refusal([killed], export, BUILD)


def test_a_build_with_only_skipped_nodes_is_refused(export):
    skipped = _build(export, status="failed", n_skipped=3)
    assert "did not complete (3 node(s) skipped)" in refusal([skipped], export, BUILD)


def test_a_file_without_a_recorded_build_is_refused(export):
    assert "holds no recorded `dbt build`" in refusal(None, export, BUILD)


def test_only_partial_runs_are_refused(export):
    partial = _build(export, kind="partial", command="dbt run -s customer_features")
    reason = refusal([partial], export, BUILD)
    assert "never made by a complete `dbt build`" in reason
    assert "dbt run -s customer_features" in reason


def test_a_partial_run_after_the_build_is_refused(export):
    later = _build(export, invocation_id="b2", kind="partial", command="dbt run -s stg_x")
    assert "after the last complete `dbt build`, `dbt run -s stg_x`" in refusal(
        [_build(export), later], export, BUILD
    )


def test_passing_tests_and_the_ml_steps_own_builds_after_the_build_are_fine(export):
    tests = _build(
        export, invocation_id="b2", kind="partial", command="dbt test", dbt_command="test"
    )
    ml_step = _build(export, invocation_id="b3", kind="after_ml", status="failed")
    assert refusal([_build(export), tests, ml_step], export, BUILD) is None


def test_a_failing_test_run_after_the_build_is_refused(export):
    tests = _build(
        export, invocation_id="b2", kind="partial", command="dbt test", dbt_command="test",
        status="failed",
    )  # fmt: skip
    assert "`dbt test` (failed)" in refusal([_build(export), tests], export, BUILD)


def test_a_changed_file_is_refused_naming_it(export):
    build = _build(export)
    (export / "money.csv").write_text("money\n2\n", encoding="utf-8")
    reason = refusal([build], export, BUILD)
    assert reason.startswith(f"the export in {export} is not the one the build file was built")
    assert "money.csv differs" in reason


def test_a_missing_file_is_refused_naming_it(export):
    build = _build(export)
    (export / "market_time.csv").unlink()
    assert refusal([build], export, BUILD).startswith(f"{export / 'market_time.csv'} is missing")


def test_the_latest_complete_build_decides(export):
    failed = _build(export, status="failed", failed=("x",))
    passed = _build(export, invocation_id="b2")
    assert refusal([failed, passed], export, BUILD) is None
    assert refusal([passed, failed], export, BUILD) is not None
