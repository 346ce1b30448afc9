"""Sync state and sync ledger in the warehouse: what each sync last confirmed writing, and what
every run did.

`activation.sync_state` holds per sync, target database and key the hash and payload last
confirmed written, so a run writes only changes and pointing a sync at another database starts
from that database's own state. `activation.sync_ledger` records every row of every run with its
status; a row whose last entry failed is retried by the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd
import pyarrow as pa
from sqlalchemy.engine import Engine

from ml_assets.activation import SyncSpec
from orchestration.io.activation.inputs import select_if_exists
from orchestration.io.tables import SYNC_LEDGER, SYNC_STATE


def target_of(engine: Engine) -> str:
    """The database a sync writes to, as recorded in the state and ledger (no password)."""
    return engine.url.render_as_string(hide_password=True)


# Rows recorded before `target` existed have none; they count as the current target's, so an
# upgrade does not resend (and trip the blast-radius guard on) everything already synced.
_SAME_TARGET = "coalesce(target, $target) = $target"


def upgrade_warehouse_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Add the target column to state and ledger tables of older versions (no-op otherwise)."""
    for table in (SYNC_STATE, SYNC_LEDGER):
        con.execute(f"alter table if exists {table.sql} add column if not exists target varchar")


def ensure_warehouse_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the activation schema and the state and ledger tables when missing."""
    con.execute(f"create schema if not exists {SYNC_STATE.schema}")
    con.execute(
        f"""create table if not exists {SYNC_STATE.sql} (
            destination varchar, key varchar, payload_hash varchar, payload varchar,
            run_id varchar, synced_at timestamptz, target varchar)"""
    )
    con.execute(
        f"""create table if not exists {SYNC_LEDGER.sql} (
            run_id varchar, destination varchar, key varchar, operation varchar,
            status varchar, error varchar, synced_at timestamptz, target varchar)"""
    )
    upgrade_warehouse_tables(con)


def read_state(con: duckdb.DuckDBPyConnection, destination: str, target: str) -> pd.DataFrame:
    """key, payload_hash, payload of what `destination` last confirmed writing to `target`."""
    state = select_if_exists(
        con,
        f"""select key, payload_hash, payload from {SYNC_STATE.sql}
            where destination = $destination and {_SAME_TARGET}""",
        {"destination": destination, "target": target},
    )
    return pd.DataFrame(columns=["key", "payload_hash", "payload"]) if state is None else state


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """Arrow converts string columns for DuckDB much faster than a pandas object scan."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def record(
    con: duckdb.DuckDBPyConnection,
    spec: SyncSpec,
    run_id: str,
    target: str,
    ops: pd.DataFrame,
    status: str,
    error: str | None,
) -> None:
    """Ledger rows for ops; for confirmed writes, advance the state (one DuckDB transaction)."""
    now = datetime.now(UTC)
    ledger = pd.DataFrame(
        {
            "run_id": run_id,
            "destination": spec.name,
            "key": ops["_key"].astype(str),
            "operation": ops["operation"],
            "status": status,
            "error": error,
            "synced_at": now,
            "target": target,
        }
    )
    con.execute("begin transaction")
    try:
        con.register("_ledger_rows", _arrow(ledger))
        con.execute(f"insert into {SYNC_LEDGER.sql} by name select * from _ledger_rows")
        if status == "ok":
            written = ops[ops["operation"] != "delete"]
            state = pd.DataFrame(
                {
                    "destination": spec.name,
                    "key": written["_key"].astype(str),
                    "payload_hash": written["_hash"].astype(str),
                    "payload": written["_payload"].astype(str),
                    "run_id": run_id,
                    "synced_at": now,
                    "target": target,
                }
            )
            con.register("_touched", _arrow(ops[["_key"]].astype(str)))
            con.register("_state_rows", _arrow(state))
            con.execute(
                f"""delete from {SYNC_STATE.sql} where destination = $destination
                    and {_SAME_TARGET} and key in (select _key from _touched)""",
                {"destination": spec.name, "target": target},
            )
            con.execute(f"insert into {SYNC_STATE.sql} by name select * from _state_rows")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        for name in ("_ledger_rows", "_touched", "_state_rows"):
            try:
                con.unregister(name)
            except Exception:  # noqa: BLE001 - not registered on this path
                pass


def pending_retries(con: duckdb.DuckDBPyConnection, destination: str, target: str) -> set[str]:
    """Keys whose last ledger entry failed: changes a previous run already planned."""
    rows = select_if_exists(
        con,
        f"""select key from {SYNC_LEDGER.sql}
            where destination = $destination and {_SAME_TARGET}
            qualify row_number() over (partition by key order by synced_at desc) = 1
                and status = 'failed'""",
        {"destination": destination, "target": target},
    )
    return set() if rows is None else set(rows["key"])


def read_ledger(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pd.DataFrame:
    """The sync ledger, optionally for one run."""
    if run_id is None:
        ledger = select_if_exists(con, f"select * from {SYNC_LEDGER.sql}")
    else:
        ledger = select_if_exists(
            con, f"select * from {SYNC_LEDGER.sql} where run_id = ?", [run_id]
        )
    return pd.DataFrame() if ledger is None else ledger
