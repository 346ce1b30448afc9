"""Short-lived DuckDB connections to the warehouse.

DuckDB allows one writing process per file, so every caller opens a connection for the
duration of one unit of work and closes it; nothing holds a connection between steps. Every
connection has the memory limit and spill directory dbt's sessions have (DUCKDB_MEMORY_LIMIT,
DUCKDB_TEMP_DIRECTORY): without them DuckDB takes 80% of the machine's RAM for a large load.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.io import settings

LOCK_WAIT_SECONDS = 20.0


def _config(db_path: Path) -> dict[str, str]:
    """Given when the database opens, as for dbt (profiles.yml `config_options`): DuckDB will
    not switch its spill directory once it has been used."""
    return {
        "memory_limit": settings.duckdb_memory_limit(),
        "temp_directory": str(settings.duckdb_temp_directory(db_path)),
    }


def _open(db_path: Path, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, waiting while another process briefly holds the file's lock.

    Inside Dagster the `duckdb` pool serialises writers, but a sensor's read or a `make docs`
    can hold the file for a moment; waiting a little beats failing a run over it.
    """
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only, config=_config(db_path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


@contextmanager
def connect(
    path: Path | str | None = None, read_only: bool = False, wait_seconds: float = LOCK_WAIT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating its folder) and always close it afterwards."""
    db_path = Path(path) if path is not None else settings.warehouse_path()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(db_path, read_only, wait_seconds)
    try:
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    """The table's column names; empty when the table does not exist."""
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def read_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> pd.DataFrame:
    """Whole table as a DataFrame; an empty frame when the table does not exist."""
    if not table_exists(con, schema, table):
        return pd.DataFrame()
    return con.execute(f'select * from "{schema}"."{table}"').df()


def replace_table(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pd.DataFrame
) -> int:
    """Atomically replace schema.table with the frame's rows; returns the row count."""
    con.execute(f'create schema if not exists "{schema}"')
    con.register("_replace_frame", frame)
    try:
        con.execute("begin transaction")
        con.execute(f'create or replace table "{schema}"."{table}" as select * from _replace_frame')
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_replace_frame")
    return len(frame)


def append_table(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pd.DataFrame
) -> int:
    """Append the frame to schema.table, creating it from the frame's schema when missing."""
    con.execute(f'create schema if not exists "{schema}"')
    con.register("_append_frame", frame)
    try:
        if table_exists(con, schema, table):
            con.execute(f'insert into "{schema}"."{table}" by name select * from _append_frame')
        else:
            con.execute(f'create table "{schema}"."{table}" as select * from _append_frame')
    finally:
        con.unregister("_append_frame")
    return len(frame)
