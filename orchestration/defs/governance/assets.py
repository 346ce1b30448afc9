"""The `governance/segment_composition` asset: each ML segment's mix of protected attribute
values against the whole population. The logic lives in ml_assets.governance.
"""

import pandas as pd
from dagster import AssetKey, MaterializeResult, MetadataValue, asset

from ml_assets.governance import (
    COMPOSITION_COLUMNS,
    protected_attribute_names,
    segment_composition_audit,
)
from orchestration.defs.governance.metadata import markdown_preview
from orchestration.defs.resources import GovernancePolicyResource, WarehouseResource
from orchestration.io import tables
from orchestration.io.governance import read_custom_attributes
from orchestration.io.warehouse import read_table, replace_table

CUSTOM_ATTRIBUTES = AssetKey(tables.CUSTOM_ATTRIBUTES.path)
CUSTOMER_SEGMENTS = AssetKey(tables.CUSTOMER_SEGMENTS.path)


@asset(
    key=AssetKey(tables.SEGMENT_COMPOSITION.path),
    deps=[CUSTOMER_SEGMENTS, CUSTOM_ATTRIBUTES],
    kinds={"python", "duckdb"},
    pool="duckdb",
    description=(
        "Each ML segment's mix of protected attribute values against the whole population: "
        "a segment far from the population mix deserves a look before anyone acts on it."
    ),
)
def segment_composition(
    warehouse: WarehouseResource, governance: GovernancePolicyResource
) -> MaterializeResult:
    policy = governance.load()
    with warehouse.connect() as con:
        segments = read_table(con, *tables.CUSTOMER_SEGMENTS)
        custom = read_custom_attributes(con)
        protected = protected_attribute_names(policy, custom["attribute"].dropna())
        if segments.empty:
            audit = pd.DataFrame(columns=COMPOSITION_COLUMNS)
        else:
            audit = segment_composition_audit(segments, custom, protected)
        replace_table(con, *tables.SEGMENT_COMPOSITION, audit)
    # No protected attribute in the data (e.g. no CRM custom attributes): nothing to summarise.
    summary = (
        audit.groupby(["segment_id", "segment_name", "protected_attribute"])["max_abs_deviation"]
        .first()
        .astype(float)
        .round(3)
        .reset_index()
        if len(audit)
        else audit
    )
    return MaterializeResult(
        metadata={
            "protected_attributes": MetadataValue.json(protected),
            "max_deviation_by_segment": markdown_preview(summary),
            "largest_deviation": float(audit["max_abs_deviation"].max()) if len(audit) else 0.0,
            "dagster/row_count": len(audit),
        }
    )


governance_assets = [segment_composition]
