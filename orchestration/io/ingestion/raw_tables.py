"""The raw, quarantine and load-ledger tables: their names, columns and DDL.

``raw.<table>`` holds a contract table's good rows with their contract types,
``raw_quarantine.<table>`` its bad rows as text with the reason, and ``raw._load_ledger`` one row
per landing file seen. Every table exists (empty) from the first load on, so absent sources still
have the contract's schema downstream.
"""

from __future__ import annotations

import duckdb

from orchestration.io import tables
from orchestration.io.contract import DUCKDB_TYPES, LOAD_COLUMNS, RAW_TABLES, Column, RawTable
from orchestration.io.tables import Table

LEDGER_COLUMNS = {
    "file": "VARCHAR",  # path relative to the landing folder
    "table": "VARCHAR",
    "content_hash": "VARCHAR",  # sha256 of the file's bytes
    "file_size": "BIGINT",
    "file_mtime_ns": "BIGINT",
    "rows_in": "BIGINT",
    "rows_loaded": "BIGINT",
    "rows_quarantined": "BIGINT",
    "quarantine_reasons": "VARCHAR",  # JSON object: reason -> rows
    "status": "VARCHAR",  # loaded / skipped_duplicate / rejected / failed
    "error": "VARCHAR",
    "loaded_at": "TIMESTAMPTZ",
}
QUARANTINE_COLUMNS = {
    "_source_file": "VARCHAR",
    "_source_line": "BIGINT",
    "_reason": "VARCHAR",
    "_loaded_at": "TIMESTAMPTZ",
}
# A single-column text key is unique per row, so a dictionary never pays for it: naming FSST
# spares the insert DuckDB's trial of every method on it (a third of a product-events load).
KEY_COMPRESSION = "fsst"
# The ledger's status of a file. Rejected: the file's content is the reason (a changed file is
# looked at again). Failed: not the content (out of memory, interrupted), so it is loaded again
# on the next run.
LOADED, SKIPPED_DUPLICATE, REJECTED, FAILED = "loaded", "skipped_duplicate", "rejected", "failed"


def quote(name: str) -> str:
    """A quoted SQL identifier (file headers can hold any character, quotes included)."""
    return '"' + name.replace('"', '""') + '"'


def raw_table(name: str) -> Table:
    """raw.<name>: the contract table's loaded rows."""
    return Table(tables.RAW_SCHEMA, name)


def quarantine_table(name: str) -> Table:
    """raw_quarantine.<name>: the contract table's rejected rows, as text, with the reason."""
    return Table(tables.QUARANTINE_SCHEMA, name)


def use_utc(con: duckdb.DuckDBPyConnection) -> None:
    # Naive timestamps in files mean UTC; TIMESTAMPTZ casts read them in the session time zone.
    con.execute("SET TimeZone = 'UTC'")
    # Line numbers are the order rows were read in: keep it (DuckDB's default, made explicit).
    con.execute("SET preserve_insertion_order = true")


def _raw_type(spec: RawTable, col: Column) -> str:
    """The column's DDL type in raw.<table>: its contract type, FSST for a one-column text key."""
    if spec.primary_key == (col.name,) and col.type == "string":
        return f"{DUCKDB_TYPES[col.type]} USING COMPRESSION {KEY_COMPRESSION}"
    return DUCKDB_TYPES[col.type]


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and quarantine schemas, one empty table per contract table, and the ledger.

    Existing tables are left as they are, so absent sources still exist with the contract schema.
    """
    use_utc(con)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {tables.RAW_SCHEMA}")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {tables.QUARANTINE_SCHEMA}")
    for spec in RAW_TABLES.values():
        raw_cols = [(c.name, _raw_type(spec, c)) for c in spec.columns] + list(LOAD_COLUMNS.items())
        quarantine_cols = [(c.name, "VARCHAR") for c in spec.columns] + list(
            QUARANTINE_COLUMNS.items()
        )
        for target, cols in (
            (raw_table(spec.name), raw_cols),
            (quarantine_table(spec.name), quarantine_cols),
        ):
            ddl = ", ".join(f"{quote(name)} {type_}" for name, type_ in cols)
            con.execute(f"CREATE TABLE IF NOT EXISTS {target.sql} ({ddl})")
    ddl = ", ".join(f"{quote(name)} {type_}" for name, type_ in LEDGER_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {tables.LOAD_LEDGER.sql} ({ddl})")


def add_extra_columns(con: duckdb.DuckDBPyConnection, table: str, extras: list[str]) -> None:
    """Text columns for a file's columns beyond the contract, in the raw and quarantine tables."""
    # Outside the file's transaction: an empty extra column left by a killed load is harmless.
    for target in (raw_table(table), quarantine_table(table)):
        for name in extras:
            con.execute(f"ALTER TABLE {target.sql} ADD COLUMN IF NOT EXISTS {quote(name)} VARCHAR")


def loaded_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(column, data type) of raw.<table> as loaded: contract, extra and load columns, in order."""
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        list(raw_table(table)),
    ).fetchall()


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows in raw.<table>."""
    return int(con.execute(f"SELECT count(*) FROM {raw_table(table).sql}").fetchone()[0])
