"""Monitoring in Dagster: history idempotence, blocking checks stopping downstream assets, and the
history + migration assets over two runs with planted movers.

No `from __future__ import annotations`: Dagster reads the test asset's Config from annotations.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import AssetKey, AssetSelection, Config, Definitions, asset, materialize

from ml_assets.monitoring.migration import detect_movers, evaluate_detected_migrations
from orchestration.defs.monitoring.assets import HISTORY_KEY, MIGRATION_KEY, monitoring_assets
from orchestration.defs.monitoring.checks import SEGMENTS_KEY, monitoring_checks
from orchestration.defs.monitoring.jobs import monitoring_job, monitoring_schedule
from orchestration.defs.monitoring.review import REVIEW_KEY
from orchestration.defs.resources import ModelStoreResource, WarehouseResource
from orchestration.io import history
from orchestration.io.scoring_runs import scoring_runs
from orchestration.io.warehouse import connect, read_table, replace_table

N = 400
NAMES = {0: "Champions", 1: "Growth", 2: "Steady", 3: "At-risk"}
MOVERS = [f"c{i:04d}" for i in range(0, N, 10)]  # every 10th customer moves in run 2


def scenario_tables(scenario: str, run_no: int) -> dict[str, pd.DataFrame]:
    """Attributes, outcomes and segments of one synthetic scoring run."""
    rng = np.random.default_rng(0)
    keys = [f"c{i:04d}" for i in range(N)]
    truth = np.arange(N) % 4
    if run_no == 1:  # planted migrations: movers go to the next segment
        truth = np.where(pd.Index(keys).isin(MOVERS), (truth + 1) % 4, truth)
    centers = np.array([[8, 0, 0, 0], [0, 8, 0, 0], [0, 0, 8, 0], [0, 0, 0, 8]], dtype=float)
    features = centers[truth] + rng.normal(size=(N, 4))
    labels = truth
    if scenario == "noise":
        features = rng.normal(size=(N, 4))
        labels = rng.integers(0, 4, N)
    attributes = pd.DataFrame(features, columns=["f1", "f2", "f3", "f4"]).assign(
        customer_key=keys, current_mrr=100.0 * (4 - truth)
    )
    outcomes = pd.DataFrame(
        {
            "customer_key": keys,
            "revenue_after": rng.lognormal(6 - truth, 0.3),
            "churned": rng.random(N) < 0.05 + 0.2 * truth,
        }
    )
    segments = pd.DataFrame(
        {
            "customer_key": keys,
            "segment_id": labels,
            "segment_name": [NAMES[s] for s in labels],
            "confidence": 0.9,
            "margin": 0.5,
            "model_version": "v1",
            "assigned_at": pd.Timestamp("2026-01-01") + pd.Timedelta(days=run_no),
        }
    )
    return {"attributes": attributes, "outcomes": outcomes, "segments": segments}


class ScenarioConfig(Config):
    scenario: str = "blobs"
    run_no: int = 0


@asset(key=SEGMENTS_KEY)
def customer_segments(config: ScenarioConfig, warehouse: WarehouseResource) -> None:
    """Stands in for the segmentation asset: writes the scenario's warehouse tables."""
    tables = scenario_tables(config.scenario, config.run_no)
    with warehouse.connect() as con:
        replace_table(con, "marts", "customer_attributes", tables["attributes"])
        replace_table(con, "marts", "customer_outcomes", tables["outcomes"])
        replace_table(con, "segmentation", "customer_segments", tables["segments"])


@asset(key=AssetKey(["activation", "crm_sync"]), deps=[SEGMENTS_KEY])
def crm_sync() -> None:
    """Stands in for activation: must never run after a blocking check failed."""


def run(warehouse: Path, scenario: str, run_no: int, with_monitoring_assets: bool = True):
    assets = [customer_segments, crm_sync, *(monitoring_assets if with_monitoring_assets else [])]
    return materialize(
        [*assets, *monitoring_checks],
        resources={
            "warehouse": WarehouseResource(path=str(warehouse)),
            "model_store": ModelStoreResource(path=str(warehouse.parent / "models")),
        },
        run_config={
            "ops": {
                "segmentation__customer_segments": {
                    "config": {"scenario": scenario, "run_no": run_no}
                },
                # few resamples keep the test fast; the check's default is 20
                "segmentation__customer_segments_segment_stability": {"config": {"n_boot": 6}},
            }
        },
        raise_on_error=False,
    )


