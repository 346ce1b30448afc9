"""Governance policy: which attributes may drive segmentation, proxy detection and consent.

The policy lives in `config/governance_policy.yaml` and mirrors the dbt catalog meta of
`customer_attributes`; a disagreement is an error, not a warning. Enforcement happens where data
flows: `governed_feature_exclusions` feeds the feature matrix, `analytics_consent_mask` filters the
customers that are clustered, and `marketing_consented` filters what reaches marketing
destinations. Plain Python, no Dagster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd
import yaml

from ml_assets.stats import correlation_ratio, cramers_v
from orchestration.io import settings
from orchestration.io.warehouse import read_table

POLICY_VALUES = ("allowed", "sensitive", "prohibited")
_STRICTNESS = {value: rank for rank, value in enumerate(POLICY_VALUES)}
CUSTOM_DATA_TYPES = ("numeric", "categorical")
MISSING_VALUE = "(missing)"


def default_policy_path() -> Path:
    return settings.CONFIG_DIR / "governance_policy.yaml"


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
        padded = "_" + name.lower().replace("-", "_") + "_"
        return any(f"_{term}_" in padded for term in self.protected_terms)

    def attribute_policy(self, name: str) -> str:
        """Policy of a catalog attribute: prohibited when protected or not classified."""
        if self.is_protected(name):
            return "prohibited"
        return self.attributes.get(name, "prohibited")

    def custom_policy(self, name: str) -> str | None:
        """Policy of a custom attribute; None when unclassified (which means: not usable)."""
        entry = self.custom_attributes.get(name)
        if entry is None:
            return None
        return "prohibited" if self.is_protected(name) else entry.policy

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
# Loading and validating the policy file


def load_policy(path: Path | str | None = None) -> GovernancePolicy:
    """Read and validate the policy YAML; raise PolicyError listing every problem."""
    path = Path(path) if path is not None else default_policy_path()
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    return parse_policy(raw, source=str(path))


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
                attributes[str(name)] = value

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
        custom[str(name)] = CustomAttributePolicy(entry["policy"], data_type, entry.get("note", ""))

    terms = raw.get("protected_attributes")
    if (
        not isinstance(terms, list)
        or not terms
        or not all(isinstance(t, str) and t.strip() for t in terms)
    ):
        errors.append("'protected_attributes' must be a non-empty list of names")
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
        protected_terms=tuple(t.strip().lower() for t in terms),
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
        if name not in policy.attributes:
            mismatches.append(Mismatch(name, "missing_from_policy", None, meta_value))
        elif meta_value not in POLICY_VALUES:
            mismatches.append(
                Mismatch(name, "catalog_meta_missing", policy.attributes[name], meta_value)
            )
        elif policy.attributes[name] != meta_value:
            mismatches.append(Mismatch(name, "policy_differs", policy.attributes[name], meta_value))
    for name, value in policy.attributes.items():
        if name not in catalog_policies:
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
    declared = {**policy.attributes, **{n: c.policy for n, c in policy.custom_attributes.items()}}
    return sorted(
        {
            n
            for n in names
            if policy.is_protected(n) and declared.get(n, "prohibited") != "prohibited"
        }
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


# ---------------------------------------------------------------------------------------------
# Custom attributes


def pivot_custom_attributes(custom_attributes: pd.DataFrame) -> pd.DataFrame:
    """Long (customer_key, attribute, value, updated_at) to one row per customer; latest wins."""
    if custom_attributes.empty:
        return pd.DataFrame(index=pd.Index([], name="customer_key"))
    frame = custom_attributes
    if "updated_at" in frame.columns:
        frame = frame.sort_values("updated_at", na_position="first", kind="stable")
    latest = frame.drop_duplicates(["customer_key", "attribute"], keep="last")
    wide = latest.pivot(index="customer_key", columns="attribute", values="value")
    wide.columns.name = None
    return wide


def custom_attribute_status(policy: GovernancePolicy, names: Iterable[str]) -> pd.DataFrame:
    """Per custom attribute found in the data: its policy and whether it may be used."""
    rows = []
    for name in sorted(set(names)):
        value = policy.custom_policy(name)
        if value is None:
            status, reason = (
                "unclassified",
                "not classified in the governance policy (safe default)",
            )
        elif policy.is_protected(name):
            status, reason = "prohibited", "protected attribute"
        elif value != "allowed":
            status, reason = value, f"policy is {value}"
        else:
            status, reason = "usable", ""
        rows.append({"attribute": name, "policy": value, "status": status, "reason": reason})
    return pd.DataFrame(rows, columns=["attribute", "policy", "status", "reason"])


def unclassified_custom_attributes(policy: GovernancePolicy, names: Iterable[str]) -> list[str]:
    return sorted({n for n in names if policy.custom_policy(n) is None})


# ---------------------------------------------------------------------------------------------
# Proxy detection


def _is_numeric(series: pd.Series, declared: str | None) -> bool:
    if declared is not None:
        return declared == "numeric"
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_numeric_dtype(series):
        return True
    non_null = series.dropna()
    return bool(len(non_null)) and pd.to_numeric(non_null, errors="coerce").notna().all()


def _column_types(
    attributes: pd.DataFrame, custom_wide: pd.DataFrame, policy: GovernancePolicy, catalog
) -> dict[str, bool]:
    """Column -> is numeric, from the catalog / policy where declared, else from the values."""
    declared: dict[str, str | None] = {}
    if catalog is not None:
        for name, data_type in zip(catalog["attribute_name"], catalog["data_type"], strict=True):
            declared[name] = (
                "numeric"
                if data_type == "numeric"
                else ("categorical" if data_type in ("categorical", "boolean") else None)
            )
    for name, entry in policy.custom_attributes.items():
        declared[name] = entry.data_type
    frames = [attributes, custom_wide]
    return {
        column: _is_numeric(frame[column], declared.get(column))
        for frame in frames
        for column in frame.columns
    }


PROXY_COLUMNS = [
    "attribute",
    "protected_attribute",
    "measure",
    "value",
    "observations",
    "blocked",
    "reason",
]


def detect_proxies(
    attributes: pd.DataFrame,
    custom_attributes: pd.DataFrame,
    policy: GovernancePolicy,
    catalog: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Association of every usable attribute with every protected attribute present in the data.

    `attributes` is `customer_attributes` (one row per customer_key), `custom_attributes` the long
    custom attribute table. A pair at or above the policy's threshold is `blocked`.
    """
    custom_wide = pivot_custom_attributes(custom_attributes)
    attrs = attributes.set_index("customer_key") if "customer_key" in attributes else attributes
    combined = attrs.join(custom_wide, how="outer") if len(custom_wide.columns) else attrs
    numeric = _column_types(attrs, custom_wide, policy, catalog)

    protected = [c for c in combined.columns if policy.is_protected(c)]
    candidates = [
        c
        for c in attrs.columns
        if policy.attribute_policy(c) == "allowed"
        and (catalog is None or _catalog_usable(catalog, c))
    ]
    candidates += [c for c in custom_wide.columns if policy.custom_policy(c) == "allowed"]

    rows = []
    for candidate in candidates:
        for target in protected:
            pair = combined[[candidate, target]].dropna()
            row = {"attribute": candidate, "protected_attribute": target, "observations": len(pair)}
            x, y = pair[candidate], pair[target]
            if numeric[candidate] and numeric[target]:
                row["measure"], limit = "pearson", policy.max_abs_correlation
            elif numeric[candidate] or numeric[target]:
                row["measure"], limit = "correlation_ratio", policy.max_abs_correlation
            else:
                row["measure"], limit = "cramers_v", policy.max_cramers_v
            if len(pair) < policy.min_observations:
                row.update(
                    value=float("nan"),
                    blocked=False,
                    reason=f"only {len(pair)} customers have both values; not measured",
                )
                rows.append(row)
                continue
            if row["measure"] == "pearson":
                x, y = pd.to_numeric(x), pd.to_numeric(y)
                value = 0.0 if x.std() == 0 or y.std() == 0 else abs(float(x.corr(y)))
            elif row["measure"] == "correlation_ratio":
                cats, vals = (y, x) if numeric[candidate] else (x, y)
                value = correlation_ratio(cats.astype(str), pd.to_numeric(vals))
            else:
                value = cramers_v(x.astype(str), y.astype(str))
            blocked = value >= limit
            comparison = ">=" if blocked else "<"
            reason = f"{row['measure']} {value:.2f} with {target} {comparison} {limit:.2f}"
            row.update(
                value=round(value, 4),
                blocked=blocked,
                reason=f"proxy of protected attribute {target}: {reason}" if blocked else reason,
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=PROXY_COLUMNS)


