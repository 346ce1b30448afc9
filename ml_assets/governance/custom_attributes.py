"""Custom attributes (the CRM's long `attribute, value` table): one row per customer, which of them
the governance policy lets segmentation use, and how the allowed ones become catalog entries,
typed columns and quality scores like the built-in attributes.

Names are canonical (`canonical_name`): "Contract Type" in the CRM and `contract-type` in the
policy are the one attribute `contract_type`. A custom attribute whose canonical name is that of a
built-in attribute (a CRM field "Tenure Days" next to the built-in tenure_days) is kept under the
prefixed name `custom_tenure_days` (`shadowed_custom_attributes`), never silently dropped; the
policy classifies it under that name, and the coverage check warns naming it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ml_assets.features import CATALOG_FIELDS
from ml_assets.governance.policy import SHADOW_PREFIX, GovernancePolicy, canonical_name

CUSTOM_ATTRIBUTE_COLUMNS = ["customer_key", "attribute", "value", "updated_at"]
CUSTOM_GROUP = "custom"  # the attribute_group of every custom attribute in the catalog
UNCLASSIFIED = "unclassified"  # catalog policy of a custom attribute the policy does not list
TRUE_TOKENS = ("true", "t", "yes", "y", "1")
FALSE_TOKENS = ("false", "f", "no", "n", "0")
# The measures of marts.attribute_quality: 0.5 completeness + 0.3 validity + 0.2 freshness.
QUALITY_WEIGHTS = {"completeness": 0.5, "validity": 0.3, "freshness": 0.2}
QUALITY_COLUMNS = [
    "attribute_name",
    "source",
    "update_frequency",
    "customers",
    "non_null_values",
    "completeness",
    "validity",
    "freshness",
    "quality_score",
]


def canonical_custom_attributes(custom_attributes: pd.DataFrame) -> pd.DataFrame:
    """The long table with canonical attribute names (idempotent)."""
    if custom_attributes.empty or "attribute" not in custom_attributes.columns:
        return custom_attributes
    names = custom_attributes["attribute"]
    return custom_attributes.assign(attribute=names.where(names.isna(), names.map(canonical_name)))


def shadowed_custom_attributes(names: Iterable[str], builtin: Iterable[str]) -> dict[str, str]:
    """Custom attribute names (canonical) that a built-in attribute already uses, each with the
    name it is kept under: `custom_<name>` (prefixed again while that is taken too)."""
    taken = {canonical_name(n) for n in builtin}
    present = {canonical_name(n) for n in names if pd.notna(n)}
    renamed = {}
    for name in sorted(present & taken):
        new = SHADOW_PREFIX + name
        while new in taken or new in present:
            new = SHADOW_PREFIX + new
        renamed[name] = new
    return renamed


def keep_shadowed_apart(custom_attributes: pd.DataFrame, builtin: Iterable[str]) -> pd.DataFrame:
    """The long table (names canonical) with every custom attribute that a built-in attribute
    shadows renamed as `shadowed_custom_attributes` says."""
    frame = canonical_custom_attributes(custom_attributes)
    if frame.empty or "attribute" not in frame.columns:
        return frame
    renamed = shadowed_custom_attributes(frame["attribute"].dropna().unique(), builtin)
    if not renamed:
        return frame
    return frame.assign(attribute=frame["attribute"].replace(renamed))


def pivot_custom_attributes(custom_attributes: pd.DataFrame) -> pd.DataFrame:
    """Long (customer_key, attribute, value, updated_at) to one row per customer; latest wins.

    Spellings of one name ("Contract Type", "contract_type") are one column, its canonical name.
    """
    if custom_attributes.empty:
        return pd.DataFrame(index=pd.Index([], name="customer_key"))
    frame = canonical_custom_attributes(custom_attributes)
    if "updated_at" in frame.columns:
        frame = frame.sort_values("updated_at", na_position="first", kind="stable")
    latest = frame.drop_duplicates(["customer_key", "attribute"], keep="last")
    wide = latest.pivot(index="customer_key", columns="attribute", values="value")
    wide.columns.name = None
    return wide


def custom_attribute_status(policy: GovernancePolicy, names: Iterable[str]) -> pd.DataFrame:
    """Per custom attribute found in the data: its policy and whether it may be used."""
    rows = []
    for name in sorted({canonical_name(n) for n in names}):
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
    return sorted({canonical_name(n) for n in names if policy.custom_policy(n) is None})


def unmatched_policy_entries(policy: GovernancePolicy, names: Iterable[str]) -> list[str]:
    """custom_attributes entries of the policy that match no custom attribute in the data."""
    present = {canonical_name(n) for n in names}
    return sorted(set(policy.custom_attributes) - present)


# --- custom attributes as features ---------------------------------------------------------------


def infer_custom_type(values: pd.Series) -> str:
    """boolean (true/false, yes/no, 0/1), numeric (every value a number) or categorical."""
    text = values.dropna().astype(str).str.strip().str.lower()
    text = text[text != ""]
    if text.empty:
        return "categorical"
    if text.isin(TRUE_TOKENS + FALSE_TOKENS).all():
        return "boolean"
    if pd.to_numeric(text, errors="coerce").notna().all():
        return "numeric"
    return "categorical"


def typed_values(values: pd.Series, data_type: str) -> pd.Series:
    """Text values as the declared type; values that are not of that type become missing."""
    if data_type == "numeric":
        return pd.to_numeric(values, errors="coerce").astype(float)
    text = values.astype("string").str.strip()
    if data_type == "boolean":
        lower = text.str.lower()
        flags = pd.Series(np.nan, index=values.index, dtype=float)
        flags[lower.isin(TRUE_TOKENS).fillna(False).to_numpy(dtype=bool)] = 1.0
        flags[lower.isin(FALSE_TOKENS).fillna(False).to_numpy(dtype=bool)] = 0.0
        return flags
    return text.astype(object).where(text.notna() & (text != ""), np.nan)


def custom_attribute_catalog(
    policy: GovernancePolicy, custom_attributes: pd.DataFrame, taken: Iterable[str] = ()
) -> pd.DataFrame:
    """Catalog entries (the columns of the dbt attribute catalog) of the custom attributes present.

    Group `custom`, source crm, data type from the policy entry or inferred from the values,
    segmentation policy from the policy (`unclassified` when it has none: never a feature). Custom
    attributes named like a built-in attribute (`taken`) are kept under their prefixed name
    (`keep_shadowed_apart`; a no-op when the long table was read with `read_custom_attributes`).
    """
    wide = pivot_custom_attributes(keep_shadowed_apart(custom_attributes, taken))
    rows = []
    for name in sorted(wide.columns):
        entry = policy.custom_attribute(name)
        data_type = (entry.data_type if entry else None) or infer_custom_type(wide[name])
        note = f": {entry.note.strip()}" if entry and entry.note else ""
        rows.append(
            {
                "attribute_name": name,
                "description": f"Custom CRM attribute{note}",
                "unit": "category" if data_type == "categorical" else None,
                "source": "crm",
                "update_frequency": "on load",
                "segmentation_policy": policy.custom_policy(name) or UNCLASSIFIED,
                "attribute_group": CUSTOM_GROUP,
                "data_type": data_type,
                "behavioural": False,
            }
        )
    return pd.DataFrame(rows, columns=["attribute_name", "description", *CATALOG_FIELDS])


def custom_catalog_rows(catalog: pd.DataFrame) -> pd.DataFrame:
    """The custom attributes' entries of a (combined) catalog."""
    return catalog.loc[catalog["attribute_group"] == CUSTOM_GROUP]


