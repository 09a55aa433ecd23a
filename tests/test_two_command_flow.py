"""The data team's two plain commands, `dbt build` then `python -m ml.train`,
on a 400-customer synthetic export: only a passed build of the export in use is
published; names and folders the user picks just work; `dbt docs generate`
documents the published warehouse without touching a build file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ml.config import Paths
from ml.sample_data import write_sample

from .conftest import paths_in
from .test_warehouse_bad_input import DBT, _errors, _plain, _unknown_label_in, dbt_build, ml_train

pytestmark = pytest.mark.slow

QUICK_TRAIN = [
    "--families", "dummy,logreg", "--search-size", "1", "--cv-folds", "3",
    "--cv-repeats", "1", "--ensemble-top-k", "0",
]  # fmt: skip


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _runs(database: Path) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        return [r[0] for r in con.execute("select run_id from ml.model_runs order by 1").fetchall()]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("export") / "raw"
    write_sample(raw, 400, seed=7)
    return raw


@pytest.fixture(scope="module")
def published(export: Path, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """Two runs of both commands into `published.duckdb`, a name the build file's
    catalogue shares with the alias the history carry-over used to attach."""
    workdir = tmp_path_factory.mktemp("flow")
    paths = Paths(
        raw_dir=export,
        duckdb=workdir / "warehouse" / "published.duckdb",
        reports_dir=workdir / "reports",
        models_dir=workdir / "models",
    )
    for _ in range(2):
        built = dbt_build(paths, workdir)
        assert built.returncode == 0, built.stdout[-3000:]
        trained = ml_train(paths, workdir, *QUICK_TRAIN)
        assert trained.returncode == 0, trained.stderr[-3000:]
    return paths


def test_a_user_file_name_never_collides_with_an_internal_alias(published):
    assert len(_runs(published.duckdb)) == 2  # the second run carried the first one over


def test_a_failed_build_is_never_published_whatever_export_ml_train_is_pointed_at(
    published, tmp_path
):
    before = _sha256(published.duckdb)
    broken = tmp_path / "raw"
    shutil.copytree(published.raw_dir, broken)
    _unknown_label_in(broken / "market_file.csv")
    workdir = published.duckdb.parent.parent
    assert dbt_build(Paths(**{**published.__dict__, "raw_dir": broken}), workdir).returncode == 1

    for raw in (broken, published.raw_dir):
        trained = ml_train(Paths(**{**published.__dict__, "raw_dir": raw}), workdir, *QUICK_TRAIN)
        assert trained.returncode == 1
        (error,) = _errors(trained.stderr)
        assert "the last `dbt build` failed: market_file_labels_are_known" in error
    scored = _plain(
        [sys.executable, "-m", "ml.score", "--no-reports", "--no-progress"],
        _env_of(Paths(**{**published.__dict__, "raw_dir": broken}), workdir),
    )
    assert scored.returncode == 1
    (error,) = _errors(scored.stderr)
    assert "the last `dbt build` failed: market_file_labels_are_known" in error
    assert _sha256(published.duckdb) == before

    # the good export built again: published as usual
    assert dbt_build(published, workdir).returncode == 0
    assert ml_train(published, workdir, *QUICK_TRAIN).returncode == 0
    assert _sha256(published.duckdb) != before


def test_an_export_changed_after_the_build_is_refused(published, tmp_path):
    workdir = published.duckdb.parent.parent
    assert dbt_build(published, workdir).returncode == 0
    changed = tmp_path / "raw"
    shutil.copytree(published.raw_dir, changed)
    lines = (changed / "money.csv").read_bytes().splitlines(keepends=True)
    (changed / "money.csv").write_bytes(b"".join(lines[:-1]))  # one customer fewer
    before = _sha256(published.duckdb)

    trained = ml_train(Paths(**{**published.__dict__, "raw_dir": changed}), workdir)
    assert trained.returncode == 1
    (error,) = _errors(trained.stderr)
    assert f"the export in {changed} is not the one the build file was built from" in error
    assert "money.csv differs" in error
    assert _sha256(published.duckdb) == before


def test_docs_generate_documents_the_published_warehouse_and_leaves_files_alone(published):
    workdir = published.duckdb.parent.parent
    build_file = published.build_duckdb
    build_file.unlink(missing_ok=True)  # as after ml.train published (moved) it
    before = _sha256(published.duckdb)
    done = _plain([DBT, "docs", "generate"], _env_of(published, workdir))
    assert done.returncode == 0, done.stdout[-3000:]
    assert not build_file.exists()
    assert _sha256(published.duckdb) == before
    catalog = json.loads((workdir / "dbt" / "target" / "catalog.json").read_text())
    assert "model.one_click.customer_features" in catalog["nodes"]
    assert "model.one_click.segment_summary" in catalog["nodes"]


def test_docs_generate_without_a_published_warehouse_says_so_in_one_line(tmp_path, export):
    paths = paths_in(tmp_path, export)
    done = _plain([DBT, "docs", "generate"], _env_of(paths, tmp_path))
    assert done.returncode != 0
    assert f"no published warehouse at {paths.duckdb} yet" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert not paths.build_duckdb.exists() and not paths.build_duckdb.parent.exists()


def test_missing_folders_are_created(tmp_path, export):
    paths = paths_in(tmp_path / "new" / "folder", export)
    built = dbt_build(paths, tmp_path)
    assert built.returncode == 0, built.stdout[-3000:]
    assert paths.build_duckdb.exists()


def test_a_folder_that_cannot_be_made_gets_one_clear_line(tmp_path, export):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    paths = paths_in(blocker / "sub", export)
    built = dbt_build(paths, tmp_path)
    assert built.returncode != 0
    assert f"cannot create the folder {blocker / 'sub' / 'build'}" in built.stdout
    assert "Traceback" not in built.stdout + built.stderr


def _env_of(paths: Paths, workdir: Path) -> dict[str, str]:
    from .test_warehouse_bad_input import _env

    return _env(paths, workdir)


def test_the_wrapper_names_a_folder_it_cannot_make_in_one_line(tmp_path, export):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "ml.pipeline", "warehouse", "--raw-dir", str(export),
         "--duckdb", str(blocker / "sub" / "shop.duckdb")],
        cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "Not a directory" in done.stderr.strip().splitlines()[-1]
