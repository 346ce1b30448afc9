"""Assigning customers without refitting; the trained segment model end to end on frames."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from ml_assets.assignment import fit_assigner, holdout_accuracy, train_segment_model
from ml_assets.features import FeatureConfig
from ml_assets.selection import SelectionConfig, select_model
from tests.support.synthetic import synthetic_customers, synthetic_matrix

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


def test_margin_is_the_relative_gap_between_the_two_nearest_centroids():
    from ml_assets.assignment import SegmentAssigner

    assigner = SegmentAssigner(
        centroids=np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 10.0]]), temperature=1.0
    )
    X = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]])  # d1, d2 = (1, 3), (2, 2), (0, 4)
    labels, confidence, margin = assigner.assign(X)
    np.testing.assert_array_equal(labels, [0, 0, 0])
    np.testing.assert_allclose(margin, [0.5, 0.0, 1.0])
    # softmax over -distance / temperature with distances 1, 3 and sqrt(101)
    expected = 1.0 / (1.0 + np.exp(-2.0) + np.exp(-(np.sqrt(101.0) - 1.0)))
    assert confidence[0] == pytest.approx(expected)
    assert confidence[1] <= 0.5 < confidence[0] < confidence[2]


def test_margins_spread_on_overlapping_segments():
    """Margins are not all 1: customers between overlapping segments get small ones."""
    rng = np.random.default_rng(5)
    X, _ = synthetic_matrix(2000, 6, seed=5, k=4)
    X = X + rng.normal(0, 1.5, size=X.shape)  # blur the segments into each other
    labels = KMeans(n_clusters=4, n_init=2, random_state=0).fit_predict(X)
    _, confidence, margin = fit_assigner(X, labels).assign(X)
    assert 0.02 <= (margin < 0.2).mean() <= 0.5
    assert np.median(margin) < 0.9 and np.median(confidence) < 0.99
    # the two measures agree on who sits on a boundary
    assert (
        np.corrcoef(np.argsort(np.argsort(margin)), np.argsort(np.argsort(confidence)))[0, 1] > 0.5
    )


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
        "parent_segment_id",
        "parent_segment_name",
        "confidence",
        "margin",
        "model_version",
    ]
    assert adjusted_rand_score(data["truth"].iloc[550:], assigned["segment_id"]) >= 0.9
    # The parent level: 2-3 named macro segments, each customer's the parent of its segment.
    assert 2 <= len(set(model.parents.values())) <= 3 and set(model.parents) == set(model.names)
    assert (assigned["parent_segment_id"] == assigned["segment_id"].map(model.parents)).all()
    assert set(assigned["parent_segment_name"]) <= set(model.parent_names.values())

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


def test_density_model_assigns_noise_as_unsegmented():
    data = synthetic_customers(700, seed=4)
    attributes = data["attributes"].copy()
    rng = np.random.default_rng(2)
    scattered = rng.choice(len(attributes), size=25, replace=False)
    for column in ("current_mrr", "events_90d", "tenure_days", "tickets_90d"):
        values = attributes[column].to_numpy(dtype=float)
        values[scattered] = rng.uniform(values.min(), values.max() * 3, size=len(scattered))
        attributes[column] = values
    config = SelectionConfig(algorithm="hdbscan", candidates=(), bootstrap_rounds=3)
    model = train_segment_model(
        attributes, data["catalog"], data["quality"], FeatureConfig(), config
    )
    assigned = model.assign(attributes)
    unsegmented = assigned[assigned["segment_id"] == "unsegmented"]
    assert model.algorithm == "hdbscan" and 0 < len(unsegmented) <= 0.05 * len(assigned)
    assert set(unsegmented["segment_name"]) == {"Unsegmented"}
    assert set(unsegmented["parent_segment_id"]) == {"unsegmented"}
    assert (unsegmented["confidence"] == 0).all()
    segmented = assigned["segment_id"] != "unsegmented"
    truth = data["truth"].to_numpy()[segmented.to_numpy()]
    assert adjusted_rand_score(truth, assigned.loc[segmented, "segment_id"]) >= 0.9
    # Training membership and scoring agree: one rule (nearest sampled customer) for both.
    assert (model.membership.to_numpy() == assigned["segment_id"].to_numpy()).all()
