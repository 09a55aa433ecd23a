"""Score a mart with the persisted model, without retraining, under a new run id.

Scoring appends: it adds one ``ml.model_runs`` row (``run_kind = 'score'``,
``parent_run_id`` = the training run whose model it used), one prediction
per customer in ``ml.predictions`` and their SHAP values in ``ml.shap_values``
under its own run id; earlier runs stay. Each run id holds exactly one
prediction set, so readers choose a run, not rows, and the segment models
give reasons and offers for a scored export as for a trained one.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.config import (
    LARGE_N_CUSTOMERS,
    LARGE_N_TREE_SHAP_WORK_PER_CUSTOMER,
    MART_RELATION,
    SCORE_BATCH_ROWS,
    resolve_paths,
)
from ml.contracts.features import MartColumns, mart_columns
from ml.contracts.run_ids import new_run_id
from ml.io.mart import (
    MartError,
    data_fingerprint,
    open_duckdb,
    read_mart,
    to_mart_data,
    validate_for_scoring,
)
from ml.io.writer import TableRows, model_runs_row, write_run
from ml.model.explanation import (
    Explanation,
    ShapRows,
    exact_route,
    explain_producers,
    tree_shap_work_per_row,
)
from ml.model.predict import positive_proba
from ml.model.progress import timed_stage
from ml.model.provenance import code_version, library_versions, utc_now
from ml.model.store import load_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreSettings:
    """Where to read the mart and the model, and whether to write the result back."""

    relation: str = MART_RELATION
    models_dir: Path | None = None  # None: resolve_paths().models_dir
    run_id: str | None = None  # None: a new id; an orchestrator may pass its own
    write_back: bool = True
    explain: bool = True  # SHAP values for every customer (segments' reasons and offers)
    batch_rows: int = SCORE_BATCH_ROWS


@dataclass
class ScoreResult:
    """Rows written by a scoring run, and the training run whose model scored them."""

    run_id: str
    parent_run_id: str
    tables: dict[str, TableRows]


def check_contract(card: dict[str, Any], columns: MartColumns) -> None:
    """Refuse to score when the mart's features differ from those the model was trained on."""
    trained = [f["name"] for f in card.get("features", [])]
    if trained != list(columns.features):
        raise MartError(
            "the mart contract's features differ from the model's "
            f"(model: {trained}; mart: {list(columns.features)}); retrain with `python -m ml.train`"
        )


def unseen_categories(card: dict[str, Any], x: pd.DataFrame) -> dict[str, list[str]]:
    """Category values absent at training time (the encoder maps them to all-zeros)."""
    unseen = {}
    for name, known in card.get("categories", {}).items():
        new = sorted(set(x[name].unique()) - set(known))
        if new:
            unseen[name] = new
    return unseen


def _explanation(
    model: Any, x: pd.DataFrame, p: np.ndarray, card: dict[str, Any], settings: ScoreSettings
) -> Explanation | None:
    """The scored customers' exact SHAP values from the persisted model, when it has them.

    None (and a warning) for a model without an exact route in probability
    units (one persisted by an older version), or one whose TreeSHAP would
    cost more per customer than large-N mode allows on a large export.
    """
    if not settings.explain:
        return None
    features = list(x.columns)
    why = None
    if exact_route(model, features) is None:
        why = "it has no exact SHAP route in probability units"
    elif (
        len(x) > LARGE_N_CUSTOMERS
        and tree_shap_work_per_row(model) > LARGE_N_TREE_SHAP_WORK_PER_CUSTOMER
    ):
        why = f"its exact TreeSHAP is too costly for {len(x):,} customers"
    if why is not None:
        logger.warning(
            "no SHAP values for this run: the model (%s): %s, so segments will list no reasons "
            "or offers; retrain with `python -m ml.train` on this export to get them",
            card.get("model_family"),
            why,
        )
        return None
    with timed_stage("shap"):
        return explain_producers([(model, np.arange(len(x)))], x, p, settings.batch_rows)


