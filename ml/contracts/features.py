"""The mart's column roles, read from its dbt contract so Python never restates them.

`dbt_project/models/marts/_marts__models.yml` declares every column of
`customer_features` with a `data_type` and a `config.meta.ml_role`; this module
turns that into the lists the model code needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from ml.config import MART_CONTRACT_YML, MART_MODEL


@dataclass(frozen=True)
class MartColumns:
    """Column names of the feature mart, grouped by their role for the model."""

    all: tuple[str, ...]
    id: str
    target: str
    group: str
    profit: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    actionable: frozenset[str]
    data_types: dict[str, str]
    descriptions: dict[str, str]

    @property
    def features(self) -> tuple[str, ...]:
        """Model inputs in contract order (numeric and categorical interleaved as declared)."""
        wanted = set(self.numeric) | set(self.categorical)
        return tuple(c for c in self.all if c in wanted)


def _single(columns: list[dict], role: str) -> str:
    names = [c["name"] for c in columns if c["role"] == role]
    if len(names) != 1:
        raise ValueError(
            f"{MART_CONTRACT_YML}: expected one column with ml_role {role!r}, found {names}"
        )
    return names[0]


def parse_contract(path: Path, model: str = MART_MODEL) -> MartColumns:
    """Parse the dbt model yml at *path* and return the roles of *model*'s columns."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    models = [m for m in spec.get("models", []) if m.get("name") == model]
    if not models:
        raise ValueError(f"{path}: model {model!r} is not declared")
    columns = []
    for col in models[0]["columns"]:
        meta = (col.get("config") or {}).get("meta") or {}
        columns.append(
            {
                "name": col["name"],
                "role": meta.get("ml_role"),
                "actionable": bool(meta.get("actionable", False)),
                "data_type": col["data_type"],
                "description": " ".join(str(col.get("description", "")).split()),
            }
        )
    return MartColumns(
        all=tuple(c["name"] for c in columns),
        id=_single(columns, "id"),
        target=_single(columns, "target"),
        group=_single(columns, "group"),
        profit=_single(columns, "profit"),
        numeric=tuple(c["name"] for c in columns if c["role"] == "numeric"),
        categorical=tuple(c["name"] for c in columns if c["role"] == "categorical"),
        actionable=frozenset(c["name"] for c in columns if c["actionable"]),
        data_types={c["name"]: c["data_type"] for c in columns},
        descriptions={c["name"]: c["description"] for c in columns},
    )


@cache
def mart_columns() -> MartColumns:
    """The roles of the project's own feature mart (parsed once per process)."""
    return parse_contract(MART_CONTRACT_YML)
