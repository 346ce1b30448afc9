"""Custom attributes (the CRM's long `attribute, value` table): one row per customer, and which
of them the governance policy lets segmentation use."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ml_assets.governance.policy import GovernancePolicy

CUSTOM_ATTRIBUTE_COLUMNS = ["customer_key", "attribute", "value", "updated_at"]


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
