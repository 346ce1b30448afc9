"""Stable segment identity: ids and names survive retrains and label permutations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_assets.matching import PreviousSegments, match_segments

KEYS = np.array([f"c{i:03d}" for i in range(300)])
LABELS = np.repeat([0, 1, 2], 100)
CENTROIDS = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
FEATURES = ["a", "b"]


def _previous() -> PreviousSegments:
    ids = np.array(["seg_01", "seg_02", "seg_03"], dtype=object)
    return PreviousSegments(
        membership=pd.Series(ids[LABELS], index=KEYS),
        centroids=pd.DataFrame(CENTROIDS, index=ids, columns=FEATURES),
        names={"seg_01": "Dormant", "seg_02": "Growing champions", "seg_03": "Support-heavy"},
        known_ids=["seg_01", "seg_02", "seg_03", "seg_04"],  # seg_04 dissolved in an earlier run
    )


def test_first_run_numbers_segments():
    result = match_segments(KEYS, LABELS, CENTROIDS, FEATURES, None)
    assert result.segment_ids == ["seg_01", "seg_02", "seg_03"]
    assert set(result.status.values()) == {"new"} and result.method == "none"


def test_ids_and_names_survive_a_permutation_of_cluster_labels():
    permutation = np.array([2, 0, 1])  # old label -> new label
    result = match_segments(
        KEYS, permutation[LABELS], CENTROIDS[np.argsort(permutation)], FEATURES, _previous()
    )
    ids = np.array(result.segment_ids, dtype=object)[permutation[LABELS]]
    np.testing.assert_array_equal(ids, _previous().membership.to_numpy())
    assert result.method == "membership"
    assert all(result.status[i] == "matched" for i in result.segment_ids)
    assert result.names == _previous().names
    assert all(v == 1.0 for v in result.overlap.values())


def test_new_and_dissolved_segments_get_fresh_ids():
    # seg_03's customers split off into two new clusters; seg_01 and seg_02 remain
    labels = LABELS.copy()
    labels[200:250], labels[250:] = 2, 3
    centroids = np.array([[0.0, 0.0], [5.0, 0.0], [-3.0, 8.0], [3.0, 8.0]])
    result = match_segments(KEYS, labels, centroids, FEATURES, _previous())
    assert result.segment_ids[:2] == ["seg_01", "seg_02"]
    # one half keeps seg_03 (Jaccard 0.5), the other half is new and never reuses seg_04
    assert result.segment_ids[2] == "seg_03" and result.segment_ids[3] == "seg_05"
    assert result.status["seg_05"] == "new" and "seg_05" in result.known_ids

    # all of seg_02's customers left: it is dissolved
    result = match_segments(
        KEYS[LABELS != 1], np.repeat([0, 1], 100), CENTROIDS[[0, 2]], FEATURES, _previous()
    )
    assert result.segment_ids == ["seg_01", "seg_03"] and result.status["seg_02"] == "dissolved"


def test_centroid_fallback_when_customers_are_all_new():
    keys = np.array([f"n{i:03d}" for i in range(300)])
    permutation = np.array([1, 2, 0])
    centroids = CENTROIDS[np.argsort(permutation)] + 0.1
    result = match_segments(keys, permutation[LABELS], centroids, FEATURES, _previous())
    assert result.method == "centroid"
    assert [result.segment_ids[permutation[i]] for i in range(3)] == ["seg_01", "seg_02", "seg_03"]
    far = match_segments(keys, LABELS, CENTROIDS + 10, FEATURES, _previous())
    assert far.segment_ids == ["seg_05", "seg_06", "seg_07"]
    assert {far.status[i] for i in ("seg_01", "seg_02", "seg_03")} == {"dissolved"}
