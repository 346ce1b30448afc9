"""The ingestion domain: one raw asset per contract table, its file and contract checks, and the
landing sensor. Raw assets are started by the sensor (or a run), not by automation."""

from orchestration.defs.domain import domain_definitions
from orchestration.defs.ingestion import ingestion_assets, ingestion_checks, landing_sensor
from orchestration.io import tables

defs = domain_definitions(
    tables.RAW_SCHEMA,
    assets=ingestion_assets,
    asset_checks=ingestion_checks,
    owners=["team:analytics-engineering"],
    automation=None,
    sensors=[landing_sensor],
)