def _catalog_usable(catalog: pd.DataFrame, name: str) -> bool:
    row = catalog.loc[catalog["attribute_name"] == name]
    if row.empty:
        return False
    return (
        row.iloc[0]["segmentation_policy"] == "allowed" and row.iloc[0]["data_type"] != "identifier"
    )


# ---------------------------------------------------------------------------------------------
# Feature exclusions


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
            if name not in policy.attributes:
                why = "not classified in the governance policy"
            else:
                why = f"segmentation policy is {effective[name]}"
            reasons.setdefault(name, []).append(why)
        if data_type == "identifier":
            reasons.setdefault(name, []).append("identifier")

    present = set(custom_attribute_names)
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


# ---------------------------------------------------------------------------------------------
# Consent


def _granted(value: Any) -> bool:
    """Only an explicit grant counts; null, NA and anything unexpected mean no consent."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in ("true", "t", "1", "yes")


def _consent_flags(dim_customers: pd.DataFrame, column: str) -> pd.Series:
    flags = dim_customers.drop_duplicates("customer_key", keep="last").set_index("customer_key")
    return flags[column].map(_granted).astype(bool)


def analytics_consent_mask(dim_customers: pd.DataFrame, customer_keys: Iterable) -> pd.Series:
    """True for customers whose latest analytics consent is granted; unknown customers are False.

    Given a Series (e.g. `attributes["customer_key"]`) the mask keeps its index, so it lines up
    with that frame's rows; given plain keys it is indexed by customer_key.
    """
    if isinstance(customer_keys, pd.Series):
        keys = customer_keys
    else:
        keys = pd.Series(list(customer_keys), dtype=object)
        keys.index = pd.Index(keys.to_numpy(), name="customer_key")
    flags = _consent_flags(dim_customers, "has_analytics_consent")
    return keys.map(flags).eq(True).rename("has_analytics_consent")


def marketing_consented(
    frame: pd.DataFrame, dim_customers: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Only the rows of customers with marketing consent: the filter before any marketing send.

    Uses the frame's own `has_marketing_consent` column when present, else looks the customers
    up in `dim_customers` by customer_key; customers without a consent record are left out.
    """
    if "has_marketing_consent" in frame.columns:
        granted = frame["has_marketing_consent"].map(_granted)
    else:
        if dim_customers is None:
            raise ValueError("frame has no has_marketing_consent column; pass dim_customers")
        flags = _consent_flags(dim_customers, "has_marketing_consent")
        granted = frame["customer_key"].map(flags).eq(True)
    return frame.loc[granted.astype(bool)]


