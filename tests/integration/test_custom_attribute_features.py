"""Custom CRM attributes in the segment model, end to end through the Dagster assets: allowed ones
(classified under any spelling) become features, change the segments and reach scoring; a
prohibited one never enters; the coverage check warns about unmatched and unclassified names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dagster import RunConfig, asset, materialize
from sklearn.metrics import adjusted_rand_score

from orchestration.defs.governance.checks import CUSTOM_ATTRIBUTES, custom_attribute_coverage
from orchestration.defs.resources import (
    GovernancePolicyResource,
    ModelStoreResource,
    WarehouseResource,
)
from orchestration.defs.segmentation.assets import MODEL_NAME, segmentation_assets
from orchestration.defs.segmentation.config import SegmentationConfig, SelectionSettings
from orchestration.io.warehouse import connect, read_table, replace_table
from tests.integration.test_segmentation_assets import _dim_customers, _write_manifest
from tests.support.synthetic import synthetic_customers

CUSTOM_POLICY = {
    "Contract-Type": {"policy": "allowed", "data_type": "categorical"},
    "SEATS": "allowed",  # numeric, inferred from the values
    "Primary Contact Gender": "prohibited",
    "Lead Source": "allowed",  # no such attribute in the data
    # the CRM's "Tenure Days" is named like the built-in tenure_days: kept as custom_tenure_days
    "Custom Tenure Days": "allowed",
}


@pytest.fixture()
def project(tmp_path):
    data = synthetic_customers(600, seed=11)
    # Billing data only, as on a subscription data set whose other attributes arrive from the CRM
    billing = {"customer_key", "industry", "current_mrr", "mrr_growth_90d", "tenure_days"}
    catalog = data["catalog"]
    data["catalog"] = catalog.assign(
        segmentation_policy=catalog["segmentation_policy"].where(
            catalog["attribute_name"].isin(billing), "prohibited"
        )
    )
    keys = data["attributes"]["customer_key"]
    rng = np.random.default_rng(4)
    # A concept the built-in attributes know nothing about: seat count, two very different sizes.
    seats = np.where(rng.random(len(keys)) < 0.5, rng.integers(2, 8, len(keys)), 900)
    custom = pd.concat(
        [
            pd.DataFrame({"customer_key": keys, "attribute": "Seats", "value": seats.astype(str)}),
            pd.DataFrame(
                {
                    "customer_key": keys,
                    "attribute": "contract type",
                    "value": np.where(seats > 100, "annual", "monthly"),
                }
            ),
            pd.DataFrame(
                {
                    "customer_key": keys,
                    "attribute": "primary_contact_gender",
                    "value": rng.choice(["female", "male"], len(keys)),
                }
            ),
            pd.DataFrame({"customer_key": keys, "attribute": "Favourite Colour", "value": "red"}),
            pd.DataFrame(
                {
                    "customer_key": keys,
                    "attribute": "Tenure Days",
                    "value": rng.integers(30, 60, len(keys)).astype(str),
                }
            ),
        ],
        ignore_index=True,
    ).assign(updated_at=pd.Timestamp("2026-01-01"))
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as con:
        replace_table(con, "marts", "customer_attributes", data["attributes"])
        replace_table(con, "marts", "attribute_quality", data["quality"])
        replace_table(con, "marts", "customer_outcomes", data["outcomes"])
        replace_table(con, "marts", "dim_customers", _dim_customers(keys))
        replace_table(con, "marts", "customer_custom_attributes", custom)
    manifest = _write_manifest(data["catalog"], tmp_path / "manifest.json")
    attributes = dict(
        zip(data["catalog"]["attribute_name"], data["catalog"]["segmentation_policy"], strict=True)
    )
    policies = {}
    for name, custom_entries in (("builtin", {}), ("custom", CUSTOM_POLICY)):
        policies[name] = tmp_path / f"{name}_policy.yaml"
        policies[name].write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "attributes": attributes,
                    "custom_attributes": custom_entries,
                    "protected_attributes": ["gender"],
                }
            )
        )
    return path, manifest, policies


def _train(path: Path, manifest: Path, policy: Path, store: Path):
    config = SegmentationConfig(
        manifest_path=str(manifest),
        selection=SelectionSettings(
            bootstrap_rounds=3, k_max=6, bootstrap_sample_size=400, candidates=["kmeans"]
        ),
    )
    store_resource = ModelStoreResource(path=str(store))
    result = materialize(
        segmentation_assets,
        resources={
            "warehouse": WarehouseResource(path=str(path)),
            "model_store": store_resource,
            "governance": GovernancePolicyResource(path=str(policy)),
        },
        run_config=RunConfig({"segmentation__segment_model": config}),
    )
    assert result.success
    with connect(path, read_only=True) as con:
        features = read_table(con, "segmentation", "feature_matrix_columns")
        segments = read_table(con, "segmentation", "customer_segments")
        profiles = read_table(con, "segmentation", "segment_profiles")
    return store_resource.load(MODEL_NAME), features, segments, profiles


def test_allowed_custom_attributes_change_the_features_and_the_segments(project, tmp_path):
    path, manifest, policies = project
    _, plain_features, plain_segments, _ = _train(
        path, manifest, policies["builtin"], tmp_path / "plain"
    )
    model, features, segments, profiles = _train(
        path, manifest, policies["custom"], tmp_path / "custom"
    )
    used = features.set_index("attribute")
    # classified as "SEATS" and "Contract-Type", the data says "Seats" and "contract type"
    assert used.loc["seats", "used"] and used.loc["seats", "group"] == "custom"
    assert used.loc["contract_type", "used"]
    plain = plain_features.set_index("attribute")
    assert not plain.loc["seats", "used"] and "unclassified" in plain.loc["seats", "reason"]
    assert "seats" in model.transformer.attributes
    # the prohibited one never enters: not a feature, not in the frame the model saw
    assert "primary_contact_gender" not in model.transformer.attributes
    assert not used.loc["primary_contact_gender", "used"]
    assert "favourite_colour" not in model.transformer.attributes  # unclassified
    # the CRM's "Tenure Days" shadows the built-in tenure_days: both are there, apart
    assert used.loc["custom_tenure_days", "group"] == "custom"
    assert used.loc["custom_tenure_days", "used"] and used.loc["tenure_days", "used"]
    assert used.loc["tenure_days", "group"] != "custom"

    both = plain_segments.merge(segments, on="customer_key", suffixes=("_plain", "_custom"))
    assert adjusted_rand_score(both["segment_id_plain"], both["segment_id_custom"]) < 0.9
    # scoring read the same custom columns: customers are assigned where training put them
    scored = segments.set_index("customer_key")["segment_id"]
    agreement = (scored.reindex(model.membership.index) == model.membership).mean()
    assert agreement > 0.98
    assert (segments.groupby("segment_id").size() > 0).all() and len(profiles) == model.k


@asset(key=CUSTOM_ATTRIBUTES)
def custom_attributes_standin() -> None:
    """Stands in for the dbt model; the data is already in the warehouse."""


def test_coverage_check_warns_naming_unmatched_entries_and_unclassified_attributes(project):
    path, _, policies = project
    result = materialize(
        [custom_attributes_standin, custom_attribute_coverage],
        resources={
            "warehouse": WarehouseResource(path=str(path)),
            "governance": GovernancePolicyResource(path=str(policies["custom"])),
        },
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity.value == "WARN"
    metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert metadata["unmatched_policy_entries"] == ["lead_source"]
    assert metadata["unclassified_custom_attributes"] == ["favourite_colour"]
    assert metadata["shadowed_custom_attributes"] == {"tenure_days": "custom_tenure_days"}
    assert "lead_source" in evaluation.description
    assert "favourite_colour" in evaluation.description
    assert "tenure_days -> custom_tenure_days" in evaluation.description
