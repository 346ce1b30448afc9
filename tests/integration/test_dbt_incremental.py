"""An incremental dbt build gives the same tables as a full refresh over the same raw rows.

Two periods of a generated history are loaded one after the other into one warehouse, with a
`dbt build` after each (the second incremental), and period 1 also redelivers one row of each
append-only source from period 0 with other content. Between the builds, what old events count
towards also changes: a product user is redelivered with another customer's email (identity
resolution moves its events), another is redelivered with an address that links it to no customer,
events arrive late for a day already built, and the taxonomy additions change: one maps an event
name loaded in period 0, one maps a name to another canonical event, one is taken away. A copy of
that warehouse is then rebuilt with `--full-refresh`; every incremental model and both attribute
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


# event names no project taxonomy maps, each loaded in period 0 for its own user; the user's
# additions change between the builds: one name is mapped late, one remapped, one unmapped again
LATE_MAPPED_NAME = "Trial Extended"
REMAPPED_NAME = "Seat Resized"
UNMAPPED_LATER_NAME = "Legacy Export"


def _addition(name: str, canonical_event: str) -> dict[str, str]:
    return {
        "raw_event_name_normalised": name.lower(),
        "canonical_event": canonical_event,
        "event_category": "administration",
        "tracking_version": "v1",
    }


PERIOD_0_VARS = [
    "--vars",
    json.dumps(
        {
            "event_taxonomy_additions": [
                _addition(REMAPPED_NAME, "seat_resized_v0"),
                _addition(UNMAPPED_LATER_NAME, "legacy_export"),
            ]
        }
    ),
]
PERIOD_1_VARS = [
    "--vars",
    json.dumps(
        {
            "event_taxonomy_additions": [
                _addition(LATE_MAPPED_NAME, "trial_extended"),
                _addition(REMAPPED_NAME, "seat_resized"),
            ]
        }
    ),
]


def _write_events_named(warehouse: Path, landing: Path, name: str, user_rank: int) -> str:
    """Period-0 events of one user (the user_rank-th by id) under `name`; the user's id."""
    slug = name.lower().replace(" ", "-")
    path = landing / "product_events" / f"product_events_{slug}.csv"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(user,)] = con.execute(
            "select user_id from (select distinct user_id from raw.product_events) "
            "order by user_id limit 1 offset ?",
            [user_rank],
        ).fetchall()
        con.execute(
            f"copy (select '{slug}-' || event_id as event_id, user_id, "
            f"'{name}' as event_name, occurred_at, properties from raw.product_events "
            f"where user_id = ? order by event_id limit 3) to '{path}' (header)",
            [user],
        )
    return user


def _write_late_events(
    warehouse: Path, landing: Path, other_customers: list[str]
) -> tuple[str, str, int]:
    """Copies, under new ids, of one resolved user's events on a day period 0 built: events that
    arrive a period late, for a customer none of `other_customers`. (the customer, that day, the
    events it has with them)."""
    path = landing / "product_events" / "product_events_late.csv"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(user, day, customer, before)] = con.execute(
            "select e.user_id, cast(e.event_date as varchar), f.customer_key, f.events "
            "from staging.stg_product__events e join intermediate.int_identity_resolved r "
            "on r.identifier_type = 'product_user' and r.identifier = e.user_id "
            "join marts.fct_product_usage_daily f "
            "on f.customer_key = r.customer_key and f.event_date = e.event_date "
            "where not list_contains(?, f.customer_key) "
            "order by e.user_id desc, e.event_date limit 1",
            [other_customers],
        ).fetchall()
        con.execute(
            f"copy (select 'late-' || event_id as event_id, user_id, event_name, occurred_at, "
            f"properties from raw.product_events where user_id = ? "
            f"and cast(occurred_at as date) = ?) to '{path}' (header)",
            [user, day],
        )
        [(late,)] = con.execute(f"select count(*) from '{path}'").fetchall()
    assert late > 0
    return customer, day, before + late


def _unresolve_a_product_user(warehouse: Path, landing: Path, user: str) -> None:
    """Redeliver `user` with an address of a consumer mail domain nobody else uses."""
    path = landing / "product_users" / "product_users_unresolved.csv"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(
            f"copy (select user_id, 'nobody-' || user_id || '@gmail.com' as email, created_at "
            f"from raw.product_users where user_id = ? limit 1) to '{path}' (header)",
            [user],
        )


