"""One policy setting, one decision per run: the governance check and the segment model read the
same configured policy file, and proxy detection runs once in a run that holds both.

The data is the segmentation tests' synthetic customers; the configured policy mirrors their
catalog but also protects `tenure`, so the check reads only the configured file (the shipped
config/governance_policy.yaml disagrees with this catalog) and `tenure_days` is excluded as a
protected attribute in both the check's and the model's metadata. Classified `allowed` it fails
the check (a policy may not allow a protected attribute); classified prohibited it passes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dagster import RunConfig, asset, materialize

from ml_assets.governance import GovernedFeatures, exclusions
from orchestration.defs.governance.checks import CUSTOMER_ATTRIBUTES, governance_policy
from orchestration.defs.resources import (
    GovernancePolicyResource,
    ModelStoreResource,
    WarehouseResource,
)
from orchestration.defs.segmentation.assets import segment_model
from orchestration.defs.segmentation.config import SegmentationConfig, SelectionSettings
from orchestration.io import settings
from orchestration.io.catalog import CATALOG_FIELDS
from orchestration.io.config_files import load_policy
from orchestration.io.governance import write_feature_decisions
from orchestration.io.warehouse import connect, replace_table
from tests.support.governance import write_manifest
from tests.support.synthetic import synthetic_customers

TENURE_REASON = "excluded by governance: protected attribute"


@asset(key=CUSTOMER_ATTRIBUTES)
def customer_attributes_standin() -> None:
    """Stands in for the dbt model; the data is already in the warehouse."""


@pytest.fixture
def project(tmp_path, monkeypatch) -> dict[str, Path]:
    data = synthetic_customers(600, seed=11)
    warehouse = tmp_path / "warehouse.duckdb"
    keys = data["attributes"]["customer_key"]
    consent = np.ones(len(keys), dtype=bool)
    with connect(warehouse) as con:
        replace_table(con, "marts", "customer_attributes", data["attributes"])
        replace_table(con, "marts", "attribute_quality", data["quality"])
        replace_table(
            con,
            "marts",
            "dim_customers",
            pd.DataFrame(
                {
                    "customer_key": keys,
                    "has_analytics_consent": consent,
                    "has_marketing_consent": consent,
                }
            ),
        )
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", tmp_path / "dbt")
    policy = tmp_path / "elsewhere" / "policy.yaml"
    policy.parent.mkdir()
    write_catalog_and_policy(data["catalog"], tmp_path / "dbt", policy)
    return {
        "warehouse": warehouse,
        "policy": policy,
        "models": tmp_path / "models",
        "catalog": data["catalog"],
    }


def write_catalog_and_policy(catalog: pd.DataFrame, dbt_dir: Path, policy: Path) -> None:
    """The dbt manifest of the catalog, and a policy mirroring it that also protects `tenure`."""
    meta = {
        row["attribute_name"]: {field: row[field] for field in CATALOG_FIELDS}
        for row in catalog.to_dict("records")
    }
    write_manifest(dbt_dir / "target" / "manifest.json", meta)
    policy.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "attributes": dict(
                    zip(catalog["attribute_name"], catalog["segmentation_policy"], strict=True)
                ),
                "protected_attributes": ["gender", "ethnicity", "tenure"],
            }
        )
    )


@pytest.fixture
def consistent_project(project: dict[str, Path]) -> dict[str, Path]:
    """The project with tenure_days classified prohibited, as a protected attribute must be."""
    catalog = project["catalog"].copy()
    catalog.loc[catalog["attribute_name"] == "tenure_days", "segmentation_policy"] = "prohibited"
    write_catalog_and_policy(catalog, settings.DBT_PROJECT_DIR, project["policy"])
    return project


@pytest.fixture
def proxy_runs(monkeypatch) -> list[int]:
    """Counts proxy detections (one entry per call)."""
    calls: list[int] = []
    detect = exclusions.detect_proxies

    def counting(*args, **kwargs):
        calls.append(1)
        return detect(*args, **kwargs)

    monkeypatch.setattr(exclusions, "detect_proxies", counting)
    return calls


def run(project: dict[str, Path], assets: list, **kwargs):
    config = SegmentationConfig(
        selection=SelectionSettings(bootstrap_rounds=3, k_max=6, candidates=["kmeans"])
    )
    return materialize(
        assets,
        resources={
            "warehouse": WarehouseResource(path=str(project["warehouse"])),
            "model_store": ModelStoreResource(path=str(project["models"])),
            "governance": GovernancePolicyResource(path=str(project["policy"])),
        },
        run_config=RunConfig({"segmentation__segment_model": config}),
        **kwargs,
    )


def model_features(result) -> str:
    [materialization] = result.asset_materializations_for_node("segmentation__segment_model")
    return materialization.metadata["features"].value


def test_the_shipped_policy_disagrees_with_this_catalog(project):
    """Without this, the check passing below would not prove it read the configured file."""
    assert load_policy().attributes != load_policy(project["policy"]).attributes


def test_check_and_model_read_the_configured_policy_and_detect_proxies_once(
    consistent_project, proxy_runs
):
    project = consistent_project
    result = run(project, [customer_attributes_standin, governance_policy, segment_model])
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed, evaluation.description
    metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert metadata["policy_file"] == str(project["policy"])
    assert metadata["excluded_features"]["tenure_days"] == "protected attribute"
    assert metadata["protected_overrides"] == ["owner_gender"]  # sensitive: reported, not used
    # the model left tenure_days out, without deciding again
    assert "| tenure_days | False |" in model_features(result)
    assert len(proxy_runs) == 1


def test_a_configured_policy_allowing_a_protected_attribute_blocks_the_model(project, proxy_runs):
    """Protecting `tenure` while classifying tenure_days allowed contradicts itself: the check
    (which used to pass, reporting tenure_days as a protected override) fails naming it."""
    result = run(
        project,
        [customer_attributes_standin, governance_policy, segment_model],
        raise_on_error=False,
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "allows protected attribute(s) tenure_days" in evaluation.description
    metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert metadata["policy_file"] == str(project["policy"])
    assert metadata["excluded_features"]["tenure_days"] == "protected attribute"
    assert metadata["protected_overrides"] == ["owner_gender", "tenure_days"]
    assert not result.asset_materializations_for_node("segmentation__segment_model")
    assert len(proxy_runs) == 1


def test_model_alone_decides_itself_and_ignores_other_runs_decisions(project, proxy_runs):
    stale = GovernedFeatures({"current_mrr": "stale decision of another run"}, [])
    with connect(project["warehouse"]) as con:
        write_feature_decisions(
            con,
            stale,
            "another-run",
            load_policy(project["policy"]),
            settings.DBT_PROJECT_DIR / "target" / "manifest.json",
        )
    result = run(project, [segment_model])
    assert result.success
    features = model_features(result)
    assert "stale decision" not in features
    [row] = [line for line in features.splitlines() if line.startswith("| tenure_days |")]
    assert row.startswith("| tenure_days | False |") and row.endswith(f"| {TENURE_REASON} |")
    assert len(proxy_runs) == 1
