"""Asset keys and check names of the ingestion domain, shared by its assets, checks and sensor."""

from dagster import AssetKey

from orchestration.io.ingestion.raw_tables import raw_table

FILES_ACCEPTED_CHECK = "landing_files_accepted"
CONTRACT_CHECK = "gx_contract"


def raw_asset_key(table: str) -> AssetKey:
    """The key of the asset that loads raw.<table>."""
    return AssetKey(raw_table(table).path)