def _product_user_keys(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(
            con.execute(
                "select identifier, customer_key from intermediate.int_identity_resolved "
                "where identifier_type = 'product_user' and customer_key is not null"
            ).fetchall()
        )


def _move_a_product_user(warehouse: Path, landing: Path) -> tuple[str, str, str, str]:
    """Redeliver a product user under another customer's user's email: a user who is the only
    active user of its customer on some day, so that customer-day is left with no events.
    (the user's id, its customer, that day, the customer it moves to)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(moved, email, customer, day, target)] = con.execute(
            "with users as (select u.user_id, u.email, r.customer_key "
            "from staging.stg_product__users u join intermediate.int_identity_resolved r "
            "on r.identifier_type = 'product_user' and r.identifier = u.user_id "
            "where u.is_valid_email and not u.is_personal_email_domain "
            "and not u.is_generic_inbox and r.customer_key is not null), "
            "sole_user_days as (select users.customer_key, e.event_date, min(e.user_id) as user_id "
            "from staging.stg_product__events e join users on users.user_id = e.user_id "
            "group by all having count(distinct e.user_id) = 1) "
            "select a.user_id, b.email, a.customer_key, cast(min(d.event_date) as varchar), "
            "b.customer_key "
            "from users a join sole_user_days d on d.user_id = a.user_id "
            "join users b on a.customer_key < b.customer_key "
            "group by a.user_id, b.user_id, b.email, a.customer_key, b.customer_key "
            "order by a.user_id, b.user_id limit 1"
        ).fetchall()
        path = landing / "product_users" / "product_users_moved.csv"
        con.execute(
            f"copy (select user_id, ? as email, created_at from raw.product_users "
            f"where user_id = ? limit 1) to '{path}' (header)",
            [email, moved],
        )
    return moved, customer, day, target


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


def _customer_day_events(warehouse: Path, customer: str, day: str) -> list[int]:
    """The rollup's events for one customer-day: [] when it has no row."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select events from marts.fct_product_usage_daily "
            "where customer_key = ? and event_date = ?",
            [customer, day],
        ).fetchall()
    return [events for (events,) in rows]


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
    named_users = {
        name: _write_events_named(incremental, landing, name, rank)
        for rank, name in enumerate((LATE_MAPPED_NAME, REMAPPED_NAME, UNMAPPED_LATER_NAME))
    }
    with connect(incremental) as con:
        load_landing(landing, con)
    run_dbt([*BUILD, *PERIOD_0_VARS], incremental)
    keys_before = _product_user_keys(incremental)
    # their events count towards a customer-day
    assert set(named_users.values()) <= set(keys_before)
    _drop(history / "period_01", landing)
    redelivered = _write_redeliveries(incremental, landing)
    moved, left_customer, left_day, moved_to = _move_a_product_user(incremental, landing)
    with duckdb.connect(str(incremental), read_only=True) as con:
        active = {
            u for (u,) in con.execute("select distinct user_id from raw.product_events").fetchall()
        }
    unresolved = max(active & set(keys_before) - {moved, *named_users.values()})
    _unresolve_a_product_user(incremental, landing, unresolved)
    changed = [moved, unresolved, *named_users.values()]
    late_customer, late_day, late_events = _write_late_events(
        incremental,
        landing,
        [keys_before[u] for u in changed] + [moved_to],
    )
    redelivered |= {"moved_product_user": moved, "left_customer": left_customer}
    redelivered |= {"left_day": left_day, "unresolved_product_user": unresolved}
    redelivered |= {"late_customer": late_customer, "late_day": late_day}
    redelivered["late_events"] = late_events
    # before the move the moved user's day is there
    assert _customer_day_events(incremental, left_customer, left_day)
    with connect(incremental) as con:
        results = load_landing(landing, con)
    assert {r.status for r in results if "redelivered" in r.file} == {"loaded"}
    run_dbt([*BUILD, *PERIOD_1_VARS], incremental)
    keys_after = _product_user_keys(incremental)
    assert keys_after[moved] != keys_before[moved]
    assert unresolved not in keys_after
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
        events = _customer_day_events(warehouse, moved["left_customer"], moved["left_day"])
        assert events == [], warehouse.name


def test_late_events_for_a_built_day_are_counted(warehouses):
    incremental, _, ids = warehouses
    events = _customer_day_events(incremental, ids["late_customer"], ids["late_day"])
    assert events == [ids["late_events"]]


