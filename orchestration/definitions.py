"""The Dagster code location: the domains' definitions merged, plus the shared resources.

Each domain (orchestration/defs/<domain>/definitions.py) sets its group, owners and automation
once; nothing else happens here.
"""

from dagster import Definitions

from orchestration.defs import platform
from orchestration.defs.activation import definitions as activation
from orchestration.defs.audiences import definitions as audiences
from orchestration.defs.dbt import definitions as dbt
from orchestration.defs.governance import definitions as governance
from orchestration.defs.ingestion import definitions as ingestion
from orchestration.defs.monitoring import definitions as monitoring
from orchestration.defs.reporting import definitions as reporting
from orchestration.defs.resources import default_resources
from orchestration.defs.segmentation import definitions as segmentation

defs = Definitions.merge(
    ingestion.defs,
    dbt.defs,
    governance.defs,
    segmentation.defs,
    monitoring.defs,
    audiences.defs,
    reporting.defs,
    activation.defs,
    platform.defs,
    Definitions(resources=default_resources()),
)
