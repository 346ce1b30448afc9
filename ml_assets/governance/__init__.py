"""Governance, pure: which attributes may drive segmentation, proxy detection and consent.

Enforcement happens where data flows: `governed_feature_exclusions` feeds the feature matrix,
`analytics_consent_mask` filters the customers that are clustered, and `marketing_consented`
filters what reaches marketing destinations. Modules by concern (policy, custom_attributes,
proxies, exclusions, consent, composition); the names below are re-exported for callers. Frames
and dataclasses in and out: reading the policy file and the warehouse is the I/O layer's job
(orchestration.io.config_files, orchestration.io.governance).
"""

from ml_assets.governance.composition import (
    COMPOSITION_COLUMNS,
    MISSING_VALUE,
    segment_composition_audit,
)
from ml_assets.governance.consent import analytics_consent_mask, marketing_consented
from ml_assets.governance.custom_attributes import (
    CUSTOM_ATTRIBUTE_COLUMNS,
    CUSTOM_GROUP,
    canonical_custom_attributes,
    custom_attribute_catalog,
    custom_attribute_quality,
    custom_attribute_status,
    custom_catalog_rows,
    infer_custom_type,
    keep_shadowed_apart,
    pivot_custom_attributes,
    shadowed_custom_attributes,
    unclassified_custom_attributes,
    unmatched_policy_entries,
    widen_custom_attributes,
)
from ml_assets.governance.exclusions import (
    DECISION_COLUMNS,
    GovernanceReport,
    GovernedFeatures,
    assess_governance,
    decisions_frame,
    features_from_decisions,
    governed_feature_exclusions,
)
from ml_assets.governance.policy import (
    CUSTOM_DATA_TYPES,
    POLICY_VALUES,
    CustomAttributePolicy,
    GovernancePolicy,
    Mismatch,
    PolicyError,
    PolicyMismatch,
    assert_policy_matches_catalog,
    canonical_name,
    check_policy_against_catalog,
    effective_attribute_policies,
    parse_policy,
    protected_attribute_names,
    protected_overrides,
)
from ml_assets.governance.proxies import PROXY_COLUMNS, detect_proxies

__all__ = [
    "COMPOSITION_COLUMNS",
    "CUSTOM_ATTRIBUTE_COLUMNS",
    "CUSTOM_DATA_TYPES",
    "CUSTOM_GROUP",
    "DECISION_COLUMNS",
    "MISSING_VALUE",
    "POLICY_VALUES",
    "PROXY_COLUMNS",
    "CustomAttributePolicy",
    "GovernancePolicy",
    "GovernanceReport",
    "GovernedFeatures",
    "Mismatch",
    "PolicyError",
    "PolicyMismatch",
    "analytics_consent_mask",
    "assert_policy_matches_catalog",
    "assess_governance",
    "canonical_custom_attributes",
    "canonical_name",
    "check_policy_against_catalog",
    "custom_attribute_catalog",
    "custom_attribute_quality",
    "custom_attribute_status",
    "custom_catalog_rows",
    "decisions_frame",
    "detect_proxies",
    "effective_attribute_policies",
    "features_from_decisions",
    "governed_feature_exclusions",
    "infer_custom_type",
    "keep_shadowed_apart",
    "marketing_consented",
    "parse_policy",
    "pivot_custom_attributes",
    "protected_attribute_names",
    "protected_overrides",
    "segment_composition_audit",
    "shadowed_custom_attributes",
    "unclassified_custom_attributes",
    "unmatched_policy_entries",
    "widen_custom_attributes",
]
