"""Assigning customers without refitting; the trained segment model end to end on frames."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from ml_assets.assignment import fit_assigner, holdout_accuracy, train_segment_model
from ml_assets.features import FeatureConfig
from ml_assets.selection import SelectionConfig, select_model, synthetic_customers, synthetic_matrix

FAST = SelectionConfig(candidates=("kmeans",), bootstrap_rounds=3, k_max=6)


def test_holdout_accuracy_and_confidence():
    X, _ = synthetic_matrix(2000, 8, seed=3, k=4)
    model = select_model(X, FAST)
    assert holdout_accuracy(X, model.labels, seed=0) >= 0.95
    assigner = fit_assigner(X, model.labels, model.centroids)
    labels, confidence, margin = assigner.assign(X, batch=300)  # batching gives the same answer
    np.testing.assert_array_equal(labels, model.labels)
    assert ((confidence > 0) & (confidence <= 1)).all() and ((margin >= 0) & (margin <= 1)).all()
    # a point half-way between two centroids is a coin toss: low confidence, no margin
    middle = (model.centroids[0] + model.centroids[1]) / 2
    _, conf, gap = assigner.assign(middle[None, :])
    assert conf[0] < 0.6 and gap[0] < 0.05


def test_trained_model_assigns_new_customers_and_keeps_ids_on_retrain():
    data = synthetic_customers(700, seed=4)
    train = data["attributes"].iloc[:550]
    model = train_segment_model(train, data["catalog"], data["quality"], FeatureConfig(), FAST)
    assert model.k == 5 and model.holdout_accuracy >= 0.95
    assert set(model.names.values()) >= {"Dormant", "Support-heavy", "New and ramping"}

    new = data["attributes"].iloc[550:]
    assigned = model.assign(new)
    assert list(assigned.columns) == [
        "customer_key",
        "segment_id",
        "segment_name",
        "confidence",
        "margin",
        "model_version",
    ]
    assert adjusted_rand_score(data["truth"].iloc[550:], assigned["segment_id"]) >= 0.9

    # Retrain on everyone (new rows shuffled in): the same segments keep their ids and names.
    shuffled = data["attributes"].sample(frac=1.0, random_state=1)
    retrained = train_segment_model(
        shuffled,
        data["catalog"],
        data["quality"],
        FeatureConfig(),
        SelectionConfig(candidates=("kmeans",), bootstrap_rounds=3, k_max=6, seed=9),
        previous=model,
        name_overrides={"seg_02": "Renamed"},
    )
    assert retrained.match_method == "membership"
    assert set(retrained.status.values()) == {"matched"}
    for key, segment in model.membership.items():
        assert retrained.membership[key] == segment
    assert retrained.names == {**model.names, "seg_02": "Renamed"}


@pytest.mark.parametrize("n", [0, 10])
def test_too_few_customers_is_refused(n):
    from ml_assets.selection import NoClusterStructure

    X = np.random.default_rng(0).normal(size=(n, 3))
    with pytest.raises(NoClusterStructure, match="no cluster structure: .* too few"):
        select_model(X, FAST)


def test_two_trainings_on_the_same_data_are_identical():
    data = synthetic_customers(600, seed=8)
    args = (data["attributes"], data["catalog"], data["quality"], FeatureConfig(), FAST)
    first, second = train_segment_model(*args), train_segment_model(*args)
    assert first.membership.equals(second.membership)
    assert first.names == second.names and first.segment_ids == second.segment_ids
    np.testing.assert_array_equal(first.assigner.centroids, second.assigner.centroids)
