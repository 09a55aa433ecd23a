"""The run-id format every step shares (run log, ml.* tables, published version names)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

# What new_run_id produces; the publish step finds kept versions by it in file names.
RUN_ID_PATTERN = r"\d{8}T\d{6}Z[-\w]*"


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: UTC time plus a random suffix (``20260101T120000Z-1a2b3c``).

    A naive *now* is taken as UTC. One format for every step, so an
    orchestrator can pass its own run id and the ML tables line up with the run log.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
