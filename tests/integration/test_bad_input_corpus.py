"""The bad-input corpus: every malformed or edge-case file gets its precise outcome, and every
file is accounted for in the load ledger (rows in = loaded + quarantined).

The corpus loads once into one warehouse for the module; each case is then checked on its own.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from orchestration.io.ingestion import loader, reading, rows
from orchestration.io.ingestion.landing import KnownFiles, scan_landing
from orchestration.io.ingestion.loader import load_landing, load_new_files
from tests.support.bad_inputs import ACCOUNTS, HEADER, corpus, write_corpus
from tests.support.landing import settled_at_once  # noqa: F401 - autouse fixture

CASES = corpus()


@pytest.fixture(scope="module")
def loaded_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    landing = root / "landing"
    write_corpus(landing, CASES)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INGEST_SETTLE_SECONDS", "0")
        load = load_new_files(landing, con)
        yield con, landing, {r.file: r for r in load.results}, {w.file: w for w in load.waiting}
    con.close()


def reasons(con, case) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            f"select _reason from raw_quarantine.{case.table} where _source_file = ?",
            [case.source],
        ).fetchall()
    ]


def test_the_corpus_covers_at_least_forty_kinds():
    assert len({c.kind for c in CASES}) == len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_each_bad_input_gets_its_outcome(loaded_corpus, case):
    con, _, results, waiting = loaded_corpus
    expect = case.expect
    if expect.status == "waiting":
        assert case.source not in results
        assert waiting[case.source].reason.startswith("temporary name")
        return
    result = results[case.source]
    assert result.status == expect.status, result.error
    if expect.status == "rejected":
        assert expect.error in result.error
        assert result.error.startswith(case.source)  # the reason names the file
        assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (0, 0, 0)
        return
    assert result.rows_loaded == expect.loaded
    assert result.rows_quarantined == sum(expect.quarantined.values())
    found = reasons(con, case)
    for phrase, rows_expected in expect.quarantined.items():
        assert sum(phrase in r for r in found) == rows_expected, (phrase, found)
    loaded_rows = con.execute(
        f"select count(*) from raw.{case.table} where _source_file = ?", [case.source]
    ).fetchone()[0]
    assert loaded_rows == expect.loaded


def test_every_file_is_accounted_for_in_the_ledger(loaded_corpus):
    con, landing, results, waiting = loaded_corpus
    ledger = con.execute(
        "select file, status, rows_in, rows_loaded, rows_quarantined, quarantine_reasons, error "
        "from raw._load_ledger"
    ).fetchall()
    by_file = {row[0]: row for row in ledger}
    assert len(by_file) == len(ledger)  # one ledger row per file
    expected_files = {c.source for c in CASES if c.expect.status != "waiting"}
    assert set(by_file) == expected_files
    assert set(waiting) == {c.source for c in CASES if c.expect.status == "waiting"}
    for file, status, rows_in, loaded, quarantined, reasons_json, error in ledger:
        assert rows_in == loaded + quarantined, file
        assert sum(json.loads(reasons_json).values()) == quarantined, file
        assert (status == "rejected") == (error is not None), file
        table = file.split("/")[0]
        in_raw, in_quarantine = con.execute(
            f"select (select count(*) from raw.{table} where _source_file = ?), "
            f"(select count(*) from raw_quarantine.{table} where _source_file = ?)",
            [file, file],
        ).fetchone()
        assert (in_raw, in_quarantine) == (loaded, quarantined), file
    # dropping the same content again loads nothing twice
    assert load_landing(landing, con) == []


def test_timestamps_follow_their_own_zone_only(loaded_corpus):
    con = loaded_corpus[0]

    def instants(kind: str) -> dict[str, str]:
        rows_ = con.execute(
            "select account_id, created_at from raw.crm_accounts where _source_file = ?",
            [f"crm_accounts/{kind}.csv"],
        ).fetchall()
        return {a: ts.astimezone(UTC).isoformat() for a, ts in rows_}

    zone = instants("named_zone_then_naive")
    assert zone.pop("zone-0") == "2025-01-02T08:04:05+00:00"  # New York, honoured
    assert set(zone.values()) == {"2025-01-02T03:04:05+00:00"}  # naive = UTC, never shifted
    assert instants("offsets") == {
        "off-0": "2024-06-01T10:00:00+00:00",
        "off-1": "2024-06-01T10:00:00+00:00",
        "off-2": "2024-06-01T10:00:00+00:00",
        "off-3": "2024-06-01T10:00:00+00:00",
        "off-4": "2024-06-01T10:00:00+00:00",
    }
    assert instants("implausible_dates") == {"old-5": "1970-01-01T00:00:00+00:00"}
    assert instants("zone_abbreviations") == {"abbr-2": "2025-01-02T03:04:05+00:00"}


def test_odd_column_names_are_kept_as_extra_columns(loaded_corpus):
    con = loaded_corpus[0]
    columns = {r[0] for r in con.execute("describe raw.crm_accounts").fetchall()}
    assert {"rowid", "select", "order", "group", 'we"ird', "with space", "dot.name"} <= columns
    assert {"名前", "Größe", "note", "note_1"} <= columns
    assert con.execute(
        'select "rowid", "select", "名前" from raw.crm_accounts '
        "where account_id in ('rowid-0', 'kw-0', 'uni-0') order by account_id"
    ).fetchall() == [(None, "1", None), ("9", None, None), (None, None, "1")]
    wide = con.execute("select c0, c299 from raw.product_users").fetchall()
    assert wide == [("0", "299")]


def test_values_are_read_as_delivered(loaded_corpus):
    con = loaded_corpus[0]
    names = dict(
        con.execute(
            "select account_id, account_name from raw.crm_accounts "
            "where account_id in ('qq-0', 'nl-0', 'utf16-0', 'utf16be-0', 'ws-2', 'bell-1', "
            "'crlf-0', 'unbal-0')"
        ).fetchall()
    )
    assert names == {
        "qq-0": 'He said "hi"',
        "nl-0": "Two\nlines",
        "utf16-0": "Café",
        "utf16be-0": "Zoë",
        "unbal-0": '"Open',  # a stray quote in an unquoted file is kept as text
        "ws-2": "  padded  ",
        "bell-1": "\tok",  # tabs are fine
        "crlf-0": "crlf 0",  # no carriage return left
    }
    # control characters are shown as '?' in the reason, never stored in it
    [reason] = con.execute(
        "select _reason from raw_quarantine.crm_accounts where account_id = 'nul-0'"
    ).fetchone()
    assert reason == "control character in value: account_name='x?y'"


def test_a_changed_file_with_the_same_size_and_mtime_loads(tmp_path):
    landing = tmp_path / "landing"
    path = landing / ACCOUNTS / "accounts.csv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "\nsame-0,Before,2024-01-01\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    [first] = load_landing(landing, con)
    assert first.rows_loaded == 1
    stat = path.stat()
    path.write_text(HEADER + "\nsame-0,After!,2024-01-01\n")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as cp -p / rsync -t leave it
    assert (path.stat().st_size, path.stat().st_ino) == (stat.st_size, stat.st_ino)
    # the hash the first run made is not trusted: the rewrite changed the file's ctime
    [second] = load_landing(landing, con)
    assert (second.status, second.rows_loaded) == ("loaded", 1)
    assert second.content_hash != first.content_hash
    names = con.execute("select account_name from raw.crm_accounts order by 1").fetchall()
    assert names == [("After!",), ("Before",)]


def test_a_run_reads_only_the_files_that_are_new_or_changed(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    (landing / ACCOUNTS).mkdir(parents=True)
    kept, grown = landing / ACCOUNTS / "kept.csv", landing / ACCOUNTS / "grown.csv"
    kept.write_text(HEADER + "\nkept-0,Kept,2024-01-01\n")
    grown.write_text(HEADER + "\ngrown-0,Grown,2024-01-01\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    first = load_new_files(landing, con)
    assert (first.files_hashed, len(first.results)) == (2, 2)
    # nothing new: no file is read, whether one table is scanned (as a raw asset does) or all
    assert load_new_files(landing, con, tables=[ACCOUNTS]).files_hashed == 0
    assert load_new_files(landing, con).files_hashed == 0
    with grown.open("a") as handle:
        handle.write("grown-1,Grown too,2024-01-02\n")
    [result] = (again := load_new_files(landing, con)).results
    assert (again.files_hashed, result.file, result.rows_loaded) == (1, f"{ACCOUNTS}/grown.csv", 2)
    # the hash of a removed file is forgotten with it
    kept.unlink()
    load_new_files(landing, con)
    [(paths,)] = con.execute("select list(path) from raw._landing_digests").fetchall()
    assert paths == [str(grown)]
    # on a filesystem that does not keep ctime, every file is read every run
    monkeypatch.setenv("INGEST_REUSE_FILE_HASHES", "0")
    assert load_new_files(landing, con).files_hashed == 1


def test_a_file_still_being_written_waits_and_loads_once_settled(tmp_path):
    landing = tmp_path / "landing"
    path = landing / ACCOUNTS / "growing.csv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "\ngrow-0,A,2024-01-01\ngrow-1,B,2024-")

    def writer_keeps_writing(seconds: float) -> None:  # the pause sees the file grow
        with path.open("a") as handle:
            handle.write("01-01\ngrow-2,C,2024-01-01\n")

    scan = scan_landing(landing, KnownFiles(), settle_seconds=60, sleep=writer_keeps_writing)
    assert scan.new == {}
    [waiting] = scan.waiting
    assert (waiting.file, waiting.reason) == (
        "crm_accounts/growing.csv",
        "still being written: changed within 60 s",
    )
    # the writer is done: a later scan that sees no change loads the whole file
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load = load_new_files(landing, con, settle_seconds=0.05)
    assert load.waiting == []
    assert [(r.rows_loaded, r.rows_quarantined) for r in load.results] == [(3, 0)]
    # a file modified in the future (clock skew) is looked at again and loads when unchanged
    later = landing / ACCOUNTS / "later.csv"
    later.write_text(HEADER + "\nlater-0,A,2024-01-01\n")
    future = datetime.now(UTC).timestamp() + 3600
    os.utime(later, (future, future))
    assert [r.rows_loaded for r in load_new_files(landing, con, settle_seconds=0.05).results] == [1]


def test_a_renamed_temporary_file_loads(tmp_path):
    landing = tmp_path / "landing"
    part = landing / ACCOUNTS / "accounts.csv.part"
    part.parent.mkdir(parents=True)
    part.write_text(HEADER + "\nren-0,A,2024-01-01\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    first = load_new_files(landing, con)
    assert (first.results, [w.file for w in first.waiting]) == (
        [],
        ["crm_accounts/accounts.csv.part"],
    )
    shutil.move(part, part.with_suffix(""))
    [result] = load_landing(landing, con)
    assert (result.file, result.rows_loaded) == ("crm_accounts/accounts.csv", 1)


def _long_line_files(tmp_path, long_value: str, early_date: str):
    """A landing folder of accounts with one long line past the sniffer's sample (late.csv,
    after 25,000 short rows) and one within it (early.csv, its date field `early_date`)."""
    landing = tmp_path / "landing"
    folder = landing / ACCOUNTS
    folder.mkdir(parents=True)
    body = "".join(f"late-{i},n,2024-01-01\n" for i in range(25_000))
    (folder / "late.csv").write_text(HEADER + "\n" + body + f"late-x,{long_value},2024-01-01\n")
    (folder / "early.csv").write_text(
        HEADER + f"\nearly-0,a,2024-01-01\nearly-1,{long_value},{early_date}\n"
    )
    return landing, folder


def test_lines_over_the_maximum_are_quarantined_or_named(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 100_000)
    long_value = "x" * 150_000
    # past the sniffer's sample the reader quarantines just that line; within the sample the
    # file is rejected, naming the line
    landing, _ = _long_line_files(tmp_path, long_value, early_date="x")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    results = {r.file: r for r in load_landing(landing, con)}
    late = results["crm_accounts/late.csv"]
    assert (late.rows_loaded, late.rows_quarantined) == (25_000, 1)
    assert late.quarantine_reasons == {"malformed CSV line: line size over maximum": 1}
    early = results["crm_accounts/early.csv"]
    assert early.status == "rejected"
    assert early.error == (
        "crm_accounts/early.csv: line 3 is 150,010 bytes, longer than the maximum line size "
        "of 100,000 bytes"
    )


def test_lines_over_the_first_read_limit_but_within_the_maximum_load_whole(tmp_path, monkeypatch):
    # A CSV is read with a small line limit first and again with MAX_LINE_BYTES only when a
    # line is longer: such a line loads as it is, in the sniffer's sample or past it.
    monkeypatch.setattr(reading, "FIRST_LINE_BYTES", 10_000)
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 100_000)
    long_value = "y" * 50_000
    landing, folder = _long_line_files(tmp_path, long_value, early_date="2024-01-01")
    (folder / "short.csv").write_text(HEADER + "\nshort-0,a,2024-01-01\nshort-1,,x\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    results = {r.file: r for r in load_landing(landing, con)}
    assert {f: (r.status, r.rows_loaded, r.rows_quarantined) for f, r in results.items()} == {
        "crm_accounts/late.csv": ("loaded", 25_001, 0),
        "crm_accounts/early.csv": ("loaded", 2, 0),
        "crm_accounts/short.csv": ("loaded", 1, 1),
    }
    loaded = con.execute(
        "select _source_file, _source_line from raw.crm_accounts where account_name = ?",
        [long_value],
    ).fetchall()
    assert sorted(loaded) == [("crm_accounts/early.csv", 3), ("crm_accounts/late.csv", 25_002)]
    assert con.execute(
        "select _source_file, _source_line, _reason from raw_quarantine.crm_accounts"
    ).fetchall() == [("crm_accounts/short.csv", 3, "not a timestamp: created_at='x'")]


def test_an_unexpected_error_rejects_only_that_file(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    folder = landing / ACCOUNTS
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(HEADER + "\nerr-a,A,2024-01-01\n")
    (folder / "b.csv").write_text(HEADER + "\nerr-b,B,2024-01-01\n")
    real = rows.check_rows

    def broken_for_a(con, spec, path, *args):
        if path.name == "a.csv":
            con.execute("select 'x' + 1")  # a BinderException, as a bug would raise
        return real(con, spec, path, *args)

    monkeypatch.setattr(loader, "check_rows", broken_for_a)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    results = {r.file: r for r in load_landing(landing, con)}
    assert results["crm_accounts/b.csv"].rows_loaded == 1
    failed = results["crm_accounts/a.csv"]
    assert failed.status == "rejected"
    assert failed.error.startswith("crm_accounts/a.csv: could not be loaded: BinderException:")
    assert con.execute(
        "select status, error from raw._load_ledger where file = 'crm_accounts/a.csv'"
    ).fetchone() == ("rejected", failed.error)
