"""The segmentation assets materialized on a small DuckDB warehouse with synthetic marts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dagster import RunConfig, materialize
from sklearn.metrics import adjusted_rand_score

from ml_assets.features import FeatureConfig
from ml_assets.selection import SelectionConfig
from orchestration.defs.monitoring.checks import StabilityCheckConfig, segment_stability
from orchestration.defs.resources import (
    GovernancePolicyResource,
    ModelStoreResource,
    WarehouseResource,
)
from orchestration.defs.segmentation.assets import segment_model, segmentation_assets
from orchestration.defs.segmentation.config import (
    FeatureSettings,
    SegmentationConfig,
    SelectionSettings,
)
from orchestration.io.catalog import CATALOG_FIELDS
from orchestration.io.warehouse import connect, read_table, replace_table
from tests.support.synthetic import synthetic_customers

NUMERIC_ATTRIBUTES = [
    "current_mrr",
    "mrr_growth_90d",
    "events_90d",
    "active_days_30d",
    "days_since_last_activity",
    "tickets_90d",
    "nps_latest",
    "tenure_days",
]


def _write_manifest(catalog: pd.DataFrame, path: Path) -> Path:
    """A minimal dbt manifest with the catalog meta under each column's config.meta."""
    columns = {
        row["attribute_name"]: {
            "name": row["attribute_name"],
            "description": row["description"],
            "config": {"meta": {field: row[field] for field in CATALOG_FIELDS}},
        }
        for row in catalog.to_dict("records")
    }
    node = {"resource_type": "model", "name": "customer_attributes", "columns": columns}
    path.write_text(
        json.dumps({"nodes": {"model.segmentation.customer_attributes": node}}, default=bool)
    )
    return path


def _write_policy(catalog: pd.DataFrame, path: Path) -> Path:
    """A governance policy that mirrors the synthetic catalog (the check requires agreement)."""
    policy = {
        "version": 1,
        "attributes": dict(
            zip(catalog["attribute_name"], catalog["segmentation_policy"], strict=True)
        ),
        "protected_attributes": ["gender", "ethnicity"],
    }
    path.write_text(yaml.safe_dump(policy))
    return path


def _dim_customers(keys: pd.Series, unconsented: int = 0) -> pd.DataFrame:
    """Consent flags for every customer; the first `unconsented` have no analytics consent."""
    consent = np.ones(len(keys), dtype=bool)
    consent[:unconsented] = False
    return pd.DataFrame(
        {"customer_key": keys, "has_analytics_consent": consent, "has_marketing_consent": consent}
    )


@pytest.fixture()
def warehouse(tmp_path):
    data = synthetic_customers(600, seed=11)
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as con:
        replace_table(con, "marts", "customer_attributes", data["attributes"])
        replace_table(con, "marts", "attribute_quality", data["quality"])
        replace_table(con, "marts", "customer_outcomes", data["outcomes"])
        replace_table(
            con, "marts", "dim_customers", _dim_customers(data["attributes"]["customer_key"])
        )
    _write_policy(data["catalog"], tmp_path / "policy.yaml")
    return path, _write_manifest(data["catalog"], tmp_path / "manifest.json"), data


def _run(path: Path, manifest: Path, store: Path, checks=(), check_config=None, **selection):
    run_config = SegmentationConfig(
        manifest_path=str(manifest),
        selection=SelectionSettings(
            **{
                "bootstrap_rounds": 3,
                "k_max": 6,
                "bootstrap_sample_size": 400,
                "candidates": ["kmeans"],
                **selection,
            }
        ),
    )
    return materialize(
        [*segmentation_assets, *checks],
        resources={
            "warehouse": WarehouseResource(path=str(path)),
            "model_store": ModelStoreResource(path=str(store)),
            "governance": GovernancePolicyResource(path=str(manifest.parent / "policy.yaml")),
        },
        run_config=RunConfig({"segmentation__segment_model": run_config, **(check_config or {})}),
        raise_on_error=False,
    )