# ---------------------------------------------------------------------------------------------
# Segment composition audit


COMPOSITION_COLUMNS = [
    "segment_id",
    "segment_name",
    "protected_attribute",
    "value",
    "customers",
    "share",
    "population_share",
    "deviation",
    "max_abs_deviation",
]


def segment_composition_audit(
    segments: pd.DataFrame, custom_attributes: pd.DataFrame, protected: Iterable[str]
) -> pd.DataFrame:
    """Each segment's mix of protected attribute values against the whole population.

    One row per segment, protected attribute and value: its share in the segment, in the
    population, the difference, and per segment and attribute the largest absolute difference.
    Missing values count as their own value, so gaps in the data stay visible.
    """
    wide = pivot_custom_attributes(custom_attributes)
    frame = segments.set_index("customer_key")
    if "segment_name" not in frame.columns:
        frame = frame.assign(segment_name=frame["segment_id"].astype(str))
    frames = []
    for attribute in protected:
        values = wide[attribute] if attribute in wide.columns else pd.Series(dtype=object)
        joined = frame[["segment_id", "segment_name"]].join(values.rename("value"), how="left")
        joined["value"] = (
            joined["value"].astype(object).where(joined["value"].notna(), MISSING_VALUE)
        )
        joined["value"] = joined["value"].astype(str)
        population = joined["value"].value_counts(normalize=True).rename("population_share")
        counts = (
            joined.groupby(["segment_id", "segment_name", "value"]).size().rename("customers")
        ).reset_index()
        # every segment gets a row for every value, including values it has none of
        grid = (
            counts[["segment_id", "segment_name"]]
            .drop_duplicates()
            .merge(pd.DataFrame({"value": population.index}), how="cross")
        )
        counts = grid.merge(counts, how="left").fillna({"customers": 0})
        totals = counts.groupby("segment_id")["customers"].transform("sum")
        counts["share"] = counts["customers"] / totals
        counts["population_share"] = counts["value"].map(population)
        counts["deviation"] = counts["share"] - counts["population_share"]
        counts["max_abs_deviation"] = counts.groupby("segment_id")["deviation"].transform(
            lambda d: d.abs().max()
        )
        counts["protected_attribute"] = attribute
        frames.append(counts)
    if not frames:
        return pd.DataFrame(columns=COMPOSITION_COLUMNS)
    result = pd.concat(frames, ignore_index=True)[COMPOSITION_COLUMNS]
    result["customers"] = result["customers"].astype(int)
    return result.sort_values(["protected_attribute", "segment_id", "value"], ignore_index=True)


