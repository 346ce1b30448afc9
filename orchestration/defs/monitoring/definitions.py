"""The monitoring domain: membership history and migration, the trust checks, the daily job."""

from orchestration.defs.automation import refresh_on_new_upstream_data
from orchestration.defs.domain import domain_definitions
from orchestration.defs.monitoring.assets import monitoring_assets
from orchestration.defs.monitoring.checks import monitoring_checks
from orchestration.defs.monitoring.jobs import monitoring_job, monitoring_schedule
from orchestration.defs.monitoring.review import (
    monthly_review_job,
    monthly_review_schedule,
    segment_review,
)
from orchestration.io import tables

defs = domain_definitions(
    tables.MONITORING_SCHEMA,
    assets=[*monitoring_assets, segment_review],
    asset_checks=monitoring_checks,
    owners=["team:data-science"],
    automation=refresh_on_new_upstream_data(),
    jobs=[monitoring_job, monthly_review_job],
    schedules=[monitoring_schedule, monthly_review_schedule],
)