def test_taxonomy_changes_reach_the_days_built_before_them(warehouses):
    incremental, _, _ = warehouses
    with duckdb.connect(str(incremental), read_only=True) as con:
        canonical = dict(
            con.execute(
                "select event_name, any_value(canonical_event) from "
                "intermediate.int_events_normalised where event_name in (?, ?, ?) group by all",
                [LATE_MAPPED_NAME, REMAPPED_NAME, UNMAPPED_LATER_NAME],
            ).fetchall()
        )
    assert canonical == {
        LATE_MAPPED_NAME: "trial_extended",
        REMAPPED_NAME: "seat_resized",
        UNMAPPED_LATER_NAME: None,
    }


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


DATA_TESTS_ONLY = ["--exclude-resource-type", "unit_test"]
EVENTS = "staging.stg_product__events"


def _tested_through(warehouse: Path):
    """The product events' tested-through record: None when absent, 'every row' at -infinity."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not con.execute(
            "select count(*) from information_schema.tables where table_schema = 'staging' "
            "and table_name = 'stg_product__events__tested_through'"
        ).fetchone()[0]:
            return None
        return _tested_through_in(con)


def _test_events(warehouse: Path) -> str:
    """`dbt test` of the product events' staging model: its output, passing or failing."""
    try:
        return run_dbt(
            ["test", "--select", "stg_product__events", *DATA_TESTS_ONLY], warehouse
        ).stdout
    except AssertionError as failure:
        return str(failure)


def test_data_tests_check_the_rows_not_yet_tested_until_they_pass(warehouse_copy):
    tested = warehouse_copy("tested")
    assert _tested_through(tested) == "every row"  # built without its tests: none tested yet
    assert "ERROR=0" in _test_events(tested)
    with duckdb.connect(str(tested)) as con:
        [(latest,)] = con.execute(f"select max(loaded_at) from {EVENTS}").fetchall()
        assert _tested_through_in(con) == latest  # every row tested, and all passed
        later = f"(select max(loaded_at) from {EVENTS}) + interval 1 second"
        # rows added since: one repeating a kept event's id, one without a user; and a row
        # tested before that has lost its occurrence time since
        con.execute(
            f"insert into {EVENTS} select * replace ({later} as loaded_at) from {EVENTS} "
            "order by event_id limit 1"
        )
        con.execute(
            f"insert into {EVENTS} select * replace ('added-without-user' as event_id, "
            f"null as user_id, {later} as loaded_at) from {EVENTS} order by event_id limit 1"
        )
        con.execute(
            f"update {EVENTS} set occurred_at = null where event_id = "
            f"(select max(event_id) from {EVENTS} where loaded_at <= ?)",
            [latest],
        )
    for _ in range(2):  # a failed test does not mark its rows tested: it fails again next run
        output = _test_events(tested)
        assert "FAIL 1 unique_not_null_stg_product__events_event_id " in output
        assert "FAIL 1 not_null_stg_product__events_user_id " in output
        assert "PASS not_null_stg_product__events_occurred_at " in output
        assert _tested_through(tested) == latest


def _tested_through_in(con: duckdb.DuckDBPyConnection):
    [(untested, through)] = con.execute(
        f"select isinf(tested_through), case when not isinf(tested_through) then tested_through "
        f"end from {EVENTS}__tested_through"
    ).fetchall()
    return "every row" if untested else through


def test_a_full_refresh_tests_every_row_again(warehouse_copy):
    refreshed = warehouse_copy("refreshed")
    _test_events(refreshed)
    assert _tested_through(refreshed) not in (None, "every row")
    run_dbt(["run", "--full-refresh", "--select", "stg_product__events", *PERIOD_1_VARS], refreshed)
    assert _tested_through(refreshed) == "every row"
    # a full build with its tests in one invocation: they test every row, pass, and record it
    output = run_dbt(
        ["build", "--full-refresh", "--select", "stg_product__events", *DATA_TESTS_ONLY,
         *PERIOD_1_VARS],
        refreshed,
    ).stdout  # fmt: skip
    assert "ERROR=0" in output and "PASS=" in output
    with duckdb.connect(str(refreshed), read_only=True) as con:
        [(latest,)] = con.execute(f"select max(loaded_at) from {EVENTS}").fetchall()
        assert _tested_through_in(con) == latest


@pytest.fixture
def warehouse_copy(warehouses):
    """A copy of the incremental warehouse beside it (one dbt target folder), by name."""
    incremental, _, _ = warehouses

    def copy(name: str) -> Path:
        target = incremental.parent / f"{name}.duckdb"
        shutil.copy(incremental, target)
        return target

    return copy
