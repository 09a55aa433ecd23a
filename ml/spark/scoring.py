"""Score the Spark feature mart with the persisted model, in parallel, and append the run.

Every partition of ``marts.customer_features`` goes through
:func:`score_batch` (a pure function of a pandas batch and the model, the
same steps as DuckDB scoring in :mod:`ml.model.scoring`): predictions and, when
the model has an exact route, TreeSHAP values checked to add up to each
probability. The model travels once per executor as a broadcast variable.
The batch comes back wide (one SHAP and one value column per feature) and
Spark unpivots it into ``ml.shap_values``' long form.

The run is appended as DuckDB scoring appends it: ``ml.shap_values`` and
``ml.predictions`` first, ``ml.model_runs`` last. Spark has no transaction
across tables, so a run that fails half-way may leave rows under its run id,
but readers find runs through ``ml.model_runs`` (and
``int_predictions_filtered_to_latest_run`` joins the two), so such rows are
never read as a run.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml.config import MART_RELATION, ML_SCHEMA, SCORE_BATCH_ROWS, resolve_paths
from ml.contracts.features import MartColumns, mart_columns
from ml.contracts.ml_tables import TABLES
from ml.io.mart import MartError, to_mart_data, validate_for_scoring
from ml.io.writer import model_runs_row
from ml.model.explanation import PROBABILITY, exact_route, explain_producers
from ml.model.predict import positive_proba
from ml.model.scoring import score_run_columns, start_scoring
from ml.spark.session import PANDAS_WARNING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

logger = logging.getLogger(__name__)

# SQL types of ml.contracts.ml_tables.TABLES in Spark's spelling (Spark wants a
# length after varchar; its unbounded text type is string).
SPARK_TYPES = {"varchar": "string"}


@dataclass(frozen=True)
class SparkScoreSettings:
    """What to score and where to append the run."""

    relation: str = MART_RELATION
    models_dir: Path | None = None  # None: resolve_paths().models_dir
    run_id: str | None = None  # None: a new id
    explain: bool = True  # SHAP values for every customer
    schema: str = ML_SCHEMA
    batch_rows: int = SCORE_BATCH_ROWS  # rows per pandas batch in a partition


@dataclass(frozen=True)
class SparkScoreResult:
    """The run written, and how many customers it scored."""

    run_id: str
    parent_run_id: str
    n_customers: int
    explained: bool


# The shap_values columns one stacked row carries per feature.
_STACKED = ("feature", "feature_value", "feature_value_num", "shap_value")


def _columns(table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column of ml.*table*, in write order."""
    return [(c.name, c.sql_type) for c in TABLES[table].columns]


def spark_type(sql_type: str) -> str:
    """A type of ml.contracts.ml_tables.TABLES as Spark SQL writes it."""
    return SPARK_TYPES.get(sql_type, sql_type)


def table_ddl(table: str) -> str:
    """``name type, ...`` of an ml table, in its declared column order."""
    return ", ".join(f"{name} {spark_type(kind)}" for name, kind in _columns(table))


def value_text(values: pd.Series) -> list[str]:
    """A feature's values as ml.shap_values.feature_value writes them.

    The same text as the DuckDB writer (ml.model.explanation.ShapRows.select_sql):
    whole floats without '.0', other floats in their shortest round-trip
    form, text as is.
    """
    if pd.api.types.is_float_dtype(values):
        return [
            str(int(v)) if np.isfinite(v) and float(v).is_integer() else repr(float(v))
            for v in values.to_numpy()
        ]
    return [str(v) for v in values.to_numpy()]


def wide_ddl(features: list[str], explain: bool) -> str:
    """Schema of :func:`score_batch`'s output (feature i as shap_i and value_i)."""
    parts = ["customer_id bigint", "p_decline double", "base_value double"]
    if explain:
        parts += [f"shap_{i} double" for i in range(len(features))]
    parts += [f"value_{i} string" for i in range(len(features))]
    return ", ".join(parts)


