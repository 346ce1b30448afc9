"""dbt's DuckDB sessions run with the memory limit and spill directory from the settings.

profiles.yml gives both when the database opens (`config_options`), not per connection
(`settings`): DuckDB refuses to set temp_directory again once anything has spilled there, and
dbt-duckdb re-applies `settings` on every new connection. Measured at 100,000 accounts (make
bench): the first model that spilled broke the next one with "Cannot switch temporary directory
after the current one has been used". Small test data never spills, so this checks the values
reach the session; the bench is where the spill itself shows."""

from __future__ import annotations

import json

import duckdb

from tests.support.dbt import run_dbt


def test_dbt_sessions_have_the_configured_memory_limit_and_spill_directory(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    spill = tmp_path / "spill"
    duckdb.connect(str(warehouse)).close()
    env = {"DUCKDB_MEMORY_LIMIT": "1GB", "DUCKDB_TEMP_DIRECTORY": str(spill)}
    query = (
        "select current_setting('memory_limit') as memory_limit, "
        "current_setting('temp_directory') as temp_directory"
    )
    shown = run_dbt(
        ["show", "--inline", query, "--output", "json", "--log-format", "json"], warehouse, env
    )
    rows = [
        json.loads(line)["data"]["preview"]
        for line in shown.stdout.splitlines()
        if line.startswith("{") and '"preview"' in line
    ]
    preview = json.loads(rows[-1]) if isinstance(rows[-1], str) else rows[-1]
    assert preview == [{"memory_limit": "953.6 MiB", "temp_directory": str(spill)}]


def test_warehouse_connections_have_the_same_memory_limit_and_spill_directory(
    tmp_path, monkeypatch
):
    """Ingestion, segmentation and syncs open the warehouse through warehouse.connect: a large
    load is held to the same limit as dbt instead of DuckDB's 80% of RAM."""
    from orchestration.io.warehouse import connect

    spill = tmp_path / "spill"
    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("DUCKDB_TEMP_DIRECTORY", str(spill))
    for read_only in (False, True):
        with connect(tmp_path / "warehouse.duckdb", read_only=read_only) as con:
            row = con.execute(
                "select current_setting('memory_limit'), current_setting('temp_directory')"
            ).fetchone()
        assert row == ("953.6 MiB", str(spill))
