"""Provenance of a run: code version, library versions, timestamps.

Run ids have their own module, :mod:`ml.contracts.run_ids`, shared with the run log.
"""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata

from ml.config import PROJECT_ROOT

LIBRARIES = ("scikit-learn", "numpy", "pandas", "scipy", "shap", "skops", "duckdb")


def utc_now() -> datetime:
    """Current UTC time without tzinfo (DuckDB TIMESTAMP columns are documented as UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def code_version() -> str:
    """`git describe` of the project (``-dirty`` when the tree has changes), or 'unknown'.

    Recorded with every run so a figure in `ml.model_runs` can be traced to
    the code that produced it.
    """
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def library_versions() -> dict[str, str]:
    """Installed versions of Python and of the libraries that shape the model's output."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions
