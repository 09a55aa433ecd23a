"""Canonical labels for the export's spellings: typos fold into the nearest known label."""

from __future__ import annotations

from collections.abc import Sequence

MAX_LABEL_EDITS = 2


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance; the labels are short, so the quadratic version is fine."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def canonical_labels(counts: dict[str, int], known: Sequence[str] | None = None) -> dict[str, str]:
    """Map each observed spelling to its canonical label.

    With *known* labels a spelling maps to the nearest one within
    ``MAX_LABEL_EDITS``; without, rarer spellings join a more frequent one
    within that distance. An unknown label is an error: the generator must not
    silently learn a new meaning.
    """
    if known is not None:
        return _nearest_known(counts, known)
    mapping: dict[str, str] = {}
    canon: list[str] = []
    for spelling in sorted(counts, key=lambda s: (-counts[s], s)):
        near = [c for c in canon if edit_distance(spelling, c) <= MAX_LABEL_EDITS]
        if near:
            mapping[spelling] = near[0]
        else:
            canon.append(spelling)
            mapping[spelling] = spelling
    return mapping


def _nearest_known(counts: dict[str, int], known: Sequence[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for spelling in counts:
        best = min(known, key=lambda k: (edit_distance(spelling, k), k))
        if edit_distance(spelling, best) > MAX_LABEL_EDITS:
            raise ValueError(f"label {spelling!r} is not close to any of {list(known)}")
        mapping[spelling] = best
    return mapping
