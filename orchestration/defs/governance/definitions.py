"""The governance domain: the blocking policy check and the segment composition audit."""

from orchestration.defs.automation import refresh_on_new_upstream_data
from orchestration.defs.domain import domain_definitions
from orchestration.defs.governance.assets import governance_assets
from orchestration.defs.governance.checks import governance_checks
from orchestration.io import tables

defs = domain_definitions(
    tables.GOVERNANCE_SCHEMA,
    assets=governance_assets,
    asset_checks=governance_checks,
    owners=["team:governance"],
    automation=refresh_on_new_upstream_data(),
)
