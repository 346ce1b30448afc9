"""Reverse ETL: push segments to the CRM and marketing databases, safe by default.

Three syncs read the warehouse (segments, customers, segment playbooks) and write a destination.
The segment synced per customer is the *published* one of the latest scoring run in
`monitoring.segment_membership_history` (anti-flapping holds boundary customers, so the CRM does
not see them flip); before any run is recorded, `segmentation.customer_segments` is used. Segment
ids are stable text ids ("seg_01"); names and playbooks come from `segment_profiles` by id.

- `crm_account_fields`: update-only upsert of our fields on accounts that exist in the CRM
  (missing accounts are skipped and recorded); a null never overwrites a populated CRM field
  unless `overwrite_nulls`.
- `marketing_audiences`: tracked mirror of audience membership for customers with marketing
  consent; adds who entered, removes who left, and only ever deletes rows this system wrote.
- `csm_tasks`: create-only; one task per customer entering a segment whose playbook asks for
  one, keyed by an idempotency key so re-runs never duplicate.

Safety: each sync diffs the desired rows against `activation.sync_state` (per sync, target
database and key the hash of the payload last confirmed written), so only changes are written;
pointing a sync at another database starts from that database's own state. Changes go out in
batches, one destination transaction each, retried with exponential backoff; rows of a batch that
still fails are recorded as failed in `activation.sync_ledger` and, because their state did not
advance, retried by the next run. A blast-radius guard stops runs that would touch more than a
share of the rows we own in the destination, and a dry run returns the diff without writing.

Pure engine: no Dagster here; `activation_assets` wraps it.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ml_assets.governance import marketing_consented
from orchestration.io import destinations, history, warehouse
from orchestration.io.destinations import WRITTEN_BY

SCHEMA = "activation"
LEDGER_TABLE = "sync_ledger"
STATE_TABLE = "sync_state"
STAGE_TABLE = "_activation_batch"
OP_COLUMN = "_op"

Mode = Literal["update_only", "mirror", "create_only"]


class BlastRadiusExceeded(RuntimeError):
    """A run would change more of the destination than allowed; nothing was written."""


@dataclass(frozen=True)
class SyncOptions:
    dry_run: bool = False
    allow_large_changes: bool = False
    max_change_share: float = 0.25  # of the destination rows this system owns
    batch_size: int = 1000
    retries: int = 2  # extra attempts per failed batch
    backoff_seconds: float = 0.2  # first retry delay, doubled on each further retry
    overwrite_nulls: bool = False  # CRM: let a null replace a populated field


@dataclass(frozen=True)
class SyncSpec:
    """What one sync writes and how it maps the desired rows onto the destination."""

    name: str
    table: Any  # sqlalchemy.Table in destinations
    mode: Mode
    key_columns: tuple[str, ...]  # identify a row in the destination
    columns: tuple[str, ...]  # payload written (includes the key columns)
    hash_columns: tuple[str, ...]  # a change in these means the row must be written again
    owned_rows_sql: str  # counts the destination rows this system owns (blast-radius base)


@dataclass
class SyncResult:
    destination: str
    run_id: str
    dry_run: bool
    preview: pd.DataFrame  # one row per planned operation: key, operation, status, payload
    unchanged: int = 0
    owned_rows: int = 0
    elapsed_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    blocked_reason: str | None = None  # dry run: why a real run would stop (blast radius)

    @property
    def rows_written(self) -> int:
        return (
            self.counts.get("inserted", 0)
            + self.counts.get("updated", 0)
            + self.counts.get("deleted", 0)
        )

    def preview_markdown(self, limit: int = 25) -> str:
        """The first planned operations as a markdown table (for Dagster metadata)."""
        if self.preview.empty:
            return "_no changes_"
        shown = self.preview.head(limit).astype(str)
        header = "| " + " | ".join(shown.columns) + " |"
        rule = "|" + "---|" * len(shown.columns)
        body = [
            "| " + " | ".join(v.replace("|", "\\|") for v in row) + " |" for row in shown.values
        ]
        more = len(self.preview) - len(shown)
        tail = [f"\n_… and {more} more_"] if more > 0 else []
        return "\n".join([header, rule, *body, *tail])


# ---------------------------------------------------------------------------------------------
# The three syncs

CRM_FIELDS = (
    "segment_id",
    "segment_name",
    "playbook_action",
    "model_version",
    "segment_updated_at",
)

SYNCS: dict[str, SyncSpec] = {
    "crm_account_fields": SyncSpec(
        name="crm_account_fields",
        table=destinations.crm_accounts,
        mode="update_only",
        key_columns=("account_id",),
        columns=("account_id", *CRM_FIELDS),
        # segment_updated_at alone changing (a re-assignment at a new time) is not news.
        hash_columns=(
            "account_id",
            "segment_id",
            "segment_name",
            "playbook_action",
            "model_version",
        ),
        owned_rows_sql="select count(*) from crm_accounts where model_version is not null",
    ),
    "marketing_audiences": SyncSpec(
        name="marketing_audiences",
        table=destinations.audience_members,
        mode="mirror",
        key_columns=("audience", "email"),
        columns=("audience", "email", "customer_key"),
        hash_columns=("audience", "email", "customer_key"),
        owned_rows_sql="select count(*) from audience_members where written_by = :marker",
    ),
    "csm_tasks": SyncSpec(
        name="csm_tasks",
        table=destinations.csm_tasks,
        mode="create_only",
        key_columns=("idempotency_key",),
        columns=(
            "idempotency_key",
            "account_id",
            "customer_key",
            "segment_id",
            "segment_name",
            "title",
        ),
        hash_columns=("idempotency_key",),  # a task, once created, is the CSM's to edit
        owned_rows_sql="select count(*) from csm_tasks where written_by = :marker",
    ),
}


@dataclass(frozen=True)
class Inputs:
    segments: pd.DataFrame  # segmentation.customer_segments (raw model assignment)
    customers: pd.DataFrame  # marts.dim_customers
    profiles: pd.DataFrame  # segmentation.segment_profiles
    # The latest run of monitoring.segment_membership_history; None before any run is recorded.
    published: pd.DataFrame | None = None


def _select(
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
    frames = {}
    for schema, table in [
        ("segmentation", "customer_segments"),
        ("marts", "dim_customers"),
        ("segmentation", "segment_profiles"),
    ]:
        frame = _select(con, f'select * from "{schema}"."{table}"')
        if frame is None:
            raise ValueError(f"{schema}.{table} is missing: materialize it before activation")
        frames[table] = frame
    runs = history.list_runs(con)
    published = None if runs.empty else history.load_run(con, str(runs["run_id"].iloc[-1]))
    return Inputs(
        frames["customer_segments"],
        frames["dim_customers"],
        frames["segment_profiles"],
        published,
    )


def assignments(inputs: Inputs) -> pd.DataFrame:
    """The segment to sync per customer: customer_key, segment_id (text), model_version,
    assigned_at, confidence, segment_name (the assignment's own name, if any).

    The published segment of the latest history run when there is one, else the raw segments.
    """
    raw = inputs.segments
    if inputs.published is None or inputs.published.empty:
        frame = raw[raw["segment_id"].notna()].copy()
    else:
        run = inputs.published
        run = run[run["published_segment_id"].notna()]
        frame = pd.DataFrame(
            {
                "customer_key": run["customer_key"].astype(str),
                "segment_id": run["published_segment_id"],
                "model_version": run["model_version"],
                "assigned_at": run["scored_at"],
            }
        )
        if "confidence" in raw.columns:  # tie-break between customers of one CRM account
            confidence = raw.drop_duplicates("customer_key").set_index("customer_key")
            frame["confidence"] = frame["customer_key"].map(confidence["confidence"])
    frame["segment_id"] = frame["segment_id"].astype(str)
    return frame


def _with_profiles(inputs: Inputs) -> pd.DataFrame:
    """Assigned customers with their customer fields and their segment's name and playbook."""
    frame = assignments(inputs)
    customer_cols = ["customer_key", "crm_account_id", "primary_email", "has_marketing_consent"]
    frame = frame.merge(inputs.customers[customer_cols], on="customer_key", how="inner")
    profiles = inputs.profiles.assign(segment_id=inputs.profiles["segment_id"].astype(str))
    if "model_version" in profiles.columns:  # profiles of several models: prefer ours
        ours = profiles["model_version"].astype(str).isin(set(frame["model_version"].astype(str)))
        profiles = profiles.assign(_ours=ours).sort_values("_ours", ascending=False, kind="stable")
    profile_cols = ["segment_id", "segment_name", "playbook_action", "create_csm_task"]
    profiles = profiles.reindex(columns=profile_cols).drop_duplicates("segment_id")
    frame = frame.merge(profiles, on="segment_id", how="left", suffixes=("_assigned", ""))
    if "segment_name_assigned" in frame.columns:  # a segment without a profile keeps its name
        frame["segment_name"] = frame["segment_name"].fillna(frame["segment_name_assigned"])
    return frame


def _label(frame: pd.DataFrame) -> pd.Series:
    """The segment's name for people (audiences, task titles); its id when it has no name."""
    return frame["segment_name"].fillna(frame["segment_id"]).astype(str)


def desired_crm_fields(inputs: Inputs) -> pd.DataFrame:
    """One row per CRM account: its customer's segment (the most confident one on a tie)."""
    frame = _with_profiles(inputs)
    frame = frame[frame["crm_account_id"].notna()]
    sort_by = (
        ["crm_account_id", "confidence"] if "confidence" in frame.columns else ["crm_account_id"]
    )
    frame = frame.sort_values(sort_by, ascending=[True] + [False] * (len(sort_by) - 1))
    frame = frame.drop_duplicates("crm_account_id")
    return pd.DataFrame(
        {
            "account_id": frame["crm_account_id"].astype(str),
            "segment_id": frame["segment_id"].astype(str),
            "segment_name": frame["segment_name"],
            "playbook_action": frame["playbook_action"],
            "model_version": frame["model_version"].astype(str),
            "segment_updated_at": pd.to_datetime(frame["assigned_at"], utc=True),
        }
    )


def desired_audiences(inputs: Inputs) -> pd.DataFrame:
    """Audience members: customers with marketing consent and an email, one audience per segment."""
    frame = marketing_consented(_with_profiles(inputs))  # null consent is no consent
    frame = frame[frame["primary_email"].notna()]
    members = pd.DataFrame(
        {
            "audience": _label(frame),
            "email": frame["primary_email"].astype(str).str.strip().str.lower(),
            "customer_key": frame["customer_key"].astype(str),
        }
    )
    members = members[members["email"] != ""]
    return members.sort_values(["audience", "email", "customer_key"]).drop_duplicates(
        ["audience", "email"]
    )


def desired_csm_tasks(inputs: Inputs) -> pd.DataFrame:
    """One task per customer in a segment whose playbook asks for one, per model version."""
    frame = _with_profiles(inputs)
    frame = frame[frame["create_csm_task"].fillna(False).astype(bool)]
    action = frame["playbook_action"].fillna("Review the account").astype(str)
    return pd.DataFrame(
        {
            "idempotency_key": frame["customer_key"].astype(str)
            + ":"
            + frame["segment_id"].astype(str)
            + ":"
            + frame["model_version"].astype(str),
            "account_id": frame["crm_account_id"].astype(object),
            "customer_key": frame["customer_key"].astype(str),
            "segment_id": frame["segment_id"].astype(str),
            "segment_name": frame["segment_name"],
            "title": action + " (entered segment " + _label(frame) + ")",
        }
    )


DESIRED_BUILDERS: dict[str, Callable[[Inputs], pd.DataFrame]] = {
    "crm_account_fields": desired_crm_fields,
    "marketing_audiences": desired_audiences,
    "csm_tasks": desired_csm_tasks,
}


# ---------------------------------------------------------------------------------------------
# Diff against the last successful sync state


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Python objects with None for every missing value (NaN, NaT, pd.NA)."""
    frame = frame.astype(object)
    return frame.where(frame.notna(), None)


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row (vectorised; timestamps as ISO 8601 UTC strings)."""
    if frame.empty:
        return []
    frame = frame.copy()
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.DatetimeTZDtype) or frame[name].dtype.kind == "M":
            # numpy formats datetimes in C; pandas' JSON writer takes microseconds per value.
            values = pd.to_datetime(frame[name], utc=True).dt.tz_localize(None)
            stamps = values.to_numpy(dtype="datetime64[us]")
            text = np.char.add(np.datetime_as_string(stamps, unit="us"), "Z")
            frame[name] = np.where(pd.isna(stamps), None, text)
    return frame.to_json(orient="records", lines=True).rstrip("\n").split("\n")


