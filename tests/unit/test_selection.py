"""Model selection: recovers planted segments, refuses structureless data, is deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from ml_assets.features import FeatureConfig, build_feature_matrix
from ml_assets.selection import (
    NoClusterStructure,
    SelectionConfig,
    select_model,
)
from tests.support.synthetic import synthetic_customers, synthetic_matrix

FAST = SelectionConfig(bootstrap_rounds=5, k_max=7, bootstrap_sample_size=600)


def test_recovers_planted_archetypes_from_attribute_table():
    data = synthetic_customers(1200, seed=5)
    fm = build_feature_matrix(data["attributes"], data["catalog"], data["quality"], FeatureConfig())
    model = select_model(fm.X, FAST)
    assert model.algorithm == "kmeans" and model.k == 5
    assert adjusted_rand_score(data["truth"], model.labels) >= 0.9
    chosen = model.selection[model.selection["chosen"]]
    assert len(chosen) == 1 and chosen.iloc[0]["k"] == 5
    assert set(model.selection["algorithm"]) == {"kmeans", "gmm", "ward"}
    assert set(model.selection["k"]) == set(range(3, 8))
    assert {
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "stability_mean",
        "min_segment_share",
    } <= set(model.selection.columns)


def test_same_data_and_config_give_identical_segments():
    X, _ = synthetic_matrix(1000, 6, seed=2, k=4)
    config = SelectionConfig(candidates=("kmeans",), bootstrap_rounds=4)
    first, second = select_model(X, config), select_model(X, config)
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(first.centroids, second.centroids)
    assert first.selection.drop(columns="seconds_per_k").equals(
        second.selection.drop(columns="seconds_per_k")
    )


def test_refuses_uniform_noise_with_the_figures():
    X = np.random.default_rng(0).uniform(size=(800, 10))
    with pytest.raises(NoClusterStructure) as refusal:
        select_model(X, SelectionConfig(candidates=("kmeans",), bootstrap_rounds=5))
    message = str(refusal.value)
    assert message.startswith("no cluster structure:")
    assert (
        "silhouette" in message and "cut-off 0.25" in message and "Kaufman & Rousseeuw" in message
    )
    assert "stability" in message and "cut-off 0.75" in message and "Hennig 2007" in message
    assert not refusal.value.table["eligible"].any()


@pytest.mark.parametrize("algorithm", ["gmm", "ward"])
def test_other_algorithms_and_sampling_extend_to_all_rows(algorithm):
    X, truth = synthetic_matrix(1500, 5, seed=4, k=3)
    config = SelectionConfig(
        algorithm=algorithm,
        candidates=(),
        bootstrap_rounds=3,
        k_max=5,
        sample_size=600,
        ward_sample_size=400,
        bootstrap_sample_size=300,
    )
    model = select_model(X, config)
    assert model.algorithm == algorithm and len(model.labels) == len(X)
    assert adjusted_rand_score(truth, model.labels) >= 0.9
    assert set(model.selection["algorithm"]) == {algorithm}
    # segments are numbered largest first
    sizes = np.bincount(model.labels)
    assert list(sizes) == sorted(sizes, reverse=True)
