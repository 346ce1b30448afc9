"""A density model (HDBSCAN) end to end: the customers it leaves as noise are "unsegmented" in the
segments, the profiles (with their share) and the checks, and activation treats them the way a
CRM user expects: the CRM field says `unsegmented` explicitly (so an account never keeps a stale
segment), and no audience or CSM task is ever built for them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.activation import desired_audiences, desired_crm_fields, desired_csm_tasks
from ml_assets.hierarchy import UNSEGMENTED
from ml_assets.report import render_report
from orchestration.defs.monitoring.checks import monitoring_checks
from orchestration.io import activation
from orchestration.io.warehouse import connect, read_table, replace_table
from tests.integration.test_segmentation_assets import (
    NUMERIC_ATTRIBUTES,
    _run,
    _write_manifest,
    _write_policy,
)
from tests.support.synthetic import synthetic_customers

OUTLIERS = 20


@pytest.fixture()
def warehouse(tmp_path):
    data = synthetic_customers(600, seed=11)
    attributes = data["attributes"].copy()
    # A few customers far from every archetype: what a density model leaves unsegmented.
    rng = np.random.default_rng(3)
    for column in NUMERIC_ATTRIBUTES:
        values = attributes[column]
        attributes.loc[: OUTLIERS - 1, column] = rng.uniform(
            values.min(), values.max() * 3, size=OUTLIERS
        )
    keys = attributes["customer_key"]
    customers = pd.DataFrame(
        {
            "customer_key": keys,
            "has_analytics_consent": True,
            "has_marketing_consent": True,
            "crm_account_id": "A" + keys.str[1:],
            "primary_email": keys + "@example.com",
        }
    )
    consent = pd.DataFrame(
        {
            "email": keys + "@example.com",
            "purpose": "marketing",
            "granted": True,
            "recorded_at": pd.Timestamp("2026-01-01"),
        }
    )
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as con:
        replace_table(con, "marts", "customer_attributes", attributes)
        replace_table(con, "marts", "attribute_quality", data["quality"])
        replace_table(con, "marts", "customer_outcomes", data["outcomes"])
        replace_table(con, "marts", "dim_customers", customers)
        replace_table(con, "staging", "stg_consent__events", consent)
    _write_policy(data["catalog"], tmp_path / "policy.yaml")
    return path, _write_manifest(data["catalog"], tmp_path / "manifest.json")


def test_a_density_model_leaves_noise_unsegmented_from_training_to_activation(warehouse, tmp_path):
    path, manifest = warehouse
    result = _run(
        path,
        manifest,
        tmp_path / "models",
        checks=monitoring_checks,
        algorithm="hdbscan",
        candidates=[],
        max_unsegmented_share=0.2,
    )
    assert result.success
    with connect(path, read_only=True) as con:
        segments = read_table(con, "segmentation", "customer_segments")
        profiles = read_table(con, "segmentation", "segment_profiles")
        selection = read_table(con, "segmentation", "model_selection")
        inputs = activation.read_inputs(con)
    chosen = selection.loc[selection["chosen"]].iloc[0]
    assert chosen["algorithm"] == "hdbscan"
    unsegmented = segments["segment_id"] == UNSEGMENTED
    assert 0 < unsegmented.mean() <= 0.2
    assert unsegmented[:OUTLIERS].mean() > 0.5  # the planted outliers

    # Profiles: one row for the unsegmented customers, with their share, and no playbook.
    row = profiles.set_index("segment_id").loc[UNSEGMENTED]
    assert row["size"] == unsegmented.sum()
    assert row["share"] == pytest.approx(unsegmented.mean(), abs=1e-3)
    assert pd.isna(row["playbook_action"]) and not bool(row["create_csm_task"])
    assert profiles["size"].sum() == len(segments)
    page = render_report(profiles)
    assert f"Unsegmented: {unsegmented.sum():,} customers ({unsegmented.mean():.1%})" in page

    # Checks ran on the density model without crashing (they are blocking: success above).
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert {"segment_stability", "outcome_validation"} <= set(evaluations)
    stability = {k: v.value for k, v in evaluations["segment_stability"].metadata.items()}
    assert stability["segments"] == segments.loc[~unsegmented, "segment_id"].nunique()

    # Activation: the CRM says "unsegmented" (no playbook); no audience, no task for them.
    crm = desired_crm_fields(inputs).set_index("account_id")
    noise_accounts = "A" + segments.loc[unsegmented, "customer_key"].str[1:]
    assert (crm.loc[noise_accounts, "segment_id"] == UNSEGMENTED).all()
    assert crm.loc[noise_accounts, "playbook_action"].isna().all()
    audiences = desired_audiences(inputs)
    assert not set(audiences["customer_key"]) & set(segments.loc[unsegmented, "customer_key"])
    assert "Unsegmented" not in set(audiences["audience"])
    assert len(audiences) == (~unsegmented).sum()
    tasks = desired_csm_tasks(inputs)
    assert UNSEGMENTED not in set(tasks["segment_id"])