def test_materialize_writes_segments_profiles_and_metadata(warehouse, tmp_path):
    path, manifest, data = warehouse
    result = _run(path, manifest, tmp_path / "models")
    assert result.success

    with connect(path, read_only=True) as con:
        segments = read_table(con, "segmentation", "customer_segments")
        profiles = read_table(con, "segmentation", "segment_profiles")
        features = read_table(con, "segmentation", "feature_matrix_columns")
        selection = read_table(con, "segmentation", "model_selection")
    assert len(segments) == 600 and segments["customer_key"].is_unique
    assert list(segments.columns) == [
        "customer_key",
        "segment_id",
        "segment_name",
        "parent_segment_id",
        "parent_segment_name",
        "confidence",
        "margin",
        "model_version",
        "assigned_at",
    ]
    truth = data["truth"].set_axis(data["attributes"]["customer_key"])
    assert adjusted_rand_score(truth[segments["customer_key"]], segments["segment_id"]) >= 0.9
    assert segments["model_version"].nunique() == 1
    assert len(profiles) == 5 and profiles["size"].sum() == 600
    assert {"churn_rate", "expansion_rate", "avg_revenue_after", "playbook_action"} <= set(
        profiles.columns
    )
    assert set(features.loc[~features["used"], "attribute"]) >= {"birth_year", "owner_gender"}
    assert selection["chosen"].sum() == 1
    assert selection.loc[selection["chosen"], "decision"].iloc[0].startswith("chosen: ")
    # Every customer carries its segment's macro segment; profiles show it.
    assert segments["parent_segment_id"].notna().all()
    assert 2 <= segments["parent_segment_id"].nunique() <= 3
    parent_of = profiles.set_index("segment_id")["parent_segment_id"]
    assert (segments["parent_segment_id"] == segments["segment_id"].map(parent_of)).all()

    metadata = result.asset_materializations_for_node("segmentation__segment_model")[0].metadata
    assert metadata["k"].value == 5
    assert metadata["dagster/row_count"].value == 600
    assert metadata["holdout_accuracy"].value >= 0.95
    assert "| algorithm | k |" in metadata["selection"].value
    assert "segmentation policy prohibited" in metadata["features"].value
    for image in ("segment_sizes", "projection", "lift_heatmap"):
        assert (
            metadata[image].value.startswith("![")
            and "data:image/png;base64," in metadata[image].value
        )
    profile_md = result.asset_materializations_for_node("segmentation__segment_profiles")[
        0
    ].metadata
    assert "data:image/png;base64," in profile_md["lift_heatmap"].value
    assert profile_md["dagster/row_count"].value == 5

    # Retrain with another seed: same segments, same ids, model version changes with the config.
    again = _run(path, manifest, tmp_path / "models", seed=7)
    assert again.success
    with connect(path, read_only=True) as con:
        retrained = read_table(con, "segmentation", "customer_segments")
    merged = segments.merge(retrained, on="customer_key")
    assert (merged["segment_id_x"] == merged["segment_id_y"]).all()
    assert (merged["model_version_x"] != merged["model_version_y"]).all()


def test_structureless_data_is_refused_clearly(warehouse, tmp_path):
    path, manifest, data = warehouse
    rng = np.random.default_rng(0)
    noise = data["attributes"].copy()
    for column in NUMERIC_ATTRIBUTES:
        noise[column] = rng.uniform(size=len(noise))  # uniform: no segments to find
    with connect(path) as con:
        replace_table(con, "marts", "customer_attributes", noise)
    result = _run(path, manifest, tmp_path / "models", candidates=["kmeans"])
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no cluster structure:" in failure.step_failure_data.user_failure_data.description
    with connect(path, read_only=True) as con:
        assert not con.execute(
            "select count(*) from information_schema.tables where table_name = 'customer_segments'"
        ).fetchone()[0]


def test_customers_without_analytics_consent_are_not_clustered_or_scored(warehouse, tmp_path):
    path, manifest, data = warehouse
    keys = data["attributes"]["customer_key"]
    with connect(path) as con:
        replace_table(con, "marts", "dim_customers", _dim_customers(keys, unconsented=60))
    result = _run(path, manifest, tmp_path / "models")
    assert result.success
    with connect(path, read_only=True) as con:
        segments = read_table(con, "segmentation", "customer_segments")
    assert len(segments) == 540
    assert not set(keys[:60]) & set(segments["customer_key"])
    metadata = result.asset_materializations_for_node("segmentation__segment_model")[0].metadata
    assert (
        metadata["dagster/row_count"].value == 540
    )  # the model was trained on consented rows only


def test_data_without_behaviour_is_not_consent_gated(warehouse, tmp_path):
    """Invoices-only data (no product, email or support source): consent protects nothing there."""
    path, manifest, data = warehouse
    attributes = data["attributes"].copy()
    behavioural = data["catalog"].loc[data["catalog"]["behavioural"], "attribute_name"]
    attributes[list(behavioural)] = 0  # the absent sources' zero-filled columns
    with connect(path) as con:
        replace_table(con, "marts", "customer_attributes", attributes)
        replace_table(
            con,
            "marts",
            "dim_customers",
            _dim_customers(attributes["customer_key"], unconsented=600),
        )
    result = _run(path, manifest, tmp_path / "models")
    assert result.success
    with connect(path, read_only=True) as con:
        segments = read_table(con, "segmentation", "customer_segments")
        features = read_table(con, "segmentation", "feature_matrix_columns")
    assert len(segments) == 600
    assert not set(features.loc[features["used"], "attribute"]) & set(behavioural)


