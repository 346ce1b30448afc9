"""A generated continuing history loads period by period into one landing folder: every file
loads (no name clash, no skipped content), every row is accounted for, and every planted
malformed row is quarantined where its period's truth says."""

from __future__ import annotations

import csv
import shutil

import duckdb
import pytest

from orchestration.io.contract import RAW_TABLES
from orchestration.io.ingestion import load_landing
from tools.sample_data import generate_history


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def test_history_periods_load_one_after_another_into_one_landing_folder(tmp_path, con):
    out, landing = tmp_path / "history", tmp_path / "landing"
    generate_history(out, accounts=60, seed=5, periods=2, period_days=7)
    planted = 0
    for p in range(3):
        period = out / f"period_{p:02d}"
        for name in RAW_TABLES:
            (landing / name).mkdir(parents=True, exist_ok=True)
            for f in (period / name).glob("*.csv"):
                assert not (landing / name / f.name).exists()
                shutil.copy(f, landing / name / f.name)
        results = load_landing(landing, con)
        assert {r.table for r in results} == set(RAW_TABLES)
        for r in results:
            assert r.status == "loaded", (p, r.file, r.error)
            assert r.rows_in == r.rows_loaded + r.rows_quarantined
        with open(period / "_truth" / "malformed.csv", newline="") as handle:
            malformed = list(csv.DictReader(handle))
        quarantined = {
            (table, file, line)
            for table in RAW_TABLES
            for file, line in con.execute(
                f"select _source_file, _source_line from raw_quarantine.{table}"
            ).fetchall()
        }
        missed = [
            m
            for m in malformed
            if (m["table"], f"{m['table']}/{m['file']}", int(m["line"])) not in quarantined
        ]
        assert missed == [], p
        planted += len(malformed)
    assert planted > 0
    # a re-delivered subscription loads again (a later load of the same key, not a duplicate)
    [(rows, keys)] = con.execute(
        "select count(*), count(distinct subscription_id) from raw.billing_subscriptions"
    ).fetchall()
    assert rows > keys