def check_results(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialized(result) -> set[AssetKey]:
    return {e.asset_key for e in result.get_asset_materialization_events()}


def test_blocking_check_failure_stops_downstream_in_same_run(tmp_path):
    result = run(tmp_path / "wh.duckdb", "noise", 0, with_monitoring_assets=False)
    checks = check_results(result)
    assert not checks["segment_stability"].passed
    assert checks["segment_stability"].severity.value == "ERROR"
    assert checks["segment_stability"].metadata["min_jaccard"].value < 0.6
    assert not checks["outcome_validation"].passed
    assert "negligible effect" in checks["outcome_validation"].metadata["reasons"].value
    assert SEGMENTS_KEY in materialized(result)
    assert AssetKey(["activation", "crm_sync"]) not in materialized(result)


def test_passing_checks_then_history_and_migration(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    first = run(warehouse, "blobs", 0)
    checks = check_results(first)
    assert checks["segment_stability"].passed
    assert checks["outcome_validation"].passed
    assert checks["run_to_run_agreement"].passed  # first run: nothing to compare
    assert {SEGMENTS_KEY, HISTORY_KEY, AssetKey(["activation", "crm_sync"])} <= materialized(first)

    second = run(warehouse, "blobs", 1)
    checks = check_results(second)
    agreement = checks["run_to_run_agreement"].metadata
    assert agreement["changed_share"].value == pytest.approx(len(MOVERS) / N)
    assert agreement["previous_run_id"].value == "v1@20260101T000000"
    assert checks["feature_drift"].metadata["status"].value in {"stable", "moderate", "major"}
    assert MIGRATION_KEY in materialized(second)

    with connect(warehouse, read_only=True) as con:
        runs = history.list_runs(con)
        migration_table = read_table(con, "monitoring", "segment_migration")
        entrants = read_table(con, "monitoring", "action_entrants")
        previous = history.load_run(con, runs["run_id"].iloc[0])
        current = history.load_run(con, runs["run_id"].iloc[1])
    assert list(runs["customers"]) == [N, N]
    moved = migration_table[migration_table["from_segment"] != migration_table["to_segment"]]
    assert moved["customers"].sum() == len(MOVERS)
    # movers from segment 2 ("Steady") went to segment 3 ("At-risk")
    assert len(entrants) == sum(int(m[1:]) % 4 == 2 for m in MOVERS)

    detected = detect_movers(
        previous.rename(columns={"published_segment_id": "segment_id"}),
        current.rename(columns={"published_segment_id": "segment_id"}),
    ).rename(columns={"customer_key": "company_id"})
    truth = pd.DataFrame({"company_id": previous["customer_key"]})
    truth["moved"] = truth["company_id"].isin(MOVERS)
    scores = evaluate_detected_migrations(detected, truth)
    assert scores["precision"] == scores["recall"] == 1.0

    metadata = second.asset_materializations_for_node("monitoring__segment_migration")[0].metadata
    assert metadata["chart"].value.startswith("![segment migration](data:image/png;base64,")
    assert metadata["customers_moved"].value == len(MOVERS)


def test_every_scoring_run_is_recorded_published_or_held_with_why(tmp_path):
    """A held run never reaches the membership history, but it is on record with the failed
    checks' reasons; a run that passes the gate is recorded as published."""
    warehouse = tmp_path / "wh.duckdb"
    held = run(warehouse, "noise", 0)
    assert HISTORY_KEY not in materialized(held)
    published = run(warehouse, "blobs", 1)
    assert HISTORY_KEY in materialized(published)
    with connect(warehouse, read_only=True) as con:
        runs = scoring_runs(con)
        assert history.list_runs(con)["run_id"].tolist() == ["v1@20260102T000000"]
    assert runs["run_id"].tolist() == ["v1@20260101T000000", "v1@20260102T000000"]
    assert runs["status"].tolist() == ["held", "published"]
    assert runs["customers"].tolist() == [N, N]
    reason = runs["reason"].iloc[0]
    assert {part.split(":")[0] for part in reason.split("; ")} >= {
        "segment_stability",
        "outcome_validation",
    }
    assert "negligible effect" in reason
    assert runs["reason"].iloc[1].startswith("blocking checks passed")
    # The same run recorded again replaces its row (a retried run is not two runs).
    run(warehouse, "blobs", 1)
    with connect(warehouse, read_only=True) as con:
        assert scoring_runs(con)["status"].tolist() == ["held", "published"]


def test_history_is_idempotent_per_run_id(tmp_path):
    assignments = pd.DataFrame(
        {
            "customer_key": ["a", "b", "c"],
            "raw_segment_id": [0, 1, 1],
            "published_segment_id": [0, 0, 1],
            "margin": [0.5, 0.01, 0.7],
        }
    )
    with connect(tmp_path / "wh.duckdb") as con:
        assert history.previous_run_id(con) is None
        history.record_run(con, "r1", "v1", pd.Timestamp("2026-01-01"), assignments)
        history.record_run(con, "r1", "v1", pd.Timestamp("2026-01-01"), assignments)  # retry
        history.record_run(con, "r2", "v1", pd.Timestamp("2026-01-02"), assignments.head(2))
        history.record_run(con, "r2", "v1", pd.Timestamp("2026-01-02"), assignments.head(2))
        runs = history.list_runs(con)
        assert list(runs["run_id"]) == ["r1", "r2"]
        assert list(runs["customers"]) == [3, 2]
        assert len(history.load_history(con)) == 5
        assert history.previous_run_id(con, "r2") == "r1"
        assert history.previous_run_id(con, "r3") == "r2"  # a run not yet recorded
        assert list(history.load_previous_run(con, "r2")["customer_key"]) == ["a", "b", "c"]
        # segment ids are stored as text: the segmentation uses stable string ids
        assert history.load_run(con, "r1")["published_segment_id"].tolist() == ["0", "0", "1"]
        with pytest.raises(ValueError, match="assignments lack columns"):
            history.record_run(
                con, "r3", "v1", pd.Timestamp("2026-01-03"), assignments[["customer_key"]]
            )


def test_a_rerun_on_the_same_data_is_not_counted_as_a_move_persisting(tmp_path):
    """Anti-flapping counts runs on new data: a re-run on the data of an earlier run (nothing new
    landed) sees only the runs before that data, so it repeats the earlier run's decision."""
    assignments = pd.DataFrame(
        {"customer_key": ["a"], "raw_segment_id": [1], "published_segment_id": [0], "margin": [0.0]}
    )
    day = pd.Timestamp
    with connect(tmp_path / "wh.duckdb") as con:
        history.record_run(con, "old", "v1", day("2026-01-01"), assignments)  # no data clock
        history.record_run(con, "p1", "v1", day("2026-02-01"), assignments, day("2025-12-31"))
        history.record_run(con, "p2", "v1", day("2026-02-02"), assignments, day("2026-01-30"))
        assert history.runs_before(con, "idle", day("2026-01-30")) == ["old", "p1"]
        assert history.runs_before(con, "p3", day("2026-03-01")) == ["old", "p1", "p2"]
        assert history.runs_before(con, "p2", day("2026-01-30")) == ["old", "p1"]
        assert history.runs_before(con, "x", None) == ["old", "p1", "p2"]
        assert history.load_run(con, "p2")["data_as_of"].iloc[0] == day("2026-01-30")


def test_definitions_include_monitoring_job_and_schedule():
    from orchestration.defs.monitoring.definitions import defs as monitoring_domain

    defs = Definitions(
        # The domain's assets, as the code location has them (group and automation set once).
        assets=[customer_segments, crm_sync, *monitoring_domain.assets],
        asset_checks=monitoring_checks,
        jobs=[monitoring_job],
        schedules=[monitoring_schedule],
        resources={
            "warehouse": WarehouseResource(path="unused.duckdb"),
            "model_store": ModelStoreResource(path="unused"),
        },
    )
    job = defs.resolve_job_def("monitoring_job")
    check_names = [
        "segment_stability",
        "outcome_validation",
        "run_to_run_agreement",
        "feature_drift",
    ]
    assert set(job.graph.node_names()) == {
        "segmentation__customer_segments",
        "monitoring__segment_membership_history",
        "monitoring__segment_migration",
        *(f"segmentation__customer_segments_{name}" for name in check_names),
    }
    blocking = {
        spec.name: spec.blocking for check in monitoring_checks for spec in check.check_specs
    }
    assert blocking == {
        "segment_stability": True,
        "outcome_validation": True,
        "run_to_run_agreement": False,
        "feature_drift": False,
    }
    assert monitoring_schedule.job_name == "monitoring_job"
    assert monitoring_schedule.cron_schedule == "0 5 * * *"
    assert AssetSelection.groups("monitoring").resolve(defs.resolve_asset_graph()) == {
        HISTORY_KEY,
        MIGRATION_KEY,
        REVIEW_KEY,
    }


def test_drift_recommends_a_retrain_once_not_again_after_it(tmp_path):
    """Major drift measured in data newer than the model recommends redefinition; after a retrain
    on (or after) that data, the same measurement recommends nothing, so a run without new files
    does not retrain again."""
    from orchestration.io import model_lifecycle

    drift = pd.DataFrame(
        {
            "feature": ["days_since_last_activity", "events_30d"],
            "psi": [0.6, 0.05],
            "band": ["major", "stable"],
            "data_as_of": pd.Timestamp("2026-03-01"),
        }
    )
    with connect(tmp_path / "wh.duckdb") as con:
        replace_table(con, "monitoring", "feature_drift", drift)
        assert model_lifecycle.drift_recommendation(con, pd.Timestamp("2026-01-30")) == (
            "major drift (PSI >= 0.25) on days_since_last_activity"
        )
        assert model_lifecycle.drift_recommendation(con, pd.Timestamp("2026-03-01")) is None
        assert model_lifecycle.drift_recommendation(con) is not None  # no model: it counts


def test_drift_of_one_ageing_feature_is_watched_not_retrained_on(tmp_path):
    """The stored verdict decides: one feature's major PSI with segment sizes held is a "watch"
    (no retrain); a verdict that recommends redefinition names what drifted."""
    from ml_assets.monitoring.drift import drift_summary
    from orchestration.io import model_lifecycle

    rng = np.random.default_rng(3)
    n = 400
    reference = pd.DataFrame(
        {
            "days_since_last_invoice": rng.integers(0, 30, n).astype(float),
            "events_30d": rng.poisson(20, n).astype(float),
            "current_mrr": rng.lognormal(5, 1, n),
        }
    )
    # The billing cycle moved on: every customer's last invoice is 15 days older.
    current = reference.assign(days_since_last_invoice=reference["days_since_last_invoice"] + 15)
    labels = rng.integers(0, 4, n)
    summary = drift_summary(reference, current, reference_labels=labels, current_labels=labels)
    assert summary.drifted_features == ["days_since_last_invoice"]
    assert not summary.redefinition_recommended
    assert summary.status == "moderate"
    assert summary.message.startswith("watch: major drift in 1 of 3 features, days_since_last")
    moved = drift_summary(
        reference, current, reference_labels=labels, current_labels=np.where(labels < 2, 0, labels)
    )
    assert moved.redefinition_recommended
    assert "segment sizes (PSI" in moved.message

    with connect(tmp_path / "wh.duckdb") as con:
        for verdict, expected in ((summary, None), (moved, moved.message)):
            table = verdict.features.assign(
                data_as_of=pd.Timestamp("2026-03-01"),
                redefinition_recommended=verdict.redefinition_recommended,
                verdict=verdict.message,
            )
            replace_table(con, "monitoring", "feature_drift", table)
            assert model_lifecycle.drift_recommendation(con, pd.Timestamp("2026-01-30")) == expected