def test_launchpad_config_overrides_nested_selection_fields(warehouse, tmp_path):
    """Run config as the launchpad sends it: one nested dict per concern, defaults elsewhere."""
    path, manifest, _ = warehouse
    result = materialize(
        [segment_model],
        resources={
            "warehouse": WarehouseResource(path=str(path)),
            "model_store": ModelStoreResource(path=str(tmp_path / "models")),
            "governance": GovernancePolicyResource(path=str(manifest.parent / "policy.yaml")),
        },
        run_config={
            "ops": {
                "segmentation__segment_model": {
                    "config": {
                        "manifest_path": str(manifest),
                        "selection": {
                            "k_max": 4,
                            "candidates": ["kmeans"],
                            "bootstrap_rounds": 2,
                            "bootstrap_sample_size": 300,
                        },
                        "features": {"quality_threshold": 0.1},
                    }
                }
            }
        },
        raise_on_error=False,
    )
    assert result.success
    with connect(path, read_only=True) as con:
        selection = read_table(con, "segmentation", "model_selection")
        features = read_table(con, "segmentation", "feature_matrix_columns")
    assert sorted(selection["k"].unique()) == [3, 4]
    # quality 0.2 clears a threshold of 0.1
    assert "support_csat_avg_365d" in set(features.loc[features["used"], "attribute"])


def test_stability_check_reports_the_selection_tables_figure(warehouse, tmp_path):
    """One bootstrap: with the same rows, rounds and seed, the check and selection agree."""
    path, manifest, _ = warehouse
    result = _run(
        path,
        manifest,
        tmp_path / "models",
        checks=[segment_stability],
        check_config={
            "segmentation__customer_segments_segment_stability": StabilityCheckConfig(
                n_boot=3, seed=42, max_points=10_000
            )
        },
        bootstrap_sample_size=1_000,  # all 600 customers, as the check resamples all of them
    )
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    with connect(path, read_only=True) as con:
        selection = read_table(con, "segmentation", "model_selection")
    chosen = selection[selection["chosen"]].iloc[0]
    assert check.metadata["refit"].text == "kmeans"
    assert check.metadata["min_jaccard"].value == pytest.approx(chosen["stability_min"])
    assert check.metadata["mean_jaccard"].value == pytest.approx(chosen["stability_mean"])


def test_defaults_are_the_pure_configs():
    config = SegmentationConfig()
    assert config.selection_config() == SelectionConfig()
    assert config.feature_config() == FeatureConfig()


def test_described_fields_are_the_launchpad_fields():
    for pure, settings in ((SelectionConfig, SelectionSettings), (FeatureConfig, FeatureSettings)):
        described = {f.name: f for f in dataclasses.fields(pure) if "description" in f.metadata}
        assert set(settings.model_fields) == set(described)
        for name, spec in described.items():
            assert settings.model_fields[name].description == spec.metadata["description"]
    assert "k_max" in SelectionSettings.model_fields
    assert "kmeans_n_init" not in SelectionSettings.model_fields  # internal knob


def test_edited_fields_reach_the_pure_config():
    config = SegmentationConfig(
        selection=SelectionSettings(k_max=5, candidates=["kmeans"]),
        features=FeatureSettings(quality_threshold=0.3),
    )
    assert config.selection_config() == SelectionConfig(k_max=5, candidates=("kmeans",))
    assert config.feature_config().quality_threshold == 0.3


def _model_metadata(result) -> dict:
    materialization = result.asset_materializations_for_node("segmentation__segment_model")[0]
    return {key: value.value for key, value in materialization.metadata.items()}


def test_model_is_kept_until_a_retrain_is_due_and_its_version_ignores_row_order(
    warehouse, tmp_path
):
    path, manifest, data = warehouse
    store = tmp_path / "models"
    first = _model_metadata(_run(path, manifest, store))
    assert first["trained"] is True and "no model yet" in first["decision"]

    # Same data, same config: scoring goes on with the stored model.
    again = _model_metadata(_run(path, manifest, store))
    assert again["trained"] is False and again["model_version"] == first["model_version"]

    # A config change retrains; the same data in another storage order gives the same version.
    shuffled = data["attributes"].sample(frac=1.0, random_state=3)
    with connect(path) as con:
        replace_table(con, "marts", "customer_attributes", shuffled)
    changed = _model_metadata(_run(path, manifest, store, k_max=5))
    assert changed["trained"] is True and "config changed" in changed["decision"]
    fresh = _model_metadata(_run(path, manifest, tmp_path / "fresh_store", k_max=5))
    assert fresh["model_version"] == changed["model_version"]
    with connect(path, read_only=True) as con:
        log = read_table(con, "segmentation", "training_log")
    assert log["trained"].tolist() == [True, False, True, True]
