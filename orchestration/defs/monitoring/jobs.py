"""The monitoring job and its daily schedule: re-score, re-check, record history and migration."""

from dagster import AssetSelection, DefaultScheduleStatus, ScheduleDefinition, define_asset_job

from orchestration.defs.monitoring.assets import HISTORY_KEY, MIGRATION_KEY
from orchestration.defs.monitoring.checks import SEGMENTS_KEY

monitoring_job = define_asset_job(
    "monitoring_job",
    selection=AssetSelection.assets(SEGMENTS_KEY, HISTORY_KEY, MIGRATION_KEY),
    description="Re-score customers, re-run the trust checks, record history and migration.",
)
monitoring_schedule = ScheduleDefinition(
    name="monitoring_schedule",
    job=monitoring_job,
    cron_schedule="0 5 * * *",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Daily re-score and re-check of the segments.",
)
