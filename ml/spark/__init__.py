"""Scoring on Apache Spark: the persisted model applied to the Spark feature mart in parallel.

`python -m ml.score --engine spark` reads ``marts.customer_features`` that
`dbt build --target spark` wrote, scores every partition with the model
broadcast to the executors (``mapInPandas``), explains each customer with
TreeSHAP in the same pass, and appends the run to the Spark tables
``ml.model_runs``, ``ml.predictions`` and ``ml.shap_values``. Training stays
on one machine (`python -m ml.train` on DuckDB, on a sample when the data
is larger than one machine holds); only the fitted pipeline travels.

Needs the optional extra ``spark`` (``pip install -e .[spark]``) and Java 17.
"""

from ml.spark.scoring import SparkScoreSettings, score_on_spark
from ml.spark.session import spark_conf, spark_session

__all__ = ["SparkScoreSettings", "score_on_spark", "spark_conf", "spark_session"]
