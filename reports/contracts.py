"""What the reports take from the ML package, in one place.

The reports read what other steps wrote, so they follow those steps'
definitions rather than restating them: the ML tables and their columns as
the writer declares them (ml/warehouse.py), the feature mart's column roles
from its dbt contract (ml/features.py), and the project's paths and
environment overrides (ml/config.py). No other module of reports imports ml.
"""

from ml.config import ENV_DUCKDB, ENV_REPORTS_DIR, ML_SCHEMA, resolve_paths
from ml.features import MartColumns, mart_columns
from ml.warehouse import TABLES as ML_TABLES

__all__ = [
    "ENV_DUCKDB",
    "ENV_REPORTS_DIR",
    "ML_SCHEMA",
    "ML_TABLES",
    "MartColumns",
    "mart_columns",
    "resolve_paths",
]
