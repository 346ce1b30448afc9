"""Segment membership history: every scoring run's raw and published assignment, kept forever.

One row per customer per run in `monitoring.segment_membership_history`, so any two runs can be
compared (migration, agreement, anti-flapping state). Writing a run is idempotent: recording the
same run id again replaces that run's rows instead of duplicating them.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from orchestration.io import tables
from orchestration.io.warehouse import read_table, table_columns, table_exists

SCHEMA, TABLE = tables.MEMBERSHIP_HISTORY
QUALIFIED = tables.MEMBERSHIP_HISTORY.sql
COLUMNS = [
    "run_id",
    "model_version",
    "scored_at",
    "customer_key",
    "raw_segment_id",
    "published_segment_id",
    "margin",
    "data_as_of",
]
_DDL = f"""
create table if not exists {QUALIFIED} (
    run_id varchar not null,
    model_version varchar,
    scored_at timestamp not null,
    customer_key varchar not null,
    raw_segment_id varchar,
    published_segment_id varchar,
    margin double,
    data_as_of timestamp
)
"""
# Warehouses from before the data clock was recorded gain the column (null: wall clock counts).
_MIGRATE = f"alter table {QUALIFIED} add column if not exists data_as_of timestamp"


def scoring_run_id(model_version: str, scored_at: datetime | pd.Timestamp) -> str:
    """A run id that names one scoring: the same model scoring at the same time is the same run."""
    return f"{model_version}@{pd.Timestamp(scored_at).strftime('%Y%m%dT%H%M%S')}"


def _as_text(values: pd.Series) -> list[str | None]:
    """Segment ids are stored as text (the segmentation uses stable string ids like 'S01')."""
    return [None if pd.isna(v) else str(v) for v in values]


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    model_version: str,
    scored_at: datetime | pd.Timestamp,
    assignments: pd.DataFrame,
    data_as_of: datetime | pd.Timestamp | None = None,
) -> int:
    """Store one run (customer_key, raw_segment_id, published_segment_id, margin); returns rows.

    `data_as_of` is the data's clock at this run (the latest data date): the episodes' cool-down
    counts days of data, so a replayed history or a late run measures the same gaps.

    Replaces any rows already stored for `run_id` in one transaction, so a retried run never
    leaves duplicates or a half-written run behind.
    """
    missing = {"customer_key", "raw_segment_id", "published_segment_id", "margin"} - set(
        assignments
    )
    if missing:
        raise ValueError(f"assignments lack columns: {sorted(missing)}")
    frame = pd.DataFrame(
        {
            "run_id": run_id,
            "model_version": model_version,
            "scored_at": pd.Timestamp(scored_at),
            "customer_key": assignments["customer_key"].astype(str).to_numpy(),
            "raw_segment_id": _as_text(assignments["raw_segment_id"]),
            "published_segment_id": _as_text(assignments["published_segment_id"]),
            "margin": assignments["margin"].astype(float).to_numpy(),
            "data_as_of": pd.Timestamp(data_as_of) if data_as_of is not None else pd.NaT,
        },
        columns=COLUMNS,
    )
    con.execute(f'create schema if not exists "{SCHEMA}"')
    con.execute(_DDL)
    con.execute(_MIGRATE)
    con.register("_history_frame", frame)
    try:
        con.execute("begin transaction")
        con.execute(f"delete from {QUALIFIED} where run_id = ?", [run_id])
        con.execute(f"insert into {QUALIFIED} by name select * from _history_frame")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_history_frame")
    return len(frame)


def list_runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per stored run, oldest first: run_id, model_version, scored_at, customers."""
    if not table_exists(con, SCHEMA, TABLE):
        return pd.DataFrame(columns=["run_id", "model_version", "scored_at", "customers"])
    return con.execute(
        f"""
        select run_id, any_value(model_version) as model_version, max(scored_at) as scored_at,
               count(*) as customers
        from {QUALIFIED}
        group by run_id
        order by scored_at, run_id
        """
    ).df()


def runs_before(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    data_as_of: datetime | pd.Timestamp | None,
) -> list[str]:
    """Stored runs other than `run_id` on older data, oldest first: what anti-flapping counts.

    A run on the same data as an earlier one (a re-run with nothing new, a retrain asked for on
    the same files) is not new evidence that a move persists, so runs whose data date is not
    older than `data_as_of` are left out and the re-run repeats the earlier run's decision.
    Runs recorded before the data clock was stored (no date) always count.
    """
    runs = list_runs(con)
    runs = runs[runs["run_id"] != run_id]
    if data_as_of is None or runs.empty or "data_as_of" not in table_columns(con, SCHEMA, TABLE):
        return list(runs["run_id"])
    dates = con.execute(
        f"select run_id, max(data_as_of) as data_as_of from {QUALIFIED} group by run_id"
    ).df()
    dated = runs.merge(dates, on="run_id", how="left")
    older = dated["data_as_of"].isna() | (
        pd.to_datetime(dated["data_as_of"]) < pd.Timestamp(data_as_of)
    )
    return list(dated.loc[older, "run_id"])


def load_run(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """All rows of one run (empty frame with the history columns when unknown)."""
    if not table_exists(con, SCHEMA, TABLE):
        return pd.DataFrame(columns=COLUMNS)
    return con.execute(
        f"select * from {QUALIFIED} where run_id = ? order by customer_key", [run_id]
    ).df()


def previous_run_id(
    con: duckdb.DuckDBPyConnection, current_run_id: str | None = None
) -> str | None:
    """The latest stored run other than `current_run_id` that was scored before it (or None)."""
    runs = list_runs(con)
    if current_run_id is not None and current_run_id in set(runs["run_id"]):
        current_at = runs.loc[runs["run_id"] == current_run_id, "scored_at"].iloc[0]
        runs = runs[(runs["run_id"] != current_run_id) & (runs["scored_at"] <= current_at)]
    return None if runs.empty else str(runs["run_id"].iloc[-1])


def load_previous_run(
    con: duckdb.DuckDBPyConnection, current_run_id: str | None = None
) -> pd.DataFrame:
    """Assignments of the run before `current_run_id` (the latest run when None)."""
    run_id = previous_run_id(con, current_run_id)
    return pd.DataFrame(columns=COLUMNS) if run_id is None else load_run(con, run_id)


def load_history(con: duckdb.DuckDBPyConnection, run_ids: list[str] | None = None) -> pd.DataFrame:
    """The stored rows of the given runs (all runs when None), ordered by scored_at."""
    if not table_exists(con, SCHEMA, TABLE) or (run_ids is not None and not run_ids):
        return pd.DataFrame(columns=COLUMNS)
    if run_ids is None:
        frame = read_table(con, SCHEMA, TABLE)
    else:
        frame = con.execute(
            f"select * from {QUALIFIED} where list_contains(?, run_id)", [list(run_ids)]
        ).df()
    return frame.sort_values(["scored_at", "customer_key"], ignore_index=True)
