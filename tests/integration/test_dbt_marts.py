"""The dbt marts on generated data: one row per customer, the attribute catalog, quality, outcomes
against the generator's truth, stability across the tracking rename, and the reporting layer.

The marts are built with `dbt build --exclude tag:reporting` (the pre-segmentation build); the
reporting test writes a `segmentation.customer_segments` table itself and builds `tag:reporting`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.io.catalog import CATALOG_FIELDS, load_attribute_catalog
from tests.support.dbt import run_dbt

# Column names other modules code against (issue #3 part 4).
REQUIRED_ATTRIBUTES = [
    "customer_key", "customer_type", "industry", "sector", "country", "employee_count",
    "tenure_days", "current_mrr", "mrr_90d_ago", "mrr_growth_90d", "total_revenue_365d",
    "invoice_count_365d", "avg_invoice_amount", "late_payment_share", "active_subscriptions",
    "active_users_30d", "active_days_30d", "active_days_90d", "events_30d", "events_90d",
    "events_per_active_day_90d", "feature_breadth_90d", "days_since_last_activity",
    "usage_trend_30d", "emails_delivered_90d", "email_open_rate_90d", "email_click_rate_90d",
    "unsubscribed_flag", "tickets_90d", "high_priority_tickets_90d", "avg_resolution_hours_90d",
    "support_csat_avg_365d", "nps_latest", "nps_avg_365d", "contact_count",
    "total_revenue_90d", "invoice_count_90d", "days_since_last_invoice",
]  # fmt: skip
TRACKING_CUTOVER = "2025-06-01"
# A scoring date whose 90-day windows lie wholly before the cutover.
BEFORE_CUTOVER = "2025-05-15"
FLAT_ARCHETYPES = (
    "steady_low_touch",
    "support_heavy",
)  # planted activity does not change over time


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).df()


@pytest.fixture(scope="module")
def marts_warehouse(loaded_warehouse, tmp_path_factory) -> Path:
    """A copy of the loaded warehouse after the pre-segmentation build (models, seeds, tests)."""
    warehouse = tmp_path_factory.mktemp("wh_marts") / "warehouse.duckdb"
    shutil.copy(loaded_warehouse, warehouse)
    run_dbt(["build", "--exclude", "tag:reporting"], warehouse)
    return warehouse


@pytest.fixture(scope="module")
def catalog(marts_warehouse) -> pd.DataFrame:
    return load_attribute_catalog(marts_warehouse.parent / "dbt_target" / "manifest.json")


@pytest.fixture(scope="module")
def company_of_customer(marts_warehouse, generated_landing) -> pd.DataFrame:
    """customer_key -> its true company (majority vote over its identifiers) and the truth."""
    identifiers = pd.read_csv(generated_landing / "_truth" / "identifiers.csv", dtype=str)
    resolved = query(
        marts_warehouse,
        "select identifier_type, identifier, customer_key from intermediate.int_identity_resolved "
        "where customer_key is not null",
    )
    votes = resolved.merge(identifiers, on=["identifier_type", "identifier"])
    majority = (
        votes.groupby(["customer_key", "company_id"]).size().rename("n").reset_index()
        .sort_values(["customer_key", "n"], ascending=[True, False])
        .drop_duplicates("customer_key")
    )  # fmt: skip
    companies = pd.read_csv(
        generated_landing / "_truth" / "companies.csv", dtype={"company_id": str}
    )
    return majority.merge(companies, on="company_id")[
        ["customer_key", "company_id", "archetype", "future_revenue", "churned", "expanded"]
    ]


def test_one_attribute_row_per_customer(marts_warehouse):
    counts = query(
        marts_warehouse,
        "select (select count(*) from marts.dim_customers) as customers, "
        "(select count(distinct customer_key) from marts.customer_attributes) as attribute_keys, "
        "(select count(*) from marts.customer_attributes) as attribute_rows, "
        "(select count(distinct customer_key) from marts.customer_attributes_validation) "
        "as validation_keys, "
        "(select count(*) from marts.customer_attributes_validation) as validation_rows, "
        "(select count(*) from marts.customer_outcomes) as outcome_rows",
    ).iloc[0]
    assert counts["customers"] > 500
    assert counts["attribute_rows"] == counts["attribute_keys"] == counts["customers"]
    assert counts["validation_rows"] == counts["validation_keys"] == counts["customers"]
    assert counts["outcome_rows"] == counts["customers"]


def test_catalog_documents_every_attribute_with_meta(marts_warehouse, catalog):
    columns = query(marts_warehouse, "select * from marts.customer_attributes limit 0").columns
    assert set(catalog["attribute_name"]) == set(columns)
    assert set(REQUIRED_ATTRIBUTES) <= set(columns)
    assert len(catalog) >= 25
    assert catalog[CATALOG_FIELDS].notna().all().all(), catalog[
        catalog[CATALOG_FIELDS].isna().any(axis=1)
    ]
    assert (catalog["description"].str.len() > 20).all()
    assert set(catalog["segmentation_policy"]) <= {"allowed", "prohibited", "sensitive"}
    assert set(catalog["attribute_group"]) <= {
        "identifier", "value", "product", "engagement", "support", "satisfaction", "firmographic",
    }  # fmt: skip
    assert set(catalog["data_type"]) <= {"numeric", "categorical", "boolean", "identifier"}
    by_name = catalog.set_index("attribute_name")
    assert by_name.loc["customer_key", "segmentation_policy"] == "prohibited"
    assert by_name.loc["customer_key", "data_type"] == "identifier"
    assert by_name.loc["country", "segmentation_policy"] == "sensitive"
    assert by_name.loc["customer_type", ["segmentation_policy", "data_type"]].tolist() == [
        "allowed",
        "categorical",
    ]
    assert (
        by_name.loc["events_30d", "behavioural"] and not by_name.loc["current_mrr", "behavioural"]
    )


def test_attribute_quality_has_a_score_per_attribute(marts_warehouse, catalog):
    quality = query(marts_warehouse, "select * from marts.attribute_quality")
    assert sorted(quality["attribute_name"]) == sorted(catalog["attribute_name"])
    for column in ("completeness", "validity", "freshness", "quality_score"):
        assert quality[column].between(0, 1).all(), quality[["attribute_name", column]]
    scores = quality.set_index("attribute_name")
    # Generated data stays inside every documented range; sparse attributes score lower.
    assert (scores["validity"] == 1).all(), scores[scores["validity"] < 1]
    assert scores.loc["current_mrr", "quality_score"] == 1
    assert scores.loc["avg_resolution_hours_90d", "completeness"] < 1
    assert (
        scores.loc["avg_resolution_hours_90d", "quality_score"]
        < scores.loc["tickets_90d", "quality_score"]
    )


def test_counts_zero_filled_and_rates_null_when_undefined(marts_warehouse):
    attributes = query(marts_warehouse, "select * from marts.customer_attributes")
    no_email = attributes[attributes["emails_delivered_90d"] == 0]
    assert (
        no_email["email_open_rate_90d"].isna().all()
        and no_email["email_click_rate_90d"].isna().all()
    )
    with_email = attributes[attributes["emails_delivered_90d"] > 0]
    assert with_email["email_open_rate_90d"].notna().all()
    no_events = attributes[attributes["events_90d"] == 0]
    assert no_events["usage_trend_30d"].isna().all()
    assert (attributes["active_days_30d"] <= attributes["active_days_90d"]).all()
    assert (attributes["events_30d"] <= attributes["events_90d"]).all()
    # published as of the scoring date: the day the data ends
    assert (attributes["reference_date"].astype(str) == "2025-12-31").all()
    validation = query(
        marts_warehouse, "select reference_date from marts.customer_attributes_validation"
    )
    assert (
        validation["reference_date"].astype(str) == "2025-10-02"
    ).all()  # 90 days before the data ends


def test_purchase_recency_frequency_monetary_from_invoices(marts_warehouse):
    """Recency, frequency and monetary value over 90/365 days agree with fct_invoices recomputed
    here, in both snapshots, and nothing after a snapshot's as-of date is read."""
    for snapshot in ("customer_attributes", "customer_attributes_validation"):
        attributes = query(
            marts_warehouse,
            "select customer_key, reference_date, total_revenue_90d, invoice_count_90d, "
            "invoice_count_365d, total_revenue_365d, days_since_last_invoice "
            f"from marts.{snapshot}",
        ).set_index("customer_key")
        as_of = pd.Timestamp(attributes["reference_date"].iloc[0])
        invoices = query(
            marts_warehouse,
            "select customer_key, amount, issued_date from marts.fct_invoices "
            "where customer_key is not null and (status is null or status <> 'void')",
        )
        invoices["issued_date"] = pd.to_datetime(invoices["issued_date"])
        invoices = invoices[invoices["issued_date"] <= as_of]
        recent = invoices[invoices["issued_date"] > as_of - pd.Timedelta(days=90)]
        last_purchase = invoices[invoices["amount"] > 0].groupby("customer_key")["issued_date"]
        expected = pd.DataFrame(
            {
                "revenue": recent.groupby("customer_key")["amount"].sum(),
                "count": recent.groupby("customer_key").size(),
                "recency": (as_of - last_purchase.max()).dt.days,
            }
        ).reindex(attributes.index)
        assert (attributes["invoice_count_90d"] == expected["count"].fillna(0)).all()
        assert (
            (attributes["total_revenue_90d"] - expected["revenue"].fillna(0)).abs() < 0.01
        ).all()
        assert (
            attributes["days_since_last_invoice"]
            .astype("Float64")
            .equals(expected["recency"].astype("Float64"))
        )
        assert (attributes["invoice_count_90d"] <= attributes["invoice_count_365d"]).all()
        assert attributes["days_since_last_invoice"].notna().sum() > 100
        assert (attributes["days_since_last_invoice"].dropna() >= 0).all()


