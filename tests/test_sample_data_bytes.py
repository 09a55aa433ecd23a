"""The generator's output, pinned byte for byte.

For a seed and a parameter file the four files must not change, whatever is
refactored inside ``ml/sample_data/``: demos, benchmarks and the fixtures
of other tests are built from them. Each case below is written and every
file's SHA-256 compared with tests/fixtures/sample_data_sha256.json, whose
values were taken from the generator before it was split into a package.
The cases reach every path of the generator: the committed parameters, the
defects at high rates with a chunk size that cuts runs of twins, and no
defects at all.

The hashes hold on one platform (a different LAPACK may move the last bit of
a Cholesky factor). If a change of the output is intended (new parameters,
a new random slot), regenerate them with
`python -m tests.test_sample_data_bytes` and say why in the commit.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ml.config import PROJECT_ROOT
from ml.sample_data import OUTPUT_FILES, load_params, write_sample

HASHES = PROJECT_ROOT / "tests" / "fixtures" / "sample_data_sha256.json"


def _committed(params: dict[str, Any]) -> dict[str, Any]:
    return params


def _many_defects(params: dict[str, Any]) -> dict[str, Any]:
    defects = params["defects"]
    defects["inactive"]["rate"] = 0.2
    defects["implausible_revenue"]["rate"] = 0.1
    defects["duplicates"].update(rate=0.15, run_length=4, lag=17)
    return params


def _no_defects(params: dict[str, Any]) -> dict[str, Any]:
    params["defects"] = {
        "inactive": {"rate": 0.0, "zero_periods": {}},
        "implausible_revenue": {"rate": 0.0, "detected_as": "", "periods": {}, "ratio_range": []},
        "duplicates": {"rate": 0.0, "run_length": 1, "lag": 1},
    }
    return params


# name: (customers, seed, chunk size, change to the committed parameters)
CASES = {
    "committed_400_seed7": (400, 7, 100_000, _committed),
    "many_defects_500_seed3_chunk97": (500, 3, 97, _many_defects),
    "no_defects_300_seed11": (300, 11, 100_000, _no_defects),
}


def sample_hashes(name: str, out_dir: Path) -> dict[str, str]:
    """Write case *name* into *out_dir* and return the SHA-256 of each file."""
    customers, seed, chunk_size, change = CASES[name]
    params = change(copy.deepcopy(load_params()))
    files = write_sample(out_dir, customers, seed, params=params, chunk_size=chunk_size)
    return {f: hashlib.sha256(files[f].read_bytes()).hexdigest() for f in OUTPUT_FILES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_files_match_the_pinned_hashes(name: str, tmp_path: Path) -> None:
    expected = json.loads(HASHES.read_text(encoding="utf-8"))[name]
    assert sample_hashes(name, tmp_path) == expected


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        pinned = {name: sample_hashes(name, Path(tmp) / name) for name in sorted(CASES)}
    HASHES.write_text(json.dumps(pinned, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {HASHES}\n")
