"""The event taxonomy as the warehouse holds it: unmapped raw event names with their volume and a
suggested canonical event (the suggestion is ml_assets.taxonomy's). Read by `make taxonomy` and
the unmapped_event_names check."""

from __future__ import annotations

import duckdb
import pandas as pd

from ml_assets.taxonomy import unmapped_with_suggestions
from orchestration.io import tables
from orchestration.io.warehouse import read_table


def unmapped_event_names(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """int_events_unmapped, most frequent first, with suggestions from int_event_taxonomy; empty
    before dbt has built them (or when every name is mapped)."""
    unmapped = read_table(con, *tables.EVENTS_UNMAPPED)
    taxonomy = read_table(con, *tables.EVENT_TAXONOMY)
    if unmapped.empty or taxonomy.empty:
        return pd.DataFrame(
            columns=[
                "raw_event_name_normalised",
                "event_count",
                "user_count",
                "suggested_canonical_event",
                "matched_name",
                "similarity",
            ]
        )
    return unmapped_with_suggestions(unmapped, taxonomy)
