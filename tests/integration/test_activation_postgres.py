"""Reverse ETL against a real PostgreSQL server (started by scripts/postgres_test_server.sh).

The scenario tests of test_activation.py run against PostgreSQL through the parametrized `dest_url`
fixture; the tests here need a server of their own (an outage, a dropped connection, COPY).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_assets.activation import SyncOptions
from orchestration.io import activation, destinations, warehouse
from tests.support.activation import CRM_KNOWN, crm_fields, execute, ledger, seed_crm, sync
from tests.support.postgres import start_server, stop_server
from tools.bench_sync import benchmark

pytestmark = pytest.mark.postgres


def test_server_going_away_mid_sync_leaves_no_partial_batch(
    wh: Path,
    private_postgres: tuple[Path, int, str],
) -> None:
    data_dir, port, url = private_postgres
    seed_crm(url)

    def stop_after_first_batch(number: int, status: str) -> None:
        if number == 1:
            stop_server(data_dir, port)

    options = SyncOptions(batch_size=3, retries=1, backoff_seconds=0.0)
    engine = destinations.create_destination_engine(url)
    with warehouse.connect(wh) as con:
        first = activation.run_sync(
            "crm_account_fields", con, engine, options, on_batch=stop_after_first_batch
        )
    engine.dispose()
    assert first.counts["updated"] == 3 and first.counts["failed"] == CRM_KNOWN - 3
    errors = ledger(wh, first.run_id).query("status == 'failed'")["error"]
    assert errors.str.startswith("OperationalError").all()

    start_server(data_dir, port)
    written = [account for account, row in crm_fields(url).items() if row[0] is not None]
    assert written == ["A00", "A01", "A02"]
    # Retrying the failed rows needs no blast-radius override: they were planned already.
    retry = sync(wh, url, "crm_account_fields")
    assert retry.counts["updated"] == CRM_KNOWN - 3 and retry.counts["failed"] == 0
    assert all(row[0] is not None for row in crm_fields(url).values())
    assert sync(wh, url, "crm_account_fields").rows_written == 0


@pytest.fixture
def crm(postgres_url: str) -> str:
    """These tests need PostgreSQL itself (triggers, server outages), not the parametrized CRM."""
    return seed_crm(postgres_url)


def test_connection_dropped_mid_batch_rolls_the_batch_back(wh: Path, crm: str) -> None:
    # The server kills our connection while it updates A07, after A06 of the same batch.
    execute(
        crm,
        """create function drop_connection() returns trigger language plpgsql as $$
           begin perform pg_terminate_backend(pg_backend_pid()); return new; end $$""",
        """create trigger drop_connection before update on crm_accounts for each row
           when (new.account_id = 'A07' and new.segment_id is not null)
           execute function drop_connection()""",
    )
    options = {"batch_size": 3, "retries": 1, "backoff_seconds": 0.0}
    first = sync(wh, crm, "crm_account_fields", **options)
    assert first.counts["failed"] == 3
    missing = [account for account, row in crm_fields(crm).items() if row[0] is None]
    assert missing == ["A06", "A07", "A08"]
    assert (
        ledger(wh, first.run_id).query("status == 'failed'")["error"].str.contains("terminat").all()
    )

    execute(crm, "drop trigger drop_connection on crm_accounts")
    assert sync(wh, crm, "crm_account_fields", **options).counts["updated"] == 3
    assert all(row[0] is not None for row in crm_fields(crm).values())


def test_benchmark_reports_rows_and_rate(postgres_url: str) -> None:
    report = benchmark(postgres_url, n_customers=500)
    first, incremental = report["first"], report["incremental"]
    assert first["syncs"]["crm_account_fields"]["updated"] == 500
    assert first["rows_written"] > 500 and first["rows_per_second"] > 0
    # 1% of the customers moved: 5 CRM updates, their audience moves, new tasks only.
    assert incremental["syncs"]["crm_account_fields"]["updated"] == 5
    assert 5 <= incremental["rows_written"] < 25
    assert all(s["failed"] == 0 for s in incremental["syncs"].values())
