"""Protected means protected: a policy file can add protected terms, never remove the built-in
ones, and a policy that allows a protected attribute fails the blocking governance check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from dagster import asset, materialize

from ml_assets.governance import parse_policy
from ml_assets.governance.policy import BUILTIN_PROTECTED_TERMS, allowed_protected_attributes
from orchestration.defs.governance.assets import CUSTOMER_SEGMENTS, segment_composition
from orchestration.defs.governance.checks import CUSTOMER_ATTRIBUTES, governance_policy
from orchestration.defs.resources import GovernancePolicyResource, WarehouseResource
from orchestration.io import settings
from orchestration.io.warehouse import connect, read_table
from tests.support.governance import POLICY_PATH, build_warehouse, catalog_meta, write_manifest


@asset(key=CUSTOMER_ATTRIBUTES)
def customer_attributes_standin() -> None:
    """Stands in for the dbt model; the data is already in the warehouse."""


@asset(key=CUSTOMER_SEGMENTS, deps=[CUSTOMER_ATTRIBUTES])
def customer_segments_standin() -> None:
    """Stands in for the segmentation asset; the data is already in the warehouse."""


def unprotect_gender(raw: dict) -> dict:
    """The probe: drop gender from the protected terms and allow the gender attribute."""
    raw["protected_attributes"] = [t for t in raw["protected_attributes"] if t != "gender"]
    raw["custom_attributes"]["primary_contact_gender"]["policy"] = "allowed"
    return raw


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    write_manifest(tmp_path / "dbt" / "target" / "manifest.json", catalog_meta())
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(POLICY_PATH, config / "governance_policy.yaml")
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", tmp_path / "dbt")
    monkeypatch.setattr(settings, "CONFIG_DIR", config)
    return warehouse


def write_policy(edit) -> None:
    path = settings.CONFIG_DIR / "governance_policy.yaml"
    path.write_text(yaml.safe_dump(edit(yaml.safe_load(path.read_text()))))


def run(warehouse: Path, assets: list, **kwargs):
    resources = {
        "warehouse": WarehouseResource(path=str(warehouse)),
        "governance": GovernancePolicyResource(),
    }
    return materialize(assets, resources=resources, **kwargs)


def test_a_policy_file_cannot_remove_a_built_in_protected_term() -> None:
    raw = unprotect_gender(yaml.safe_load(POLICY_PATH.read_text()))
    raw["protected_attributes"] = ["loyalty"]  # adds one, leaves every built-in one out
    policy = parse_policy(raw)
    assert set(BUILTIN_PROTECTED_TERMS) <= set(policy.protected_terms)
    assert policy.is_protected("primary_contact_gender") and policy.is_protected("loyalty_tier")
    assert policy.custom_policy("primary_contact_gender") == "prohibited"


def test_a_policy_allowing_a_protected_attribute_is_named() -> None:
    policy = parse_policy(unprotect_gender(yaml.safe_load(POLICY_PATH.read_text())))
    catalog = pd.DataFrame({"attribute_name": ["current_mrr"], "segmentation_policy": ["allowed"]})
    assert allowed_protected_attributes(policy, catalog) == ["primary_contact_gender"]


def test_un_protecting_gender_fails_the_gate_and_keeps_it_audited(project) -> None:
    write_policy(unprotect_gender)
    result = run(
        project,
        [customer_attributes_standin, governance_policy, customer_segments_standin],
        raise_on_error=False,
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "allows protected attribute(s) primary_contact_gender" in evaluation.description
    metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert metadata["allowed_protected_attributes"] == ["primary_contact_gender"]
    # gender is still a protected attribute: excluded, and measured by the proxy check
    assert metadata["excluded_features"]["primary_contact_gender"] == "protected attribute"
    assert "primary_contact_gender" in metadata["proxy_measurements"]
    # the blocking check stops what is downstream of customer_attributes in the same run
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert CUSTOMER_SEGMENTS not in materialized

    # ... and the composition audit still measures it
    audit_run = run(
        project, [customer_segments_standin, segment_composition], selection=[segment_composition]
    )
    assert audit_run.success
    with connect(project) as con:
        audit = read_table(con, "governance", "segment_composition")
    assert "primary_contact_gender" in set(audit["protected_attribute"])
