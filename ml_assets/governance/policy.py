"""The governance policy: its dataclasses, parsing and validation, and agreement with the catalog.

The policy (`config/governance_policy.yaml`, read by the I/O layer) mirrors the dbt catalog meta
of `customer_attributes`; a disagreement is an error, not a warning. `parse_policy` takes the
parsed mapping: nothing here opens a file.

Protected characteristics are protected by the code, not only by the file: the built-in terms
below always apply, and a policy file's `protected_attributes` may add terms, never remove them.
A policy that classifies a protected attribute as `allowed` is contradictory: the blocking check
fails naming it (`allowed_protected_attributes`).

Names are compared the way users write them: `canonical_name` turns "Contract Type",
"contract-type" and "CONTRACT_TYPE" into `contract_type`, the one form the platform shows. Policy
keys are canonical after parsing, and every lookup canonicalises its argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

POLICY_VALUES = ("allowed", "sensitive", "prohibited")
_STRICTNESS = {value: rank for rank, value in enumerate(POLICY_VALUES)}
CUSTOM_DATA_TYPES = ("numeric", "boolean", "categorical")

# Protected characteristics (equality law's usual list and the GDPR's special categories). Whole
# words of an attribute name, so `age` matches `primary_contact_age_band` but not `usage_trend`.
BUILTIN_PROTECTED_TERMS = (
    "gender",
    "sex",
    "age",
    "age_band",
    "birth",
    "birthdate",
    "date_of_birth",
    "dob",
    "ethnicity",
    "ethnic",
    "race",
    "religion",
    "religious",
    "disability",
    "disabled",
    "pregnancy",
    "marital_status",
    "sexual_orientation",
    "nationality",
    "citizenship",
    "political",
    "union_membership",
    "health",
)


_NOT_NAME = re.compile(r"[^a-z0-9]+")
# A custom attribute named like a built-in attribute of customer_attributes is kept under this
# prefix ("tenure_days" from the CRM becomes custom_tenure_days), and classified under that name.
SHADOW_PREFIX = "custom_"


def canonical_name(name: object) -> str:
    """The one spelling of an attribute name: lower snake_case ("Contract Type" -> contract_type).

    Case and punctuation never distinguish two attributes: runs of anything but ASCII letters and
    digits become one underscore. (CamelCase is not split: staging lower-cases names first.)
    """
    return _NOT_NAME.sub("_", str(name).strip().lower()).strip("_")


class PolicyError(ValueError):
    """The policy file is malformed; the message lists every problem found."""


class PolicyMismatch(Exception):
    """The governance policy and the dbt catalog meta disagree."""

    def __init__(self, mismatches: list[Mismatch], source: str = "governance policy"):
        self.mismatches = mismatches
        lines = "\n".join(f"  - {m.message}" for m in mismatches)
        super().__init__(
            f"{source} and the dbt catalog of customer_attributes disagree on "
            f"{len(mismatches)} attribute(s):\n{lines}"
        )


@dataclass(frozen=True)
class CustomAttributePolicy:
    policy: str
    data_type: str | None = None  # None: inferred from the values
    note: str = ""


@dataclass(frozen=True)
class GovernancePolicy:
    attributes: dict[str, str]
    custom_attributes: dict[str, CustomAttributePolicy]
    protected_terms: tuple[str, ...]
    max_abs_correlation: float = 0.5
    max_cramers_v: float = 0.3
    min_observations: int = 30
    clustering_requires: str | None = "analytics"
    marketing_destinations: tuple[str, ...] = ()
    source: str = "governance policy"

    def is_protected(self, name: str) -> bool:
        """A protected term is a whole word of the name: `age` in `age_band`, not in `usage`."""
        padded = "_" + canonical_name(name) + "_"
        return any(f"_{term}_" in padded for term in self.protected_terms)

    def attribute_policy(self, name: str) -> str:
        """Policy of a catalog attribute: prohibited when protected or not classified."""
        if self.is_protected(name):
            return "prohibited"
        return self.attributes.get(canonical_name(name), "prohibited")

    def custom_policy(self, name: str) -> str | None:
        """Policy of a custom attribute; None when unclassified (which means: not usable)."""
        entry = self.custom_attribute(name)
        if entry is None:
            return None
        return "prohibited" if self.is_protected(name) else entry.policy

    def custom_attribute(self, name: str) -> CustomAttributePolicy | None:
        """The policy entry of a custom attribute, however its name is spelled."""
        return self.custom_attributes.get(canonical_name(name))

    def declared(self) -> dict[str, str]:
        """Every policy key (canonical) with the policy the file gives it."""
        return {
            **self.attributes,
            **{name: entry.policy for name, entry in self.custom_attributes.items()},
        }

    def requires_marketing_consent(self, destination: str) -> bool:
        return destination in self.marketing_destinations


@dataclass(frozen=True)
class Mismatch:
    attribute: str
    kind: str  # policy_differs | missing_from_policy | not_in_catalog | catalog_meta_missing
    policy_value: str | None
    catalog_value: str | None

    @property
    def message(self) -> str:
        if self.kind == "policy_differs":
            return (
                f"{self.attribute}: governance policy says {self.policy_value!r}, "
                f"dbt meta says {self.catalog_value!r}"
            )
        if self.kind == "missing_from_policy":
            return (
                f"{self.attribute}: in the dbt catalog (segmentation_policy "
                f"{self.catalog_value!r}) but not classified in the governance policy"
            )
        if self.kind == "not_in_catalog":
            return f"{self.attribute}: in the governance policy but not a column of the dbt catalog"
        return (
            f"{self.attribute}: dbt meta has no valid segmentation_policy "
            f"({self.catalog_value!r}); expected one of {', '.join(POLICY_VALUES)}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "kind": self.kind,
            "policy": self.policy_value,
            "dbt_meta": self.catalog_value,
            "message": self.message,
        }


# ---------------------------------------------------------------------------------------------
# Validating the parsed policy


def parse_policy(raw: Any, source: str = "governance policy") -> GovernancePolicy:
    errors: list[str] = []
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: expected a mapping at the top level")
    known = {
        "version",
        "attributes",
        "custom_attributes",
        "protected_attributes",
        "proxy_detection",
        "consent",
    }
    for key in sorted(set(raw) - known):
        errors.append(f"unknown top-level key {key!r} (expected one of {', '.join(sorted(known))})")

    spelled: dict[str, str] = {}  # canonical name -> the spelling first seen in the file

    def canonical_key(section: str, name: object) -> str:
        key = canonical_name(name)
        if not key:
            errors.append(f"{section}: {name!r} is not a usable attribute name")
        elif key in spelled and spelled[key] != f"{section}.{name}":
            shadowed = (
                f"; a CRM custom attribute named like the built-in one is kept as "
                f"{SHADOW_PREFIX}{key}: classify it under that name"
                if {section, spelled[key].partition(".")[0]} == {"attributes", "custom_attributes"}
                else ""
            )
            errors.append(
                f"{section}.{name}: the same attribute as {spelled[key]} (both are {key!r}; "
                f"names are compared ignoring case and punctuation){shadowed}"
            )
        spelled.setdefault(key, f"{section}.{name}")
        return key

    attributes: dict[str, str] = {}
    raw_attributes = raw.get("attributes")
    if not isinstance(raw_attributes, dict) or not raw_attributes:
        errors.append("'attributes' must be a non-empty mapping of attribute name to policy")
    else:
        for name, value in raw_attributes.items():
            if value not in POLICY_VALUES:
                errors.append(
                    f"attributes.{name}: policy {value!r} is not one of {', '.join(POLICY_VALUES)}"
                )
            else:
                attributes[canonical_key("attributes", name)] = value

    custom: dict[str, CustomAttributePolicy] = {}
    raw_custom = raw.get("custom_attributes") or {}
    if not isinstance(raw_custom, dict):
        errors.append("'custom_attributes' must be a mapping of attribute name to its policy")
        raw_custom = {}
    for name, entry in raw_custom.items():
        if isinstance(entry, str):
            entry = {"policy": entry}
        if not isinstance(entry, dict):
            errors.append(f"custom_attributes.{name}: expected a policy or a mapping with 'policy'")
            continue
        for key in sorted(set(entry) - {"policy", "data_type", "note"}):
            errors.append(f"custom_attributes.{name}: unknown key {key!r}")
        if entry.get("policy") not in POLICY_VALUES:
            errors.append(
                f"custom_attributes.{name}: policy {entry.get('policy')!r} is not one of "
                f"{', '.join(POLICY_VALUES)}"
            )
            continue
        data_type = entry.get("data_type")
        if data_type is not None and data_type not in CUSTOM_DATA_TYPES:
            errors.append(
                f"custom_attributes.{name}: data_type {data_type!r} is not one of "
                f"{', '.join(CUSTOM_DATA_TYPES)}"
            )
            continue
        custom[canonical_key("custom_attributes", name)] = CustomAttributePolicy(
            entry["policy"], data_type, entry.get("note", "")
        )

    # Terms the file adds to the built-in ones (leaving one out of the file does not remove it).
    terms = raw.get("protected_attributes") or []
    if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
        errors.append("'protected_attributes' must be a list of names")
        terms = []

    proxy = raw.get("proxy_detection") or {}
    thresholds: dict[str, Any] = {}
    if not isinstance(proxy, dict):
        errors.append("'proxy_detection' must be a mapping")
        proxy = {}
    for key in ("max_abs_correlation", "max_cramers_v"):
        value = proxy.get(key, GovernancePolicy.__dataclass_fields__[key].default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            errors.append(f"proxy_detection.{key}: {value!r} must be a number in (0, 1]")
        thresholds[key] = value
    min_obs = proxy.get("min_observations", 30)
    if isinstance(min_obs, bool) or not isinstance(min_obs, int) or min_obs < 2:
        errors.append(f"proxy_detection.min_observations: {min_obs!r} must be an integer >= 2")
    for key in sorted(set(proxy) - {"max_abs_correlation", "max_cramers_v", "min_observations"}):
        errors.append(f"proxy_detection: unknown key {key!r}")

    consent = raw.get("consent") or {}
    if not isinstance(consent, dict):
        errors.append("'consent' must be a mapping")
        consent = {}
    clustering_requires = consent.get("clustering_requires", "analytics")
    if clustering_requires not in ("analytics", None):
        errors.append(
            f"consent.clustering_requires: {clustering_requires!r} must be 'analytics' or null"
        )
    destinations = consent.get("marketing_destinations") or []
    if not isinstance(destinations, list) or not all(isinstance(d, str) for d in destinations):
        errors.append("consent.marketing_destinations must be a list of destination names")
        destinations = []

    if errors:
        raise PolicyError(f"{source} is invalid:\n" + "\n".join(f"  - {e}" for e in errors))
    return GovernancePolicy(
        attributes=attributes,
        custom_attributes=custom,
        protected_terms=tuple(
            dict.fromkeys([*BUILTIN_PROTECTED_TERMS, *(t.strip().lower() for t in terms)])
        ),
        max_abs_correlation=float(thresholds["max_abs_correlation"]),
        max_cramers_v=float(thresholds["max_cramers_v"]),
        min_observations=min_obs,
        clustering_requires=clustering_requires,
        marketing_destinations=tuple(destinations),
        source=source,
    )


# ---------------------------------------------------------------------------------------------
# Policy versus the dbt catalog


def check_policy_against_catalog(policy: GovernancePolicy, catalog: pd.DataFrame) -> list[Mismatch]:
    """Every difference between the policy file and the catalog's segmentation_policy meta."""
    mismatches: list[Mismatch] = []
    catalog_policies = dict(
        zip(catalog["attribute_name"], catalog["segmentation_policy"], strict=True)
    )
    for name, meta_value in catalog_policies.items():
        meta_value = None if pd.isna(meta_value) else meta_value
        declared = policy.attributes.get(canonical_name(name))
        if declared is None:
            mismatches.append(Mismatch(name, "missing_from_policy", None, meta_value))
        elif meta_value not in POLICY_VALUES:
            mismatches.append(Mismatch(name, "catalog_meta_missing", declared, meta_value))
        elif declared != meta_value:
            mismatches.append(Mismatch(name, "policy_differs", declared, meta_value))
    documented = {canonical_name(name) for name in catalog_policies}
    for name, value in policy.attributes.items():
        if name not in documented:
            mismatches.append(Mismatch(name, "not_in_catalog", value, None))
    return mismatches


