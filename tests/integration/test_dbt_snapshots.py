"""The two attribute snapshots on generated data: the published customer_attributes is as of the
scoring date (the latest data), customer_attributes_validation as of the validation date (one
outcome window earlier), and each reads only its own past; customer_outcomes reads only the window
after the validation date.

The leakage tests delete raw rows on one side of the validation date, rebuild with the same
scoring date and compare: what must not see those rows does not change.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.support.dbt import run_dbt

SCORING_DATE = "2025-12-31"  # the generated data's last day
VALIDATION_DATE = "2025-10-02"  # SCORING_DATE - 90 days
# Dated activity sources (raw table, timestamp column); subscriptions are state, not activity.
ACTIVITY_SOURCES = [
    ("product_events", "occurred_at"),
    ("billing_invoices", "issued_at"),
    ("support_tickets", "created_at"),
    ("email_events", "occurred_at"),
    ("survey_responses", "submitted_at"),
]


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).df()


def scalar(warehouse: Path, sql: str):
    return query(warehouse, sql).iloc[0, 0]


def rebuilt_without(source: Path, tmp_path: Path, deletes: list[str]) -> Path:
    """A copy of the built warehouse with raw rows deleted, rebuilt at the same scoring date
    (a full refresh: an incremental staging model only adds rows, it never forgets deleted ones)."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(source, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        for statement in deletes:
            con.execute(statement)
    run_dbt(
        [
            "run",
            "--full-refresh",
            "--exclude",
            "tag:reporting",
            "--vars",
            f"{{scoring_date: '{SCORING_DATE}'}}",
        ],
        warehouse,
    )
    return warehouse


def assert_same_rows(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Equal frames up to float rounding (averages may sum in a different order)."""
    left = left.sort_values("customer_key").reset_index(drop=True)
    right = right.sort_values("customer_key").reset_index(drop=True)
    assert list(left.columns) == list(right.columns)
    assert left["customer_key"].tolist() == right["customer_key"].tolist()
    for column in left.columns:
        if left[column].dtype.kind == "f":
            same = np.isclose(left[column], right[column], rtol=1e-9, equal_nan=True)
        else:
            same = (left[column] == right[column]) | (left[column].isna() & right[column].isna())
        assert same.all(), (column, left.loc[~same, ["customer_key", column]].head())


def test_reference_period_has_both_dates(built_warehouse):
    period = query(built_warehouse, "select * from marts.reference_period")
    assert len(period) == 1
    row = period.astype(str).iloc[0]  # column-wise: dates print without a time
    assert (
        row["scoring_date"]
        == row["latest_activity_date"]
        == row["outcome_end_date"]
        == SCORING_DATE
    )
    assert row["validation_date"] == row["reference_date"] == VALIDATION_DATE
    assert period["outcome_window_days"].iloc[0] == 90


def test_published_snapshot_is_as_of_the_latest_data(built_warehouse):
    published = query(built_warehouse, "select * from marts.customer_attributes")
    validation = query(built_warehouse, "select * from marts.customer_attributes_validation")
    assert (published["reference_date"].astype(str) == SCORING_DATE).all()
    assert (validation["reference_date"].astype(str) == VALIDATION_DATE).all()
    assert list(published.columns) == list(validation.columns)
    assert sorted(published["customer_key"]) == sorted(validation["customer_key"])
    # The published 90-day windows count every attributed event of the last 90 days of data.
    events = scalar(
        built_warehouse,
        "select count(*) from intermediate.int_events_attributed "
        f"where customer_key is not null and event_date > date '{VALIDATION_DATE}'",
    )
    assert events > 0 and published["events_90d"].sum() == events


def test_quiet_customer_active_on_the_newest_day_shows_only_in_published(built_warehouse):
    """Active on the last day after weeks of quiet: published sees it, validation cannot."""
    both = query(
        built_warehouse,
        "select p.customer_key, p.days_since_last_activity as published_days, p.events_30d, "
        "v.days_since_last_activity as validation_days "
        "from marts.customer_attributes as p "
        "join marts.customer_attributes_validation as v using (customer_key)",
    )
    newest_day = both[both["published_days"] == 0]
    assert len(newest_day) > 0
    assert (newest_day["events_30d"] > 0).all()
    # what the validation snapshot says is measured from its own date, never from later activity
    assert (both["validation_days"].dropna() >= 0).all()
    returned = newest_day[
        newest_day["validation_days"].isna() | (newest_day["validation_days"] >= 14)
    ]
    assert len(returned) > 0, "no customer quiet at the validation date and active on the last day"


def test_validation_snapshot_reads_nothing_after_its_date(built_warehouse, tmp_path):
    cutoff = f"timestamptz '{VALIDATION_DATE} 00:00:00+00' + interval 1 day"
    deletes = [
        f"delete from raw.{table} where {col} >= {cutoff}" for table, col in ACTIVITY_SOURCES
    ]
    rebuilt = rebuilt_without(built_warehouse, tmp_path, deletes)
    period = query(rebuilt, "select scoring_date, validation_date from marts.reference_period")
    assert period.astype(str).iloc[0].tolist() == [SCORING_DATE, VALIDATION_DATE]
    assert_same_rows(
        query(built_warehouse, "select * from marts.customer_attributes_validation"),
        query(rebuilt, "select * from marts.customer_attributes_validation"),
    )
    # the published snapshot did read those rows
    published_events = "select sum(events_30d) from marts.customer_attributes"
    assert scalar(rebuilt, published_events) < scalar(built_warehouse, published_events)


def test_outcomes_read_nothing_before_the_validation_date(built_warehouse, tmp_path):
    cutoff = f"timestamptz '{VALIDATION_DATE} 00:00:00+00' + interval 1 day"
    rebuilt = rebuilt_without(
        built_warehouse, tmp_path, [f"delete from raw.billing_invoices where issued_at < {cutoff}"]
    )
    before = query(built_warehouse, "select * from marts.customer_outcomes")
    assert before["revenue_after"].sum() > 0
    assert_same_rows(before, query(rebuilt, "select * from marts.customer_outcomes"))
    # the validation snapshot did read those invoices
    validation_revenue = "select sum(lifetime_revenue) from marts.customer_attributes_validation"
    assert scalar(rebuilt, validation_revenue) < scalar(built_warehouse, validation_revenue)


@pytest.mark.parametrize("snapshot", ["customer_attributes", "customer_attributes_validation"])
def test_snapshots_documented_in_the_manifest(dbt_manifest, snapshot):
    nodes = json.loads(dbt_manifest.read_text())["nodes"]
    node = next(n for n in nodes.values() if n.get("name") == snapshot)
    published = next(n for n in nodes.values() if n.get("name") == "customer_attributes")
    assert len(node["description"]) > 100
    assert list(node["columns"]) == list(published["columns"])
    assert all(len(column["description"]) > 20 for column in node["columns"].values())
