"""Sync state and sync ledger in the warehouse: what each sync last confirmed writing, and what
every run did.

`activation.sync_state` holds per sync, target database and key the hash and payload last
confirmed written (what we believe the destination holds; the sync compares it with what the
destination really holds). The target is the id the destination stores for itself, so a
respelled URL, another password or a rebuilt warehouse keeps to one state per database; never a
URL with credentials. `activation.sync_ledger` records every row of every run with its status:
a run's writes are recorded as `planned` once past the guard and settled (`ok` / `failed`) batch
by batch, so a row whose last entry failed, or was left planned by an interrupted run, is
retried by the next run without a new approval.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_assets.activation import SyncSpec
from orchestration.io import destinations
from orchestration.io.activation.inputs import select_if_exists
from orchestration.io.tables import SYNC_LEDGER, SYNC_STATE

_STATE_NAMES = ("_ledger_rows", "_touched", "_state_rows")


def target_of(engine: Engine, create: bool = True) -> str:
    """The database a sync writes to, as recorded in the state and ledger.

    The id stored in the destination (created on first use unless `create` is false, as in a
    dry run); without one, the URL normalised to the database it names, without credentials.
    """
    try:
        identity = (
            destinations.ensure_identity(engine) if create else destinations.read_identity(engine)
        )
    except sa.exc.ProgrammingError:  # e.g. a user that may not create tables: the fallback
        identity = None
    return f"destination:{identity}" if identity else destinations.normalised_url(engine.url)


def rekey_legacy_target(con: duckdb.DuckDBPyConnection, engine: Engine, target: str) -> None:
    """State and ledger rows that older versions keyed by the URL (password hidden, but query
    options such as ?password= in plain text) move to the destination's id."""
    legacy = engine.url.render_as_string(hide_password=True)
    for table in (SYNC_STATE, SYNC_LEDGER):
        try:
            con.execute(
                f"update {table.sql} set target = $target where target = $legacy",
                {"target": target, "legacy": legacy},
            )
        except duckdb.CatalogException:  # no table yet
            pass


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


def _advance_state(
    con: duckdb.DuckDBPyConnection, spec: SyncSpec, run_id: str, target: str, ops: pd.DataFrame
) -> None:
    """State rows for the ops' keys: the written payloads; deleted keys are dropped."""
    written = ops[ops["operation"] != "delete"]
    state = pd.DataFrame(
        {
            "destination": spec.name,
            "key": written["_key"].astype(str),
            "payload_hash": written["_hash"].astype(str),
            "payload": written["_payload"].astype(str),
            "run_id": run_id,
            "synced_at": datetime.now(UTC),
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


def _in_transaction(con: duckdb.DuckDBPyConnection, work) -> None:
    con.execute("begin transaction")
    try:
        work()
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        for name in _STATE_NAMES:
            try:
                con.unregister(name)
            except Exception:  # noqa: BLE001 - not registered on this path
                pass


def record(
    con: duckdb.DuckDBPyConnection,
    spec: SyncSpec,
    run_id: str,
    target: str,
    ops: pd.DataFrame,
    status: str,
    error: str | None,
) -> None:
    """New ledger rows for ops (planned, skipped, ...); `ok` also advances the state."""
    ledger = pd.DataFrame(
        {
            "run_id": run_id,
            "destination": spec.name,
            "key": ops["_key"].astype(str),
            "operation": ops["operation"],
            "status": status,
            "error": error,
            "synced_at": datetime.now(UTC),
            "target": target,
        }
    )

    def work() -> None:
        con.register("_ledger_rows", _arrow(ledger))
        con.execute(f"insert into {SYNC_LEDGER.sql} by name select * from _ledger_rows")
        if status == "ok":
            _advance_state(con, spec, run_id, target, ops)

    _in_transaction(con, work)


def settle(
    con: duckdb.DuckDBPyConnection,
    spec: SyncSpec,
    run_id: str,
    target: str,
    ops: pd.DataFrame,
    status: str,
    error: str | None,
) -> None:
    """Settle this run's planned ledger rows of ops; for confirmed writes, advance the state."""

    def work() -> None:
        con.register("_touched", _arrow(ops[["_key"]].astype(str)))
        con.execute(
            f"""update {SYNC_LEDGER.sql} set status = $status, error = $error, synced_at = $now
                where run_id = $run_id and destination = $destination and status = 'planned'
                and key in (select _key from _touched)""",
            {
                "status": status,
                "error": error,
                "now": datetime.now(UTC),
                "run_id": run_id,
                "destination": spec.name,
            },
        )
        if status == "ok":
            _advance_state(con, spec, run_id, target, ops)

    _in_transaction(con, work)


def adopt(
    con: duckdb.DuckDBPyConnection,
    spec: SyncSpec,
    run_id: str,
    target: str,
    rows: pd.DataFrame,
    stale_keys: list[str],
) -> None:
    """Rebuild the state from the read-back: `rows` (keyed) the destination already holds as
    desired, `stale_keys` neither desired nor held. Writes no ledger rows."""
    if rows.empty and not stale_keys:
        return

    def work() -> None:
        if len(rows):
            _advance_state(con, spec, run_id, target, rows.assign(operation="adopt"))
        if stale_keys:
            con.register("_touched", _arrow(pd.DataFrame({"_key": stale_keys})))
            con.execute(
                f"""delete from {SYNC_STATE.sql} where destination = $destination
                    and {_SAME_TARGET} and key in (select _key from _touched)""",
                {"destination": spec.name, "target": target},
            )

    _in_transaction(con, work)


def pending_retries(con: duckdb.DuckDBPyConnection, destination: str, target: str) -> set[str]:
    """Keys whose last ledger entry failed or stayed planned (an interrupted run): changes a
    previous run already planned, and the guard let through."""
    rows = select_if_exists(
        con,
        f"""select key from {SYNC_LEDGER.sql}
            where destination = $destination and {_SAME_TARGET}
            qualify row_number() over (partition by key order by synced_at desc) = 1
                and status in ('failed', 'planned')""",
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
