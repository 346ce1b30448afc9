"""What the training decision reads and where it is recorded: the data's own clock (the latest
data date of marts.reference_period), monitoring's drift verdict, and segmentation.training_log."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from ml_assets.flags import as_flags
from orchestration.io import tables
from orchestration.io.warehouse import append_table, read_table, table_exists

# Newest first: the first of these that reference_period has is the data's "now".
DATA_DATE_COLUMNS = ("scoring_date", "latest_activity_date", "outcome_end_date")


def data_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The latest data date: cadences count days of data, so a replayed history ages models."""
    period = read_table(con, *tables.REFERENCE_PERIOD)
    for column in DATA_DATE_COLUMNS:
        if column in period and not period[column].dropna().empty:
            return pd.Timestamp(period[column].dropna().iloc[0]).to_pydatetime()
    return None


def drift_recommendation(
    con: duckdb.DuckDBPyConnection, trained_at: datetime | None = None
) -> str | None:
    """The drift verdict's sentence when the latest drift measurement recommends redefining the
    segments (ml_assets.monitoring.drift: segment sizes shift, or most features drift together).

    Only drift in data newer than what the model was trained on counts: a model retrained on the
    drift's evidence (or after it) has absorbed it, so the same measurement never triggers a
    second retrain, e.g. in a run without new files. Drift rows carry the data date of the run
    that measured them (`data_as_of`) and the run's verdict (`redefinition_recommended`,
    `verdict`); rows written before those columns existed fall back to "any major feature".
    """
    if not table_exists(con, *tables.FEATURE_DRIFT):
        return None
    drift = read_table(con, *tables.FEATURE_DRIFT)
    if trained_at is not None and "data_as_of" in drift:
        measured = pd.to_datetime(drift["data_as_of"])
        drift = drift[measured.isna() | (measured > pd.Timestamp(trained_at))]
    recommending = recommending_drift(drift)
    if recommending.empty:
        return None
    if "verdict" in recommending:
        return str(recommending["verdict"].iloc[0])
    major = recommending.sort_values("psi", ascending=False)
    return "major drift (PSI >= 0.25) on " + ", ".join(major["feature"].head(5))


def recommending_drift(drift: pd.DataFrame) -> pd.DataFrame:
    """The feature_drift rows whose run recommends redefining the segments: the stored verdict
    (`redefinition_recommended`), or for rows written before it existed any major feature."""
    if "redefinition_recommended" in drift:
        return drift[as_flags(drift["redefinition_recommended"])]
    return drift[drift["band"] == "major"]


def record_decision(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    """Append one retrain-or-keep decision to segmentation.training_log."""
    append_table(con, *tables.TRAINING_LOG, pd.DataFrame([row]))


def training_log(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return read_table(con, *tables.TRAINING_LOG)
