"""Names on the site: file-name slugs of segments and runs, and reasons in the page language."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd


def slug(text: str) -> str:
    """A file-name-safe form of an id: letters, digits, '_' and '-' only."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")
    return cleaned or "item"


def unique_slugs(ids: list[str]) -> dict[str, str]:
    """Slugs for *ids* that never collide (a suffix is added when two clean to the same)."""
    seen: dict[str, int] = {}
    out = {}
    for value in ids:
        base = slug(value)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out[value] = base if n == 0 else f"{base}-{n + 1}"
    return out


def reason_translator(reasons: pd.DataFrame, lang: str) -> Callable[[object], object]:
    """A function re-wording a reason written by dbt (in any language) in *lang*.

    dbt writes reasons in one language (var reason_language); the seed
    reference.feature_reasons has every language, so the pages can show the
    reader's. A text the seed does not know is returned unchanged.
    """
    target = f"reason_{lang}"
    if reasons.empty or target not in reasons:
        return lambda text: text
    languages = [c for c in reasons.columns if c.startswith("reason_")]
    exact: dict[str, str] = {}
    patterns: list[tuple[re.Pattern[str], str]] = []
    for row in reasons.to_dict("records"):
        for column in languages:
            template = row[column]
            if not isinstance(template, str) or not isinstance(row[target], str):
                continue
            if "{value}" in template:
                before, _, after = template.partition("{value}")
                pattern = re.compile(re.escape(before) + "(.*)" + re.escape(after))
                patterns.append((pattern, row[target]))
            else:
                exact.setdefault(template, row[target])

    def translate(text: object) -> object:
        if not isinstance(text, str):
            return text
        if text in exact:
            return exact[text]
        for pattern, wording in patterns:
            match = pattern.fullmatch(text)
            if match:
                return wording.replace("{value}", match.group(1))
        return text

    return translate