def run_scoring(
    con_or_path: duckdb.DuckDBPyConnection | str | Path | None = None,
    settings: ScoreSettings | None = None,
    columns: MartColumns | None = None,
) -> ScoreResult:
    """Score every customer of the mart with the persisted model; append the run to ``ml.*``."""
    settings = settings or ScoreSettings()
    columns = columns or mart_columns()
    paths = resolve_paths(models_dir=settings.models_dir)
    target = con_or_path if con_or_path is not None else paths.build_duckdb
    started_at = utc_now()
    clock = time.monotonic()
    model, card = load_model(paths.models_dir)
    check_contract(card, columns)
    run_id = settings.run_id or new_run_id(started_at)
    with open_duckdb(target, read_only=not settings.write_back) as con:
        frame = read_mart(con, settings.relation, columns)
        validate_for_scoring(frame, columns)
        data = to_mart_data(frame, columns, with_target=False)
        for name, values in unseen_categories(card, data.x).items():
            logger.warning("%s has values unseen in training: %s", name, ", ".join(values))
        with timed_stage("predict"):
            p = positive_proba(model, data.x, settings.batch_rows)
        explanation = _explanation(model, data.x, p, card, settings)
        threshold = float(card["threshold"])
        known = frame[columns.target].notna()
        n_declined = (
            int(frame.loc[known, columns.target].astype(bool).sum()) if known.all() else None
        )
        if n_declined is not None and 0 < n_declined < len(frame):
            auc = roc_auc_score(frame[columns.target].astype(bool).astype(int), p)
            logger.info(
                "target present in the mart: ROC-AUC %.4f (in-sample, hence optimistic, for "
                "customers the model was trained on)",
                auc,
            )
        predictions = pd.DataFrame(
            {
                "run_id": run_id,
                "customer_id": data.customer_ids.astype(np.int64),
                "p_decline": p,
                "predicted_decline": p >= threshold,
                "p_source": "model",
                "fold": pd.array([None] * len(p), dtype="Int64"),
                "is_holdout": pd.array([None] * len(p), dtype="boolean"),
                "base_value": explanation.base_values
                if explanation is not None
                else np.full(len(p), np.nan),
            }
        )
        run_row = model_runs_row(
            run_id=run_id,
            run_kind="score",
            parent_run_id=card["run_id"],
            started_at=started_at,
            finished_at=utc_now(),
            duration_s=time.monotonic() - clock,
            mart_relation=settings.relation,
            n_customers=len(frame),
            n_declined=n_declined,
            data_fingerprint=data_fingerprint(frame),
            code_version=code_version(),
            library_versions=json.dumps(library_versions(), sort_keys=True),
            seed=card.get("seed"),
            model_family=card.get("model_family"),
            model_params=json.dumps(card.get("model_params"), sort_keys=True, ensure_ascii=False),
            threshold_rule=card.get("threshold_rule"),
            threshold=threshold,
            model_path=str(Path(paths.models_dir) / card["model_file"]),
            model_sha256=card.get("model_sha256"),
            shap_method=explanation.method if explanation else None,
            shap_output_space=explanation.output_space if explanation else None,
            shap_base_value=explanation.base_value if explanation else None,
        )
        tables: dict[str, TableRows] = {"model_runs": run_row, "predictions": predictions}
        if explanation is not None:
            tables["shap_values"] = ShapRows(
                explanation, data.x, data.customer_ids, run_id, settings.batch_rows
            )
        if settings.write_back:
            with timed_stage("write_back"):
                write_run(con, tables)
    logger.info(
        "scoring run %s: %d customers, %d above threshold %.3f (model of %s)",
        run_id,
        len(p),
        int((p >= threshold).sum()),
        threshold,
        card["run_id"],
    )
    return ScoreResult(run_id=run_id, parent_run_id=card["run_id"], tables=tables)
