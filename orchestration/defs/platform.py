"""What spans every domain: the full refresh job, its daily schedule and the automation sensor."""

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
)

FULL_REFRESH_JOB = "full_refresh_job"

full_refresh_job = define_asset_job(
    FULL_REFRESH_JOB,
    selection=AssetSelection.all(),
    description="Everything: ingest new files, dbt build, segment, check, report and activate.",
)
daily_full_refresh = ScheduleDefinition(
    name="daily_full_refresh",
    job=full_refresh_job,
    cron_schedule="0 3 * * *",
    default_status=DefaultScheduleStatus.RUNNING,
)
# Declarative automation: new raw data flows downstream without anyone clicking.
automation_sensor = AutomationConditionSensorDefinition(
    "automation_sensor",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
)

defs = Definitions(
    jobs=[full_refresh_job], schedules=[daily_full_refresh], sensors=[automation_sensor]
)
