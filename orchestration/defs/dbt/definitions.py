"""The dbt domain: the warehouse layer (staging, intermediate, marts) and the reporting marts.

Groups (one per dbt folder), owners and automation come from the translator in assets.py, which
reads them from the manifest; the dbt CLI resource is defined here.
"""

from dagster import Definitions

from orchestration.defs.dbt.assets import dbt_reporting_assets, dbt_resource, dbt_warehouse_assets

defs = Definitions(
    assets=[dbt_warehouse_assets, dbt_reporting_assets], resources={"dbt": dbt_resource()}
)
