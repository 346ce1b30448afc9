"""The governance Dagster check and assets, materialized on a small synthetic warehouse.

`customer_attributes` and `customer_segments` are dbt / segmentation assets owned elsewhere; here
they are stood in for by assets that do nothing (the synthetic warehouse already holds the data).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from dagster import AssetKey, asset, materialize

from orchestration.defs.audiences import assets as audiences_assets
from orchestration.defs.audiences.assets import rule_segments
from orchestration.defs.governance import assets as governance_assets
from orchestration.defs.governance import checks as governance_checks
from orchestration.defs.governance.assets import CUSTOMER_SEGMENTS, segment_composition
from orchestration.defs.governance.checks import CUSTOMER_ATTRIBUTES, governance_policy
from orchestration.defs.resources import GovernancePolicyResource, WarehouseResource
from orchestration.io import settings
from orchestration.io.warehouse import connect, read_table, replace_table
from tests.support.governance import POLICY_PATH, build_warehouse, catalog_meta, write_manifest

RULES = {
    "exclusive": True,
    "segments": [
        {
            "name": "retail",
            "priority": 1,
            "conditions": [{"attribute": "industry", "eq": "retail"}],
        },
        {
            "name": "champions",
            "priority": 2,
            "conditions": [{"ml_segment": {"in": ["Growing champions"]}}],
        },
    ],
}


@asset(key=CUSTOMER_ATTRIBUTES)
def customer_attributes_standin() -> None:
    """Stands in for the dbt model; the data is already in the warehouse."""


@asset(key=CUSTOMER_SEGMENTS)
def customer_segments_standin() -> None:
    """Stands in for the segmentation asset; the data is already in the warehouse."""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A warehouse, a dbt target with a manifest mirroring the policy, and a config folder."""
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    write_manifest(tmp_path / "dbt" / "target" / "manifest.json", catalog_meta())
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(POLICY_PATH, config / "governance_policy.yaml")
    (config / "rule_segments.yaml").write_text(yaml.safe_dump(RULES))
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", tmp_path / "dbt")
    monkeypatch.setattr(settings, "CONFIG_DIR", config)
    return warehouse


def run(warehouse: Path, assets: list, **kwargs):
    resources = {
        "warehouse": WarehouseResource(path=str(warehouse)),
        "governance": GovernancePolicyResource(),  # config/ of the project fixture
    }
    return materialize(assets, resources=resources, **kwargs)


def check_result(result):
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def test_policy_check_passes_and_reports_proxies(project):
    result = run(project, [customer_attributes_standin, governance_policy])
    evaluation = check_result(result)
    assert evaluation.check_name == "governance_policy"
    assert evaluation.passed
    metadata = {k: v.value for k, v in evaluation.metadata.items()}
    assert metadata["mismatch_count"] == 0
    assert metadata["blocked_proxy_count"] == 2
    assert "preferred_channel" in metadata["blocked_proxies"]
    assert metadata["unclassified_custom_attributes"] == ["favourite_colour"]
    assert "preferred_channel" in metadata["excluded_features"]
    assert metadata["usable_custom_attributes"] == ["account_tier", "region_code"]


def test_policy_mismatch_fails_the_check_and_blocks_downstream(project, tmp_path):
    meta = catalog_meta()
    meta["current_mrr"]["segmentation_policy"] = "prohibited"
    write_manifest(tmp_path / "dbt" / "target" / "manifest.json", meta)
    with connect(project) as con:
        replace_table(con, "audiences", "rule_segments", pd.DataFrame({"customer_key": ["old"]}))

    result = run(
        project,
        [customer_attributes_standin, customer_segments_standin, governance_policy, rule_segments],
        raise_on_error=False,
    )
    evaluation = check_result(result)
    assert not evaluation.passed
    assert "current_mrr: governance policy says 'allowed', dbt meta says 'prohibited'" in (
        evaluation.description
    )
    mismatches = evaluation.metadata["mismatches"].value
    assert [m["attribute"] for m in mismatches] == ["current_mrr"]
    # the blocking check stops rule_segments in the same run: the old table is untouched
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert AssetKey(["audiences", "rule_segments"]) not in materialized
    with connect(project) as con:
        assert read_table(con, "audiences", "rule_segments")["customer_key"].tolist() == ["old"]


def test_rule_segments_preview_writes_nothing_then_publishes(project):
    previous = pd.DataFrame(
        {
            "customer_key": ["c0000", "c0001", "zzz"],
            "rule_segment": ["retail", "retail", "retired"],
            "priority": [1, 1, 9],
            "evaluated_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    with connect(project) as con:
        replace_table(con, "audiences", "rule_segments", previous)

    preview = run(
        project,
        [customer_segments_standin, rule_segments],
        selection=[rule_segments],
        run_config={"ops": {"audiences__rule_segments": {"config": {"preview": True}}}},
    )
    [event] = preview.get_asset_materialization_events()
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    assert metadata["preview"] is True and metadata["published"] is False
    assert "retired" in metadata["membership_changes"]  # the diff shows who would leave
    with connect(project) as con:
        unchanged = read_table(con, "audiences", "rule_segments")
    pd.testing.assert_frame_equal(
        unchanged.sort_values("customer_key", ignore_index=True), previous, check_dtype=False
    )

    publish = run(project, [customer_segments_standin, rule_segments], selection=[rule_segments])
    [event] = publish.get_asset_materialization_events()
    with connect(project) as con:
        published = read_table(con, "audiences", "rule_segments")
        retail = con.execute(
            "select count(*) from marts.customer_attributes where industry = 'retail'"
        ).fetchone()[0]
    assert published["customer_key"].is_unique
    assert (published["rule_segment"] == "retail").sum() == retail
    assert set(published["rule_segment"]) == {"retail", "champions"}
    assert event.materialization.metadata["dagster/row_count"].value == len(published)
    assert "Growing champions" in event.materialization.metadata["overlap_with_ml_segments"].value


def test_invalid_rules_fail_with_the_validation_message(project):
    bad = {
        "segments": [
            {"name": "x", "priority": 1, "conditions": [{"attribute": "indstry", "eq": "a"}]}
        ]
    }
    (settings.CONFIG_DIR / "rule_segments.yaml").write_text(yaml.safe_dump(bad))
    result = run(
        project,
        [customer_segments_standin, rule_segments],
        selection=[rule_segments],
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "unknown attribute 'indstry'; did you mean industry?" in str(
        failure.step_failure_data.user_failure_data.description
    )


def test_segment_composition_is_written(project):
    result = run(
        project, [customer_segments_standin, segment_composition], selection=[segment_composition]
    )
    assert result.success
    with connect(project) as con:
        audit = read_table(con, "governance", "segment_composition")
    assert set(audit["protected_attribute"]) == {
        "primary_contact_gender",
        "primary_contact_age_band",
    }
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["largest_deviation"].value > 0.15


def test_exports():
    assert [a.key for a in governance_assets.governance_assets] == [
        AssetKey(["governance", "segment_composition"]),
    ]
    assert [a.key for a in audiences_assets.audiences_assets] == [
        AssetKey(["audiences", "rule_segments"]),
    ]
    assert len(governance_checks.governance_checks) == 2
