"""The code location loads with the assets, checks, jobs, schedules and sensors we expect."""

from __future__ import annotations

from collections import Counter

import pytest
from dagster import AssetKey

from orchestration.io.contract import RAW_TABLES


@pytest.fixture(scope="module")
def asset_graph():
    from orchestration.definitions import defs

    return defs, defs.resolve_asset_graph()


def test_every_layer_has_its_group(asset_graph):
    _, graph = asset_graph
    groups = Counter(
        graph.get(key).group_name
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable
    )
    assert groups["raw"] == len(RAW_TABLES)
    assert groups["staging"] == len(RAW_TABLES)  # one staging model per raw table
    assert groups["seeds"] == 2
    for group in ["intermediate", "marts", "segmentation", "monitoring", "activation", "reporting"]:
        assert groups[group] > 0, group
    for group in ["governance", "audiences"]:
        assert groups[group] == 1, group
    # Nothing is an unbacked stub: every dependency is an asset we define.
    stubs = [key for key in graph.get_all_asset_keys() if not graph.get(key).is_materializable]
    assert stubs == []


def test_every_group_is_its_key_prefix(asset_graph):
    _, graph = asset_graph
    mismatched = [
        (key.to_user_string(), graph.get(key).group_name)
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name != key.path[0]
    ]
    assert mismatched == []


def test_a_domain_refuses_an_asset_outside_its_group():
    from dagster import asset

    from orchestration.defs.domain import domain_definitions

    @asset(key=["marts", "stray"])
    def stray() -> None: ...

    with pytest.raises(ValueError, match="marts/stray is in the segmentation domain"):
        domain_definitions("segmentation", assets=[stray], owners=[], automation=None)


def test_owners_are_set_per_domain(asset_graph):
    _, graph = asset_graph
    owners = {key.path[0]: graph.get(key).owners for key in graph.get_all_asset_keys()}
    assert owners["segmentation"] == ["team:data-science"]
    assert owners["activation"] == ["team:data-platform"]
    assert owners["marts"] == ["team:analytics-engineering"]


def test_key_assets_and_lineage(asset_graph):
    _, graph = asset_graph
    expected = [
        ["raw", "crm_accounts"],
        ["staging", "stg_crm__accounts"],
        ["intermediate", "int_identity_resolved"],
        ["marts", "customer_attributes"],
        ["segmentation", "segment_model"],
        ["segmentation", "customer_segments"],
        ["segmentation", "segment_profiles"],
        ["monitoring", "segment_membership_history"],
        ["monitoring", "segment_migration"],
        ["audiences", "rule_segments"],
        ["reporting", "segment_performance"],
        ["reporting", "segment_report"],
        ["activation", "crm_account_fields"],
        ["activation", "marketing_audiences"],
        ["activation", "csm_tasks"],
    ]
    keys = graph.get_all_asset_keys()
    for path in expected:
        assert AssetKey(path) in keys, path
    # Files -> staging -> marts -> segments -> reporting and activation, in one graph.
    upstream_of_crm = graph.upstream_key_iterator(AssetKey(["activation", "crm_account_fields"]))
    assert AssetKey(["segmentation", "customer_segments"]) in set(upstream_of_crm)
    assert (
        AssetKey(["raw", "crm_accounts"])
        in graph.get(AssetKey(["staging", "stg_crm__accounts"])).parent_keys
    )
    assert (
        AssetKey(["segmentation", "customer_segments"])
        in graph.get(AssetKey(["reporting", "segment_performance"])).parent_keys
    )


def test_checks_jobs_schedules_and_sensors(asset_graph):
    defs, graph = asset_graph
    check_names = Counter(key.name for key in graph.asset_check_keys)
    assert check_names["gx_contract"] == len(RAW_TABLES)
    assert check_names["landing_files_accepted"] == len(RAW_TABLES)
    for name in [
        "segment_stability",
        "outcome_validation",
        "run_to_run_agreement",
        "feature_drift",
        "governance_policy",
        "custom_attribute_coverage",
    ]:
        assert check_names[name] == 1, name
    # dbt data tests arrive as checks too: unique/not_null on the marts at least.
    assert sum(count for name, count in check_names.items() if name.startswith("unique_")) > 10
    # Every singular dbt test is a check, the multi-model one on the model its config names.
    singular = {key.name: key.asset_key for key in graph.asset_check_keys}
    for name in (
        "assert_identity_components_converged",
        "assert_identity_anchors_resolve_to_themselves",
    ):
        assert singular[name] == AssetKey(["intermediate", "int_identity_resolved"]), name
    assert {job.name for job in defs.jobs} >= {"full_refresh_job", "monitoring_job"}
    assert {schedule.name for schedule in defs.schedules} == {
        "daily_full_refresh",
        "monitoring_schedule",
        "monthly_review",
    }
    # Every schedule the README promises runs without anyone switching it on.
    assert {schedule.default_status.value for schedule in defs.schedules} == {"RUNNING"}
    assert {sensor.name for sensor in defs.sensors} == {"landing_sensor", "automation_sensor"}


def test_activation_waits_for_blocking_checks(asset_graph):
    _, graph = asset_graph
    for name in ["crm_account_fields", "marketing_audiences", "csm_tasks"]:
        condition = graph.get(AssetKey(["activation", name])).automation_condition
        assert condition.label == "publish_after_checks_pass"
        assert "all_deps_blocking_checks_passed" in [child.label for child in condition.children]
    model = graph.get(AssetKey(["marts", "customer_attributes"])).automation_condition
    assert model.label == "refresh_on_new_upstream_data"


def test_dagster_dbt_observation_notices_stay_off_the_console(caplog):
    """dagster-dbt warns once per indirectly selected dbt test; those lines are dropped, other
    warnings of the same logger are not."""
    from dagster import get_dagster_logger

    import orchestration.defs.dbt.assets  # noqa: F401  (installs the filter)

    log = get_dagster_logger()
    with caplog.at_level("WARNING", logger=log.name):
        log.warning(
            "Logging an `AssetObservation` instead of an `AssetCheckResult` for dbt test `t`."
        )
        log.warning("something to act on")
    assert [r.getMessage() for r in caplog.records] == ["something to act on"]
