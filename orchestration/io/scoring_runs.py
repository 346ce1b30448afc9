"""The scoring-run log: every scoring run of the segment model, published or held, and why.

One row per scoring run (`history.scoring_run_id`) in `monitoring.scoring_runs`. A blocking check
that stops publication records the run as held with its reason; the membership-history asset,
which runs only once every blocking check passed, records it as published. So a held run is on
record although it never reaches the membership history. Recording is an upsert by run id: a
re-run replaces its row, and a second blocking check that fails adds its reason to the first.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from orchestration.io import tables
from orchestration.io.warehouse import read_table, table_exists

PUBLISHED = "published"
HELD = "held"
COLUMNS = ["run_id", "scored_at", "model_version", "customers", "status", "reason", "recorded_at"]
_DDL = f"""
create table if not exists {tables.SCORING_RUNS.sql} (
    run_id varchar primary key,
    scored_at timestamp not null,
    model_version varchar,
    customers bigint,
    status varchar not null,
    reason varchar,
    recorded_at timestamp not null
)
"""


def record_scoring_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    scored_at: datetime | pd.Timestamp,
    model_version: str,
    customers: int,
    status: str,
    reason: str,
) -> None:
    """Record one scoring run's outcome. A run already held keeps every reason it was held for
    (checks of one run record one after the other); published replaces the row."""
    if status not in (PUBLISHED, HELD):
        raise ValueError(f"status must be {PUBLISHED!r} or {HELD!r}, got {status!r}")
    con.execute(f'create schema if not exists "{tables.SCORING_RUNS.schema}"')
    con.execute(_DDL)
    con.execute("begin transaction")
    try:
        earlier = con.execute(
            f"select status, reason from {tables.SCORING_RUNS.sql} where run_id = ?", [run_id]
        ).fetchone()
        if status == HELD and earlier and earlier[0] == HELD and reason not in earlier[1]:
            reason = f"{earlier[1]}; {reason}"
        con.execute(f"delete from {tables.SCORING_RUNS.sql} where run_id = ?", [run_id])
        con.execute(
            f"insert into {tables.SCORING_RUNS.sql} values (?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                pd.Timestamp(scored_at).to_pydatetime(),
                model_version,
                int(customers),
                status,
                reason,
                datetime.now(UTC).replace(tzinfo=None),
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def scoring_runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every recorded scoring run, oldest first."""
    if not table_exists(con, *tables.SCORING_RUNS):
        return pd.DataFrame(columns=COLUMNS)
    return read_table(con, *tables.SCORING_RUNS).sort_values(
        ["scored_at", "run_id"], ignore_index=True
    )