def protected_attribute_names(policy: GovernancePolicy, names: Iterable[str]) -> list[str]:
    return sorted({n for n in names if policy.is_protected(n)})


# ---------------------------------------------------------------------------------------------
# One-call assessment from the warehouse (used by the asset check and the feature matrix)


@dataclass
class GovernanceReport:
    mismatches: list[Mismatch]
    proxies: pd.DataFrame
    features: GovernedFeatures
    custom_status: pd.DataFrame
    protected_overrides: list[str] = field(default_factory=list)

    @property
    def unclassified(self) -> list[str]:
        return sorted(
            self.custom_status.loc[self.custom_status["status"] == "unclassified", "attribute"]
        )

    @property
    def blocked_proxies(self) -> pd.DataFrame:
        return self.proxies.loc[self.proxies["blocked"]] if not self.proxies.empty else self.proxies


def read_custom_attributes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    frame = read_table(con, "marts", "customer_custom_attributes")
    if frame.empty:
        return pd.DataFrame(columns=["customer_key", "attribute", "value", "updated_at"])
    return frame


def assess_governance(
    con: duckdb.DuckDBPyConnection, catalog: pd.DataFrame, policy: GovernancePolicy
) -> GovernanceReport:
    """Mismatches, proxies and feature exclusions for the warehouse behind `con`."""
    attributes = read_table(con, "marts", "customer_attributes")
    custom = read_custom_attributes(con)
    custom_names = sorted(custom["attribute"].dropna().unique())
    if attributes.empty:
        attributes = pd.DataFrame({"customer_key": pd.Series(dtype=object)})
    proxies = detect_proxies(attributes, custom, policy, catalog)
    return GovernanceReport(
        mismatches=check_policy_against_catalog(policy, catalog),
        proxies=proxies,
        features=governed_feature_exclusions(catalog, policy, proxies, custom_names),
        custom_status=custom_attribute_status(policy, custom_names),
        protected_overrides=protected_overrides(policy, catalog, custom_names),
    )


def governance_exclusions(
    con: duckdb.DuckDBPyConnection,
    manifest_path: Path | str,
    policy_path: Path | str | None = None,
) -> GovernedFeatures:
    """Convenience for the feature matrix: load policy and catalog, fail on a mismatch, exclude."""
    from orchestration.io.catalog import load_attribute_catalog

    policy = load_policy(policy_path)
    catalog = load_attribute_catalog(manifest_path)
    assert_policy_matches_catalog(policy, catalog)
    return assess_governance(con, catalog, policy).features