def test_dim_customers_contacts_and_consent(marts_warehouse):
    dim = query(marts_warehouse, "select * from marts.dim_customers")
    accounts = dim[dim["customer_type"] == "account"]
    assert accounts["crm_account_id"].notna().all() and accounts["sector"].notna().all()
    generic = dim["primary_email"].str.match(
        r"^(info|support|noreply|no-reply|admin|sales)@", na=False
    )
    assert not generic.any()
    # Contacts grant analytics consent ~85% and marketing ~70% of the time, some revoke later.
    assert 0.6 < accounts["has_analytics_consent"].mean() < 0.95
    assert 0.45 < accounts["has_marketing_consent"].mean() < 0.85


def test_outcomes_consistent_with_truth(marts_warehouse, company_of_customer):
    outcomes = query(marts_warehouse, "select * from marts.customer_outcomes").merge(
        company_of_customer, on="customer_key"
    )
    assert len(outcomes) > 500
    paying = outcomes[outcomes["paying_at_reference"]]
    churn_rate = paying.groupby("churned_y")["churned_x"].mean()
    assert churn_rate[True] > 0.5 and churn_rate[False] < 0.05, churn_rate
    assert outcomes.loc[~outcomes["paying_at_reference"], "churned_x"].isna().all()
    # Revenue after the reference date is what the generator planted (same window, void excluded).
    assert outcomes["revenue_after"].sum() == pytest.approx(
        outcomes["future_revenue"].sum(), rel=0.02
    )
    assert outcomes["revenue_after"].corr(outcomes["future_revenue"]) > 0.98
    expanded = paying.groupby("expanded_y")["expanded_x"].mean()
    assert expanded[True] > 0.5 and expanded[False] < 0.05, expanded


