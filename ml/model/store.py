"""Persist the fitted pipeline with skops next to its model card (JSON and Markdown).

skops stores the object graph, not pickled code, and loading refuses types
nobody trusted. We trust only scikit-learn's, NumPy's and SciPy's own types
and check the file's SHA-256 against the card, so a swapped or tampered file
is refused rather than executed. Pickles are never loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import skops.io as sio

from ml.config import MODEL_CARD_JSON, MODEL_CARD_MD, MODEL_FILE

logger = logging.getLogger(__name__)

TRUSTED_MODULE_PREFIXES = ("sklearn.", "numpy.", "scipy.")


class ModelStoreError(RuntimeError):
    """The persisted model is missing, altered or holds types we do not trust."""


@dataclass(frozen=True)
class ModelFiles:
    """Where the model and its card live inside a models directory."""

    model: Path
    card_json: Path
    card_md: Path

    @classmethod
    def in_dir(cls, models_dir: Path) -> ModelFiles:
        """The standard file names inside *models_dir*."""
        return cls(
            models_dir / MODEL_FILE, models_dir / MODEL_CARD_JSON, models_dir / MODEL_CARD_MD
        )


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class StagedModel:
    """Model and card written under temporary names; :meth:`commit` moves them into place.

    Training stages the files, writes the warehouse, and only then commits, so
    a failed run leaves the previous model and card untouched.
    """

    files: ModelFiles
    staged: dict[Path, Path]
    sha256: str

    def commit(self) -> None:
        """Atomically replace each final file with its staged copy."""
        for final, temporary in self.staged.items():
            os.replace(temporary, final)
        logger.info("model saved to %s (sha256 %s)", self.files.model, self.sha256[:12])

    def discard(self) -> None:
        """Remove the staged files, leaving the previous model in place."""
        for temporary in self.staged.values():
            temporary.unlink(missing_ok=True)


def _staging_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


def stage_model(model: Any, card: dict[str, Any], models_dir: Path) -> StagedModel:
    """Dump *model* with skops and write the card (JSON + Markdown) under temporary names.

    The card gets ``model_file`` and ``model_sha256`` filled in here, after
    the bytes exist, so the hash always describes the file next to it.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    files = ModelFiles.in_dir(models_dir)
    staged = {path: _staging_path(path) for path in (files.model, files.card_json, files.card_md)}
    try:
        sio.dump(model, staged[files.model])
        digest = sha256_of(staged[files.model])
        card = {**card, "model_file": files.model.name, "model_sha256": digest}
        staged[files.card_json].write_text(
            json.dumps(card, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
        staged[files.card_md].write_text(render_card_markdown(card), encoding="utf-8")
    except Exception:
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)
        raise
    return StagedModel(files, staged, digest)


def read_card(models_dir: Path) -> dict[str, Any]:
    """The JSON model card of the model in *models_dir*."""
    files = ModelFiles.in_dir(models_dir)
    if not files.card_json.exists() or not files.model.exists():
        raise ModelStoreError(
            f"no trained model in {models_dir} (expected {files.model.name} and "
            f"{files.card_json.name}); run `python -m ml.train` first"
        )
    return json.loads(files.card_json.read_text(encoding="utf-8"))


def load_model(models_dir: Path) -> tuple[Any, dict[str, Any]]:
    """Load the pipeline and its card, refusing a hash mismatch or untrusted types."""
    card = read_card(models_dir)
    path = ModelFiles.in_dir(models_dir).model
    digest = sha256_of(path)
    if digest != card.get("model_sha256"):
        raise ModelStoreError(
            f"{path} does not match its model card (sha256 {digest[:12]} vs "
            f"{str(card.get('model_sha256'))[:12]}); retrain or restore the pair"
        )
    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(TRUSTED_MODULE_PREFIXES)]
    if refused:
        raise ModelStoreError(f"{path} holds types outside scikit-learn/NumPy/SciPy: {refused}")
    model = sio.load(path, trusted=untrusted)
    logger.info("loaded model of run %s from %s", card.get("run_id"), path)
    return model, card


