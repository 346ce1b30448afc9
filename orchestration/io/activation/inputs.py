"""The warehouse tables the syncs read, as the pure core's `Inputs`.

The segment synced per customer is the published one of the latest run recorded in the
membership history; before any run is recorded, the raw model assignment is used. Marketing
consent is read per address from the staged consent events.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ml_assets.activation import Inputs
from orchestration.io import history, tables

# The CRM's own accounts as staged from the raw CRM export (seeds the embedded demo CRM).


def select_if_exists(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None
) -> pd.DataFrame | None:
    """The query's rows, or None when its table does not exist (yet).

    Cheaper than asking information_schema first, which matters on every sync.
    """
    try:
        return con.execute(sql, params or []).df()
    except duckdb.CatalogException:
        return None


def read_inputs(con: duckdb.DuckDBPyConnection) -> Inputs:
    """The warehouse tables the syncs read; a clear error when one is missing.

    The membership history is optional: without a recorded run the raw segments are synced.
    """
    frames = []
    consent_sql = (
        f"select email, purpose, granted, recorded_at from {tables.STAGED_CONSENT_EVENTS.sql}"
    )
    for table, sql in (
        (tables.CUSTOMER_SEGMENTS, None),
        (tables.DIM_CUSTOMERS, None),
        (tables.SEGMENT_PROFILES, None),
        (tables.STAGED_CONSENT_EVENTS, consent_sql),
    ):
        frame = select_if_exists(con, sql or f"select * from {table.sql}")
        if frame is None:
            raise ValueError(
                f"{table.schema}.{table.name} is missing: materialize it before activation"
            )
        frames.append(frame)
    runs = history.list_runs(con)
    published = None if runs.empty else history.load_run(con, str(runs["run_id"].iloc[-1]))
    segments, customers, profiles, consent_events = frames
    spells = select_if_exists(con, f"select * from {tables.MEMBERSHIP_EPISODES.sql}")
    return Inputs(segments, customers, profiles, published, consent_events, spells)


def staged_crm_accounts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """(account_id, account_name) of every CRM account in the warehouse."""
    return con.execute(
        f"select account_id, account_name from {tables.STAGED_CRM_ACCOUNTS.sql}"
    ).fetchall()