def score_batch(
    frame: pd.DataFrame, model: Any, columns: MartColumns, explain: bool
) -> pd.DataFrame:
    """One batch of mart rows scored: probability, base value, SHAP and value text per feature.

    Raises MartError for nulls in the model inputs, and RuntimeError when the
    SHAP values do not add up to a probability (ml.model.explanation.explain_producers).
    """
    validate_for_scoring(frame, columns)
    data = to_mart_data(frame, columns, with_target=False)
    p = positive_proba(model, data.x)
    out: dict[str, Any] = {
        "customer_id": np.asarray(data.customer_ids, dtype=np.int64),
        "p_decline": p,
        "base_value": np.full(len(p), np.nan),
    }
    if explain:
        explanation = explain_producers([(model, np.arange(len(p)))], data.x, p)
        out["base_value"] = explanation.base_values
        for i, name in enumerate(columns.features):
            out[f"shap_{i}"] = explanation.values[name].to_numpy()
    for i, name in enumerate(columns.features):
        out[f"value_{i}"] = value_text(data.x[name])
    return pd.DataFrame(out)


def _batches_scorer(broadcast: Any, columns: MartColumns, explain: bool):
    """The mapInPandas function: every batch of a partition through score_batch."""

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = broadcast.value
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)
            for batch in batches:
                if len(batch):
                    yield score_batch(batch, model, columns, explain)

    return score


def _check_mart(mart: DataFrame, columns: MartColumns) -> int:
    """Refuse an empty mart or repeated ids (a batch sees only its own rows); return the count."""
    from pyspark.sql import functions as f

    row = mart.agg(
        f.count(f.lit(1)).alias("n"),
        f.countDistinct(columns.id).alias("n_ids"),
        f.count(columns.id).alias("n_not_null"),
    ).collect()[0]
    if row["n"] == 0:
        raise MartError("mart is empty: no active customers to model")
    if row["n_ids"] != row["n"] or row["n_not_null"] != row["n"]:
        raise MartError(f"{columns.id} must be unique and not null (one row per customer)")
    return int(row["n"])


def _fingerprint(mart: DataFrame) -> str:
    """An order-independent fingerprint of the mart: the sum of every row's xxhash64."""
    from pyspark.sql import functions as f

    total = mart.agg(f.sum(f.xxhash64(*mart.columns).cast("decimal(38,0)"))).collect()[0][0]
    return f"spark-xxhash64-sum:{total}"


def _long_shap(wide: DataFrame, run_id: str, columns: MartColumns) -> DataFrame:
    """ml.shap_values rows (one per customer and feature) from the wide scored rows."""
    from pyspark.sql import functions as f

    entries = []
    for i, name in enumerate(columns.features):
        literal = "'" + name.replace("'", "\\'") + "'"
        number = (
            "cast(null as double)" if name in columns.categorical else f"cast(value_{i} as double)"
        )
        entries.append(f"{literal}, value_{i}, {number}, shap_{i}")
    stack = f"stack({len(entries)}, {', '.join(entries)}) as ({', '.join(_STACKED)})"
    # The driver ranks (shap_rank, ...) stay null: the segment models rank
    # such runs themselves (int_risk_drivers_ranked).
    produced = {"run_id", "customer_id", *_STACKED}
    return wide.select(f.lit(run_id).alias("run_id"), "customer_id", f.expr(stack)).selectExpr(
        *[
            f"cast({name if name in produced else 'null'} as {spark_type(kind)}) as {name}"
            for name, kind in _columns("shap_values")
        ]
    )


def _append(frame: DataFrame, schema: str, table: str) -> None:
    frame.selectExpr(
        *[f"cast({name} as {spark_type(kind)}) as {name}" for name, kind in _columns(table)]
    ).write.format("parquet").mode("append").saveAsTable(f"{schema}.{table}")


