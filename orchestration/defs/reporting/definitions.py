"""The reporting domain (Python side): the HTML segment report. dbt's reporting marts are in
the dbt domain, grouped by their folder."""

from orchestration.defs.automation import refresh_on_new_upstream_data
from orchestration.defs.domain import domain_definitions
from orchestration.defs.reporting.assets import report_assets
from orchestration.io import tables

defs = domain_definitions(
    tables.REPORTING_SCHEMA,
    assets=report_assets,
    owners=["team:data-science"],
    automation=refresh_on_new_upstream_data(),
)
