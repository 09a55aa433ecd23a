"""Candidate pipelines learn every preprocessing statistic from their training rows only."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ml.contracts.features import mart_columns
from ml.io.mart import model_inputs
from ml.model.candidates import FAMILIES, MODEL_STEP, PREP_STEP, FeatureSpec, get_family
from ml.model.predict import positive_proba
from ml.model.search import candidate_configs

from .ml_fixtures import synthetic_mart


def _data(n: int = 80) -> tuple[pd.DataFrame, np.ndarray, FeatureSpec]:
    columns = mart_columns()
    frame = synthetic_mart(n=n, twins=0)
    spec = FeatureSpec(tuple(columns.numeric), tuple(columns.categorical))
    return model_inputs(frame, columns), frame["activity_declined"].astype(int).to_numpy(), spec


def test_scaler_statistics_come_from_training_rows_only() -> None:
    x, y, spec = _data()
    x.loc[60:, "tenure_days"] = 1e6  # validation rows with values far from training rows
    model = get_family("logreg").build({"C": 1.0, "l1_ratio": 0.0}, spec, 0)
    model.fit(x.iloc[:60], y[:60])
    scaler = model.named_steps[PREP_STEP].named_transformers_["numeric"]
    position = list(spec.numeric).index("tenure_days")
    assert scaler.mean_[position] == pytest.approx(x["tenure_days"].iloc[:60].mean())


def test_categories_seen_only_in_validation_rows_are_unknown_to_the_encoder() -> None:
    x, y, spec = _data()
    x.loc[60:, "favourite_category"] = "only_in_validation"
    model = get_family("knn").build(get_family("knn").default, spec, 0)
    model.fit(x.iloc[:60], y[:60])
    encoder = model.named_steps[PREP_STEP].named_transformers_["categorical"]
    position = list(spec.categorical).index("favourite_category")
    assert "only_in_validation" not in encoder.categories_[position]
    assert positive_proba(model, x.iloc[60:]).shape == (20,)


def test_pca_projections_are_fitted_on_training_rows_only() -> None:
    x, y, spec = _data()
    params = {**get_family("extra_trees").default, "projections": 3}
    model = get_family("extra_trees").build(params, spec, 0).fit(x.iloc[:60], y[:60])
    projection = model.named_steps[PREP_STEP].named_transformers_["numeric"]
    scaler = projection.transformer_list[1][1].named_steps["scale"]
    assert scaler.n_samples_seen_ == 60


@pytest.mark.parametrize("family", [f.name for f in FAMILIES])
def test_every_family_fits_and_predicts_probabilities_without_warnings(family: str) -> None:
    x, y, spec = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = get_family(family).build(get_family(family).default, spec, 0).fit(x, y)
        p = positive_proba(model, x)
    assert p.shape == (len(x),)
    assert np.all((p >= 0) & (p <= 1))
    assert MODEL_STEP in model.named_steps


def test_search_tries_the_default_first_then_distinct_seeded_configs() -> None:
    family = get_family("svc")
    configs = candidate_configs(family, search_size=5, seed=42)
    assert configs[0] == family.default
    assert len(configs) == 5
    assert len({tuple(sorted(c.items())) for c in configs}) == 5
    assert configs == candidate_configs(family, search_size=5, seed=42)
    assert candidate_configs(family, search_size=1, seed=42) == [family.default]
