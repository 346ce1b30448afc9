"""Governance policy: catalog mirroring, proxies, exclusions, consent and composition audit.

Runs on a small synthetic warehouse with planted associations (see `build_warehouse`) and a
synthetic dbt manifest that mirrors config/governance_policy.yaml. The builders live in
tests/support/governance.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from ml_assets import governance
from ml_assets.governance import (
    PolicyError,
    PolicyMismatch,
    analytics_consent_mask,
    assert_policy_matches_catalog,
    check_policy_against_catalog,
    detect_proxies,
    governed_feature_exclusions,
    marketing_consented,
    segment_composition_audit,
)
from ml_assets.stats import cramers_v
from orchestration.io.catalog import load_attribute_catalog
from orchestration.io.config_files import load_policy
from tests.support.governance import (
    N_CUSTOMERS,
    POLICY_PATH,
    catalog_meta,
    synthetic_frames,
    write_manifest,
)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return synthetic_frames()


@pytest.fixture(scope="module")
def policy() -> governance.GovernancePolicy:
    return load_policy(POLICY_PATH)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> pd.DataFrame:
    manifest = write_manifest(tmp_path_factory.mktemp("dbt") / "manifest.json", catalog_meta())
    return load_attribute_catalog(manifest)


@pytest.fixture(scope="module")
def proxies(frames, policy, catalog) -> pd.DataFrame:
    return detect_proxies(
        frames["customer_attributes"], frames["customer_custom_attributes"], policy, catalog
    )


# --- the policy file ----------------------------------------------------------------------------


def test_policy_file_loads_and_classifies_custom_attributes(policy):
    assert policy.attributes["customer_key"] == "prohibited"
    assert policy.attributes["country"] == "sensitive"
    assert policy.custom_policy("account_tier") == "allowed"
    assert policy.custom_policy("primary_contact_gender") == "prohibited"
    assert policy.custom_policy("favourite_colour") is None  # unclassified: not usable
    assert (policy.max_abs_correlation, policy.max_cramers_v) == (0.5, 0.3)
    assert policy.requires_marketing_consent("marketing_audiences")


def test_invalid_policy_lists_every_problem(tmp_path):
    bad = tmp_path / "policy.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "attributes": {"current_mrr": "allowd"},
                "custom_attributes": {"tier": {"policy": "allowed", "data_type": "text"}},
                "protected_attributes": ["gender"],
                "proxy_detection": {"max_cramers_v": 1.5},
                "colour": "blue",
            }
        )
    )
    with pytest.raises(PolicyError) as error:
        load_policy(bad)
    message = str(error.value)
    assert "attributes.current_mrr: policy 'allowd'" in message
    assert "custom_attributes.tier: data_type 'text'" in message
    assert "proxy_detection.max_cramers_v: 1.5" in message
    assert "unknown top-level key 'colour'" in message


def test_protected_terms_match_whole_words_only(policy):
    assert policy.is_protected("primary_contact_age_band")
    assert policy.is_protected("Gender")
    assert not policy.is_protected("usage_trend_30d")
    assert not policy.is_protected("avg_invoice_amount")
    assert not policy.is_protected("page_views")
    # protected wins over the policy entry
    assert policy.attribute_policy("age") == "prohibited"


# --- policy vs catalog ----------------------------------------------------------------------------


def test_policy_mirrors_catalog(policy, catalog):
    assert check_policy_against_catalog(policy, catalog) == []
    assert_policy_matches_catalog(policy, catalog)  # does not raise


def test_mismatch_raises_naming_the_attribute(policy, tmp_path):
    meta = catalog_meta()
    meta["current_mrr"]["segmentation_policy"] = "sensitive"  # dbt changed, policy did not
    meta["secret_score"] = {**meta["tenure_days"]}  # new column, not in the policy
    del meta["nps_latest"]  # column dropped in dbt, still in the policy
    catalog = load_attribute_catalog(write_manifest(tmp_path / "manifest.json", meta))

    kinds = {m.attribute: m.kind for m in check_policy_against_catalog(policy, catalog)}
    assert kinds == {
        "current_mrr": "policy_differs",
        "secret_score": "missing_from_policy",
        "nps_latest": "not_in_catalog",
    }
    with pytest.raises(PolicyMismatch) as error:
        assert_policy_matches_catalog(policy, catalog)
    message = str(error.value)
    assert "current_mrr: governance policy says 'allowed', dbt meta says 'sensitive'" in message
    assert "secret_score" in message and "nps_latest" in message
    assert len(error.value.mismatches) == 3


# --- proxies --------------------------------------------------------------------------------------


def test_cramers_v_bounds():
    rng = np.random.default_rng(0)
    a = pd.Series(rng.choice(list("xyz"), 2000))
    b = pd.Series(rng.choice(list("pq"), 2000))
    assert cramers_v(a, b) < 0.05
    assert cramers_v(a, a) == pytest.approx(1.0, abs=0.01)


def test_planted_proxies_are_detected_and_unrelated_attributes_are_not(proxies):
    by_pair = proxies.set_index(["attribute", "protected_attribute"])

    channel = by_pair.loc[("preferred_channel", "primary_contact_gender")]
    assert channel["measure"] == "cramers_v"
    assert channel["value"] > 0.5 and channel["blocked"]
    assert "proxy of protected attribute primary_contact_gender" in channel["reason"]

    csat = by_pair.loc[("support_csat_avg_365d", "primary_contact_age_band")]
    assert csat["measure"] == "correlation_ratio"
    assert csat["value"] > 0.8 and csat["blocked"]

    for attribute in ("account_tier", "region_code", "current_mrr", "industry"):
        rows = proxies.loc[proxies["attribute"] == attribute]
        assert len(rows) == 2  # measured against both protected attributes
        assert not rows["blocked"].any(), rows
    assert set(proxies.loc[proxies["blocked"], "attribute"]) == {
        "preferred_channel",
        "support_csat_avg_365d",
    }
    # prohibited / sensitive / unclassified attributes are not candidates at all
    assert not {"customer_key", "country", "favourite_colour"} & set(proxies["attribute"])


def test_too_few_observations_are_not_measured(frames, policy, catalog):
    few = frames["customer_attributes"].head(10)
    custom = frames["customer_custom_attributes"]
    result = detect_proxies(
        few, custom.loc[custom["customer_key"].isin(few["customer_key"])], policy, catalog
    )
    assert not result["blocked"].any()
    assert result["reason"].str.contains("not measured").all()


# --- exclusions -----------------------------------------------------------------------------------


def test_prohibited_sensitive_and_proxy_attributes_are_excluded(frames, policy, catalog, proxies):
    custom_names = frames["customer_custom_attributes"]["attribute"].unique()
    excluded, usable = governed_feature_exclusions(catalog, policy, proxies, custom_names)
    assert excluded["customer_key"].startswith("segmentation policy is prohibited")
    assert "identifier" in excluded["reference_date"]
    assert excluded["country"] == "segmentation policy is sensitive"
    assert "proxy of protected attribute primary_contact_gender" in excluded["preferred_channel"]
    assert "primary_contact_age_band" in excluded["support_csat_avg_365d"]
    assert excluded["primary_contact_gender"] == "protected attribute"
    assert "not classified" in excluded["favourite_colour"]
    assert "current_mrr" not in excluded and "industry" not in excluded
    assert usable == ["account_tier", "region_code"]


def test_protected_attribute_is_prohibited_whatever_the_policy_says(catalog):
    raw = yaml.safe_load(POLICY_PATH.read_text())
    raw["custom_attributes"]["contact_gender"] = {"policy": "allowed"}
    policy = governance.parse_policy(raw)
    excluded, usable = governed_feature_exclusions(catalog, policy, None, ["contact_gender"])
    assert excluded["contact_gender"] == "protected attribute"
    assert "contact_gender" not in usable
    assert governance.protected_overrides(policy, catalog, ["contact_gender"]) == ["contact_gender"]


def test_excluded_attributes_never_reach_the_feature_matrix(frames, policy, catalog, proxies):
    from ml_assets.features import FeatureConfig, build_feature_matrix

    attributes = frames["customer_attributes"]
    excluded, _ = governed_feature_exclusions(catalog, policy, proxies)
    mask = analytics_consent_mask(frames["dim_customers"], attributes["customer_key"])
    matrix = build_feature_matrix(attributes, catalog, None, FeatureConfig(), excluded, mask)
    chosen = {c["attribute"] for c in matrix.chosen}
    assert chosen, "some allowed attributes are used"
    assert not chosen & {"customer_key", "country", "support_csat_avg_365d", "reference_date"}
    assert len(matrix.customer_keys) == int(frames["dim_customers"]["has_analytics_consent"].sum())


# --- consent --------------------------------------------------------------------------------------


def test_analytics_consent_mask_excludes_unconsented_and_unknown_customers():
    dim = pd.DataFrame(
        {
            "customer_key": ["a", "b", "c", "d"],
            "has_analytics_consent": [True, False, None, True],
        }
    )
    mask = analytics_consent_mask(dim, ["d", "c", "b", "a", "zz"])
    assert list(mask.index) == ["d", "c", "b", "a", "zz"]
    assert list(mask) == [True, False, False, True, False]
    # given a column of a frame, the mask lines up with that frame's rows
    frame = pd.DataFrame({"customer_key": ["b", "a"]}, index=[10, 11])
    aligned = analytics_consent_mask(dim, frame["customer_key"])
    assert list(aligned.index) == [10, 11] and list(aligned) == [False, True]


def test_marketing_consent_filters_sends():
    dim = pd.DataFrame(
        {"customer_key": ["a", "b", "c"], "has_marketing_consent": [True, False, pd.NA]}
    )
    audience = pd.DataFrame({"customer_key": ["a", "b", "c", "unknown"], "segment": "x"})
    assert list(marketing_consented(audience, dim)["customer_key"]) == ["a"]
    with_flag = audience.assign(has_marketing_consent=[True, True, False, None])
    assert list(marketing_consented(with_flag)["customer_key"]) == ["a", "b"]
    with pytest.raises(ValueError, match="pass dim_customers"):
        marketing_consented(audience)


# --- composition audit ----------------------------------------------------------------------------


def test_segment_composition_shows_each_segments_protected_mix(frames):
    audit = segment_composition_audit(
        frames["customer_segments"],
        frames["customer_custom_attributes"],
        ["primary_contact_gender", "primary_contact_age_band"],
    )
    shares = audit.groupby(["protected_attribute", "segment_id"])["share"].sum()
    assert np.allclose(shares, 1.0)
    gender = audit.loc[audit["protected_attribute"] == "primary_contact_gender"]
    women_in_0 = gender.loc[(gender["segment_id"] == 0) & (gender["value"] == "female")]
    assert women_in_0["share"].iloc[0] > 0.6
    assert women_in_0["max_abs_deviation"].iloc[0] > 0.15  # planted imbalance is visible
    age = audit.loc[audit["protected_attribute"] == "primary_contact_age_band"]
    assert age["max_abs_deviation"].max() < 0.15  # age was not planted
    assert set(audit["customers"].groupby(audit["protected_attribute"]).sum()) == {N_CUSTOMERS}


def test_latest_custom_value_wins(frames):
    wide = governance.pivot_custom_attributes(frames["customer_custom_attributes"])
    assert wide.loc["c0000", "account_tier"] != "platinum"
