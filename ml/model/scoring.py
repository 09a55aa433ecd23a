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
from datetime import datetime
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
from ml.io.mart import MartData, MartError, data_fingerprint, load_mart, open_duckdb
from ml.io.writer import TableRows, model_runs_row, write_run
from ml.model import explanation
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


@dataclass(frozen=True)
class ScoringStart:
    """What a scoring run fixes before it reads the mart, on either engine."""

    run_id: str
    started_at: datetime
    clock: float  # time.monotonic() at the start, for the run's duration
    model: Any
    card: dict[str, Any]
    models_dir: Path


def start_scoring(models_dir: Path, run_id: str | None, columns: MartColumns) -> ScoringStart:
    """Load the persisted model, refuse a mart it was not trained on, and name the run.

    DuckDB scoring (:func:`run_scoring`) and Spark scoring
    (:mod:`ml.spark.scoring`) start the same way, so a run id, a clock and a
    contract check mean the same on both.
    """
    started_at = utc_now()
    clock = time.monotonic()
    model, card = load_model(models_dir)
    check_contract(card, columns)
    return ScoringStart(
        run_id=run_id or new_run_id(started_at),
        started_at=started_at,
        clock=clock,
        model=model,
        card=card,
        models_dir=Path(models_dir),
    )


def score_run_columns(start: ScoringStart) -> dict[str, Any]:
    """The ml.model_runs columns both engines fill alike: run, timing, model and code."""
    card = start.card
    return {
        "run_id": start.run_id,
        "run_kind": "score",
        "parent_run_id": card["run_id"],
        "started_at": start.started_at,
        "finished_at": utc_now(),
        "duration_s": time.monotonic() - start.clock,
        "code_version": code_version(),
        "library_versions": json.dumps(library_versions(), sort_keys=True),
        "seed": card.get("seed"),
        "model_family": card.get("model_family"),
        "model_params": json.dumps(card.get("model_params"), sort_keys=True, ensure_ascii=False),
        "threshold_rule": card.get("threshold_rule"),
        "model_path": str(start.models_dir / card["model_file"]),
        "model_sha256": card.get("model_sha256"),
    }


def _explanation(
    model: Any, x: pd.DataFrame, p: np.ndarray, card: dict[str, Any], settings: ScoreSettings
) -> explanation.Explanation | None:
    """The scored customers' exact SHAP values from the persisted model, when it has them.

    None (and a warning) for a model without an exact route in probability
    units (one persisted by an older version), or one whose TreeSHAP would
    cost more per customer than large-N mode allows on a large export.
    """
    if not settings.explain:
        return None
    features = list(x.columns)
    why = None
    if explanation.exact_route(model, features) is None:
        why = "it has no exact SHAP route in probability units"
    elif (
        len(x) > LARGE_N_CUSTOMERS
        and explanation.tree_shap_work_per_row(model) > LARGE_N_TREE_SHAP_WORK_PER_CUSTOMER
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
        return explanation.explain_producers(
            [(model, np.arange(len(x)))], x, p, settings.batch_rows
        )


@dataclass(frozen=True)
class _Scored:
    """One scoring run's inputs and outputs, from which its ml.* rows follow."""

    frame: pd.DataFrame
    data: MartData
    p: np.ndarray
    threshold: float
    explanation: explanation.Explanation | None
    n_declined: int | None  # None when the mart carries no complete target


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
    start = start_scoring(paths.models_dir, settings.run_id, columns)
    card = start.card
    with open_duckdb(target, read_only=not settings.write_back) as con:
        scored = _score(con, start, columns, settings)
        tables = _tables(scored, start, settings, columns)
        if settings.write_back:
            with timed_stage("write_back"):
                write_run(con, tables)
    logger.info(
        "scoring run %s: %d customers, %d above threshold %.3f (model of %s)",
        start.run_id,
        len(scored.p),
        int((scored.p >= scored.threshold).sum()),
        scored.threshold,
        card["run_id"],
    )
    return ScoreResult(run_id=start.run_id, parent_run_id=card["run_id"], tables=tables)


def _score(
    con: duckdb.DuckDBPyConnection,
    start: ScoringStart,
    columns: MartColumns,
    settings: ScoreSettings,
) -> _Scored:
    """Read and check the mart, score every customer, explain them when the model allows."""
    model, card = start.model, start.card
    frame, data = load_mart(con, settings.relation, columns, for_training=False)
    for name, values in unseen_categories(card, data.x).items():
        logger.warning("%s has values unseen in training: %s", name, ", ".join(values))
    with timed_stage("predict"):
        p = positive_proba(model, data.x, settings.batch_rows)
    explanation = _explanation(model, data.x, p, card, settings)
    n_declined = _declined_if_known(frame, columns.target, p)
    threshold = float(card["threshold"])
    return _Scored(frame, data, p, threshold, explanation, n_declined)


def _declined_if_known(frame: pd.DataFrame, target: str, p: np.ndarray) -> int | None:
    """Declined customers when every row has the target (then also log the in-sample ROC-AUC)."""
    known = frame[target].notna()
    if not known.all():
        return None
    n_declined = int(frame.loc[known, target].astype(bool).sum())
    if 0 < n_declined < len(frame):
        auc = roc_auc_score(frame[target].astype(bool).astype(int), p)
        logger.info(
            "target present in the mart: ROC-AUC %.4f (in-sample, hence optimistic, for "
            "customers the model was trained on)",
            auc,
        )
    return n_declined


def _predictions(scored: _Scored, run_id: str) -> pd.DataFrame:
    """ml.predictions rows of a scoring run: the persisted model's p for every customer."""
    p, explanation = scored.p, scored.explanation
    return pd.DataFrame(
        {
            "run_id": run_id,
            "customer_id": scored.data.customer_ids.astype(np.int64),
            "p_decline": p,
            "predicted_decline": p >= scored.threshold,
            "p_source": "model",
            "fold": pd.array([None] * len(p), dtype="Int64"),
            "is_holdout": pd.array([None] * len(p), dtype="boolean"),
            "base_value": explanation.base_values
            if explanation is not None
            else np.full(len(p), np.nan),
        }
    )


def _run_row(scored: _Scored, start: ScoringStart, relation: str) -> pd.DataFrame:
    """The ml.model_runs row of a scoring run: provenance, and the training run it used."""
    explanation = scored.explanation
    return model_runs_row(
        **score_run_columns(start),
        mart_relation=relation,
        n_customers=len(scored.frame),
        n_declined=scored.n_declined,
        data_fingerprint=data_fingerprint(scored.frame),
        threshold=scored.threshold,
        shap_method=explanation.method if explanation else None,
        shap_output_space=explanation.output_space if explanation else None,
        shap_base_value=explanation.base_value if explanation else None,
    )


def _tables(
    scored: _Scored, start: ScoringStart, settings: ScoreSettings, columns: MartColumns
) -> dict[str, TableRows]:
    """Every ml.* table's rows of the scoring run (no SHAP rows when it has none)."""
    tables: dict[str, TableRows] = {
        "model_runs": _run_row(scored, start, settings.relation),
        "predictions": _predictions(scored, start.run_id),
    }
    if scored.explanation is not None:
        tables["shap_values"] = explanation.ShapRows(
            scored.explanation,
            scored.data.x,
            scored.data.customer_ids,
            start.run_id,
            settings.batch_rows,
            columns.actionable,
        )
    return tables
