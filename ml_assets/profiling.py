"""Segment profiles: size, attribute means and lift vs the population, defining traits, outcomes.

Profiles are computed on the raw attribute values (not the transformed features) so the numbers
read in business units. Only attributes the catalog allows for segmentation are profiled;
`sensitive` and `prohibited` attributes never appear in a profile by default.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

PROFILE_DATA_TYPES = ("numeric", "boolean")
OUTCOME_RATES = {
    "churn_rate": "churned",
    "retention_rate": "retained",
    "expansion_rate": "expanded",
    "conversion_rate": "converted",
}


def profiled_attributes(catalog: pd.DataFrame, attributes: pd.DataFrame) -> list[str]:
    """Numeric and boolean attributes with an `allowed` policy that are present in the table."""
    allowed = catalog[
        (catalog["segmentation_policy"].fillna("").str.lower() == "allowed")
        & (catalog["data_type"].fillna("").str.lower().isin(PROFILE_DATA_TYPES))
    ]
    return [name for name in allowed["attribute_name"] if name in attributes.columns]


def attribute_stats(
    attributes: pd.DataFrame, segment_ids: pd.Series, catalog: pd.DataFrame
) -> pd.DataFrame:
    """One row per segment and attribute: mean, median, population mean, lift, standardised diff.

    `segment_ids` is aligned with `attributes` (same index). The standardised difference is
    (segment mean - population mean) / population std: comparable across units, so it ranks traits.
    """
    names = profiled_attributes(catalog, attributes)
    values = attributes[names].apply(pd.to_numeric, errors="coerce").astype(float)
    pop_std = values.std(ddof=0)
    # Attributes without variance (absent sources) say nothing about any segment.
    names = [name for name in names if pd.notna(pop_std[name]) and pop_std[name] > 0]
    values = values[names]
    pop_mean = values.mean()
    grouped = values.groupby(segment_ids.to_numpy())
    means, medians = grouped.mean(), grouped.median()
    records = []
    for segment in means.index:
        for name in names:
            mean, pop, std = means.at[segment, name], pop_mean[name], pop_std[name]
            records.append(
                {
                    "segment_id": segment,
                    "attribute_name": name,
                    "mean": mean,
                    "median": medians.at[segment, name],
                    "population_mean": pop,
                    "lift": mean / pop if pd.notna(pop) and pop != 0 else np.nan,
                    "std_diff": (mean - pop) / std,
                }
            )
    stats = pd.DataFrame.from_records(records)
    if not stats.empty:
        stats["std_diff"] = stats["std_diff"].fillna(0.0)
    return stats


def top_traits(
    stats: pd.DataFrame, n: int = 4, min_abs_std_diff: float = 0.5
) -> dict[str, list[dict]]:
    """The few attributes that set each segment apart most (|standardised difference| largest)."""
    traits: dict[str, list[dict]] = {}
    for segment, rows in stats.groupby("segment_id", sort=True):
        strong = rows[rows["std_diff"].abs() >= min_abs_std_diff]
        strong = strong.reindex(strong["std_diff"].abs().sort_values(ascending=False).index).head(n)
        traits[segment] = [
            {
                "attribute": row.attribute_name,
                "direction": "high" if row.std_diff > 0 else "low",
                "std_diff": round(float(row.std_diff), 3),
                "lift": None if pd.isna(row.lift) else round(float(row.lift), 3),
            }
            for row in strong.itertuples()
        ]
    return traits


def outcome_metrics(segment_ids: pd.Series, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Average revenue after, churn/retention/expansion/conversion rates and MRR change per segment.

    `segment_ids` is indexed by customer_key; customers without outcomes are left out.
    """
    columns = [
        "segment_id",
        "customers_with_outcomes",
        "avg_revenue_after",
        *OUTCOME_RATES,
        "avg_mrr_change",
    ]
    if outcomes is None or outcomes.empty:
        return pd.DataFrame(columns=columns)
    frame = outcomes.set_index("customer_key").join(segment_ids.rename("segment_id"), how="inner")
    numeric = {
        "avg_revenue_after": "revenue_after",
        **OUTCOME_RATES,
        "avg_mrr_change": "mrr_change",
    }
    result = pd.DataFrame(index=sorted(frame["segment_id"].unique()))
    result["customers_with_outcomes"] = frame.groupby("segment_id").size()
    for metric, column in numeric.items():
        if column in frame.columns:
            result[metric] = (
                pd.to_numeric(frame[column], errors="coerce")
                .astype(float)
                .groupby(frame["segment_id"])
                .mean()
            )
        else:
            result[metric] = np.nan
    return result.rename_axis("segment_id").reset_index()[columns]


