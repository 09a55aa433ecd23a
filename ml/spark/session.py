"""The Spark session of a scoring run, configured from dbt's ``spark`` target.

The warehouse directory and metastore that `dbt build --target spark`
writes to are stated once, in ``profiles.yml``; this module renders that
target's ``server_side_parameters`` (their ``env_var()`` calls included) so
ml.score opens the same catalog and finds the tables dbt built.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import yaml

from ml.config import PROJECT_ROOT

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PROFILES_YML = PROJECT_ROOT / "profiles.yml"
DBT_PROJECT_YML = PROJECT_ROOT / "dbt_project.yml"
SPARK_TARGET = "spark"

# pyspark 4.3 warns at import that it does not fully support pandas 3; the
# pandas it uses here (Arrow batches in and out of mapInPandas) is covered by
# tests/test_spark.py, so the warning is not raised as an error.
PANDAS_WARNING = "PySpark does not yet fully support pandas"


class SparkUnavailableError(RuntimeError):
    """pyspark or Java is missing: the message says how to install them."""


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise KeyError(f"profiles.yml: env var {name} is required but not set")
    return value


def spark_conf(
    profiles: Path = PROFILES_YML, target: str = SPARK_TARGET, project: Path = DBT_PROJECT_YML
) -> dict[str, str]:
    """The Spark settings of dbt's *target* (rendered ``server_side_parameters``)."""
    profile_name = yaml.safe_load(project.read_text(encoding="utf-8"))["profile"]
    outputs = yaml.safe_load(profiles.read_text(encoding="utf-8"))[profile_name]["outputs"]
    if target not in outputs:
        raise KeyError(f"{profiles}: profile {profile_name!r} has no target {target!r}")
    parameters: dict[str, Any] = outputs[target].get("server_side_parameters", {})
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return {
        str(key): env.from_string(str(value)).render(env_var=_env_var).strip()
        for key, value in parameters.items()
    }


def spark_session(conf: dict[str, str] | None = None) -> SparkSession:
    """A Spark session with Hive support on dbt's catalog (as dbt-spark's session mode makes)."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)
            from pyspark.sql import SparkSession
    except ImportError as error:
        raise SparkUnavailableError(
            "pyspark is not installed: `pip install -e .[spark]` (and Java 17) to use Spark"
        ) from error
    settings = dict(conf if conf is not None else spark_conf())
    # The Python workers must be this interpreter (its pandas, scikit-learn and
    # ml package), not whatever `python3` is first on PATH. pyspark reads it
    # from PYSPARK_PYTHON when the context starts; a cluster sets its own.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("one_click.ml.score").enableHiveSupport()
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
