"""What the warehouse holds after a run, as plain rows for the console summary of `make run`."""

from __future__ import annotations

import duckdb

from orchestration.io import tables
from orchestration.io.warehouse import table_exists


def loads_per_table(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(table, files, rows in, loaded, quarantined) over every load in the ledger."""
    if not table_exists(con, *tables.LOAD_LEDGER):
        return []
    return con.execute(
        'select "table", count(*), sum(rows_in), sum(rows_loaded), sum(rows_quarantined) '
        f"from {tables.LOAD_LEDGER.sql} group by 1 order by 1"
    ).fetchall()


def quarantine_reasons(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(table, reason, rows) of everything quarantined, the offending value cut from the reason."""
    quarantined = [
        t
        for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [tables.QUARANTINE_SCHEMA],
        ).fetchall()
    ]
    if not quarantined:
        return []
    union = " union all ".join(
        f"select '{t}' as tbl, _reason from {tables.Table(tables.QUARANTINE_SCHEMA, t).sql}"
        for t in sorted(quarantined)
    )
    return con.execute(
        f"select tbl, regexp_replace(_reason, '=.*', '') as reason, count(*) "
        f"from ({union}) group by 1, 2 order by 1, 3 desc"
    ).fetchall()


def segment_sizes(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(segment id, name, customers) of the current segmentation."""
    if not table_exists(con, *tables.CUSTOMER_SEGMENTS):
        return []
    return con.execute(
        "select segment_id, segment_name, count(*) "
        f"from {tables.CUSTOMER_SEGMENTS.sql} group by 1, 2 order by 1"
    ).fetchall()
