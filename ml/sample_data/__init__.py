"""Synthetic sample data in the exact format of the shop's raw export.

Why: the real export («В один клик», 1300 customers) cannot be shared or
scaled, yet CI, demos and load tests need data that the dbt sources read
without a single changed option and that a model learns from the way it learns
from the real data. This package writes the four files of the export
(``market_file.csv``, ``market_money.csv``, ``market_time.csv``, ``money.csv``)
for any number of customers, byte-compatible with the real ones: the same
Cyrillic headers and column order, commas in three files and ``;`` with decimal
commas in ``money.csv``, CRLF line endings, UTF-8 without BOM, the same number
formatting (``3.4``, ``0.0``, ``0.3``, ``4472.0``, ``4,1``) and the same label
defects.

The modules, in the order data flows through them:

- ``export_format``: file names, headers, labels and columns of the export;
- ``labels``: typos folded into canonical labels;
- ``reading``: a real export as one row per customer;
- ``fitting`` and ``copula``: aggregated statistics of a real export (marginals,
  a Gaussian-mixture copula per class, defect rates), never rows;
- ``params``: the parameter file (``params.json`` beside this file);
- ``model``: the parameters as sampling arrays;
- ``streams``: counter-based random numbers, a pure function of
  (seed, customer, purpose), so output does not depend on chunking;
- ``drawing``, ``defects``, ``sampling``: original customers, the export's
  defects at their fitted rates, blocks with twins in place;
- ``formatting``, ``writing``: the export's number styles and line endings,
  all four files written or none;
- ``cli``: ``python -m ml.sample_data [generate|fit]``.
"""

from ml.sample_data.cli import build_parser, main
from ml.sample_data.drawing import Customers
from ml.sample_data.export_format import (
    CLASSES,
    COLUMN_INDEX,
    COLUMNS,
    HEADERS,
    LABELLED_KEYS,
    MINUTES_KEYS,
    OUTPUT_FILES,
    REVENUE_KEYS,
    Column,
    header_line,
)
from ml.sample_data.fitting import IMPLAUSIBLE_RATIO, MAX_PMF_LEVELS, N_QUANTILES, fit_params
from ml.sample_data.formatting import Formatter, format_block, format_scaled
from ml.sample_data.labels import MAX_LABEL_EDITS, canonical_labels, edit_distance
from ml.sample_data.model import Model, build_model
from ml.sample_data.params import DEFAULT_PARAMS, PARAMS_FORMAT_VERSION, dumps_params, load_params
from ml.sample_data.reading import read_export
from ml.sample_data.sampling import DEFAULT_CHUNK_SIZE, generate_block, iter_blocks
from ml.sample_data.streams import seed_key, uniforms
from ml.sample_data.writing import DEFAULT_OUT_DIR, write_sample

__all__ = [
    "CLASSES",
    "COLUMNS",
    "COLUMN_INDEX",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_OUT_DIR",
    "DEFAULT_PARAMS",
    "HEADERS",
    "IMPLAUSIBLE_RATIO",
    "LABELLED_KEYS",
    "MAX_LABEL_EDITS",
    "MAX_PMF_LEVELS",
    "MINUTES_KEYS",
    "N_QUANTILES",
    "OUTPUT_FILES",
    "PARAMS_FORMAT_VERSION",
    "REVENUE_KEYS",
    "Column",
    "Customers",
    "Formatter",
    "Model",
    "build_model",
    "build_parser",
    "canonical_labels",
    "dumps_params",
    "edit_distance",
    "fit_params",
    "format_block",
    "format_scaled",
    "generate_block",
    "header_line",
    "iter_blocks",
    "load_params",
    "main",
    "read_export",
    "seed_key",
    "uniforms",
    "write_sample",
]