def _fmt(value: Any) -> str:
    if value is None:  # a figure the run did not compute (e.g. nested CV without --nested-cv)
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def render_card_markdown(card: dict[str, Any]) -> str:
    """Human-readable model card: what the model is, how it was judged, and where it stops."""
    sections = (
        _card_heading,
        _card_model,
        _card_data,
        _card_features,
        _card_evaluation,
        _card_candidates,
        _card_explanations,
        _card_limits,
    )
    lines = [line for section in sections for line in section(card)]
    return "\n".join(lines) + "\n"


def _section(title: str, *lines: str) -> list[str]:
    return ["", f"## {title}", "", *lines]


def _table(header: str, rows: list[str]) -> list[str]:
    """A Markdown table: *header* cells separated by |, then the rows as given."""
    cells = header.split(" | ")
    return [f"| {header} |", "|" + "---|" * len(cells), *rows]


def _card_heading(card: dict[str, Any]) -> list[str]:
    return [
        f"# Model card: purchasing-activity decline ({card.get('run_id')})",
        "",
        f"*Created {card.get('created_at')} UTC, code `{card.get('code_version')}`, "
        f"seed {card.get('seed')}.*",
    ]


def _card_model(card: dict[str, Any]) -> list[str]:
    return _section(
        "Model",
        f"- Family: **{card.get('model_family')}** — {card.get('model_description', '')}",
        f"- Parameters: `{json.dumps(card.get('model_params'), ensure_ascii=False)}`",
        f"- File: `{card.get('model_file')}` (skops), sha256 `{card.get('model_sha256')}`",
        f"- Output: probability that the customer's purchasing activity declines; "
        f"offer when p ≥ {_fmt(card.get('threshold'))} (rule `{card.get('threshold_rule')}`).",
    )


def _card_data(card: dict[str, Any]) -> list[str]:
    data = card.get("data", {})
    return _section(
        "Data",
        f"- Source: `{data.get('relation')}`, {data.get('n_customers')} customers, "
        f"{data.get('n_declined')} declined; fingerprint `{data.get('fingerprint')}`.",
        f"- Duplicate-record groups with more than one row: {data.get('duplicate_groups')}; "
        "a group is never split across train/validation/hold-out.",
    )


def _card_features(card: dict[str, Any]) -> list[str]:
    rows = [
        f"| `{feature['name']}` | {feature['role']} | "
        f"{'yes' if feature['actionable'] else 'no'} | {feature['description']} |"
        for feature in card.get("features", [])
    ]
    return _section("Features", *_table("feature | role | actionable | description", rows))


def _card_evaluation(card: dict[str, Any]) -> list[str]:
    rows = [f"| {name} | {_fmt(value)} |" for name, value in card.get("metrics", {}).items()]
    return _section(
        "Evaluation",
        f"- Protocol: {card.get('protocol', '')}",
        f"- Configurations tried: {card.get('n_configs_tried', '—')}.",
        "",
        *_table("metric | value", rows),
    )


def _card_candidates(card: dict[str, Any]) -> list[str]:
    rows = []
    for row in card.get("candidates", []):
        eligible = row.get("is_eligible")
        rows.append(
            f"| {row['family']} | {_fmt(row['cv_roc_auc_mean'])} | "
            f"{_fmt(row['cv_roc_auc_std'])} | {row['n_configs']} | "
            f"{'—' if eligible is None else 'yes' if eligible else 'no (comparison only)'} |"
        )
    return _section(
        "Candidates (cross-validated ROC-AUC on the training part)",
        *_table("family | mean | std | configs | eligible (exact SHAP)", rows),
    )


def _card_explanations(card: dict[str, Any]) -> list[str]:
    lines = _section("Explanations", f"- {card.get('shap', '')}")
    if card.get("shap_explainer"):
        lines.append(
            f"- Explainer: {card['shap_explainer']}. Rule: only models whose exact SHAP values "
            "add up to their probability over the mart's features are selected; every "
            "customer's base_value + Σ SHAP = p_decline within 1e-6."
        )
    return lines


def _card_limits(card: dict[str, Any]) -> list[str]:
    versions = card.get("library_versions", {}).items()
    return [
        *_section("Limits", *(f"- {limit}" for limit in card.get("limits", []))),
        *_section("Library versions", *(f"- {name} {version}" for name, version in versions)),
    ]
