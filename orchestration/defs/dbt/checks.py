"""Checks on dbt models that need Python: the unmapped event names, each with the canonical
event it most likely is (a rename the taxonomy does not know yet)."""

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from orchestration.defs.dbt.assets import dbt_table_key
from orchestration.defs.governance.metadata import markdown_preview
from orchestration.defs.resources import WarehouseResource
from orchestration.io import tables
from orchestration.io.taxonomy import unmapped_event_names


@asset_check(
    asset=dbt_table_key(tables.EVENTS_UNMAPPED),
    name="unmapped_event_names",
    pool="duckdb",
    description=(
        "Raw product event names the event taxonomy does not map, with counts and a suggested "
        "canonical event (fuzzy match on the taxonomy's names). Add them to "
        "event_taxonomy_additions.csv in your configuration folder; `make taxonomy` lists them."
    ),
)
def unmapped_event_names_check(warehouse: WarehouseResource) -> AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        unmapped = unmapped_event_names(con)
    return AssetCheckResult(
        passed=unmapped.empty,
        severity=AssetCheckSeverity.WARN,
        description=(
            None
            if unmapped.empty
            else f"{len(unmapped)} unmapped event name(s), {int(unmapped.event_count.sum()):,} "
            "events: " + ", ".join(unmapped.raw_event_name_normalised.head(5))
        ),
        metadata={
            "unmapped_names": len(unmapped),
            "unmapped_events": int(unmapped.event_count.sum()) if len(unmapped) else 0,
            "suggestions": markdown_preview(unmapped.fillna("")),
        },
    )


dbt_checks = [unmapped_event_names_check]
