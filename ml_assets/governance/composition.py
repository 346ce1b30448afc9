"""The segment composition audit: each segment's mix of protected attribute values against the
whole population."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ml_assets.governance.custom_attributes import pivot_custom_attributes

MISSING_VALUE = "(missing)"

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
