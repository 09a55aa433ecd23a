"""The dbt-duckdb plugin's file helpers (ml/ops/dbt_plugin.py), which plain `dbt` calls."""

from __future__ import annotations

import atexit
import gc

import pytest
from dbt_common.exceptions import DbtRuntimeError

from ml.ops.dbt_plugin import (
    ensure_database_folder,
    file_sha256,
    file_signature,
    freeze_loaded_objects,
    line_ending_fault,
)
from ml.ops.run_log import fingerprint_file


def test_a_single_lf_line_in_a_crlf_file_is_named(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"h\r\n1\r\n2\n3\r\n4\r\n")
    assert line_ending_fault(str(path)) == (
        "line 3 ends with LF only (1 line in all) while the other lines end with CRLF; "
        "save the file with one kind of line ending"
    )


def test_a_single_crlf_line_in_an_lf_file_is_named(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"h\n1\n2\r\n3\n4")
    assert line_ending_fault(str(path)).startswith(
        "line 3 ends with CRLF (1 line in all) while the other lines end with LF"
    )


@pytest.mark.parametrize("content", [b"h\r\n1\r\n2", b"h\n1\n2\n", b"", b"no ending"])
def test_consistent_line_endings_are_no_fault(tmp_path, content):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert line_ending_fault(str(path)) is None


def test_checksum_is_the_run_logs_and_a_missing_file_has_none(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"h\n1\n")
    assert file_sha256(str(path)) == fingerprint_file(path)[0]
    assert file_sha256(str(tmp_path / "missing.csv")) is None
    assert file_signature(str(tmp_path / "missing.csv")) is None


def test_a_rewritten_file_has_another_signature(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"h\n1\n")
    before = file_signature(str(path))
    path.write_bytes(b"h\n12\n")
    assert file_signature(str(path)) != before


def test_missing_folders_of_the_database_are_created(tmp_path):
    ensure_database_folder(str(tmp_path / "new" / "folder" / "shop.duckdb"))
    assert (tmp_path / "new" / "folder").is_dir()


def test_a_folder_that_cannot_be_made_is_one_clear_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DbtRuntimeError) as raised:
        ensure_database_folder(str(blocker / "sub" / "shop.duckdb"))
    message = raised.value.msg  # dbt prints it under "Runtime Error"
    assert f"cannot create the folder {blocker / 'sub'}" in message
    assert "\n" not in message


def test_the_checksum_started_with_the_signature_is_the_files(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"h\n" + b"1234567\n" * 200_000)
    assert file_signature(str(path)) is not None  # starts the checksum in the background
    assert file_sha256(str(path)) == fingerprint_file(path)[0]


def test_a_file_rewritten_after_its_signature_is_checksummed_anew(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"h\n1\n")
    file_signature(str(path))
    path.write_bytes(b"h\n12\n")
    assert file_sha256(str(path)) == fingerprint_file(path)[0]


def test_only_the_dbt_command_freezes_the_loaded_objects():
    frozen_before = gc.get_freeze_count()
    try:
        assert not freeze_loaded_objects("/usr/bin/pytest")
        assert gc.get_freeze_count() == frozen_before
        assert freeze_loaded_objects("/work/.venv/bin/dbt")
        assert gc.get_freeze_count() > frozen_before
    finally:
        gc.unfreeze()
        atexit.unregister(gc.unfreeze)
