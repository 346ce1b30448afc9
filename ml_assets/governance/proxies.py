"""Proxy detection: how strongly each usable attribute tracks a protected attribute.

Pearson for two numeric columns, the correlation ratio for numeric against categorical, Cramér's V
for two categorical ones (the one implementation of each lives in ml_assets.stats). A pair at or
above the policy's threshold is blocked from the feature matrix.
"""

from __future__ import annotations

import pandas as pd

from ml_assets.governance.custom_attributes import pivot_custom_attributes
from ml_assets.governance.policy import GovernancePolicy
from ml_assets.stats import correlation_ratio, cramers_v


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
