"""One model card per run of ml.model_runs, linked to the runs before and after it."""

from __future__ import annotations

from markupsafe import Markup

from reports.data import summaries
from reports.data.load import ReportData
from reports.data.model import ModelRun
from reports.rendering.common import (
    Page,
    candidates_of,
    finite,
    records,
    run_filename,
)
from reports.rendering.i18n import Messages


def run_pages(data: ReportData, t: Messages) -> list[Page]:
    pages = []
    runs = data.runs
    for i, run in enumerate(runs):
        n_predictions = None
        predictions = None
        if data.model is not None and data.model.run.run_id == run.run_id:
            predictions = data.model.predictions
            n_predictions = len(predictions)
        pages.append(
            Page(
                filename=run_filename(data, run.run_id),
                template="model_run.html",
                title=t.text("run.title", run_id=run.run_id),
                context={
                    "run": run,
                    "family": t.label("family", run.model_family) if run.model_family else "—",
                    "candidates": records(candidates_of(data, run.run_id)),
                    "confusions": summaries.run_confusions(run, predictions),
                    "previous": (runs[i - 1], run_filename(data, runs[i - 1].run_id))
                    if i > 0
                    else None,
                    "next": (runs[i + 1], run_filename(data, runs[i + 1].run_id))
                    if i + 1 < len(runs)
                    else None,
                    "all_runs": [(r, run_filename(data, r.run_id)) for r in reversed(runs)],
                    "limits": run_limits(t, run, n_predictions),
                },
            )
        )
    return pages


def run_limits(t: Messages, run: ModelRun, n_predictions: int | None) -> list[Markup]:
    """What the figures of a run cannot tell, with its own numbers where they exist."""
    limits = [t("limits.one_export")]
    if run.holdout_size is not None:
        limits.append(t("limits.holdout_size", n=t.number(run.holdout_size)))
    if finite(run.cv_roc_auc_std):
        limits.append(t("limits.cv_spread", std=t.number(run.cv_roc_auc_std, 3)))
    limits.append(t("limits.correlation"))
    limits.append(t("limits.profit_at_risk"))
    if n_predictions is not None:
        limits.append(t("limits.oof", n=t.number(n_predictions)))
    return limits
