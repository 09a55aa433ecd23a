"""Progress bars for the long stages of training, silent when disabled or in tests."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


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
