"""The ingestion assets, their checks and the landing sensor, run through Dagster for real."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetSelection,
    RunRequest,
    SkipReason,
    build_sensor_context,
    materialize,
)

from orchestration.defs.ingestion.assets import ingestion_assets
from orchestration.defs.ingestion.checks import ingestion_checks
from orchestration.defs.ingestion.keys import CONTRACT_CHECK, FILES_ACCEPTED_CHECK, raw_asset_key
from orchestration.defs.ingestion.sensors import landing_sensor
from orchestration.defs.resources import LandingResource, WarehouseResource
from orchestration.io.contract import RAW_TABLES
from tests.support.landing import settled_at_once, write_file  # noqa: F401 - autouse fixture

ACCOUNTS = "account_id,account_name,created_at\nA1,Acme,2024-01-01\nA2,Beta,not-a-date\n"
EVENTS = (
    "event_id,recipient_email,event_type,occurred_at\n"
    "M1,a@x.com,open,2024-01-01T10:00:00+01:00\n"
    "M2,a@x.com,click,2024-01-01T10:05:00+01:00\n"
)


@pytest.fixture
def paths(tmp_path) -> tuple[Path, Path]:
    landing = tmp_path / "landing"
    landing.mkdir()
    return landing, tmp_path / "warehouse.duckdb"


def resources(landing: Path, warehouse: Path) -> dict:
    return {
        "warehouse": WarehouseResource(path=str(warehouse)),
        "landing": LandingResource(path=str(landing)),
    }


def run_assets(landing: Path, warehouse: Path, tables: list[str], checks: list[str] = ()):
    """Materialize the raw assets of these tables (and the contract checks of `checks`)."""
    selected = [raw_asset_key(t) for t in tables]
    check_defs = [
        c
        for c in ingestion_checks
        if c.check_keys & {AssetCheckKey(raw_asset_key(t), CONTRACT_CHECK) for t in checks}
    ]
    return materialize(
        [*ingestion_assets, *check_defs],
        selection=AssetSelection.assets(*selected),  # with their checks among those given
        resources=resources(landing, warehouse),
    )


def sensor_tick(landing: Path, warehouse: Path):
    with build_sensor_context(resources=resources(landing, warehouse)) as context:
        return landing_sensor(context)


def test_one_asset_and_one_contract_check_per_raw_table():
    from orchestration.defs.ingestion.definitions import defs as ingestion_domain

    keys = [key for a in ingestion_assets for key in a.keys]
    assert keys == [AssetKey(["raw", t]) for t in RAW_TABLES]
    for assets_def in ingestion_domain.assets:  # as the code location has them: group = prefix
        key = assets_def.key
        spec = next(iter(assets_def.specs))
        assert spec.group_name == "raw"
        assert spec.kinds == {"duckdb"}
        assert RAW_TABLES[key.path[1]].description in spec.description
        assert assets_def.op.pool == "duckdb"
        assert set(assets_def.check_keys) == {AssetCheckKey(key, FILES_ACCEPTED_CHECK)}
    check_keys = {key for c in ingestion_checks for key in c.check_keys}
    assert check_keys == {AssetCheckKey(raw_asset_key(t), CONTRACT_CHECK) for t in RAW_TABLES}
    assert landing_sensor.name == "landing_sensor"
    assert landing_sensor.minimum_interval_seconds == 30


def test_materialize_loads_new_files_and_reports_them(paths):
    landing, warehouse = paths
    write_file(landing, "crm_accounts", "accounts.csv", ACCOUNTS)
    write_file(landing, "email_events", "events.csv", EVENTS)
    write_file(landing, "crm_contacts", "broken.parquet", "not parquet at all")
    tables = ["crm_accounts", "email_events", "crm_contacts", "survey_responses"]
    result = run_assets(landing, warehouse, tables, checks=["email_events"])
    assert result.success

    accounts = result.asset_materializations_for_node("raw__crm_accounts")[0].metadata
    assert accounts["rows_loaded"].value == 1
    assert accounts["rows_quarantined"].value == 1
    assert accounts["quarantine_reasons"].value == {"not a timestamp: created_at": 1}
    assert accounts["dagster/row_count"].value == 1
    columns = [c.name for c in accounts["dagster/column_schema"].schema.columns]
    assert columns[:2] == ["account_id", "account_name"]
    assert columns[-3:] == ["_source_file", "_source_line", "_loaded_at"]
    assert "crm_accounts/accounts.csv" in accounts["files"].value

    # an absent table materializes empty
    surveys = result.asset_materializations_for_node("raw__survey_responses")[0].metadata
    assert (surveys["dagster/row_count"].value, surveys["files_new"].value) == (0, 0)

    evaluations = {
        (e.asset_key.path[1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    assert evaluations[("crm_accounts", FILES_ACCEPTED_CHECK)].passed
    rejected = evaluations[("crm_contacts", FILES_ACCEPTED_CHECK)]
    assert not rejected.passed
    [error] = rejected.metadata["errors"].value
    assert error.startswith("crm_contacts/broken.parquet: unreadable file:")
    gx = evaluations[("email_events", CONTRACT_CHECK)]
    assert gx.passed
    assert gx.metadata["rows_validated"].value == 2

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.email_events").fetchone() == (2,)

    # a second run finds nothing new and changes nothing
    again = run_assets(landing, warehouse, ["email_events"])
    [event] = again.asset_materializations_for_node("raw__email_events")
    assert (event.metadata["files_new"].value, event.metadata["dagster/row_count"].value) == (0, 2)
    # same data, same data version: downstream assets do not become stale
    [before] = result.asset_materializations_for_node("raw__email_events")
    assert event.tags["dagster/data_version"] == before.tags["dagster/data_version"]


def test_sensor_requests_a_run_for_new_files_only(paths):
    landing, warehouse = paths
    skip = sensor_tick(landing, warehouse)
    assert isinstance(skip, SkipReason)
    assert "no new files" in skip.skip_message

    write_file(landing, "crm_accounts", "accounts.csv", ACCOUNTS)
    first = sensor_tick(landing, warehouse)  # no warehouse yet: every file is new
    assert isinstance(first, RunRequest)
    assert first.asset_selection == [raw_asset_key("crm_accounts")]
    assert sensor_tick(landing, warehouse).run_key == first.run_key  # same files, same key

    run_assets(landing, warehouse, ["crm_accounts"])
    assert isinstance(sensor_tick(landing, warehouse), SkipReason)  # the old file is loaded

    write_file(landing, "email_events", "events.csv", EVENTS)
    shutil.copy(landing / "crm_accounts" / "accounts.csv", landing / "crm_accounts" / "copy.csv")
    request = sensor_tick(landing, warehouse)
    assert isinstance(request, RunRequest)
    assert request.asset_selection == [raw_asset_key("email_events")]  # the copy is not new
    assert request.run_key != first.run_key


def test_sensor_reads_an_unchanged_file_once(paths, monkeypatch):
    import orchestration.io.ingestion.landing as landing_io

    landing, warehouse = paths
    write_file(landing, "crm_accounts", "accounts.csv", ACCOUNTS)
    run_assets(landing, warehouse, ["crm_accounts"])
    read: list[str] = []
    real_hash = landing_io.file_hash
    monkeypatch.setattr(landing_io, "file_hash", lambda p: read.append(p.name) or real_hash(p))

    def tick(cursor: str | None):
        with build_sensor_context(resources=resources(landing, warehouse), cursor=cursor) as ctx:
            return landing_sensor(ctx), ctx.cursor

    result, cursor = tick(None)
    assert isinstance(result, SkipReason) and read == ["accounts.csv"]
    for _ in range(2):  # later ticks trust the hash the cursor holds for the same size and mtime
        result, cursor = tick(cursor)
        assert isinstance(result, SkipReason) and read == ["accounts.csv"]
    with (landing / "crm_accounts" / "accounts.csv").open("a") as handle:
        handle.write("A3,Gamma,2024-02-01\n")  # appended to: read again, and it is new
    result, cursor = tick(cursor)
    assert isinstance(result, RunRequest) and read == ["accounts.csv", "accounts.csv"]
    assert tick("not json")[1] is not None  # an unreadable cursor only costs a re-read


def test_sensor_skips_while_the_warehouse_is_being_written(paths):
    landing, warehouse = paths
    write_file(landing, "crm_accounts", "accounts.csv", ACCOUNTS)
    run_assets(landing, warehouse, ["crm_accounts"])
    write_file(landing, "email_events", "events.csv", EVENTS)
    with duckdb.connect(str(warehouse)):  # a writer holds the file
        tick = sensor_tick(landing, warehouse)
    assert isinstance(tick, SkipReason)
    assert tick.skip_message.startswith("warehouse busy, will retry")
    assert isinstance(sensor_tick(landing, warehouse), RunRequest)  # next tick


def test_files_still_being_written_are_reported_waiting_and_load_later(paths):
    landing, warehouse = paths
    write_file(landing, "crm_accounts", "accounts.csv.part", ACCOUNTS)
    result = run_assets(landing, warehouse, ["crm_accounts"])
    [first] = result.asset_materializations_for_node("raw__crm_accounts")
    assert first.metadata["files_new"].value == 0
    assert first.metadata["files_waiting"].value == ["crm_accounts/accounts.csv.part"]
    assert "| crm_accounts/accounts.csv.part | waiting |" in first.metadata["files"].value
    tick = sensor_tick(landing, warehouse)
    assert isinstance(tick, SkipReason)
    assert "1 file(s) still being written" in tick.skip_message

    (landing / "crm_accounts" / "accounts.csv.part").rename(landing / "crm_accounts" / "a.csv")
    assert isinstance(sensor_tick(landing, warehouse), RunRequest)
    [second] = run_assets(landing, warehouse, ["crm_accounts"]).asset_materializations_for_node(
        "raw__crm_accounts"
    )
    assert (second.metadata["files_new"].value, second.metadata["rows_loaded"].value) == (1, 1)
    assert second.metadata["files_waiting"].value == []


def test_a_rejected_file_is_read_again_with_retry_rejected(paths):
    landing, warehouse = paths
    write_file(landing, "crm_contacts", "broken.parquet", "not parquet at all")
    first = run_assets(landing, warehouse, ["crm_contacts"])
    [loaded] = first.asset_materializations_for_node("raw__crm_contacts")
    assert loaded.metadata["files_new"].value == 1
    [check] = first.get_asset_check_evaluations()
    assert not check.passed and check.metadata["rejected_files"].value == 1
    assert check.description == (
        "rejected files: fix the file and drop it again, or after a fix in configuration or "
        "code re-run this asset with config retry_rejected: true"
    )

    again = run_assets(landing, warehouse, ["crm_contacts"])
    [unchanged] = again.asset_materializations_for_node("raw__crm_contacts")
    assert unchanged.metadata["files_new"].value == 0

    retried = materialize(
        ingestion_assets,
        selection=AssetSelection.assets(raw_asset_key("crm_contacts")),
        resources=resources(landing, warehouse),
        run_config={"ops": {"raw__crm_contacts": {"config": {"retry_rejected": True}}}},
    )
    [looked_again] = retried.asset_materializations_for_node("raw__crm_contacts")
    assert looked_again.metadata["files_new"].value == 1
    assert "crm_contacts/broken.parquet" in looked_again.metadata["files"].value
