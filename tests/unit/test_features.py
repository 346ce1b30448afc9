"""The governed feature matrix: attributes come from the catalog meta, with reasons for drops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.features import FeatureConfig, build_feature_matrix
from tests.support.synthetic import synthetic_customers


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return synthetic_customers(400, seed=1)


def _build(data, **kwargs):
    return build_feature_matrix(
        data["attributes"], data["catalog"], data["quality"], FeatureConfig(), **kwargs
    )


def test_only_allowed_attributes_become_features(data):
    fm = _build(data)
    used = {c["attribute"] for c in fm.chosen}
    dropped = {d["attribute"]: d["reason"] for d in fm.dropped}
    assert "birth_year" not in used and dropped["birth_year"] == "segmentation policy prohibited"
    assert "owner_gender" not in used and dropped["owner_gender"] == "segmentation policy sensitive"
    assert dropped["customer_key"] == "identifier"
    assert not any(name.startswith(("birth_year", "owner_gender")) for name in fm.feature_names)
    assert {"current_mrr", "events_90d", "tickets_90d", "industry", "unsubscribed_flag"} <= used


def test_no_variance_low_quality_and_excluded_are_dropped_with_reasons(data):
    fm = _build(data, excluded={"tickets_90d": "blocked by policy review"})
    dropped = {d["attribute"]: d["reason"] for d in fm.dropped}
    assert dropped["emails_delivered_90d"] == "no variance (constant or absent source)"
    assert dropped["support_csat_avg_365d"] == "quality score 0.20 below threshold 0.50"
    assert dropped["tickets_90d"] == "excluded by governance: blocked by policy review"
    assert "tickets_90d" not in fm.feature_names


def test_near_constant_numeric_attributes_are_not_used(data):
    """One value for >= 95% of customers: robust scaling would make the few others a segment."""
    attributes = data["attributes"].copy()
    rare = np.zeros(len(attributes))
    rare[:12] = 1.0  # 3% of 400
    attributes["events_90d"] = rare
    attributes["unsubscribed_flag"] = rare  # a rare flag is fine: weighted 0/1, never blown up
    fm = build_feature_matrix(attributes, data["catalog"], data["quality"], FeatureConfig())
    dropped = {d["attribute"]: d["reason"] for d in fm.dropped}
    assert dropped["events_90d"] == "near-constant: one value for 97% of customers (>= 95%)"
    assert "unsubscribed_flag" in {c["attribute"] for c in fm.chosen}
    lenient = FeatureConfig(max_mode_share=1.0)
    fm = build_feature_matrix(attributes, data["catalog"], data["quality"], lenient)
    assert "events_90d" in {c["attribute"] for c in fm.chosen}


def test_undocumented_columns_are_never_used(data):
    attributes = data["attributes"].assign(secret_score=np.arange(len(data["attributes"])))
    fm = build_feature_matrix(attributes, data["catalog"], None, FeatureConfig())
    assert {
        "attribute": "secret_score",
        "reason": "not documented in the attribute catalog",
    } in fm.dropped
    assert "secret_score" not in fm.feature_names


def test_transforms_suit_skewed_data(data):
    fm = _build(data)
    transforms = {c["attribute"]: c["transform"] for c in fm.chosen}
    assert transforms["events_90d"].startswith("log1p")  # heavy-tailed count
    assert "log1p" not in transforms["nps_latest"]  # bounded score
    assert fm.X.shape == (400, len(fm.feature_names))
    assert np.isfinite(fm.X).all() and np.abs(fm.X).max() <= FeatureConfig().clip
    # one-hot columns carry the categorical weight times the firmographic group weight, so a
    # firmographic cannot dominate distances
    industry = [i for i, n in enumerate(fm.feature_names) if n.startswith("industry=")]
    config = FeatureConfig()
    weight = next(s.weight for s in fm.transformer.specs if s.attribute == "industry")
    assert set(np.unique(fm.X[:, industry])) == {0.0, config.categorical_weight * weight}
    assert transforms["industry"] == "one-hot (4 levels + other)" + f", group weight {weight:.3g}"


def test_values_spanning_orders_of_magnitude_get_log(data):
    """Tenure from 3 weeks to 5 years is not skewed but is compared on ratios: log1p."""
    attributes = data["attributes"].copy()
    rng = np.random.default_rng(0)
    young = rng.random(len(attributes)) < 0.2
    attributes["tenure_days"] = np.where(
        young, rng.integers(20, 110, len(attributes)), rng.integers(365, 2000, len(attributes))
    )
    assert abs(attributes["tenure_days"].skew()) < FeatureConfig().skew_threshold
    fm = build_feature_matrix(attributes, data["catalog"], data["quality"], FeatureConfig())
    transforms = {c["attribute"]: c["transform"] for c in fm.chosen}
    assert transforms["tenure_days"].startswith("log1p")
    linear = build_feature_matrix(
        attributes, data["catalog"], data["quality"], FeatureConfig(range_ratio=np.inf)
    )
    assert "log1p" not in {c["attribute"]: c["transform"] for c in linear.chosen}["tenure_days"]

    def gap(fm):  # distance between the oldest young account and the youngest of the rest
        tenure = fm.X[:, fm.feature_names.index("tenure_days")]
        return tenure[~young].min() - tenure[young].max()

    # on the log scale the young accounts stand apart; on a linear one they are squashed together
    assert gap(fm) > 2 * gap(linear) > 0


def test_group_weights_scale_their_columns(data):
    unweighted = build_feature_matrix(
        data["attributes"],
        data["catalog"],
        data["quality"],
        FeatureConfig(group_weights=(), balance_groups=False),
    )
    weighted = build_feature_matrix(
        data["attributes"],
        data["catalog"],
        data["quality"],
        FeatureConfig(group_weights=("value=0.25",), balance_groups=False),
    )
    mrr = unweighted.feature_names.index("current_mrr")
    np.testing.assert_allclose(weighted.X[:, mrr], unweighted.X[:, mrr] * 0.25)
    events = unweighted.feature_names.index("events_90d")  # product group: untouched
    np.testing.assert_array_equal(weighted.X[:, events], unweighted.X[:, events])


def test_missing_values_get_median_and_indicator(data):
    attributes = data["attributes"].copy()
    attributes.loc[attributes.index[:100], "nps_latest"] = np.nan  # 25 % missing
    fm = build_feature_matrix(attributes, data["catalog"], None, FeatureConfig())
    assert "nps_latest__missing" in fm.feature_names
    indicator = fm.X[:, fm.feature_names.index("nps_latest__missing")]
    assert indicator[:100].all() and not indicator[100:].any()


def test_row_mask_and_transform_of_new_customers(data):
    mask = pd.Series(np.arange(400) % 2 == 0, index=data["attributes"].index)
    fm = _build(data, row_mask=mask)
    assert len(fm.X) == 200
    assert list(fm.customer_keys) == list(data["attributes"]["customer_key"][mask])
    # the fitted transformer reproduces the matrix, and copes with rare/unknown levels
    again = fm.transformer.transform(data["attributes"][mask])
    np.testing.assert_array_equal(again, fm.X)
    new = data["attributes"].head(3).assign(industry="mining")
    row = fm.transformer.transform(new)[0]
    assert row[fm.feature_names.index("industry=__other__")] > 0
