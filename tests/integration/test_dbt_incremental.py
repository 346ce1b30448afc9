"""An incremental dbt build gives the same tables as a full refresh over the same raw rows.

Two periods of a generated history are loaded one after the other into one warehouse, with a
`dbt build` after each (the second incremental), and period 1 also redelivers one row of each
append-only source from period 0 with other content. Between the builds, what old events count
towards also changes: a product user is redelivered with another customer's email (identity
resolution moves its events), and a taxonomy addition maps an event name loaded in period 0. A copy
of that warehouse is then rebuilt with `--full-refresh`; every incremental model and both attribute
snapshots must be identical.
"""

from __future__ import annotations

import json
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
    "intermediate.int_event_names_daily",
    "marts.fct_product_usage_daily",
]
# tables rebuilt in full from the incremental rollups above
ROLLUP_READERS = [
    "intermediate.int_event_capture_consistency",
    "intermediate.int_customer_activity_summarised",
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


# an event name no taxonomy maps, loaded in period 0 and mapped by a user's addition before period 1
LATE_MAPPED_NAME = "Trial Extended"
TAXONOMY_ADDITION = {
    "event_taxonomy_additions": [
        {
            "raw_event_name_normalised": LATE_MAPPED_NAME.lower(),
            "canonical_event": "trial_extended",
            "event_category": "lifecycle",
            "tracking_version": "v1",
        }
    ]
}
PERIOD_1_VARS = ["--vars", json.dumps(TAXONOMY_ADDITION)]


def _write_late_mapped_events(warehouse: Path, landing: Path) -> str:
    """Period-0 events of one user under an event name no taxonomy maps yet; the user's id."""
    path = landing / "product_events" / "product_events_unmapped.csv"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(user,)] = con.execute("select min(user_id) from raw.product_events").fetchall()
        con.execute(
            f"copy (select 'late-mapped-' || event_id as event_id, user_id, "
            f"'{LATE_MAPPED_NAME}' as event_name, occurred_at, properties from raw.product_events "
            f"where user_id = ? order by event_id limit 3) to '{path}' (header)",
            [user],
        )
    return user


def _product_user_keys(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(
            con.execute(
                "select identifier, customer_key from intermediate.int_identity_resolved "
                "where identifier_type = 'product_user' and customer_key is not null"
            ).fetchall()
        )


def _move_a_product_user(warehouse: Path, landing: Path) -> tuple[str, str, str]:
    """Redeliver a product user under another customer's user's email: a user who is the only
    active user of its customer on some day, so that customer-day is left with no events.
    (the user's id, its customer, that day)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(moved, email, customer, day)] = con.execute(
            "with users as (select u.user_id, u.email, r.customer_key "
            "from staging.stg_product__users u join intermediate.int_identity_resolved r "
            "on r.identifier_type = 'product_user' and r.identifier = u.user_id "
            "where u.is_valid_email and not u.is_personal_email_domain "
            "and not u.is_generic_inbox and r.customer_key is not null), "
            "sole_user_days as (select users.customer_key, e.event_date, min(e.user_id) as user_id "
            "from staging.stg_product__events e join users on users.user_id = e.user_id "
            "group by all having count(distinct e.user_id) = 1) "
            "select a.user_id, b.email, a.customer_key, cast(min(d.event_date) as varchar) "
            "from users a join sole_user_days d on d.user_id = a.user_id "
            "join users b on a.customer_key < b.customer_key "
            "group by a.user_id, b.user_id, b.email, a.customer_key "
            "order by a.user_id, b.user_id limit 1"
        ).fetchall()
        path = landing / "product_users" / "product_users_moved.csv"
        con.execute(
            f"copy (select user_id, ? as email, created_at from raw.product_users "
            f"where user_id = ? limit 1) to '{path}' (header)",
            [email, moved],
        )
    return moved, customer, day


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
    late_mapped_user = _write_late_mapped_events(incremental, landing)
    with connect(incremental) as con:
        load_landing(landing, con)
    run_dbt(BUILD, incremental)
    keys_before = _product_user_keys(incremental)
    assert late_mapped_user in keys_before  # its events count towards a customer-day
    _drop(history / "period_01", landing)
    redelivered = _write_redeliveries(incremental, landing)
    moved, left_customer, left_day = _move_a_product_user(incremental, landing)
    redelivered |= {"moved_product_user": moved, "left_customer": left_customer}
    redelivered["left_day"] = left_day
    with duckdb.connect(str(incremental), read_only=True) as con:
        assert con.execute(
            "select events from marts.fct_product_usage_daily "
            "where customer_key = ? and event_date = ?",
            [left_customer, left_day],
        ).fetchall()  # before the move the moved user's day is there
    with connect(incremental) as con:
        results = load_landing(landing, con)
    assert {r.status for r in results if "redelivered" in r.file} == {"loaded"}
    run_dbt([*BUILD, *PERIOD_1_VARS], incremental)
    assert _product_user_keys(incremental)[moved] != keys_before[moved]
    # beside it: the same dbt target folder, so dbt parses the project once more, not from scratch
    full = incremental.parent / "full_refresh.duckdb"
    shutil.copy(incremental, full)
    run_dbt(["run", "--full-refresh", *LAYERS, *PERIOD_1_VARS], full)
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


@pytest.mark.parametrize("relation", INCREMENTAL_MODELS + ROLLUP_READERS + ATTRIBUTE_SNAPSHOTS)
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


def test_a_customer_day_left_without_events_is_deleted(warehouses):
    incremental, full, moved = warehouses
    for warehouse in (incremental, full):
        with duckdb.connect(str(warehouse), read_only=True) as con:
            [(rows,)] = con.execute(
                "select count(*) from marts.fct_product_usage_daily "
                "where customer_key = ? and event_date = ?",
                [moved["left_customer"], moved["left_day"]],
            ).fetchall()
        assert rows == 0, warehouse.name


def test_a_rollup_without_its_built_from_record_asks_for_a_full_refresh(warehouses):
    incremental, _, _ = warehouses
    # beside the others (one dbt target folder); what a warehouse of an earlier version looks like
    unrecorded = incremental.parent / "unrecorded.duckdb"
    shutil.copy(incremental, unrecorded)
    with duckdb.connect(str(unrecorded)) as con:
        con.execute("drop table marts.fct_product_usage_daily__built_from")
    with pytest.raises(AssertionError) as failure:
        run_dbt(["run", "--select", "fct_product_usage_daily", *PERIOD_1_VARS], unrecorded)
    assert "has no record of what its rows were built from" in str(failure.value)
    assert "DBT_FULL_REFRESH=1 make run" in str(failure.value)
