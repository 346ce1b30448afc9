"""Outcome validation: segments must differ on revenue or churn by a non-negligible effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.monitoring.outcomes import validate_outcomes
from ml_assets.stats import chi_square, eta_squared

N = 2000


@pytest.fixture(scope="module")
def customers() -> tuple[pd.DataFrame, np.ndarray]:
    """Outcomes driven by a true archetype (0 high value / loyal ... 3 low value / churny)."""
    rng = np.random.default_rng(0)
    archetype = rng.integers(0, 4, N)
    outcomes = pd.DataFrame(
        {
            "customer_key": [f"c{i}" for i in range(N)],
            "revenue_after": rng.lognormal(7 - archetype * 0.7, 0.5),
            "churned": rng.random(N) < 0.05 + 0.15 * archetype,
            "mrr_change": rng.normal(0, 1, N),
        }
    )
    outcomes["retained"] = ~outcomes["churned"]
    return outcomes, archetype


def segments(labels: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_key": [f"c{i}" for i in range(len(labels))], "segment_id": labels}
    )


def test_true_segments_pass(customers):
    outcomes, archetype = customers
    result = validate_outcomes(segments(archetype), outcomes)
    assert result.passed
    assert result.eta_squared > 0.3
    assert result.max_cramers_v > 0.2
    assert list(result.tests["outcome"]) == ["revenue_after", "churned", "retained"]
    assert not result.tests["negligible"].any()
    assert any(reason.startswith("revenue_after: eta_squared") for reason in result.reasons)
    table = result.per_segment.set_index("segment_id")
    assert table["customers"].sum() == N
    assert table["mean_churned"].is_monotonic_increasing
    assert table["mean_revenue_after"].is_monotonic_decreasing


def test_random_segments_fail(customers):
    outcomes, _ = customers
    random_labels = np.random.default_rng(1).integers(0, 4, N)
    result = validate_outcomes(segments(random_labels), outcomes)
    assert not result.passed
    assert result.eta_squared < 0.01
    assert result.max_cramers_v < 0.1
    assert result.tests["negligible"].all()
    assert "negligible effect" in result.reasons[0]


def test_negligible_effect_fails_even_when_significant():
    """A tiny but (with many customers) highly significant difference still fails."""
    rng = np.random.default_rng(2)
    n = 200_000
    labels = rng.integers(0, 2, n)
    outcomes = pd.DataFrame(
        {
            "customer_key": [f"c{i}" for i in range(n)],
            "revenue_after": rng.normal(100 + labels * 1.5, 10),
        }
    )
    result = validate_outcomes(segments(labels), outcomes, binary_columns=())
    row = result.tests.iloc[0]
    assert row["p_value"] < 1e-10
    assert row["effect"] < 0.01
    assert not result.passed


def test_missing_outcome_columns_are_reported(customers):
    outcomes, archetype = customers
    result = validate_outcomes(segments(archetype), outcomes[["customer_key", "churned"]])
    assert "no revenue_after outcome to test" in result.reasons
    assert "no retained outcome to test" in result.reasons
    assert result.passed  # churn alone differs enough


def test_effect_size_formulas():
    assert eta_squared(h=13.0, k=3, n=103) == pytest.approx((13 - 3 + 1) / 100)
    assert eta_squared(h=0.5, k=3, n=103) == 0.0
    chi2, p_value, v = chi_square(np.array([[50, 0], [0, 50]]))
    assert v == pytest.approx(1.0)
    assert chi_square(np.array([[25, 25], [25, 25]]))[2] == pytest.approx(0.0)
