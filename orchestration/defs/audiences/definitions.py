"""The audiences domain: rule-based segments marketing users define in config."""

from orchestration.defs.audiences.assets import audiences_assets
from orchestration.defs.automation import refresh_on_new_upstream_data
from orchestration.defs.domain import domain_definitions
from orchestration.io import tables

defs = domain_definitions(
    tables.AUDIENCES_SCHEMA,
    assets=audiences_assets,
    owners=["team:marketing-ops"],
    automation=refresh_on_new_upstream_data(),
)
