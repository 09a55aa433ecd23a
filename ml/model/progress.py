"""Progress bars and stage timings of the long steps, silent when disabled or in tests."""

from __future__ import annotations

import logging
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm

stage_log = logging.getLogger("ml.stage")


def progress_bar(total: int, desc: str, enabled: bool) -> tqdm:
    """A tqdm bar on stderr (stdout stays clean for pipes); a no-op bar when *enabled* is false.

    ``leave=False`` removes each stage's bar when it completes, so the log
    lines that summarise the stage remain readable.
    """
    return tqdm(
        total=total,
        desc=desc,
        disable=not enabled,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )


@contextmanager
def timed_stage(name: str) -> Iterator[None]:
    """Log ``stage <name>: <s> s, peak <MiB> MiB`` when the block ends (bench/ parses it).

    The peak is the process's resident high-water mark so far, not the stage's own.
    """
    start = time.perf_counter()
    yield
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stage_log.info("stage %s: %.2f s, peak %.0f MiB", name, time.perf_counter() - start, peak)