def widen_custom_attributes(
    custom_attributes: pd.DataFrame, catalog: pd.DataFrame, names: Iterable[str]
) -> pd.DataFrame:
    """One row per customer (indexed by customer_key) with the custom attributes `names` that the
    catalog describes, each typed by its catalog data type. Nothing else is ever widened."""
    types = dict(
        zip(
            custom_catalog_rows(catalog)["attribute_name"],
            custom_catalog_rows(catalog)["data_type"],
            strict=True,
        )
    )
    wanted = [n for n in dict.fromkeys(canonical_name(n) for n in names) if n in types]
    wide = pivot_custom_attributes(custom_attributes)
    present = [n for n in wanted if n in wide.columns]
    return pd.DataFrame(
        {name: typed_values(wide[name], types[name]) for name in present},
        index=wide.index,
    )


def custom_attribute_quality(
    custom_attributes: pd.DataFrame, customer_keys: Iterable, catalog: pd.DataFrame
) -> pd.DataFrame:
    """Quality of each custom catalog entry over the customers, as marts.attribute_quality
    measures built-in ones: completeness (customers with a value), validity (values of the
    declared type), freshness (an on-load CRM attribute is fresh when the CRM delivered it)."""
    keys = pd.Index(pd.unique(pd.Series(list(customer_keys), dtype=object)))
    wide = pivot_custom_attributes(custom_attributes).reindex(keys)
    rows = []
    for entry in custom_catalog_rows(catalog).itertuples():
        name = entry.attribute_name
        raw = wide[name] if name in wide.columns else pd.Series(np.nan, index=keys, dtype=object)
        present = raw.dropna()
        valid = typed_values(present, entry.data_type).notna().sum()
        measures = {
            "completeness": len(present) / len(keys) if len(keys) else 0.0,
            "validity": valid / len(present) if len(present) else 0.0,
            "freshness": 1.0 if len(present) else 0.0,
        }
        rows.append(
            {
                "attribute_name": name,
                "source": entry.source,
                "update_frequency": entry.update_frequency,
                "customers": len(keys),
                "non_null_values": len(present),
                **measures,
                "quality_score": sum(QUALITY_WEIGHTS[m] * v for m, v in measures.items()),
            }
        )
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS)
