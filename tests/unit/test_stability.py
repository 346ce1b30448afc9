"""Bootstrap stability (clusterboot) and run-to-run agreement on synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from ml_assets import selection
from ml_assets.monitoring.stability import (
    best_jaccard,
    bootstrap_stability,
    match_labels,
    run_agreement,
    seeded_refit,
    stability_status,
)
from ml_assets.selection import SelectionConfig
from tests.support.synthetic import synthetic_matrix


def kmeans(k: int):
    return lambda X, seed: KMeans(n_clusters=k, n_init=1, max_iter=50, random_state=0).fit_predict(
        X
    )


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    X, _ = make_blobs(n_samples=600, n_features=5, centers=4, cluster_std=1.0, random_state=0)
    labels = KMeans(n_clusters=4, n_init=4, random_state=0).fit_predict(X)
    return X, labels


def test_blob_segments_pass(blobs):
    X, labels = blobs
    result = bootstrap_stability(X, labels, kmeans(4), n_boot=8, seed=1)
    assert result.status == "pass"
    assert list(result.per_segment["segment_id"]) == [0, 1, 2, 3]
    assert result.per_segment["size"].sum() == 600
    assert result.min_jaccard > 0.9
    assert (result.per_segment["dissolved_share"] == 0).all()


def test_shuffled_features_fail(blobs):
    """Rows shuffled against the segments: the data no longer carries these segments."""
    X, labels = blobs
    shuffled = X[np.random.default_rng(0).permutation(len(X))]
    result = bootstrap_stability(shuffled, labels, kmeans(4), n_boot=8, seed=1)
    assert result.status == "fail"
    assert (result.per_segment["status"] == "fail").all()
    assert result.min_jaccard < 0.6


def test_noise_features_fail():
    X = np.random.default_rng(0).normal(size=(300, 8))
    labels = KMeans(n_clusters=5, n_init=2, random_state=0).fit_predict(X)
    result = bootstrap_stability(X, labels, kmeans(5), n_boot=5, seed=1)
    assert result.status == "fail"
    assert result.mean_jaccard < 0.6


def test_a_kept_models_segments_are_judged_around_its_centroids(blobs):
    """seeded_refit (a kept model scoring newer data): segments the data still carries pass,
    segments the data no longer carries (features shuffled against them) fail."""
    X, labels = blobs
    centroids = np.vstack([X[labels == s].mean(axis=0) for s in range(4)])
    kept = bootstrap_stability(X, labels, seeded_refit(centroids), n_boot=8, seed=1)
    assert kept.status == "pass" and kept.min_jaccard > 0.95
    shuffled = X[np.random.default_rng(0).permutation(len(X))]
    gone = bootstrap_stability(shuffled, labels, seeded_refit(centroids), n_boot=8, seed=1)
    assert gone.status == "fail" and gone.min_jaccard < 0.6


def test_max_points_subsamples(blobs):
    X, labels = blobs
    result = bootstrap_stability(X, labels, kmeans(4), n_boot=3, max_points=200)
    assert result.n_points == 200
    assert result.per_segment["size"].sum() == 200


def test_status_bands():
    assert stability_status(0.59) == "fail"
    assert stability_status(0.6) == "warn"
    assert stability_status(0.749) == "warn"
    assert stability_status(0.75) == "pass"
    assert stability_status(float("nan")) == "fail"


def test_best_jaccard_by_hand():
    original = np.array([0, 0, 0, 1, 1, 1])
    refitted = np.array([5, 5, 7, 7, 7, 7])
    # segment 0 vs cluster 5: |{0,1}| / |{0,1,2}| = 2/3; segment 1 vs cluster 7: 3/4
    assert best_jaccard(original, refitted).to_dict() == pytest.approx({0: 2 / 3, 1: 0.75})


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="X has 3 rows but labels has 2"):
        bootstrap_stability(np.zeros((3, 2)), np.array([0, 1]), kmeans(2))


def test_run_agreement_ignores_relabelling():
    keys = [f"c{i}" for i in range(100)]
    previous = pd.DataFrame({"customer_key": keys, "segment_id": np.repeat([0, 1, 2, 3], 25)})
    relabelled = previous.assign(segment_id=previous["segment_id"].map({0: 3, 1: 2, 2: 1, 3: 0}))
    agreement = run_agreement(previous, relabelled)
    assert agreement.ari == pytest.approx(1.0)
    assert agreement.ami == pytest.approx(1.0)
    assert agreement.changed_share == 0.0
    assert agreement.label_mapping == {3: 0, 2: 1, 1: 2, 0: 3}
    assert agreement.status == "pass"


def test_run_agreement_counts_changed_customers():
    keys = [f"c{i}" for i in range(100)]
    previous = pd.DataFrame({"customer_key": keys, "segment_id": np.repeat([0, 1], 50)})
    current = previous.copy()
    current.loc[:9, "segment_id"] = 1  # 10 customers move from 0 to 1
    current = pd.concat([current, pd.DataFrame({"customer_key": ["new"], "segment_id": [0]})])
    agreement = run_agreement(previous, current)
    assert agreement.common_customers == 100
    assert agreement.changed_share == pytest.approx(0.10)
    assert agreement.ari < 0.8
    assert agreement.status == "warn"


def test_match_labels_keeps_extra_segments():
    mapping = match_labels(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 2]))
    assert mapping[1] == 0
    assert mapping[0] == 1
    assert mapping[2] == 2


def test_selection_and_the_check_report_the_same_stability():
    """One bootstrap: the selection table's figure is the check's for the same rows and labels."""
    X, _ = synthetic_matrix(900, 5, seed=7, k=4)
    config = SelectionConfig(bootstrap_rounds=6)
    fit = selection.refit("kmeans", 4, config)
    labels = fit(X, config.seed)
    from_selection = selection.bootstrap_stability("kmeans", X, {4: labels}, config)[4]
    from_check = bootstrap_stability(X, labels, fit, n_boot=6, seed=config.seed)
    np.testing.assert_allclose(from_check.per_segment["mean_jaccard"], from_selection)
    # The check used to refit with single-start k-means: same segments, a different verdict.
    assert from_check.min_jaccard > 0.9


def test_storage_order_does_not_change_the_answer(blobs):
    X, labels = blobs
    keys = np.array([f"c{i:04d}" for i in range(len(X))])
    shuffle = np.random.default_rng(5).permutation(len(X))
    stored = bootstrap_stability(X, labels, kmeans(4), n_boot=4, max_points=300, seed=2, keys=keys)
    again = bootstrap_stability(
        X[shuffle], labels[shuffle], kmeans(4), n_boot=4, max_points=300, seed=2, keys=keys[shuffle]
    )
    pd.testing.assert_frame_equal(stored.per_segment, again.per_segment)


def test_same_seed_same_figures(blobs):
    X, labels = blobs
    first = bootstrap_stability(X, labels, kmeans(4), n_boot=3, seed=9)
    second = bootstrap_stability(X, labels, kmeans(4), n_boot=3, seed=9)
    pd.testing.assert_frame_equal(first.per_segment, second.per_segment)
