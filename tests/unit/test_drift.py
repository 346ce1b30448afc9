"""PSI per feature, segment-size drift and the redefinition verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.monitoring.drift import drift_summary, feature_psi, segment_size_drift
from ml_assets.stats import psi, psi_band


@pytest.fixture(scope="module")
def runs() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 5000
    reference = pd.DataFrame({"mrr": rng.lognormal(5, 1, n), "seats": rng.normal(20, 5, n)})
    current = pd.DataFrame(
        {
            "mrr": rng.lognormal(5, 1, n),  # same distribution, new draw
            "seats": rng.normal(20, 5, n) + 5,  # shifted by one standard deviation
        }
    )
    return reference, current


def test_shifted_feature_is_flagged_and_unshifted_is_not(runs):
    reference, current = runs
    table = feature_psi(reference, current).set_index("feature")
    assert table.loc["seats", "band"] == "major"
    assert table.loc["seats", "psi"] > 0.25
    assert table.loc["mrr", "band"] == "stable"
    assert table.loc["mrr", "psi"] < 0.02


def test_summary_recommends_redefinition_naming_the_feature(runs):
    reference, current = runs
    summary = drift_summary(reference, current)
    assert summary.redefinition_recommended
    assert summary.drifted_features == ["seats"]
    assert summary.message.startswith("segment redefinition recommended: major drift in seats (PSI")
    assert "mrr" not in summary.message


def test_no_drift_summary(runs):
    reference, _ = runs
    summary = drift_summary(reference, reference.sample(frac=1.0, random_state=1))
    assert summary.status == "stable"
    assert not summary.redefinition_recommended
    assert summary.message == "no material drift"


def test_psi_by_hand_and_edge_cases():
    # Two reference bins (median split); current puts 90% / 10% into them.
    reference = np.array([0.0] * 50 + [1.0] * 50)
    current = np.array([0.0] * 90 + [1.0] * 10)
    expected = (0.9 - 0.5) * np.log(0.9 / 0.5) + (0.1 - 0.5) * np.log(0.1 / 0.5)
    assert psi(reference, current, bins=2) == pytest.approx(expected)
    assert psi(np.ones(100), np.ones(50)) == pytest.approx(0.0)  # constant feature: one bin
    assert np.isnan(psi(np.array([]), np.ones(5)))
    # Missing values form their own bin, so a jump in missingness is drift.
    assert psi(np.arange(100.0), np.r_[np.arange(50.0), [np.nan] * 50]) > 0.25


def test_psi_bands():
    assert [psi_band(v) for v in (0.05, 0.1, 0.2, 0.25, 1.0)] == [
        "stable",
        "moderate",
        "moderate",
        "major",
        "major",
    ]


def test_segment_size_drift():
    reference = np.repeat([0, 1, 2], [500, 300, 200])
    same = segment_size_drift(reference, reference)
    assert same.psi == pytest.approx(0.0)
    assert same.p_value == pytest.approx(1.0)
    shifted = segment_size_drift(reference, np.repeat([0, 1, 2, 3], [100, 300, 400, 200]))
    assert shifted.band == "major"
    assert shifted.p_value < 1e-6
    assert list(shifted.shares["segment_id"]) == [0, 1, 2, 3]
    assert shifted.shares["current_share"].sum() == pytest.approx(1.0)
    summary = drift_summary(
        pd.DataFrame({"a": np.arange(1000.0)}),
        pd.DataFrame({"a": np.arange(1000.0)}),
        reference_labels=reference,
        current_labels=np.repeat([0, 1, 2, 3], [100, 300, 400, 200]),
    )
    assert summary.redefinition_recommended
    assert "segment sizes" in summary.message
