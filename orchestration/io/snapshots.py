"""Feature snapshots: a sample of each scoring run's raw feature values, the PSI reference of the
next run (`monitoring.feature_snapshots`, long format, the last SNAPSHOT_RUNS_KEPT runs)."""

from __future__ import annotations

import duckdb
import pandas as pd

from orchestration.io import history, tables
from orchestration.io.warehouse import table_exists

SNAPSHOT_SAMPLE = 20_000
SNAPSHOT_RUNS_KEPT = 10


def load_snapshot(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """The feature sample stored for a run, wide (one column per feature)."""
    if not table_exists(con, *tables.FEATURE_SNAPSHOTS):
        return pd.DataFrame()
    long = con.execute(
        f"select row_no, feature, value from {tables.FEATURE_SNAPSHOTS.sql} where run_id = ?",
        [run_id],
    ).df()
    return long.pivot(index="row_no", columns="feature", values="value") if len(long) else long


def store_snapshot(con: duckdb.DuckDBPyConnection, run_id: str, values: pd.DataFrame) -> int:
    """Keep a sample of this run's raw feature values (long format) for the next run's PSI."""
    sample = values.sample(n=min(SNAPSHOT_SAMPLE, len(values)), random_state=0).reset_index(
        drop=True
    )
    long = (
        sample.astype(float)
        .rename_axis("row_no")
        .reset_index()
        .melt(id_vars="row_no", var_name="feature", value_name="value")
        .assign(run_id=run_id)
    )
    qualified = tables.FEATURE_SNAPSHOTS.sql
    con.execute(
        f"create table if not exists {qualified} "
        "(run_id varchar, row_no bigint, feature varchar, value double)"
    )
    keep = list(history.list_runs(con)["run_id"].iloc[-SNAPSHOT_RUNS_KEPT:])
    con.register("_snapshot", long)
    try:
        con.execute(
            f"delete from {qualified} where run_id = ? or not list_contains(?, run_id)",
            [run_id, keep + [run_id]],
        )
        con.execute(f"insert into {qualified} by name select * from _snapshot")
    finally:
        con.unregister("_snapshot")
    return len(long)