def keyed(spec: SyncSpec, desired: pd.DataFrame) -> pd.DataFrame:
    """The desired rows with `_key` (text key), `_hash` (of the hash columns), `_payload` (JSON)."""
    typed = desired[list(spec.columns)].reset_index(drop=True)
    frame = _plain(typed)
    key = frame[spec.key_columns[0]].astype(str)
    for column in spec.key_columns[1:]:
        key = key + "|" + frame[column].astype(str)
    frame["_key"] = key
    # JSON from the typed frame (vectorised) rather than from the Python objects.
    hashed = _json_lines(typed[list(spec.hash_columns)])
    frame["_hash"] = [hashlib.sha1(text.encode()).hexdigest() for text in hashed]
    frame["_payload"] = _json_lines(typed)
    return frame.drop_duplicates("_key")


def plan(spec: SyncSpec, desired: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    """Operations needed to move the destination from `state` to `desired`.

    desired: keyed() rows; state: key, payload_hash, payload (JSON of the written row).
    Returns the payload columns plus _key, _hash, operation (insert/update/delete), sorted by key.
    """
    last = dict(zip(state["key"], state["payload_hash"], strict=True)) if len(state) else {}
    previous = desired["_key"].map(last)
    new = previous.isna()
    changed = ~new & (previous != desired["_hash"])
    if spec.mode == "update_only":
        ops = desired[new | changed].assign(operation="update")
    elif spec.mode == "create_only":
        ops = desired[new].assign(operation="insert")
    else:
        ops = pd.concat(
            [desired[new].assign(operation="insert"), desired[changed].assign(operation="update")]
        )
    if spec.mode == "mirror" and len(state):
        gone = state[~state["key"].isin(set(desired["_key"]))]
        if len(gone):
            removed = pd.DataFrame(
                [json.loads(p) for p in gone["payload"]], columns=list(spec.columns)
            )
            removed["_key"] = gone["key"].to_numpy()
            removed["_hash"] = None
            removed["_payload"] = gone["payload"].to_numpy()
            ops = pd.concat([ops, removed.assign(operation="delete")])
    columns = [*spec.columns, "_key", "_hash", "_payload", "operation"]
    return ops.reindex(columns=columns).sort_values("_key", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Warehouse side: sync state and ledger


def target_of(engine: Engine) -> str:
    """The database a sync writes to, as recorded in the state and ledger (no password)."""
    return engine.url.render_as_string(hide_password=True)


# Rows recorded before `target` existed have none; they count as the current target's, so an
# upgrade does not resend (and trip the blast-radius guard on) everything already synced.
_SAME_TARGET = "coalesce(target, $target) = $target"


def upgrade_warehouse_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Add the target column to state and ledger tables of older versions (no-op otherwise)."""
    for table in (STATE_TABLE, LEDGER_TABLE):
        con.execute(
            f"alter table if exists {SCHEMA}.{table} add column if not exists target varchar"
        )


def ensure_warehouse_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(
        f"""create table if not exists {SCHEMA}.{STATE_TABLE} (
            destination varchar, key varchar, payload_hash varchar, payload varchar,
            run_id varchar, synced_at timestamptz, target varchar)"""
    )
    con.execute(
        f"""create table if not exists {SCHEMA}.{LEDGER_TABLE} (
            run_id varchar, destination varchar, key varchar, operation varchar,
            status varchar, error varchar, synced_at timestamptz, target varchar)"""
    )
    upgrade_warehouse_tables(con)


def read_state(con: duckdb.DuckDBPyConnection, destination: str, target: str) -> pd.DataFrame:
    """key, payload_hash, payload of what `destination` last confirmed writing to `target`."""
    state = _select(
        con,
        f"""select key, payload_hash, payload from {SCHEMA}.{STATE_TABLE}
            where destination = $destination and {_SAME_TARGET}""",
        {"destination": destination, "target": target},
    )
    return pd.DataFrame(columns=["key", "payload_hash", "payload"]) if state is None else state


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """Arrow converts string columns for DuckDB much faster than a pandas object scan."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def _record(
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
        con.execute(f"insert into {SCHEMA}.{LEDGER_TABLE} by name select * from _ledger_rows")
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
                f"""delete from {SCHEMA}.{STATE_TABLE} where destination = $destination
                    and {_SAME_TARGET} and key in (select _key from _touched)""",
                {"destination": spec.name, "target": target},
            )
            con.execute(f"insert into {SCHEMA}.{STATE_TABLE} by name select * from _state_rows")
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


# ---------------------------------------------------------------------------------------------
# Destination side: staged, set-based batch writes


def _stage_table(spec: SyncSpec) -> sa.Table:
    """A temporary table shaped like the payload plus the operation, dropped at commit."""
    columns = [sa.Column(c, spec.table.c[c].type) for c in spec.columns]
    return sa.Table(
        STAGE_TABLE,
        sa.MetaData(),
        *columns,
        sa.Column(OP_COLUMN, sa.String(8)),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )


def copy_text(frame: pd.DataFrame) -> str:
    """The frame in PostgreSQL COPY text format: tab-separated, \\N for null, escaped.

    Escaping runs on each column joined into one string, so it costs C-speed str.replace calls
    rather than one Python call per value.
    """
    columns = []
    for name in frame.columns:
        values = frame[name]
        text = "\x00".join(values.astype(str).tolist())  # PostgreSQL text never holds NUL
        for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            text = text.replace(raw, escaped)
        parts = text.split("\x00")
        missing = values.isna().to_numpy()
        if missing.any():
            parts = ["\\N" if gap else part for part, gap in zip(parts, missing, strict=True)]
        columns.append(parts)
    return "".join("\t".join(row) + "\n" for row in zip(*columns, strict=True))


def _load_stage(conn: Connection, stage: sa.Table, rows: pd.DataFrame) -> None:
    """Fill the stage table: COPY on PostgreSQL, executemany elsewhere."""
    names = [c.name for c in stage.columns]
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        try:
            copy = f"COPY {STAGE_TABLE} ({', '.join(names)}) FROM STDIN"
            cursor.copy_expert(copy, io.StringIO(copy_text(rows)))
        finally:
            cursor.close()
    else:
        records = [dict(zip(names, row, strict=True)) for row in rows.itertuples(False, None)]
        conn.execute(stage.insert(), records)


def _apply_sql(spec: SyncSpec, overwrite_nulls: bool) -> list[str]:
    """Set-based statements moving the staged rows into the destination table.

    Portable across PostgreSQL and SQLite (UPDATE ... FROM, INSERT ... ON CONFLICT).
    """
    table = spec.table.name
    stage = STAGE_TABLE
    if spec.mode == "update_only":
        key = spec.key_columns[0]
        fields = [c for c in spec.columns if c not in spec.key_columns]
        sets = ", ".join(
            f"{c} = s.{c}" if overwrite_nulls else f"{c} = coalesce(s.{c}, {table}.{c})"
            for c in fields
        )
        return [f"update {table} set {sets} from {stage} s where {table}.{key} = s.{key}"]
    columns = ", ".join(spec.columns)
    conflict = ", ".join(spec.key_columns)
    insert = (
        f"insert into {table} ({columns}, written_by) "
        f"select {columns}, :marker from {stage} where {OP_COLUMN} in ('insert', 'update') "
    )
    if spec.mode == "create_only":
        return [insert + f"on conflict ({conflict}) do nothing"]
    updates = ", ".join(f"{c} = excluded.{c}" for c in spec.columns if c not in spec.key_columns)
    match = " and ".join(f"s.{c} = {table}.{c}" for c in spec.key_columns)
    return [
        # Another writer's row for the same member stays theirs: update only our own rows.
        insert + f"on conflict ({conflict}) do update set {updates} "
        f"where {table}.written_by = :marker",
        f"delete from {table} where written_by = :marker and exists "
        f"(select 1 from {stage} s where s.{OP_COLUMN} = 'delete' and {match})",
    ]


def _write_batch(
    conn: Connection, spec: SyncSpec, batch: pd.DataFrame, options: SyncOptions
) -> None:
    stage = _stage_table(spec)
    if conn.dialect.name != "postgresql":  # SQLite temp tables live as long as the connection
        conn.execute(sa.text(f"drop table if exists temp.{STAGE_TABLE}"))
    stage.create(conn)
    _load_stage(conn, stage, batch[[*spec.columns, "operation"]])
    for statement in _apply_sql(spec, options.overwrite_nulls):
        conn.execute(sa.text(statement), {"marker": WRITTEN_BY} if ":marker" in statement else {})
    if conn.dialect.name != "postgresql":
        conn.execute(sa.text(f"drop table temp.{STAGE_TABLE}"))


def _existing_keys(engine: Engine, spec: SyncSpec, keys: list[str]) -> set[str]:
    """Which of these keys exist in the destination table."""
    if not sa.inspect(engine).has_table(spec.table.name):
        return set()
    column = spec.table.c[spec.key_columns[0]]
    found: set[str] = set()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # one array parameter per chunk
            query = sa.select(column).where(column == sa.func.any(sa.bindparam("keys")))
            for start in range(0, len(keys), 50_000):
                chunk = keys[start : start + 50_000]
                found.update(str(v) for v in conn.execute(query, {"keys": chunk}).scalars())
        else:  # embedded: scanning the key column is cheap
            wanted = set(keys)
            found.update(
                v for v in map(str, conn.execute(sa.select(column)).scalars()) if v in wanted
            )
    return found


def _owned_rows(engine: Engine, spec: SyncSpec) -> int:
    if not sa.inspect(engine).has_table(spec.table.name):
        return 0
    with engine.connect() as conn:
        return int(conn.execute(sa.text(spec.owned_rows_sql), {"marker": WRITTEN_BY}).scalar() or 0)


def pending_retries(con: duckdb.DuckDBPyConnection, destination: str, target: str) -> set[str]:
    """Keys whose last ledger entry failed: changes a previous run already planned."""
    rows = _select(
        con,
        f"""select key from {SCHEMA}.{LEDGER_TABLE}
            where destination = $destination and {_SAME_TARGET}
            qualify row_number() over (partition by key order by synced_at desc) = 1
                and status = 'failed'""",
        {"destination": destination, "target": target},
    )
    return set() if rows is None else set(rows["key"])


def check_blast_radius(
    spec: SyncSpec,
    ops: pd.DataFrame,
    owned: int,
    options: SyncOptions,
    pending: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Raise BlastRadiusExceeded when the run would touch too much of what we own.

    Retries of rows that failed in an earlier run do not count: they were planned (and passed
    the guard) then, and a destination outage must not need an override to recover from.
    """
    writes = ops[(ops["operation"] != "skip") & ~ops["_key"].isin(pending)]
    if owned == 0 or options.allow_large_changes or len(writes) == 0:
        return  # first sync into an empty destination, or explicitly allowed
    share = len(writes) / owned
    if share > options.max_change_share:
        by_op = writes["operation"].value_counts().to_dict()
        detail = ", ".join(f"{n} {op}s" for op, n in sorted(by_op.items()))
        raise BlastRadiusExceeded(
            f"{spec.name}: this run would change {len(writes)} of the {owned} destination rows "
            f"this system owns ({share:.1%} > the allowed {options.max_change_share:.1%}): "
            f"{detail}. Nothing was written. If this is expected (a new model version, a "
            f"consent change), re-run with allow_large_changes=True."
        )


# ---------------------------------------------------------------------------------------------
# Running a sync


def run_sync(
    name: str,
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    options: SyncOptions | None = None,
    run_id: str | None = None,
    inputs: Inputs | None = None,
    on_batch: Callable[[int, str], None] | None = None,
) -> SyncResult:
    """Sync one destination from the warehouse behind `con`.

    on_batch(batch_number, status) is called after each batch is settled ('ok' or 'failed'),
    e.g. to report progress.
    """
    options = options or SyncOptions()
    spec = SYNCS[name]
    run_id = run_id or uuid.uuid4().hex[:12]
    started = time.perf_counter()
    target = target_of(engine)
    upgrade_warehouse_tables(con)
    desired = keyed(spec, DESIRED_BUILDERS[name](inputs or read_inputs(con)))
    ops = plan(spec, desired, read_state(con, name, target))
    if spec.mode == "update_only" and len(ops):
        existing = _existing_keys(engine, spec, ops["_key"].tolist())
        ops.loc[~ops["_key"].isin(existing), "operation"] = "skip"
    owned = _owned_rows(engine, spec)
    result = SyncResult(
        destination=name,
        run_id=run_id,
        dry_run=options.dry_run,
        preview=_preview(spec, ops),
        unchanged=len(desired) - int((ops["operation"] != "delete").sum()),
        owned_rows=owned,
    )
    try:
        check_blast_radius(spec, ops, owned, options, pending_retries(con, name, target))
    except BlastRadiusExceeded as exc:
        if not options.dry_run:
            raise
        result.blocked_reason = str(exc)
    if options.dry_run:
        result.counts = _counts(ops.assign(status="planned"))
        result.elapsed_seconds = time.perf_counter() - started
        return result

    ensure_warehouse_tables(con)
    destinations.ensure_tables(engine, spec.table.metadata)
    skipped = ops[ops["operation"] == "skip"]
    if len(skipped):
        _record(con, spec, run_id, target, skipped, "skipped", "not found in the destination")
    writes = ops[ops["operation"] != "skip"]
    statuses = pd.Series("skipped", index=ops.index, dtype=object)
    for number, start in enumerate(range(0, len(writes), options.batch_size), start=1):
        batch = writes.iloc[start : start + options.batch_size]
        error = _write_with_retries(engine, spec, batch, options)
        status = "ok" if error is None else "failed"
        _record(con, spec, run_id, target, batch, status, error)
        statuses.loc[batch.index] = status
        if on_batch:
            on_batch(number, status)
    result.counts = _counts(ops.assign(status=statuses))
    result.preview = _preview(spec, ops.assign(status=statuses))
    result.elapsed_seconds = time.perf_counter() - started
    return result


def _write_with_retries(
    engine: Engine, spec: SyncSpec, batch: pd.DataFrame, options: SyncOptions
) -> str | None:
    """Write one batch in one transaction; None on success, else the last error."""
    for attempt in range(options.retries + 1):
        try:
            with engine.begin() as conn:
                _write_batch(conn, spec, batch, options)
            return None
        except sa.exc.SQLAlchemyError as exc:
            error = f"{type(exc.orig or exc).__name__}: {str(exc.orig or exc).strip()}"[:1000]
            if attempt < options.retries:
                time.sleep(options.backoff_seconds * 2**attempt)
    return error


def _counts(ops: pd.DataFrame) -> dict[str, int]:
    ok = ops[ops["status"].isin(["ok", "planned"])]
    by_op = ok["operation"].value_counts()
    return {
        "inserted": int(by_op.get("insert", 0)),
        "updated": int(by_op.get("update", 0)),
        "deleted": int(by_op.get("delete", 0)),
        "failed": int((ops["status"] == "failed").sum()),
        "skipped": int((ops["operation"] == "skip").sum()),
    }


def _preview(spec: SyncSpec, ops: pd.DataFrame) -> pd.DataFrame:
    columns = ["_key", "operation", *(["status"] if "status" in ops.columns else []), *spec.columns]
    return ops[columns].rename(columns={"_key": "key"}).reset_index(drop=True)


def read_ledger(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pd.DataFrame:
    """The sync ledger, optionally for one run."""
    if run_id is None:
        ledger = _select(con, f"select * from {SCHEMA}.{LEDGER_TABLE}")
    else:
        ledger = _select(con, f"select * from {SCHEMA}.{LEDGER_TABLE} where run_id = ?", [run_id])
    return pd.DataFrame() if ledger is None else ledger


# ---------------------------------------------------------------------------------------------
# Benchmark: `python -m orchestration.io.activation --url postgresql+psycopg2://... --customers N`


def synthetic_segment_id(number: int) -> str:
    """The stable text id of the n-th segment, as the segmentation names them ("seg_01")."""
    return f"seg_{number + 1:02d}"


def synthetic_inputs(n_customers: int, seed: int = 0, segments: int = 6) -> Inputs:
    """Segments, customers and playbooks for n customers (for benchmarks and demos)."""
    rng = np.random.default_rng(seed)
    keys = [f"c{i:07d}" for i in range(n_customers)]
    numbers = rng.integers(0, segments, n_customers)
    customers = pd.DataFrame(
        {
            "customer_key": keys,
            "crm_account_id": [f"A{i:07d}" for i in range(n_customers)],
            "primary_email": [f"user{i}@example.com" for i in range(n_customers)],
            "has_marketing_consent": rng.random(n_customers) < 0.7,
        }
    )
    profiles = pd.DataFrame(
        {
            "segment_id": [synthetic_segment_id(s) for s in range(segments)],
            "segment_name": [f"segment_{s}" for s in range(segments)],
            "playbook_action": [f"Playbook {s}" for s in range(segments)],
            "create_csm_task": [s % 3 == 0 for s in range(segments)],
        }
    )
    assigned = pd.DataFrame(
        {
            "customer_key": keys,
            "segment_id": [synthetic_segment_id(s) for s in numbers],
            "segment_name": [f"segment_{s}" for s in numbers],
            "confidence": rng.random(n_customers),
            "margin": rng.random(n_customers),
            "model_version": "bench-v1",
            "assigned_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    return Inputs(assigned, customers, profiles)


def benchmark(url: str, n_customers: int = 100_000, changed_share: float = 0.01) -> dict[str, Any]:
    """First sync of n customers to `url`, then an incremental sync with a share of them moved.

    Point it at a throwaway database: it drops and recreates the demo destination tables.
    Returns per phase and sync the rows written, seconds and rows/s.
    """
    engine = destinations.create_destination_engine(url)
    inputs = synthetic_inputs(n_customers)
    for metadata in (destinations.crm_metadata, destinations.marketing_metadata):
        metadata.drop_all(engine)
        metadata.create_all(engine)
    # The CRM already knows its accounts; the sync fills in our fields.
    accounts = [{"account_id": a} for a in inputs.customers["crm_account_id"]]
    with engine.begin() as conn:
        conn.execute(destinations.crm_accounts.insert(), accounts)
    options = SyncOptions(batch_size=5000)
    report: dict[str, Any] = {"url": engine.url.render_as_string(), "customers": n_customers}
    with tempfile.TemporaryDirectory() as tmp, warehouse.connect(Path(tmp) / "bench.duckdb") as con:
        for phase in ("first", "incremental"):
            if phase == "incremental":
                inputs = _move_customers(inputs, changed_share)
            results = {name: run_sync(name, con, engine, options, inputs=inputs) for name in SYNCS}
            written = sum(r.rows_written for r in results.values())
            seconds = sum(r.elapsed_seconds for r in results.values())
            report[phase] = {
                "rows_written": written,
                "seconds": round(seconds, 2),
                "rows_per_second": round(written / seconds) if seconds else None,
                "customers_per_second": round(n_customers / seconds) if seconds else None,
                "syncs": {
                    name: {**r.counts, "seconds": round(r.elapsed_seconds, 2)}
                    for name, r in results.items()
                },
            }
    engine.dispose()
    return report


def _move_customers(inputs: Inputs, share: float) -> Inputs:
    """A copy where `share` of the customers moved to the next segment (in profile order)."""
    segments = inputs.segments.copy()
    n_moved = int(len(segments) * share)
    moved = segments.sample(n=n_moved, random_state=1).index
    ids = inputs.profiles["segment_id"].tolist()
    names = dict(zip(ids, inputs.profiles["segment_name"], strict=True))
    following = {sid: ids[(i + 1) % len(ids)] for i, sid in enumerate(ids)}
    segments.loc[moved, "segment_id"] = segments.loc[moved, "segment_id"].map(following)
    segments.loc[moved, "segment_name"] = segments.loc[moved, "segment_id"].map(names)
    segments.loc[moved, "assigned_at"] = pd.Timestamp("2026-02-01", tz="UTC")
    return Inputs(segments, inputs.customers, inputs.profiles)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Benchmark the reverse-ETL syncs.")
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a throwaway database")
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(benchmark(args.url, args.customers), indent=2))
