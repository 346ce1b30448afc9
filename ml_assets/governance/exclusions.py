"""Governed feature exclusions: what the feature matrix must leave out and why, decided once.

`assess_governance` is the one assessment (policy vs catalog, proxies, exclusions) over the frames
the I/O layer reads; `decisions_frame` / `features_from_decisions` carry its exclusions through a
warehouse table so the model uses exactly what the governance check decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd

from ml_assets.governance.custom_attributes import (
    custom_attribute_status,
    keep_shadowed_apart,
    unmatched_policy_entries,
)
from ml_assets.governance.policy import (
    GovernancePolicy,
    Mismatch,
    canonical_name,
    check_policy_against_catalog,
    effective_attribute_policies,
    protected_overrides,
)
from ml_assets.governance.proxies import detect_proxies

DECISION_COLUMNS = ["attribute", "decision", "reason"]


class GovernedFeatures(NamedTuple):
    excluded: dict[str, str]  # attribute -> why it may not be a feature
    usable_custom_attributes: list[str]


def governed_feature_exclusions(
    catalog: pd.DataFrame,
    policy: GovernancePolicy,
    proxies: pd.DataFrame | None = None,
    custom_attribute_names: Iterable[str] = (),
) -> GovernedFeatures:
    """What the feature matrix must leave out, with reasons, and the custom attributes it may use.

    Pass `excluded` to the feature-matrix builder: it covers catalog attributes that are not
    allowed (by dbt meta or by the policy, whichever is stricter), protected ones, identifiers,
    and blocked proxies; custom attributes that are unclassified, not allowed or proxies.
    `custom_attribute_names` are the custom attributes present in the data; only those can be
    usable.
    """
    reasons: dict[str, list[str]] = {}
    effective = effective_attribute_policies(catalog, policy)
    for name, data_type in zip(catalog["attribute_name"], catalog["data_type"], strict=True):
        if policy.is_protected(name):
            reasons.setdefault(name, []).append("protected attribute")
        elif effective[name] != "allowed":
            if canonical_name(name) not in policy.attributes:
                why = "not classified in the governance policy"
            else:
                why = f"segmentation policy is {effective[name]}"
            reasons.setdefault(name, []).append(why)
        if data_type == "identifier":
            reasons.setdefault(name, []).append("identifier")

    present = {canonical_name(n) for n in custom_attribute_names}
    status = custom_attribute_status(policy, present | set(policy.custom_attributes))
    for row in status.itertuples():
        if row.status != "usable":
            reasons.setdefault(row.attribute, []).append(row.reason)

    if proxies is not None and not proxies.empty:
        for row in proxies.loc[proxies["blocked"]].itertuples():
            reasons.setdefault(row.attribute, []).append(row.reason)

    excluded = {name: "; ".join(why) for name, why in sorted(reasons.items())}
    usable = sorted(
        n
        for n in status.loc[status["status"] == "usable", "attribute"]
        if n in present and n not in excluded
    )
    return GovernedFeatures(excluded, usable)


def decisions_frame(features: GovernedFeatures) -> pd.DataFrame:
    """One row per decided attribute: `excluded` with its reason, or `usable` (custom ones)."""
    rows = [(name, "excluded", reason) for name, reason in features.excluded.items()]
    rows += [(name, "usable", "") for name in features.usable_custom_attributes]
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def features_from_decisions(decisions: pd.DataFrame) -> GovernedFeatures:
    """The inverse of `decisions_frame`."""
    excluded = decisions.loc[decisions["decision"] == "excluded"]
    usable = decisions.loc[decisions["decision"] == "usable", "attribute"]
    return GovernedFeatures(
        dict(zip(excluded["attribute"], excluded["reason"], strict=True)), sorted(usable)
    )


@dataclass
class GovernanceReport:
    mismatches: list[Mismatch]
    proxies: pd.DataFrame
    features: GovernedFeatures
    custom_status: pd.DataFrame
    protected_overrides: list[str] = field(default_factory=list)
    # custom_attributes entries of the policy that match no custom attribute in the data
    unmatched_policy_entries: list[str] = field(default_factory=list)

    @property
    def unclassified(self) -> list[str]:
        return sorted(
            self.custom_status.loc[self.custom_status["status"] == "unclassified", "attribute"]
        )

    @property
    def blocked_proxies(self) -> pd.DataFrame:
        return self.proxies.loc[self.proxies["blocked"]] if not self.proxies.empty else self.proxies


def assess_governance(
    attributes: pd.DataFrame,
    custom_attributes: pd.DataFrame,
    catalog: pd.DataFrame,
    policy: GovernancePolicy,
) -> GovernanceReport:
    """Mismatches, proxies and feature exclusions for `customer_attributes` and the long custom
    attribute table (see `detect_proxies`); custom attribute names are compared canonically, and
    one named like a built-in attribute is assessed as `custom_<name>`."""
    custom_attributes = keep_shadowed_apart(
        custom_attributes, [*attributes.columns, *catalog["attribute_name"]]
    )
    custom_names = sorted(custom_attributes["attribute"].dropna().unique())
    if attributes.empty:
        attributes = pd.DataFrame({"customer_key": pd.Series(dtype=object)})
    proxies = detect_proxies(attributes, custom_attributes, policy, catalog)
    return GovernanceReport(
        mismatches=check_policy_against_catalog(policy, catalog),
        proxies=proxies,
        features=governed_feature_exclusions(catalog, policy, proxies, custom_names),
        custom_status=custom_attribute_status(policy, custom_names),
        protected_overrides=protected_overrides(policy, catalog, custom_names),
        unmatched_policy_entries=unmatched_policy_entries(policy, custom_names),
    )
