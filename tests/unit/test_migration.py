"""Migration matrix, ranked flows, action-segment entrants, chart and planted-mover scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.monitoring.migration import (
    action_entrants,
    detect_movers,
    evaluate_detected_migrations,
    migration_flows,
    migration_heatmap_png,
    migration_matrix,
    segments_marked_for_action,
)


@pytest.fixture()
def runs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    previous = pd.DataFrame(
        {"customer_key": list("abcdefghij"), "segment_id": [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]}
    )
    current = pd.DataFrame(
        {
            # a,b stay 0; c,d -> 1; e stays 1; f,g -> 2; h -> 0; i,j stay 2; k is new
            "customer_key": list("abcdefghijk"),
            "segment_id": [0, 0, 1, 1, 1, 2, 2, 0, 2, 2, 2],
        }
    )
    values = pd.DataFrame(
        {"customer_key": list("abcdefghijk"), "current_mrr": [1, 1, 10, 20, 1, 100, 0, 5, 1, 1, 9]}
    )
    return previous, current, values


def test_matrix_counts_and_shares(runs):
    previous, current, _ = runs
    counts, shares = migration_matrix(previous, current)
    expected = pd.DataFrame([[2, 2, 0], [0, 1, 2], [1, 0, 2]], index=[0, 1, 2], columns=[0, 1, 2])
    np.testing.assert_array_equal(counts.to_numpy(), expected.to_numpy())
    assert counts.to_numpy().sum() == 10  # the new customer k is not a move
    assert shares.loc[1, 2] == pytest.approx(2 / 3)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)


def test_flows_ranked_by_size_and_value(runs):
    previous, current, values = runs
    flows = migration_flows(previous, current, values)
    assert len(flows) == 3
    assert list(
        zip(flows["from_segment"], flows["to_segment"], flows["customers"], strict=True)
    ) == [
        (1, 2, 2),
        (0, 1, 2),
        (2, 0, 1),  # equal sizes: the flow moving more value first
    ]
    by_value = flows.sort_values("rank_by_value")
    assert list(by_value["value_moved"]) == [100, 30, 5]
    assert list(by_value["to_segment"]) == [2, 1, 0]
    assert flows.set_index(["from_segment", "to_segment"]).loc[
        (1, 2), "share_of_from"
    ] == pytest.approx(2 / 3)
    no_values = migration_flows(previous, current)
    assert (no_values["value_moved"] == 0).all()


def test_action_entrants(runs):
    previous, current, _ = runs
    names = pd.DataFrame(
        {"segment_id": [0, 1, 2], "segment_name": ["Champions", "Steady", "At-risk SMB"]}
    )
    action = segments_marked_for_action(names, ["at-risk"])
    assert action == {2}
    entrants = action_entrants(previous, current, action)
    assert sorted(entrants["customer_key"]) == ["f", "g"]
    assert set(entrants["from_segment"]) == {1}
    with_new = action_entrants(previous, current, action, include_new=True)
    assert sorted(with_new["customer_key"]) == ["f", "g", "k"]
    assert segments_marked_for_action(names, ["1"]) == {1}


def test_detect_movers_aligns_relabelled_segments(runs):
    previous, current, _ = runs
    relabelled = current.assign(segment_id=current["segment_id"].map({0: 7, 1: 8, 2: 9}))
    movers = detect_movers(previous, relabelled)
    assert sorted(movers.loc[movers["moved"], "customer_key"]) == ["c", "d", "f", "g", "h"]
    raw = detect_movers(previous, relabelled, align_labels=False)
    assert raw["moved"].all()


def test_detect_movers_ignores_swaps_on_a_boundary():
    """A customer on the boundary in both runs wobbles; one decisive in either run moves."""
    previous = pd.DataFrame(
        {"customer_key": list("abcd"), "segment_id": [0, 0, 0, 0], "margin": [0.01, 0.4, 0.02, 0.3]}
    )
    current = pd.DataFrame(
        {"customer_key": list("abcd"), "segment_id": [1, 1, 1, 0], "margin": [0.03, 0.02, 0.3, 0.3]}
    )
    movers = detect_movers(previous, current, align_labels=False)
    assert sorted(movers.loc[movers["moved"], "customer_key"]) == ["b", "c"]
    no_rule = detect_movers(previous, current, align_labels=False, boundary_margin=0)
    assert sorted(no_rule.loc[no_rule["moved"], "customer_key"]) == ["a", "b", "c"]
    # without margins (e.g. published segments only) every change is a move
    plain = detect_movers(previous.drop(columns="margin"), current, align_labels=False)
    assert sorted(plain.loc[plain["moved"], "customer_key"]) == ["a", "b", "c"]


def test_evaluate_detected_migrations():
    truth = pd.DataFrame({"company_id": range(10), "moved": [True] * 4 + [False] * 6})
    # detects 3 of the 4 planted movers plus 1 false alarm; id 99 is unknown to the truth
    detected = pd.DataFrame(
        {"company_id": [0, 1, 2, 5, 6, 99], "moved": [True, True, True, True, False, True]}
    )
    scores = evaluate_detected_migrations(detected, truth)
    assert (scores["true_positives"], scores["false_positives"], scores["false_negatives"]) == (
        3,
        1,
        1,
    )
    assert scores["precision"] == pytest.approx(0.75)
    assert scores["recall"] == pytest.approx(0.75)
    assert scores["f1"] == pytest.approx(0.75)
    perfect = evaluate_detected_migrations(pd.DataFrame({"company_id": [0, 1, 2, 3]}), truth)
    assert perfect["precision"] == perfect["recall"] == 1.0


def test_heatmap_is_png(runs):
    previous, current, _ = runs
    counts, shares = migration_matrix(previous, current)
    png = migration_heatmap_png(shares, counts, labels={0: "Champions", 1: "Steady", 2: "At risk"})
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 5000


# The end-to-end check against the generator's planted migrations (period 1 -> 2 at 5,000
# accounts) is tests/test_demo_scale.py::test_planted_migrations_are_detected.