def test_tracking_rename_does_not_move_behavioural_attributes(
    marts_warehouse, company_of_customer, tmp_path
):
    """Attributes computed before and after the tracking cutover agree for unchanged customers.

    The default scoring date (2025-12-31) has its windows wholly after the cutover; a rebuild with
    scoring date BEFORE_CUTOVER has them wholly before it, when events carried the v1 names.
    """
    after = query(marts_warehouse, "select * from marts.customer_attributes")
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(marts_warehouse, warehouse)
    run_dbt(
        ["run", "--select", "reference_period+", "--exclude", "tag:reporting",
         "--vars", f"{{scoring_date: '{BEFORE_CUTOVER}'}}"],
        warehouse,
    )  # fmt: skip
    before = query(warehouse, "select * from marts.customer_attributes")
    assert (before["reference_date"].astype(str) == BEFORE_CUTOVER).all()
    assert (after["reference_date"].astype(str) > TRACKING_CUTOVER).all()
    flat = company_of_customer["archetype"].isin(FLAT_ARCHETYPES)
    flat_keys = company_of_customer.loc[flat, "customer_key"]
    assert len(flat_keys) > 100
    for attribute in ("feature_breadth_90d", "events_30d", "events_90d", "active_days_90d"):
        median_before = before.set_index("customer_key").loc[flat_keys, attribute].median()
        median_after = after.set_index("customer_key").loc[flat_keys, attribute].median()
        assert median_before > 0
        assert abs(median_after - median_before) / median_before <= 0.25, (
            attribute, median_before, median_after,
        )  # fmt: skip


def test_segment_performance_after_segments_exist(marts_warehouse, company_of_customer, tmp_path):
    """Once the segmentation tables exist, the reporting layer builds: a row per current segment,
    its size from the current segments and its outcomes from the validation-snapshot assignment.

    The planted archetype is each company's segment on the validation snapshot (outcomes come
    after it); the current segments are rotated (every archetype's customers sit in the next
    archetype's segment), so outcomes computed on the current segments would be another
    segment's."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(marts_warehouse, warehouse)
    names = sorted(company_of_customer["archetype"].unique())
    validation = company_of_customer[["customer_key", "archetype"]].rename(
        columns={"archetype": "segment_name"}
    )
    validation["segment_id"] = validation["segment_name"].map(names.index)
    current = validation.assign(segment_id=(validation["segment_id"] + 1) % len(names))
    current["segment_name"] = current["segment_id"].map(dict(enumerate(names)))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists segmentation")
        for table, frame in (("customer_segments", current), ("validation_segments", validation)):
            con.register("frame", frame)
            con.execute(
                f"create table segmentation.{table} as select customer_key, segment_id, "
                "segment_name, 0.9 as confidence, 0.5 as margin, 'test' as model_version, "
                "now() as assigned_at from frame"
            )
            con.unregister("frame")
    run_dbt(["build", "--select", "tag:reporting"], warehouse)
    performance = query(warehouse, "select * from reporting.segment_performance").set_index(
        "segment_name"
    )
    assert sorted(performance.index) == names
    assert performance["customers"].to_dict() == current["segment_name"].value_counts().to_dict()
    assert (
        performance["validated_customers"].to_dict()
        == validation["segment_name"].value_counts().to_dict()
    )
    assert (
        performance.loc["dormant_churning", "churn_rate"]
        > performance.loc["steady_low_touch", "churn_rate"]
    )
    assert (
        performance.loc["power_expanding", "expansion_rate"]
        > performance.loc["steady_low_touch", "expansion_rate"]
    )
    assert performance[["retention_rate", "churn_rate"]].sum(axis=1).round(6).eq(1).all()
