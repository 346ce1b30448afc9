"""Writing a sync's operations to its destination through SQLAlchemy: staged, set-based batches.

Each batch is copied into a temporary stage table (COPY on PostgreSQL, executemany elsewhere) and
moved into the destination table by a few portable statements (UPDATE ... FROM, INSERT ... ON
CONFLICT), in one destination transaction, retried with exponential backoff. Rows this system
writes carry the `WRITTEN_BY` marker; it only ever updates or deletes its own rows. `read_back`
returns the rows we own as the destination holds them (the base every sync plans against).
"""

from __future__ import annotations

import io
import time

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ml_assets.activation import SyncOptions, SyncSpec
from orchestration.io.destinations import DESTINATION_TABLES, WRITTEN_BY, scrub

STAGE_TABLE = "_activation_batch"
OP_COLUMN = "_op"


def _owned(table: sa.Table) -> sa.ColumnElement[bool]:
    """Which rows of a destination table are ours: CRM accounts carrying our fields, and the
    rows of the other tables marked as written by us."""
    if "written_by" in table.c:
        return table.c.written_by == WRITTEN_BY
    return table.c.model_version.is_not(None)


def destination_table(spec: SyncSpec) -> sa.Table:
    """The SQLAlchemy table the sync writes."""
    return DESTINATION_TABLES[spec.table]


def _stage_table(spec: SyncSpec) -> sa.Table:
    """A temporary table shaped like the payload plus the operation, dropped at commit."""
    columns = [sa.Column(c, destination_table(spec).c[c].type) for c in spec.columns]
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
    rather than one Python call per value. PostgreSQL text never holds NUL, so it is the joint;
    a value carrying one is refused here (the sync skips such rows before they get this far).
    """
    columns = []
    for name in frame.columns:
        values = frame[name]
        strings = values.astype(str).tolist()
        text = "\x00".join(strings)
        if text.count("\x00") != max(len(strings) - 1, 0):
            raise ValueError(f"column {name!r} has a value with a NUL character")
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
    table = spec.table
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


def existing_keys(engine: Engine, spec: SyncSpec, keys: list[str]) -> set[str]:
    """Which of these keys exist in the destination table."""
    if not sa.inspect(engine).has_table(spec.table):
        return set()
    column = destination_table(spec).c[spec.key_columns[0]]
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


def read_back(engine: Engine, spec: SyncSpec) -> tuple[pd.DataFrame, set[str]]:
    """The rows we own as the destination holds them (spec.columns), and the keys of rows
    another writer holds (they block ours); both empty before the table exists."""
    table = destination_table(spec)
    empty = pd.DataFrame(columns=list(spec.columns))
    if not sa.inspect(engine).has_table(spec.table):
        return empty, set()
    columns = [table.c[c] for c in spec.columns]
    with engine.connect() as conn:
        held = pd.DataFrame(
            conn.execute(sa.select(*columns).where(_owned(table))).all(),
            columns=list(spec.columns),
        )
        foreign: set[str] = set()
        if "written_by" in table.c:
            keys = [table.c[c] for c in spec.key_columns]
            rows = conn.execute(sa.select(*keys).where(table.c.written_by != WRITTEN_BY))
            foreign = {"|".join(map(str, row)) for row in rows}
    return (held if len(held) else empty), foreign


def write_with_retries(
    engine: Engine, spec: SyncSpec, batch: pd.DataFrame, options: SyncOptions
) -> str | None:
    """Write one batch in one transaction; None on success, else the last error."""
    for attempt in range(options.retries + 1):
        try:
            with engine.begin() as conn:
                _write_batch(conn, spec, batch, options)
            return None
        except sa.exc.SQLAlchemyError as exc:
            detail = scrub(str(exc.orig or exc).strip(), engine.url)
            error = f"{type(exc.orig or exc).__name__}: {detail}"[:1000]
            if attempt < options.retries:
                time.sleep(options.backoff_seconds * 2**attempt)
    return error
