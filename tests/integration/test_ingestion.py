"""Ingestion against the raw data contract: validation, quarantine, ledger and idempotency."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.io.contract import DUCKDB_TYPES, LOAD_COLUMNS, RAW_TABLES
from orchestration.io.ingestion import loader
from orchestration.io.ingestion.landing import new_landing_files
from orchestration.io.ingestion.loader import load_landing, load_table_files
from orchestration.io.ingestion.raw_tables import ensure_raw_tables
from orchestration.io.ingestion.validation import validate_raw_table
from tests.support.landing import settled_at_once, write_file  # noqa: F401 - autouse fixture

# DuckDB's information_schema spells TIMESTAMPTZ out in full.
SCHEMA_NAMES = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}

ACCOUNTS = """\
account_id,account_name,employee_count,created_at,updated_at
A1,Acme,10,2024-01-01T10:00:00+02:00,
A2,Beta,12.5,2024-01-01,
,NoId,3,2024-01-01,
A3,Gamma,-4,2024-01-01,
A4,Delta,5,not-a-date,
A5,Eps,5,2099-01-01,
A1,Acme changed,5,2024-02-01,
A6,Six,seven,2024-02-01 10:00,2024-02-02
A7,Seven,1,2024-03-01 12:00:00,
A7,Seven,1,2024-03-01 12:00:00,
"""


@pytest.fixture
def landing(tmp_path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def fetch(con, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def reasons_by_line(con, table: str) -> dict[int, str]:
    return dict(fetch(con, f"select _source_line, _reason from raw_quarantine.{table}"))


def ledger(con) -> list[tuple]:
    return fetch(
        con,
        'select file, "table", status, rows_in, rows_loaded, rows_quarantined, error '
        "from raw._load_ledger order by loaded_at, file",
    )


def test_absent_tables_exist_empty_with_the_contract_schema(con, landing):
    assert load_landing(landing, con) == []
    for spec in RAW_TABLES.values():
        raw = fetch(
            con,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [spec.name],
        )
        expected = [(c.name, DUCKDB_TYPES[c.type]) for c in spec.columns]
        expected += list(LOAD_COLUMNS.items())
        assert raw == [(name, SCHEMA_NAMES.get(t, t)) for name, t in expected]
        quarantine = [r[0] for r in fetch(con, f"describe raw_quarantine.{spec.name}")]
        load_cols = ["_source_file", "_source_line", "_reason", "_loaded_at"]
        assert quarantine == spec.column_names + load_cols
        assert fetch(con, f"select count(*) from raw.{spec.name}") == [(0,)]
    assert fetch(con, "select count(*) from raw._load_ledger") == [(0,)]
    ensure_raw_tables(con)  # idempotent


def test_every_malformed_kind_is_quarantined_with_its_line_and_reason(con, landing):
    write_file(landing, "crm_accounts", "accounts.csv", ACCOUNTS)
    [result] = load_landing(landing, con)

    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == (
        "loaded",
        10,
        3,
        7,
    )
    # the header is line 1, so the first data row is line 2
    assert reasons_by_line(con, "crm_accounts") == {
        3: "not an integer: employee_count='12.5'",
        4: "missing required value: account_id",
        5: "negative value: employee_count='-4'",
        6: "not a timestamp: created_at='not-a-date'",
        7: "timestamp in the future: created_at='2099-01-01'",
        8: "duplicate primary key: account_id='A1'",
        9: "not an integer: employee_count='seven'",
    }
    assert result.quarantine_reasons == {
        "not an integer: employee_count": 2,
        "missing required value: account_id": 1,
        "negative value: employee_count": 1,
        "not a timestamp: created_at": 1,
        "timestamp in the future: created_at": 1,
        "duplicate primary key: account_id": 1,
    }
    # a quarantined row keeps the values as delivered, as text
    assert fetch(
        con,
        "select account_name, employee_count, _source_file from raw_quarantine.crm_accounts "
        "where _source_line = 5",
    ) == [("Gamma", "-4", "crm_accounts/accounts.csv")]

    loaded = fetch(
        con,
        "select account_id, employee_count, created_at, _source_file, _source_line "
        "from raw.crm_accounts order by _source_line",
    )
    # the UTC offset is honoured, naive timestamps are UTC, and the identical redelivery of
    # A7 loads (staging deduplicates it) while A1 with other content was quarantined
    assert [(a, n, ts.isoformat(), f, line) for a, n, ts, f, line in loaded] == [
        ("A1", 10, "2024-01-01T08:00:00+00:00", "crm_accounts/accounts.csv", 2),
        ("A7", 1, "2024-03-01T12:00:00+00:00", "crm_accounts/accounts.csv", 10),
        ("A7", 1, "2024-03-01T12:00:00+00:00", "crm_accounts/accounts.csv", 11),
    ]
    assert ledger(con) == [("crm_accounts/accounts.csv", "crm_accounts", "loaded", 10, 3, 7, None)]


def test_numbers_booleans_and_allowed_values_are_checked(con, landing):
    write_file(
        landing,
        "billing_invoices",
        "invoices.csv",
        "invoice_id,billing_customer_id,amount,currency,issued_at\n"
        "I1,B1,12.50,USD,2024-01-01\n"
        "I2,B1,12,5x,USD,2024-01-01\n"  # a stray comma: one field too many
        "I3,B1,n/a,USD,2024-01-01\n"
        "I4,B1,-3,USD,2024-01-01\n",  # negative amounts are credit notes: allowed
    )
    write_file(
        landing,
        "consent_events",
        "consent.csv",
        "email,purpose,granted,recorded_at\n"
        "a@x.com,Marketing,true,2024-01-01\n"
        "a@x.com,sales,true,2024-01-01\n"
        "b@x.com,analytics,maybe,2024-01-01\n"
        "c@x.com,analytics,0,2024-01-01 00:00:00+00\n",
    )
    write_file(
        landing,
        "survey_responses",
        "surveys.csv",
        "response_id,respondent_email,survey_type,score,submitted_at\n"
        "R1,a@x.com,NPS,9,2024-01-01\n"
        "R2,a@x.com,csat,-1,2024-01-01\n"
        "R3,a@x.com,poll,3,2024-01-01\n",
    )
    results = {r.table: r for r in load_landing(landing, con)}

    assert reasons_by_line(con, "billing_invoices") == {
        3: "malformed CSV line: too many columns='I2,B1,12,5x,USD,2024-01-01'",
        4: "not a number: amount='n/a'",
    }
    assert fetch(con, "select invoice_id, amount, _source_line from raw.billing_invoices") == [
        ("I1", 12.5, 2),
        ("I4", -3.0, 5),  # the line number skips the malformed line
    ]
    assert reasons_by_line(con, "consent_events") == {
        3: "value not allowed: purpose='sales'",
        4: "not a boolean: granted='maybe'",
    }
    assert fetch(con, "select purpose, granted from raw.consent_events order by email") == [
        ("Marketing", True),  # allowed values are matched case-insensitively, kept as sent
        ("analytics", False),
    ]
    assert reasons_by_line(con, "survey_responses") == {
        3: "negative value: score='-1'",
        4: "value not allowed: survey_type='poll'",
    }
    for result in results.values():
        assert result.rows_in == result.rows_loaded + result.rows_quarantined
    assert results["billing_invoices"].quarantine_reasons == {
        "malformed CSV line: too many columns": 1,
        "not a number: amount": 1,
    }


def test_redropping_a_file_loads_nothing_twice(con, landing):
    first = write_file(landing, "crm_accounts", "accounts.csv", ACCOUNTS)
    load_landing(landing, con)
    before = fetch(con, "select count(*) from raw.crm_accounts")[0][0]

    # same file again, and a copy under another name: nothing new
    assert load_landing(landing, con) == []
    shutil.copy(first, landing / "crm_accounts" / "accounts_again.csv")
    assert new_landing_files(landing, con) == {}
    assert load_landing(landing, con) == []
    # loading the copy explicitly is recorded as a skipped duplicate
    [skipped] = load_table_files(
        con, "crm_accounts", [landing / "crm_accounts" / "accounts_again.csv"], landing
    )
    assert (skipped.status, skipped.rows_in, skipped.rows_loaded) == ("skipped_duplicate", 0, 0)
    assert fetch(con, "select count(*) from raw.crm_accounts")[0][0] == before
    assert fetch(con, "select count(*) from raw_quarantine.crm_accounts")[0][0] == 7

    # a file with new content is new, even though it repeats rows already loaded
    write_file(landing, "crm_accounts", "more.csv", ACCOUNTS + "A8,Eight,2,2024-04-01,\n")
    assert list(new_landing_files(landing, con)) == ["crm_accounts"]
    [more] = load_landing(landing, con)
    assert (more.rows_in, more.rows_loaded, more.rows_quarantined) == (11, 4, 7)
    assert [r[2] for r in ledger(con)] == ["loaded", "skipped_duplicate", "loaded"]


def test_unreadable_file_and_missing_required_column_are_rejected_while_others_load(con, landing):
    write_file(landing, "crm_accounts", "accounts.csv", ACCOUNTS)
    write_file(landing, "crm_accounts", "broken.parquet", "this is not parquet")
    write_file(
        landing,
        "crm_accounts",
        "no_created_at.csv",
        "account_id,account_name\nA9,Nine\n",
    )
    results = {r.file: r for r in load_landing(landing, con)}

    broken = results["crm_accounts/broken.parquet"]
    assert broken.status == "rejected"
    assert broken.error.startswith("crm_accounts/broken.parquet: unreadable file:")
    missing = results["crm_accounts/no_created_at.csv"]
    assert missing.status == "rejected"
    assert missing.error.startswith(
        "crm_accounts/no_created_at.csv: missing required column created_at for table crm_accounts"
    )
    assert results["crm_accounts/accounts.csv"].rows_loaded == 3
    assert fetch(con, "select count(*) from raw.crm_accounts") == [(3,)]
    rejected = [r for r in ledger(con) if r[2] == "rejected"]
    assert [(r[0], r[3], r[4], r[5], r[6]) for r in rejected] == [
        ("crm_accounts/broken.parquet", 0, 0, 0, broken.error),
        ("crm_accounts/no_created_at.csv", 0, 0, 0, missing.error),
    ]
    assert new_landing_files(landing, con) == {}  # recorded: not retried on every run


def test_parquet_files_and_extra_columns_load(con, landing):
    frame = pd.DataFrame(
        {
            "event_id": ["E1", "E2", "E3"],
            "user_id": ["U1", "U1", None],
            "event_name": ["login", "User Logged In", "login"],
            "occurred_at": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-02 10:00", "2024-01-03 10:00"], utc=True
            ),
            "properties": ['{"a": 1}', None, None],
            "device": ["ios", "web", "web"],  # not in the contract: kept as text
        }
    )
    (landing / "product_events").mkdir()
    frame.to_parquet(landing / "product_events" / "events.parquet")
    [result] = load_landing(landing, con)

    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    # Parquet has no header line: rows count from 1
    assert reasons_by_line(con, "product_events") == {3: "missing required value: user_id"}
    loaded = fetch(
        con,
        "select event_id, occurred_at, device, _source_line from raw.product_events order by 1",
    )
    assert [(e, ts.isoformat(), d, line) for e, ts, d, line in loaded] == [
        ("E1", "2024-01-01T10:00:00+00:00", "ios", 1),
        ("E2", "2024-01-02T10:00:00+00:00", "web", 2),
    ]
    types = dict(
        fetch(
            con,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'product_events'",
        )
    )
    assert types["device"] == "VARCHAR"
    assert types["occurred_at"] == "TIMESTAMP WITH TIME ZONE"


def test_header_names_match_case_insensitively_and_other_folders_are_ignored(con, landing):
    write_file(landing, "crm_accounts", "a.CSV", "Account_ID, Created_At \nA1,2024-01-01\n")
    write_file(landing, "crm_accounts", "_SUCCESS", "")
    write_file(landing, "crm_accounts", ".partial.csv", "account_id\n")
    write_file(landing, "crm_accounts", "notes.txt", "not data")
    write_file(landing, "_truth", "malformed.csv", "table,file,line,kind\n")
    write_file(landing, "some_other_table", "x.csv", "a\n1\n")
    assert new_landing_files(landing, con) == {"crm_accounts": [landing / "crm_accounts" / "a.CSV"]}
    [result] = load_landing(landing, con)
    assert result.rows_loaded == 1
    assert fetch(con, "select account_id from raw.crm_accounts") == [("A1",)]
    with pytest.raises(ValueError, match="not raw contract tables: _truth"):
        load_landing(landing, con, tables=["_truth"])


def test_a_load_killed_mid_file_leaves_nothing_and_reruns(con, landing, monkeypatch):
    write_file(landing, "crm_accounts", "accounts.csv", ACCOUNTS)
    record = loader._record

    def crash(*args, **kwargs):  # dies after the rows were inserted, before the commit
        raise KeyboardInterrupt

    monkeypatch.setattr(loader, "_record", crash)
    with pytest.raises(KeyboardInterrupt):
        load_landing(landing, con)
    assert fetch(con, "select count(*) from raw.crm_accounts") == [(0,)]
    assert fetch(con, "select count(*) from raw_quarantine.crm_accounts") == [(0,)]
    assert fetch(con, "select count(*) from raw._load_ledger") == [(0,)]

    monkeypatch.setattr(loader, "_record", record)
    [result] = load_landing(landing, con)
    assert (result.rows_loaded, result.rows_quarantined) == (3, 7)


def test_great_expectations_suite_passes_on_loaded_data_and_catches_nulls(con, landing):
    write_file(landing, "crm_accounts", "accounts.csv", ACCOUNTS)
    load_landing(landing, con)
    outcome = validate_raw_table(con, "crm_accounts")
    assert outcome.success, [e for e in outcome.expectations if not e["success"]]
    assert (outcome.rows_in_table, outcome.rows_validated) == (3, 3)
    kinds = {e["expectation"] for e in outcome.expectations}
    assert {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_type_list",
        "expect_column_values_to_be_between",
    } <= kinds
    assert validate_raw_table(con, "email_events").success  # empty tables pass

    # a row written around the loader breaks the contract and the suite says where
    con.execute("insert into raw.crm_accounts (account_id, employee_count) values ('A9', -1)")
    failed = {
        (e["expectation"], e["column"])
        for e in validate_raw_table(con, "crm_accounts").expectations
        if not e["success"]
    }
    assert failed == {
        ("expect_column_values_to_not_be_null", "created_at"),
        ("expect_column_values_to_be_between", "employee_count"),
    }


def test_generated_sample_data_is_fully_accounted_for(tmp_path, con):
    sample_data = pytest.importorskip("tools.sample_data")
    out = tmp_path / "sample"
    sample_data.generate(out, accounts=100, seed=3)
    results = load_landing(out, con)

    assert {r.table for r in results} == set(RAW_TABLES)
    for r in results:
        assert r.status == "loaded", r.error
        assert r.rows_in == r.rows_loaded + r.rows_quarantined > 0
    for file, rows_in, loaded, quarantined, reasons in fetch(
        con,
        "select file, rows_in, rows_loaded, rows_quarantined, quarantine_reasons "
        "from raw._load_ledger",
    ):
        assert rows_in == loaded + quarantined
        assert sum(json.loads(reasons).values()) == quarantined, file
    with open(out / "_truth" / "malformed.csv", newline="") as handle:
        malformed = list(csv.DictReader(handle))
    assert malformed
    quarantined = {
        (table, file, line)
        for table in RAW_TABLES
        for file, line in fetch(
            con, f"select _source_file, _source_line from raw_quarantine.{table}"
        )
    }
    missed = [
        m
        for m in malformed
        if (m["table"], f"{m['table']}/{m['file']}", int(m["line"])) not in quarantined
    ]
    assert missed == []


def test_line_numbers_follow_the_file_on_large_parallel_reads(con, landing):
    # Big enough for DuckDB to read and check in parallel: line numbers must still be exact.
    rows = 300_000
    folder = landing / "email_events"
    folder.mkdir()
    con.execute(
        f"""
        copy (
            select 'E' || i as event_id, 'c1' as campaign_id, 'a@x.com' as recipient_email,
                case when i % 1000 = 7 then 'opened'
                     else ['delivered', 'open', 'click', 'unsubscribe', 'bounce'][i % 5 + 1]
                end as event_type,
                case when i % 997 = 3 then 'not-a-date' else '2024-01-01T10:00:00Z' end
                    as occurred_at
            from range({rows}) t(i)
        ) to '{folder / "events.csv"}' (header)
        """
    )
    [result] = load_landing(landing, con)
    assert result.rows_in == rows
    # event E<i> is on line i + 2 (line 1 is the header)
    assert fetch(
        con,
        "select count(*), count(*) filter (where _source_line = "
        "cast(substr(event_id, 2) as bigint) + 2) from raw.email_events",
    ) == [(result.rows_loaded, result.rows_loaded)]
    misplaced = fetch(
        con,
        "select count(*) from raw_quarantine.email_events "
        "where _source_line <> cast(substr(event_id, 2) as bigint) + 2",
    )
    assert misplaced == [(0,)]
    expected_bad = {i for i in range(rows) if i % 1000 == 7 or i % 997 == 3}
    assert result.rows_quarantined == len(expected_bad)


def test_one_column_text_keys_are_stored_with_fsst_and_read_back_as_sent(con, landing):
    # The raw table names FSST for a one-column text key (DuckDB then skips trying every
    # compression on it); the values, types and line numbers are what the file holds.
    events = "".join(f"e{i},u{i % 7},login,2024-01-01T10:00:00Z,\n" for i in range(3000))
    write_file(
        landing,
        "product_events",
        "e.csv",
        "event_id,user_id,event_name,occurred_at,properties\n" + events,
    )
    [result] = load_landing(landing, con)
    assert (result.rows_loaded, result.rows_quarantined) == (3000, 0)
    con.execute("checkpoint")
    compressions = {
        column: {
            c
            for (c,) in fetch(
                con,
                "select distinct compression from pragma_storage_info('raw.product_events') "
                "where column_name = ? and segment_type = 'VARCHAR'",
                [column],
            )
        }
        for column in ("event_id", "user_id")
    }
    assert compressions["event_id"] == {"FSST"}
    assert "FSST" not in compressions["user_id"]  # other columns keep DuckDB's own choice
    assert fetch(
        con,
        "select count(*) filter (where event_id = 'e' || (_source_line - 2) "
        "and user_id = 'u' || ((_source_line - 2) % 7)) from raw.product_events",
    ) == [(3000,)]
    key = [r for r in fetch(con, "describe raw.product_events") if r[0] == "event_id"]
    assert key[0][1] == "VARCHAR"


def test_rows_read_with_the_sniffed_dialect_hold_what_an_auto_detecting_read_holds(tmp_path, con):
    # Each CSV is sniffed once and its rows read with that dialect, no second sniff: every row,
    # loaded or quarantined, holds at its line the text DuckDB's own auto-detecting read gives.
    sample_data = pytest.importorskip("tools.sample_data")
    out = tmp_path / "sample"
    sample_data.generate(out, accounts=60, seed=5)
    load_landing(out, con)
    for table in ("product_events", "crm_contacts", "billing_invoices"):
        spec = RAW_TABLES[table]
        strings = ", ".join(c.name for c in spec.columns if c.type == "string")
        texts = ", ".join(c.name for c in spec.columns)
        for path in sorted((out / table).glob("*.csv")):
            source = f"{table}/{path.name}"
            con.execute(
                "create or replace temp table _expected as select row_number() over () + 1 "
                "as line, * from read_csv(?, header = true, all_varchar = true)",
                [str(path)],
            )
            loaded = fetch(
                con,
                f"select _source_line, {strings} from raw.{table} where _source_file = ? "
                f"except select line, {strings} from _expected",
                [source],
            )
            quarantined = fetch(
                con,
                f"select _source_line, {texts} from raw_quarantine.{table} "
                f"where _source_file = ? except select line, {texts} from _expected",
                [source],
            )
            assert (loaded, quarantined) == ([], []), source
            assert fetch(
                con,
                f"select (select count(*) from raw.{table} where _source_file = ?) + "
                f"(select count(*) from raw_quarantine.{table} where _source_file = ?)",
                [source, source],
            ) == fetch(con, "select count(*) from _expected")


def test_a_load_that_fails_for_lack_of_memory_is_not_a_rejection_and_loads_next_run(
    tmp_path, landing, monkeypatch
):
    """Out of memory is the load's failure, not the file's: nothing of it is kept, the ledger
    says 'failed' with what to do, and the next run loads the same content."""
    from orchestration.io.warehouse import connect

    rows = "\n".join(f"E{i},U{i % 97},login,2024-01-01 10:{i % 60:02d}:00," for i in range(50_000))
    write_file(
        landing,
        "product_events",
        "events.csv",
        f"event_id,user_id,event_name,occurred_at,properties\n{rows}\n",
    )
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "4MB")
    with connect(warehouse) as small:
        [failed] = load_landing(landing, small)
    assert failed.status == "failed"
    assert failed.error.startswith(
        "product_events/events.csv: could not be loaded, not because of its content "
        "(OutOfMemoryException: "
    )
    assert failed.error.endswith(
        "it is loaded again on the next run (for out of memory, raise DUCKDB_MEMORY_LIMIT)"
    )
    monkeypatch.delenv("DUCKDB_MEMORY_LIMIT")
    with connect(warehouse) as con:
        assert fetch(con, "select count(*) from raw.product_events") == [(0,)]
        assert list(new_landing_files(landing, con)) == []  # the sensor does not storm on it
        [loaded] = load_landing(landing, con)
        assert (loaded.status, loaded.rows_loaded) == ("loaded", 50_000)
        assert [r[2] for r in ledger(con)] == ["failed", "loaded"]
        assert load_landing(landing, con) == []


def test_a_rejected_file_is_looked_at_again_only_when_asked(con, landing):
    """After a fix in configuration or code, retry_rejected reads the unchanged file again; a
    loaded file is never read twice."""
    write_file(landing, "crm_accounts", "accounts.csv", ACCOUNTS)
    write_file(landing, "crm_accounts", "no_created_at.csv", "account_id,account_name\nA9,Nine\n")
    first = {r.file: r.status for r in load_landing(landing, con)}
    assert first == {
        "crm_accounts/accounts.csv": "loaded",
        "crm_accounts/no_created_at.csv": "rejected",
    }
    assert load_landing(landing, con) == []
    again = loader.load_new_files(landing, con, retry_rejected=True).results
    assert [(r.file, r.status) for r in again] == [("crm_accounts/no_created_at.csv", "rejected")]
    assert fetch(con, "select count(*) from raw.crm_accounts") == [(3,)]
    assert [r[2] for r in ledger(con)] == ["loaded", "rejected", "rejected"]
