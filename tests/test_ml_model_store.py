"""The pipeline survives a skops round trip; a tampered or missing model is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.contracts.features import mart_columns
from ml.io.mart import model_inputs
from ml.model.candidates import FeatureSpec, get_family
from ml.model.predict import positive_proba
from ml.model.store import ModelFiles, ModelStoreError, load_model, read_card, stage_model

from .ml_fixtures import synthetic_mart

CARD = {"run_id": "20260101T000000Z-abc123", "threshold": 0.4, "features": [], "limits": ["x"]}


def _model(family: str = "extra_trees"):
    columns = mart_columns()
    frame = synthetic_mart(n=60, twins=0)
    x = model_inputs(frame, columns)
    spec = FeatureSpec(tuple(columns.numeric), tuple(columns.categorical))
    model = get_family(family).build(get_family(family).default, spec, 0)
    return model.fit(x, frame["activity_declined"].astype(int)), x


@pytest.mark.parametrize("family", ["extra_trees", "svc", "hist_gb", "logreg"])
def test_skops_round_trip_gives_identical_predictions(tmp_path: Path, family: str) -> None:
    model, x = _model(family)
    stage_model(model, CARD, tmp_path).commit()
    loaded, card = load_model(tmp_path)
    np.testing.assert_array_equal(positive_proba(loaded, x), positive_proba(model, x))
    assert card["run_id"] == CARD["run_id"]
    assert len(card["model_sha256"]) == 64


def test_the_card_is_written_as_json_and_markdown(tmp_path: Path) -> None:
    model, _ = _model()
    stage_model(model, CARD, tmp_path).commit()
    files = ModelFiles.in_dir(tmp_path)
    assert json.loads(files.card_json.read_text(encoding="utf-8"))["threshold"] == 0.4
    text = files.card_md.read_text(encoding="utf-8")
    assert text.startswith("# Model card")
    assert "## Limits" in text


def test_a_model_file_that_does_not_match_its_card_is_refused(tmp_path: Path) -> None:
    model, _ = _model()
    stage_model(model, CARD, tmp_path).commit()
    path = ModelFiles.in_dir(tmp_path).model
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ModelStoreError, match="does not match its model card"):
        load_model(tmp_path)


def test_a_missing_model_says_to_train_first(tmp_path: Path) -> None:
    with pytest.raises(ModelStoreError, match=r"run `python -m ml\.train` first"):
        read_card(tmp_path)


def test_discarding_a_staged_model_keeps_the_previous_one(tmp_path: Path) -> None:
    model, _ = _model()
    stage_model(model, CARD, tmp_path).commit()
    before = ModelFiles.in_dir(tmp_path).card_json.read_text(encoding="utf-8")
    staged = stage_model(model, {**CARD, "run_id": "other"}, tmp_path)
    staged.discard()
    assert ModelFiles.in_dir(tmp_path).card_json.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [ModelFiles.in_dir(tmp_path).model.name, "decline_model.card.json", "decline_model.card.md"]
    )
