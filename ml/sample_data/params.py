"""The parameter file: where it lives, its version, its JSON layout and how numbers are rounded."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ml.config import PROJECT_ROOT
from ml.sample_data.export_format import ENCODING

DEFAULT_PARAMS = PROJECT_ROOT / "ml" / "sample_data" / "params.json"
PARAMS_FORMAT_VERSION = 1


def load_params(path: Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """Read a parameter file written by ``fit``."""
    return json.loads(Path(path).read_text(encoding=ENCODING))


def dumps_params(params: dict[str, Any]) -> str:
    """JSON for the repository: stable order, one line per list of scalars, Cyrillic as is."""
    text = json.dumps(params, ensure_ascii=False, indent=2)

    def collapse(match: re.Match[str]) -> str:
        return json.dumps(json.loads(match.group(0)), ensure_ascii=False)

    # A list whose items are all scalars (numbers, or strings without quotes inside).
    text = re.sub(r"\[(?:[^\[\]{}\"]|\"[^\"]*\")*\]", collapse, text)
    return text + "\n"


def round_list(values: Sequence[float] | np.ndarray, digits: int) -> list[float]:
    """Plain floats rounded for the file (whole numbers as ints), so diffs stay readable."""
    if digits == 0:
        return [round(float(v)) for v in values]
    return [round(float(v), digits) for v in values]


def probs(counts: np.ndarray) -> list[float]:
    """Counts as shares, rounded for the file."""
    return round_list(counts / counts.sum(), 6)
