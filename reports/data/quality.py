"""Data-quality summaries for the overview: which label spellings the warehouse corrected."""

from __future__ import annotations

import pandas as pd

FIX_COLUMNS = ["field", "raw_label", "canonical_label", "reference_label", "n_rows"]


def label_fixes(spellings: pd.DataFrame, label_map: pd.DataFrame) -> pd.DataFrame:
    """The raw spellings that were corrected, with the rows each affected.

    *spellings*: field, raw_label, n_rows as found in the export (extra
    columns such as source_file are summed over); *label_map*: field,
    raw_label, canonical_label (reference.label_map). Within the spellings
    label_map maps to one canonical label, the reference spelling is the one
    equal to the canonical label («стандартт» → «стандарт»); where no spelling
    is (periods, whose canonical labels are English codes), it is the spelling
    found in most rows, ties to the first alphabetically. Every other
    spelling found in the data is a fix. A label with a single spelling is a
    plain recode (да → true), not a fix.
    """
    if spellings.empty or label_map.empty:
        return pd.DataFrame(columns=FIX_COLUMNS)
    counts = spellings.groupby(["field", "raw_label"])["n_rows"].sum()
    fixes = []
    for (field, canonical), group in label_map.groupby(["field", "canonical_label"], sort=True):
        raw = sorted(group["raw_label"])
        if len(raw) < 2:
            continue
        if canonical in raw:
            reference = canonical
        else:
            reference = min(raw, key=lambda label: (-counts.get((field, label), 0), label))
        for label in raw:
            n = int(counts.get((field, label), 0))
            if label != reference and n > 0:
                fixes.append([field, label, canonical, reference, n])
    return pd.DataFrame(fixes, columns=FIX_COLUMNS)