def assert_policy_matches_catalog(policy: GovernancePolicy, catalog: pd.DataFrame) -> None:
    mismatches = check_policy_against_catalog(policy, catalog)
    if mismatches:
        raise PolicyMismatch(mismatches, policy.source)


def protected_overrides(
    policy: GovernancePolicy, catalog: pd.DataFrame, custom_names: Iterable[str] = ()
) -> list[str]:
    """Attributes classified as usable that are prohibited anyway because they are protected."""
    names = list(catalog["attribute_name"]) + list(custom_names)
    declared = policy.declared()
    return sorted(
        {
            n
            for n in names
            if policy.is_protected(n)
            and declared.get(canonical_name(n), "prohibited") != "prohibited"
        }
    )


def allowed_protected_attributes(
    policy: GovernancePolicy, catalog: pd.DataFrame, custom_names: Iterable[str] = ()
) -> list[str]:
    """Protected attributes the policy file classifies as `allowed`: a contradiction that fails
    the blocking governance check (protected attributes are prohibited whatever the file says;
    `sensitive` ones are only reported, as `protected_overrides`)."""
    names = set(catalog["attribute_name"]) | set(custom_names) | set(policy.custom_attributes)
    declared = policy.declared()
    return sorted(
        n for n in names if policy.is_protected(n) and declared.get(canonical_name(n)) == "allowed"
    )


def effective_attribute_policies(catalog: pd.DataFrame, policy: GovernancePolicy) -> dict[str, str]:
    """Per catalog attribute the stricter of dbt meta and policy file; protected -> prohibited."""
    result = {}
    for name, meta_value in zip(
        catalog["attribute_name"], catalog["segmentation_policy"], strict=True
    ):
        meta_value = meta_value if meta_value in POLICY_VALUES else "prohibited"
        result[name] = max(meta_value, policy.attribute_policy(name), key=_STRICTNESS.__getitem__)
    return result


def protected_attribute_names(policy: GovernancePolicy, names: Iterable[str]) -> list[str]:
    return sorted({n for n in names if policy.is_protected(n)})