def _python(value: Any) -> Any:
    """A pandas cell as a plain Python value for spark.createDataFrame (NA -> None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if isinstance(value, np.generic) else value


def score_on_spark(
    spark: SparkSession,
    settings: SparkScoreSettings | None = None,
    columns: MartColumns | None = None,
) -> SparkScoreResult:
    """Score the Spark mart with the persisted model; append the run to the Spark ml tables."""
    settings = settings or SparkScoreSettings()
    columns = columns or mart_columns()
    models_dir = resolve_paths(models_dir=settings.models_dir).models_dir
    start = start_scoring(models_dir, settings.run_id, columns)
    model, card, run_id = start.model, start.card, start.run_id
    route = _explanation_route(model, card, list(columns.features), settings.explain)
    mart = spark.table(settings.relation).select(*columns.all)
    n_customers, n_declined = _count_customers(mart, columns)
    broadcast = spark.sparkContext.broadcast(model)
    wide = _scored_partitions(spark, mart, broadcast, columns, route, settings.batch_rows)
    try:
        threshold = float(card["threshold"])
        predictions = _predictions(wide, run_id, threshold)
        spark.sql(f"create database if not exists {settings.schema}")
        if route:
            _append(_long_shap(wide, run_id, columns), settings.schema, "shap_values")
        _append(predictions, settings.schema, "predictions")
        n_above = predictions.filter("predicted_decline").count()
        run = model_runs_row(
            **score_run_columns(start),
            mart_relation=settings.relation,
            n_customers=n_customers,
            n_declined=n_declined,
            data_fingerprint=_fingerprint(mart),
            threshold=threshold,
            shap_method=route,
            shap_output_space=PROBABILITY if route else None,
            shap_base_value=_base_value(wide) if route else None,
        )
        _append_run(spark, run, settings.schema)
    finally:
        wide.unpersist()
        broadcast.unpersist()
    logger.info(
        "spark scoring run %s: %d customers, %d above threshold %.3f (model of %s)",
        run_id,
        n_customers,
        n_above,
        threshold,
        card["run_id"],
    )
    return SparkScoreResult(run_id, card["run_id"], n_customers, route is not None)


def _explanation_route(model: object, card: dict, features: list[str], explain: bool) -> str | None:
    """The exact SHAP route of *model*, or None when not explaining (asked not to, or none)."""
    if not explain:
        return None
    route = exact_route(model, features)
    if route is None:
        logger.warning(
            "no SHAP values for this run: the model (%s) has no exact SHAP route in probability "
            "units; retrain with `python -m ml.train` to get them",
            card.get("model_family"),
        )
    return route


def _count_customers(mart: DataFrame, columns: MartColumns) -> tuple[int, int | None]:
    """Customers in the mart, and how many declined (None unless every label is known)."""
    from pyspark.sql import functions as f

    n_customers = _check_mart(mart, columns)
    target = mart.agg(
        f.count(columns.target).alias("known"),
        f.sum(f.col(columns.target).cast("int")).alias("declined"),
    ).collect()[0]
    n_declined = int(target["declined"] or 0) if target["known"] == n_customers else None
    return n_customers, n_declined


def _scored_partitions(
    spark: SparkSession,
    mart: DataFrame,
    broadcast: Any,
    columns: MartColumns,
    route: str | None,
    batch_rows: int,
) -> DataFrame:
    """Every customer's probability, base value and (with *route*) SHAP values, persisted."""
    # Batches as large as DuckDB scoring's, so TreeSHAP takes its by-pattern
    # route on large partitions (ml.model.explanation), and at least one
    # partition per core: a small mart is one parquet file, which Spark reads as one.
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
    partitions = max(mart.rdd.getNumPartitions(), spark.sparkContext.defaultParallelism)
    explain = route is not None
    scorer = _batches_scorer(broadcast, columns, explain)
    schema = wide_ddl(list(columns.features), explain)
    return mart.repartition(partitions).mapInPandas(scorer, schema=schema).persist()


def _predictions(wide: DataFrame, run_id: str, threshold: float) -> DataFrame:
    """The ml.predictions rows of a scoring run (every customer scored by the one model)."""
    from pyspark.sql import functions as f

    return wide.select(
        f.lit(run_id).alias("run_id"),
        "customer_id",
        "p_decline",
        (f.col("p_decline") >= f.lit(threshold)).alias("predicted_decline"),
        f.lit("model").alias("p_source"),
        f.lit(None).alias("fold"),
        f.lit(None).alias("is_holdout"),
        "base_value",
    )


def _base_value(wide: DataFrame) -> float:
    from pyspark.sql import functions as f

    return float(wide.agg(f.first("base_value")).collect()[0][0])


def _append_run(spark: SparkSession, run: pd.DataFrame, schema: str) -> None:
    """Append the one model_runs row last: a run without it is not a finished run."""
    rows = [tuple(_python(v) for v in run.iloc[0].tolist())]
    _append(spark.createDataFrame(rows, schema=table_ddl("model_runs")), schema, "model_runs")
