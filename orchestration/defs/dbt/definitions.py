"""The dbt domain: the warehouse layer (staging, intermediate, marts) and the reporting marts.

Groups (one per dbt folder), owners and automation come from the translator in assets.py, which
reads them from the manifest; the dbt CLI resource is defined here, and the Python checks on dbt
models (checks.py).
"""

from dagster import Definitions

from orchestration.defs.dbt.assets import dbt_reporting_assets, dbt_resource, dbt_warehouse_assets
from orchestration.defs.dbt.checks import dbt_checks

defs = Definitions(
    assets=[dbt_warehouse_assets, dbt_reporting_assets],
    asset_checks=dbt_checks,
    resources={"dbt": dbt_resource()},
)
