"""Where a domain's assets get their group, owners and automation condition: set once per domain.

Every asset of a domain has its key under the domain's group (`segmentation/segment_model` is in
group `segmentation`), so the lineage graph's groups and the warehouse schemas line up; a key
outside its group is an error when the code location loads, not a surprise in the UI.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSpec,
    AutomationCondition,
    Definitions,
    JobDefinition,
    ScheduleDefinition,
    SensorDefinition,
    map_asset_specs,
)


def domain_definitions(
    group: str,
    *,
    assets: Sequence[AssetsDefinition],
    owners: Sequence[str],
    automation: AutomationCondition | None,
    asset_checks: Sequence[AssetChecksDefinition] = (),
    jobs: Sequence[JobDefinition] = (),  # or define_asset_job's unresolved jobs
    schedules: Sequence[ScheduleDefinition] = (),
    sensors: Sequence[SensorDefinition] = (),
) -> Definitions:
    """The domain's Definitions, its assets in `group` with these owners and this automation."""

    def shaped(spec: AssetSpec) -> AssetSpec:
        if spec.key.path[0] != group:
            raise ValueError(
                f"asset {spec.key.to_user_string()} is in the {group} domain: its key must start "
                f"with {group}/"
            )
        return spec.replace_attributes(
            group_name=group, owners=list(owners), automation_condition=automation
        )

    return Definitions(
        assets=map_asset_specs(shaped, list(assets)),
        asset_checks=list(asset_checks),
        jobs=list(jobs),
        schedules=list(schedules),
        sensors=list(sensors),
    )
