"""What the reports take from the ML package, in one place.

The reports read what other steps wrote, so they follow those steps'
definitions rather than restating them: the ML tables and their columns as
the writer declares them (ml/contracts/ml_tables.py), the feature mart's
column roles from its dbt contract (ml/contracts/features.py), the one
thinning rule shared with the model step (ml/contracts/thinning.py), SQL
identifier quoting (ml/contracts/sql.py), the command-line conventions every
command shares (ml/contracts/command_line.py), and the project's paths and
environment overrides (ml/config.py). No other module of reports imports ml.
"""

from ml.config import ENV_DUCKDB, ENV_REPORTS_DIR, ML_SCHEMA, resolve_paths
from ml.contracts.command_line import add_logging_options, command_parser, configure_logging
from ml.contracts.features import MartColumns, mart_columns
from ml.contracts.ml_tables import TABLES as ML_TABLES
from ml.contracts.sql import quote_identifier
from ml.contracts.thinning import sample_evenly

__all__ = [
    "ENV_DUCKDB",
    "ENV_REPORTS_DIR",
    "ML_SCHEMA",
    "ML_TABLES",
    "MartColumns",
    "add_logging_options",
    "command_parser",
    "configure_logging",
    "mart_columns",
    "quote_identifier",
    "resolve_paths",
    "sample_evenly",
]
