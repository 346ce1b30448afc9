"""An incremental dbt build gives the same tables as a full refresh over the same raw rows.

Two periods of a generated history are loaded one after the other into one warehouse, with a
`dbt build` after each (the second incremental), and period 1 also redelivers one row of each
append-only source from period 0 with other content. A copy of that warehouse is then rebuilt
with `--full-refresh`; every incremental model and both attribute snapshots must be identical.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.io.contract import RAW_TABLES
from orchestration.io.ingestion import load_landing
from orchestration.io.warehouse import connect
from tests.support.dbt import run_dbt
from tools.sample_data import generate_history

LAYERS = ["--exclude", "tag:reporting"]
# seeds and models only: the tables are what is compared (the data tests run on full builds in
# test_dbt_staging/marts, and add half a build's time)
NO_TESTS = ["--exclude-resource-type", "unit_test", "--exclude-resource-type", "test"]
BUILD = ["build", *LAYERS, *NO_TESTS]
INCREMENTAL_MODELS = [
    "staging.stg_product__events",
    "staging.stg_email__events",
    "staging.stg_billing__invoices",
    "staging.stg_support__tickets",
]
ATTRIBUTE_SNAPSHOTS = ["marts.customer_attributes", "marts.customer_attributes_validation"]
# (raw table, id column, what the redelivery changes): first delivery wins for events, the
# latest delivery for invoices, the latest resolution for tickets (a redelivery without one loses).
REDELIVERIES = [
    ("product_events", "event_id", "'redelivered later' as event_name"),
    ("email_events", "event_id", "'redelivered' as event_type"),
    ("billing_invoices", "invoice_id", "'void' as status"),
    ("support_tickets", "ticket_id", "null as resolved_at, 'urgent' as priority"),
]


def _drop(period: Path, landing: Path) -> None:
    for name in RAW_TABLES:
        (landing / name).mkdir(parents=True, exist_ok=True)
        for f in (period / name).glob("*.csv"):
            shutil.copy(f, landing / name / f.name)


def _write_redeliveries(warehouse: Path, landing: Path) -> dict[str, str]:
    """One period-0 row of each append-only source again, with other content; its id by table."""
    ids = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, key, change in REDELIVERIES:
            changed = [part.split(" as ")[1] for part in change.split(", ")]
            kept = [c for c in RAW_TABLES[table].column_names if c not in changed]
            resolved = " and resolved_at is not null" if table == "support_tickets" else ""
            [(ids[table],)] = con.execute(
                f"select {key} from raw.{table} where true{resolved} order by {key} limit 1"
            ).fetchall()
            path = landing / table / f"{table}_redelivered.csv"
            con.execute(
                f"copy (select {', '.join(kept)}, {change} from raw.{table} "
                f"where {key} = ?) to '{path}' (header)",
                [ids[table]],
            )
    return ids


def _columns(con: duckdb.DuckDBPyConnection, db: str, relation: str) -> list[str]:
    schema, table = relation.split(".")
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ? "
        "and table_schema = ? and table_name = ? order by ordinal_position",
        [db, schema, table],
    ).fetchall()
    # sums of doubles may add up in another order: equal to 9 decimals
    return [f"round({n}, 9)" if t in ("DOUBLE", "FLOAT") else f'"{n}"' for n, t in rows]


def _differences(incremental: Path, full: Path, relation: str) -> tuple[int, int, int]:
    """(rows, rows only in the incremental table, rows only in the full-refresh one)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{incremental}' as inc (read_only)")
        con.execute(f"attach '{full}' as full_refresh (read_only)")
        columns = _columns(con, "inc", relation)
        assert columns == _columns(con, "full_refresh", relation), relation
        select = f"select {', '.join(columns)} from"
        counts = [
            con.execute(f"select count(*) from ({select} {a}.{relation} except all "
                        f"{select} {b}.{relation})").fetchone()[0]
            for a, b in (("inc", "full_refresh"), ("full_refresh", "inc"))
        ]  # fmt: skip
        rows = con.execute(f"select count(*) from inc.{relation}").fetchone()[0]
    return rows, *counts


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("incremental")
    history, landing = root / "history", root / "landing"
    generate_history(history, accounts=150, seed=11, periods=1, period_days=7)
    incremental = root / "incremental" / "warehouse.duckdb"
    incremental.parent.mkdir()
    _drop(history / "period_00", landing)
    with connect(incremental) as con:
        load_landing(landing, con)
    run_dbt(BUILD, incremental)
    _drop(history / "period_01", landing)
    redelivered = _write_redeliveries(incremental, landing)
    with connect(incremental) as con:
        results = load_landing(landing, con)
    assert {r.status for r in results if "redelivered" in r.file} == {"loaded"}
    run_dbt(BUILD, incremental)
    # beside it: the same dbt target folder, so dbt parses the project once more, not from scratch
    full = incremental.parent / "full_refresh.duckdb"
    shutil.copy(incremental, full)
    run_dbt(["run", "--full-refresh", *LAYERS], full)
    return incremental, full, redelivered


def test_second_build_ran_incrementally_over_both_periods(warehouses):
    incremental, _, _ = warehouses
    log = (incremental.parent / "dbt_logs" / "dbt.log").read_text()
    assert "delete from" in log and '"stg_product__events"' in log
    with duckdb.connect(str(incremental), read_only=True) as con:
        [(files,)] = con.execute(
            "select count(distinct _source_file) from raw.product_events"
        ).fetchall()
        [(kept,)] = con.execute(
            "select count(distinct date_trunc('second', loaded_at)) "
            "from staging.stg_product__events"
        ).fetchall()
    assert files >= 3 and kept >= 2  # period 0's files and period 1's, loaded at other times


@pytest.mark.parametrize("relation", INCREMENTAL_MODELS + ATTRIBUTE_SNAPSHOTS)
def test_incremental_build_equals_full_refresh(warehouses, relation):
    incremental, full, _ = warehouses
    rows, only_incremental, only_full = _differences(incremental, full, relation)
    assert rows > 0
    assert (only_incremental, only_full) == (0, 0)


def test_redeliveries_keep_each_sources_rule(warehouses):
    incremental, _, ids = warehouses
    with duckdb.connect(str(incremental), read_only=True) as con:

        def kept(model: str, key: str, column: str, table: str):
            [(value,)] = con.execute(  # one row per id
                f"select {column} from staging.{model} where {key} = ?", [ids[table]]
            ).fetchall()
            return value

        # first delivery wins: the period-1 redelivery is not what is kept
        assert kept("stg_product__events", "event_id", "event_name", "product_events") != (
            "redelivered later"
        )
        assert kept("stg_email__events", "event_id", "event_type", "email_events") != "redelivered"
        # latest delivery wins
        assert kept("stg_billing__invoices", "invoice_id", "status", "billing_invoices") == "void"
        # latest resolution wins: the later, unresolved delivery loses
        assert kept("stg_support__tickets", "ticket_id", "resolved_at", "support_tickets")
