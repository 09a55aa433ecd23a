"""Writing a whole synthetic export to disk, all four files or none."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import IO, Any

from ml.config import DATA_DIR
from ml.sample_data.export_format import ENCODING, OUTPUT_FILES, header_line
from ml.sample_data.formatting import Formatter, format_block
from ml.sample_data.model import Model, build_model
from ml.sample_data.params import load_params
from ml.sample_data.sampling import DEFAULT_CHUNK_SIZE, iter_blocks

logger = logging.getLogger(__name__)

DEFAULT_OUT_DIR = DATA_DIR / "sample" / "raw"


def write_sample(
    out_dir: Path,
    n_customers: int,
    seed: int,
    params: dict[str, Any] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> dict[str, Path]:
    """Write the four export files for *n_customers* synthetic customers into *out_dir*.

    Files are written under a temporary name and renamed at the end, so an
    interrupted run never leaves a truncated file that looks complete.
    """
    model = build_model(params if params is not None else load_params())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = {name: out_dir / name for name in OUTPUT_FILES}
    partial = {name: out_dir / f".{name}.partial" for name in OUTPUT_FILES}
    handles = {name: partial[name].open("wb") for name in OUTPUT_FILES}
    started = time.perf_counter()
    try:
        _write_blocks(handles, model, n_customers, seed, chunk_size)
    except BaseException:
        for name, handle in handles.items():
            handle.close()
            partial[name].unlink(missing_ok=True)
        raise
    for name, handle in handles.items():
        handle.close()
        os.replace(partial[name], final[name])
        logger.info("wrote %s (%.1f MB)", final[name], final[name].stat().st_size / 1e6)
    logger.info(
        "these files are SYNTHETIC sample data, not the shop's export: %d customers, "
        "seed %d, %.1f s",
        n_customers,
        seed,
        time.perf_counter() - started,
    )
    return final


def _write_blocks(
    handles: dict[str, IO[bytes]], model: Model, n_customers: int, seed: int, chunk_size: int
) -> None:
    """The headers, then the customers chunk by chunk into the open files."""
    for name, handle in handles.items():
        handle.write(header_line(name).encode(ENCODING))
    formatter = Formatter()
    done = 0
    for block in iter_blocks(model, n_customers, seed, chunk_size):
        for name, text in format_block(block, model, formatter).items():
            handles[name].write(text.encode(ENCODING))
        done += len(block.rows)
        logger.debug("generated %d / %d customers", done, n_customers)
