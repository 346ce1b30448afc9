"""The Dagster code location: every asset, check, job, schedule and sensor of the platform."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    map_asset_specs,
)

from orchestration.defs.activation.assets import activation_assets
from orchestration.defs.audiences.assets import audiences_assets
from orchestration.defs.automation import publish_after_checks_pass, refresh_on_new_upstream_data
from orchestration.defs.dbt.assets import dbt_reporting_assets, dbt_resource, dbt_warehouse_assets
from orchestration.defs.governance.assets import governance_assets
from orchestration.defs.governance.checks import governance_checks
from orchestration.defs.ingestion import ingestion_assets, ingestion_checks, landing_sensor
from orchestration.defs.monitoring.assets import monitoring_assets
from orchestration.defs.monitoring.checks import monitoring_checks
from orchestration.defs.monitoring.jobs import monitoring_job, monitoring_schedule
from orchestration.defs.reporting.assets import report_assets
from orchestration.defs.resources import default_resources
from orchestration.defs.segmentation.assets import segmentation_assets

# Python layers rebuild when their inputs change; activation additionally waits for every
# upstream blocking check (stability, outcomes, governance, dbt error tests) to pass.
python_assets = map_asset_specs(
    lambda spec: spec.replace_attributes(automation_condition=refresh_on_new_upstream_data()),
    [
        *segmentation_assets,
        *governance_assets,
        *audiences_assets,
        *monitoring_assets,
        *report_assets,
    ],
)
gated_activation_assets = map_asset_specs(
    lambda spec: spec.replace_attributes(automation_condition=publish_after_checks_pass()),
    activation_assets,
)

full_refresh_job = define_asset_job(
    "full_refresh_job",
    selection=AssetSelection.all(),
    description="Everything: ingest new files, dbt build, segment, check, report and activate.",
)
daily_full_refresh = ScheduleDefinition(
    name="daily_full_refresh",
    job=full_refresh_job,
    cron_schedule="0 3 * * *",
    default_status=DefaultScheduleStatus.STOPPED,
)
# Declarative automation: new raw data flows downstream without anyone clicking.
automation_sensor = AutomationConditionSensorDefinition(
    "automation_sensor",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
)

defs = Definitions(
    assets=[
        *ingestion_assets,
        dbt_warehouse_assets,
        dbt_reporting_assets,
        *python_assets,
        *gated_activation_assets,
    ],
    asset_checks=[*ingestion_checks, *governance_checks, *monitoring_checks],
    jobs=[full_refresh_job, monitoring_job],
    schedules=[daily_full_refresh, monitoring_schedule],
    sensors=[landing_sensor, automation_sensor],
    resources={
        **default_resources(),
        "dbt": dbt_resource(),
    },
)
