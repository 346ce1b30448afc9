"""The segmentation domain: segment model, customer segments and segment profiles."""

from orchestration.defs.automation import refresh_on_new_upstream_data
from orchestration.defs.domain import domain_definitions
from orchestration.defs.segmentation.assets import segmentation_assets
from orchestration.io import tables

defs = domain_definitions(
    tables.SEGMENTATION_SCHEMA,
    assets=segmentation_assets,
    owners=["team:data-science"],
    automation=refresh_on_new_upstream_data(),
)
