"""The activation domain: reverse ETL to the CRM and marketing destinations.

Anything that writes to the outside world runs only after every upstream blocking check passed
(stability, outcomes, governance, dbt error-severity tests), under automation as in a run.
"""

from orchestration.defs.activation.assets import activation_assets
from orchestration.defs.automation import publish_after_checks_pass
from orchestration.defs.domain import domain_definitions
from orchestration.io import tables

defs = domain_definitions(
    tables.ACTIVATION_SCHEMA,
    assets=activation_assets,
    owners=["team:data-platform"],
    automation=publish_after_checks_pass(),
)