def support_burden(stats: pd.DataFrame, catalog: pd.DataFrame) -> pd.Series:
    """Mean standardised difference of the support attributes per segment (0 = population)."""
    support = set(catalog.loc[catalog["attribute_group"] == "support", "attribute_name"])
    rows = stats[stats["attribute_name"].isin(support)]
    if rows.empty:
        return pd.Series(dtype=float)
    return rows.groupby("segment_id")["std_diff"].mean()


def build_profiles(
    attributes: pd.DataFrame,
    segment_ids: pd.Series,
    catalog: pd.DataFrame,
    outcomes: pd.DataFrame | None,
    names: dict[str, str],
    playbooks: dict[str, dict] | None = None,
    status: dict[str, str] | None = None,
    outcome_segments: pd.Series | None = None,
    parents: dict[str, tuple[str | None, str | None]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per segment (the segment_profiles table) and the long attribute stats behind it.

    `attributes` carries customer_key; `segment_ids` is aligned with it. Outcome metrics use
    `outcome_segments` (segment by customer_key, e.g. on the validation snapshot) when given.
    `parents` (segment_id -> (parent id, parent name)) fills the parent_segment columns.
    """
    stats = attribute_stats(attributes, segment_ids, catalog)
    traits = top_traits(stats) if not stats.empty else {}
    by_key = pd.Series(segment_ids.to_numpy(), index=attributes["customer_key"].to_numpy())
    outcomes_frame = outcome_metrics(
        by_key if outcome_segments is None else outcome_segments,
        outcomes if outcomes is not None else pd.DataFrame(),
    )
    burden = support_burden(stats, catalog) if not stats.empty else pd.Series(dtype=float)
    sizes = segment_ids.value_counts()
    total = len(segment_ids)
    rows = []
    for segment in sorted(sizes.index):
        playbook = (playbooks or {}).get(segment, {})
        seg_stats = stats[stats["segment_id"] == segment] if not stats.empty else stats
        rows.append(
            {
                "segment_id": segment,
                "segment_name": names.get(segment, segment),
                "parent_segment_id": (parents or {}).get(segment, (None, None))[0],
                "parent_segment_name": (parents or {}).get(segment, (None, None))[1],
                "status": (status or {}).get(segment, "new"),
                "size": int(sizes[segment]),
                "share": float(sizes[segment] / total),
                "top_traits": json.dumps(traits.get(segment, [])),
                "support_burden": float(burden.get(segment, np.nan)),
                "playbook_action": playbook.get("action"),
                "create_csm_task": bool(playbook.get("create_csm_task", False)),
                "attribute_means": json.dumps(
                    {r.attribute_name: _json_number(r.mean) for r in seg_stats.itertuples()}
                ),
                "attribute_lifts": json.dumps(
                    {r.attribute_name: _json_number(r.lift) for r in seg_stats.itertuples()}
                ),
            }
        )
    profiles = pd.DataFrame.from_records(rows)
    if not profiles.empty:
        profiles = profiles.merge(outcomes_frame, on="segment_id", how="left")
    return profiles, stats


def _json_number(value: float) -> float | None:
    return None if pd.isna(value) or not np.isfinite(value) else round(float(value), 4)
