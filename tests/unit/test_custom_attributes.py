"""Custom attributes and names, pure: policy keys match however they are spelled, unmatched
entries are reported, custom attributes become typed catalog entries with quality, near-duplicate
attributes count once and attribute groups weigh the same."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.features import FeatureConfig, build_feature_matrix
from ml_assets.governance import (
    PolicyError,
    assess_governance,
    canonical_name,
    custom_attribute_catalog,
    custom_attribute_quality,
    custom_attribute_status,
    parse_policy,
    shadowed_custom_attributes,
    widen_custom_attributes,
)
from tests.support.synthetic import synthetic_customers

POLICY = {
    "attributes": {"customer_key": "prohibited"},
    "custom_attributes": {
        "Contract Type": {"policy": "allowed", "data_type": "categorical"},
        "SEATS": "allowed",
        "auto-renew": "allowed",
        "Primary Contact Gender": "prohibited",
        "Lead Source": "allowed",  # not in the data
    },
}


def _long(rows: dict[str, list]) -> pd.DataFrame:
    frames = [
        pd.DataFrame({"customer_key": [f"c{i}" for i in range(len(v))], "attribute": a, "value": v})
        for a, v in rows.items()
    ]
    return pd.concat(frames, ignore_index=True).assign(updated_at=pd.Timestamp("2026-01-01"))


CUSTOM = _long(
    {
        "contract type": ["annual", "monthly", "annual", None],
        "Seats": ["10", "250", "40", "x"],
        "AUTO_RENEW": ["yes", "no", "yes", "yes"],
        "primary_contact_gender": ["f", "m", "f", "m"],
        "favourite colour": ["red", "blue", "red", "red"],
    }
)


def test_names_are_compared_ignoring_case_and_punctuation():
    assert {canonical_name(n) for n in ("Contract Type", "contract_type", "contract-type")} == {
        "contract_type"
    }
    policy = parse_policy(POLICY)
    assert set(policy.custom_attributes) == {
        "contract_type",
        "seats",
        "auto_renew",
        "primary_contact_gender",
        "lead_source",
    }
    status = custom_attribute_status(policy, CUSTOM["attribute"]).set_index("attribute")
    assert status.loc["contract_type", "status"] == "usable"
    assert status.loc["seats", "status"] == "usable"
    assert status.loc["primary_contact_gender", "status"] == "prohibited"
    assert status.loc["favourite_colour", "status"] == "unclassified"


def test_two_spellings_of_one_name_in_the_policy_are_an_error():
    raw = {**POLICY, "custom_attributes": {"Contract Type": "allowed", "contract_type": "allowed"}}
    with pytest.raises(PolicyError, match="Contract Type.*contract_type|contract_type.*Contract"):
        parse_policy(raw)


def test_unmatched_policy_entries_and_unclassified_attributes_are_reported():
    policy = parse_policy(POLICY)
    attributes = pd.DataFrame({"customer_key": [f"c{i}" for i in range(4)]})
    catalog = pd.DataFrame(
        {
            "attribute_name": ["customer_key"],
            "segmentation_policy": ["prohibited"],
            "data_type": ["identifier"],
        }
    )
    report = assess_governance(attributes, CUSTOM, catalog, policy)
    assert report.unmatched_policy_entries == ["lead_source"]
    assert report.unclassified == ["favourite_colour"]
    assert report.features.usable_custom_attributes == ["auto_renew", "contract_type", "seats"]
    assert "primary_contact_gender" in report.features.excluded


def test_a_custom_attribute_named_like_a_built_in_one_is_kept_apart_not_dropped():
    assert shadowed_custom_attributes(["Tenure Days", "seats"], ["tenure_days"]) == {
        "tenure_days": "custom_tenure_days"
    }
    # the prefixed name is taken too: prefixed again
    twice = shadowed_custom_attributes(["mrr"], ["mrr", "custom_mrr"])
    assert twice == {"mrr": "custom_custom_mrr"}
    policy = parse_policy(
        {
            "attributes": {"customer_key": "prohibited", "tenure_days": "allowed"},
            "custom_attributes": {"Custom Tenure Days": "allowed"},
        }
    )
    custom = _long({"Tenure Days": ["10", "250", "40", "30"]})
    attributes = pd.DataFrame({"customer_key": [f"c{i}" for i in range(4)], "tenure_days": 1.0})
    catalog = pd.DataFrame(
        {
            "attribute_name": ["customer_key", "tenure_days"],
            "segmentation_policy": ["prohibited", "allowed"],
            "data_type": ["identifier", "numeric"],
        }
    )
    report = assess_governance(attributes, custom, catalog, policy)
    # classified and usable under the name it is kept as
    assert report.features.usable_custom_attributes == ["custom_tenure_days"]
    assert report.unmatched_policy_entries == [] and report.unclassified == []
    assert "tenure_days" not in report.features.excluded  # the built-in one is untouched
    entries = custom_attribute_catalog(policy, custom, taken=["tenure_days"])
    assert entries["attribute_name"].tolist() == ["custom_tenure_days"]
    assert entries["segmentation_policy"].tolist() == ["allowed"]


def test_classifying_a_shadowed_custom_attribute_under_the_built_in_name_says_how():
    raw = {
        "attributes": {"tenure_days": "allowed"},
        "custom_attributes": {"Tenure Days": "allowed"},
    }
    with pytest.raises(PolicyError, match="kept as custom_tenure_days: classify it under that"):
        parse_policy(raw)


def test_custom_attributes_get_typed_catalog_entries_columns_and_quality():
    policy = parse_policy(POLICY)
    catalog = custom_attribute_catalog(policy, CUSTOM).set_index("attribute_name")
    assert catalog.loc["contract_type", "data_type"] == "categorical"  # from the policy
    assert catalog.loc["auto_renew", "data_type"] == "boolean"  # inferred
    assert catalog.loc["seats", "data_type"] == "categorical"  # "x" is not a number
    assert catalog.loc["favourite_colour", "segmentation_policy"] == "unclassified"
    assert (catalog["attribute_group"] == "custom").all()

    numeric = CUSTOM.assign(value=CUSTOM["value"].replace({"x": "12"}))
    catalog = custom_attribute_catalog(policy, numeric)
    wide = widen_custom_attributes(numeric, catalog, ["seats", "Auto Renew", "contract_type"])
    assert list(wide.columns) == ["seats", "auto_renew", "contract_type"]
    assert wide["seats"].tolist() == [10.0, 250.0, 40.0, 12.0]
    assert wide["auto_renew"].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert "primary_contact_gender" not in widen_custom_attributes(numeric, catalog, [])

    keys = [f"c{i}" for i in range(5)]  # c4 has no custom attributes at all
    quality = custom_attribute_quality(numeric, keys, catalog).set_index("attribute_name")
    assert quality.loc["contract_type", "completeness"] == pytest.approx(3 / 5)
    assert quality.loc["contract_type", "quality_score"] == pytest.approx(0.5 * 0.6 + 0.3 + 0.2)


def _with_duplicates():
    data = synthetic_customers(400, seed=5)
    rng = np.random.default_rng(0)
    attributes = data["attributes"].copy()
    # the same concept twice: a monotone transform with a little noise ranks almost identically
    attributes["lifetime_revenue"] = attributes["current_mrr"] * 11 + rng.normal(0, 1, 400)
    catalog = pd.concat(
        [
            data["catalog"],
            data["catalog"]
            .loc[data["catalog"]["attribute_name"] == "current_mrr"]
            .assign(attribute_name="lifetime_revenue"),
        ],
        ignore_index=True,
    )
    quality = pd.concat(
        [data["quality"], pd.DataFrame({"attribute_name": ["lifetime_revenue"]})],
        ignore_index=True,
    )
    quality.loc[quality["attribute_name"] == "lifetime_revenue", "quality_score"] = 0.99
    quality.loc[quality["attribute_name"] == "current_mrr", "quality_score"] = 0.9
    return attributes, catalog, quality


def test_near_duplicates_count_once_and_the_decision_is_recorded():
    attributes, catalog, quality = _with_duplicates()
    fm = build_feature_matrix(attributes, catalog, quality, FeatureConfig())
    chosen = {c["attribute"]: c for c in fm.chosen}
    # the better-quality attribute represents the group
    assert chosen["lifetime_revenue"]["represents"] == "current_mrr"
    assert "current_mrr" not in fm.feature_names
    [reason] = [d["reason"] for d in fm.dropped if d["attribute"] == "current_mrr"]
    assert reason.startswith("near-duplicate of lifetime_revenue (rank correlation")
    ungrouped = build_feature_matrix(
        attributes, catalog, quality, FeatureConfig(duplicate_threshold=1.01)
    )
    assert {"current_mrr", "lifetime_revenue"} <= set(ungrouped.feature_names)


def test_each_attribute_group_weighs_the_same_in_the_distances():
    data = synthetic_customers(400, seed=5)
    fm = build_feature_matrix(
        data["attributes"],
        data["catalog"],
        data["quality"],
        FeatureConfig(group_weights=(), balance_groups=True),
    )
    per_group = pd.Series({s.attribute: s.weight**2 for s in fm.transformer.specs}).groupby(
        pd.Series({s.attribute: s.group for s in fm.transformer.specs})
    )
    totals = per_group.sum()
    assert per_group.size().nunique() > 1  # groups of different sizes ...
    np.testing.assert_allclose(totals, totals.iloc[0])  # ... weigh the same
    halved = build_feature_matrix(
        data["attributes"], data["catalog"], data["quality"], FeatureConfig(balance_groups=True)
    )
    weights = {s.group: s.weight for s in halved.transformer.specs}
    sizes = pd.Series([s.group for s in halved.transformer.specs]).value_counts()
    firm, value = weights["firmographic"], weights["value"]
    assert firm**2 * sizes["firmographic"] == pytest.approx(0.25 * value**2 * sizes["value"])
    with pytest.raises(ValueError, match="group=weight"):
        FeatureConfig(group_weights=("value",)).group_weight_map()


def test_the_attribute_catalog_lists_custom_attributes_with_policy_and_quality():
    from tools.catalog_docs import add_custom_attributes

    policy = parse_policy(POLICY)
    catalog = custom_attribute_catalog(policy, CUSTOM)
    keys = [f"c{i}" for i in range(4)]
    quality = custom_attribute_quality(CUSTOM, keys, catalog).set_index("attribute_name")
    node = {"resource_type": "model", "name": "customer_custom_attributes", "columns": {}}
    manifest = {"nodes": {"model.segmentation.customer_custom_attributes": node}}
    assert add_custom_attributes(manifest, catalog, quality.to_dict("index")) == len(catalog)
    columns = node["columns"]
    contract = columns["contract_type"]["config"]["meta"]
    assert contract["segmentation_policy"] == "allowed" and contract["attribute_group"] == "custom"
    assert contract["quality_score"] == pytest.approx(0.5 * 0.75 + 0.3 + 0.2, abs=1e-3)
    assert "Data quality (measured)" in columns["contract_type"]["description"]
    assert columns["primary_contact_gender"]["meta"]["segmentation_policy"] == "prohibited"
    assert columns["favourite_colour"]["meta"]["segmentation_policy"] == "unclassified"
