"""Ingestion: raw assets (`assets`), their checks (`checks`) and the landing sensor (`sensors`)."""

from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.checks import ingestion_checks
from orchestration.defs.ingestion.sensors import landing_sensor

__all__ = ["ingestion_assets", "ingestion_checks", "landing_sensor"]
