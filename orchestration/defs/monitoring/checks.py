"""The checks that gate publishing segments, on `segmentation/customer_segments`.

They run right after the segments are materialized, before the history asset records the run, so
"previous run" always means the latest recorded run other than the one being checked (runs are
named by model version and scoring time, see `history.scoring_run_id`).

Blocking (ERROR) checks: segment_stability (mean bootstrap Jaccard of a segment below 0.6) and
outcome_validation (negligible outcome differences). segment_stability refits as selection did
when the model was trained on the data being scored; for a kept model scoring newer data it
refits k-means from the model's centroids (stability.seeded_refit): whether the published
segments still hold together, not whether a fresh fit would redraw them (drift and the monthly
review answer that, and recommend the retrain). Structure itself was tested when it was trained.
Non-blocking (WARN): run_to_run_agreement
(ARI/AMI below 0.8) and feature_drift (major PSI: "segment redefinition recommended"). The
figures come from ml_assets.monitoring and travel as metadata, so the UI shows the trend.
"""

# No `from __future__ import annotations` here: Dagster reads the Config classes of checks from the
# runtime annotations.
import time

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    Config,
    MetadataValue,
    asset_check,
)
from pydantic import Field

from ml_assets.hierarchy import UNSEGMENTED
from ml_assets.monitoring import outcomes, stability
from ml_assets.monitoring.drift import drift_against_previous_run
from ml_assets.selection import SelectionConfig, refit
from orchestration.defs.monitoring.inputs import (
    feature_matrix,
    md_table,
    previous_run,
    read_segments,
    run_id_of,
    scoring_model,
)
from orchestration.defs.resources import ModelStoreResource, WarehouseResource
from orchestration.defs.segmentation.assets import validation_segments
from orchestration.io import model_lifecycle, tables
from orchestration.io.scoring_runs import HELD, record_scoring_run
from orchestration.io.snapshots import load_snapshot
from orchestration.io.warehouse import read_table

SEGMENTS_KEY = AssetKey(tables.CUSTOMER_SEGMENTS.path)


def _held(result: AssetCheckResult, check: str, warehouse: WarehouseResource, segments) -> None:
    """A failed blocking check holds the scoring run: record it (monitoring.scoring_runs), since
    the membership history, written only after the gate, never sees a held run."""
    if result.passed:
        return
    run_id, model_version, scored_at = run_id_of(segments)
    with warehouse.connect() as con:
        record_scoring_run(
            con,
            run_id,
            scored_at,
            model_version,
            len(segments),
            HELD,
            f"{check}: {result.description or result.metadata.get('reasons', 'failed')}",
        )


class StabilityCheckConfig(Config):
    n_boot: int = Field(default=20, description="Bootstrap resamples (Hennig suggests >= 20).")
    max_points: int = Field(
        default=5_000, description="Customers re-clustered per resample (bounds runtime)."
    )
    seed: int = Field(default=0, description="Random seed of resampling and refits.")


@asset_check(
    asset=SEGMENTS_KEY,
    blocking=True,
    pool="duckdb",
    description="Bootstrap stability per segment (Hennig clusterboot, mean Jaccard): "
    "fail below 0.6, warn below 0.75.",
)
def segment_stability(
    config: StabilityCheckConfig, warehouse: WarehouseResource, model_store: ModelStoreResource
) -> AssetCheckResult:
    started = time.perf_counter()
    with warehouse.connect(read_only=True) as con:
        scored = read_segments(con)
        # A density model's noise is no segment: it has nothing to reproduce.
        segments = scored[scored["segment_id"] != UNSEGMENTED]
        model = scoring_model(scored, model_store)
        X, feature_names, _ = feature_matrix(con, segments, model)
        data_as_of = model_lifecycle.data_as_of(con)
    k = segments["segment_id"].nunique()
    algorithm = model.algorithm if model is not None else "kmeans"
    selection_config = getattr(model, "selection_config", None) or SelectionConfig()
    trained_at = getattr(model, "trained_at", None)
    if (
        model is not None
        and trained_at is not None
        and data_as_of is not None
        and (pd.Timestamp(trained_at) < pd.Timestamp(data_as_of))
    ):
        # A kept model scoring newer data: does each segment still hold together around the
        # model's centroids (stability.seeded_refit)? A fresh fit on drifted data answers
        # another question, whether a retrain would redraw the segments (drift, the review).
        fit_predict = stability.seeded_refit(model.assigner.centroids)
        refit_name = (
            f"k-means from the model's centroids (trained on data of {trained_at:%Y-%m-%d})"
        )
    else:
        # Trained on this data: refit as selection did (the chosen algorithm, its n_init), so
        # the check and the selection table report the same stability for the same segments.
        fit_predict, refit_name = refit(algorithm, k, selection_config), algorithm
    result = stability.bootstrap_stability(
        X,
        segments["segment_id"].to_numpy(),
        fit_predict,
        n_boot=config.n_boot,
        max_points=config.max_points,
        seed=config.seed,
        keys=segments["customer_key"].to_numpy(),
    )
    names = dict(zip(segments["segment_id"], segments["segment_name"], strict=False))
    verdict = AssetCheckResult(
        passed=result.status == "pass",
        severity=AssetCheckSeverity.ERROR if result.status == "fail" else AssetCheckSeverity.WARN,
        description=stability.stability_verdict(result, names),
        metadata={
            "status": result.status,
            "min_jaccard": result.min_jaccard,
            "mean_jaccard": result.mean_jaccard,
            "segments": int(k),
            "unsegmented_customers": len(scored) - len(segments),
            "features": len(feature_names),
            "refit": refit_name,
            "n_boot": result.n_boot,
            "customers_resampled": result.n_points,
            "per_segment": md_table(result.per_segment),
            "runtime_s": round(time.perf_counter() - started, 2),
        },
    )
    _held(verdict, "segment_stability", warehouse, scored)
    return verdict


@asset_check(
    asset=SEGMENTS_KEY,
    blocking=True,
    pool="duckdb",
    description="Segments must differ on outcomes: Kruskal-Wallis eta² on revenue_after, "
    "chi-square Cramér's V on churned/retained; negligible effects fail.",
)
def outcome_validation(
    warehouse: WarehouseResource, model_store: ModelStoreResource
) -> AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        scored = read_segments(con)
        customer_outcomes = read_table(con, *tables.CUSTOMER_OUTCOMES)
    verdict = _outcome_verdict(warehouse, model_store, scored, customer_outcomes)
    _held(verdict, "outcome_validation", warehouse, scored)
    return verdict


def _outcome_verdict(
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    segments,
    customer_outcomes,
) -> AssetCheckResult:
    model = scoring_model(segments, model_store)
    tested_on = "current segments (no stored model)"
    if model is not None:
        segments, tested_on = validation_segments(warehouse, model, segments)
    if customer_outcomes.empty:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=f"{tables.CUSTOMER_OUTCOMES.sql} is empty or missing",
            metadata={"reasons": f"{tables.CUSTOMER_OUTCOMES.sql} is empty or missing"},
        )
    customer_outcomes["customer_key"] = customer_outcomes["customer_key"].astype(str)
    result = outcomes.validate_outcomes(segments, customer_outcomes)
    return AssetCheckResult(
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR,
        description=(
            f"segments differ on outcomes (revenue η² {result.eta_squared:.2f}, "
            f"churn max Cramér's V {result.max_cramers_v:.2f})"
            if result.passed
            else "; ".join(result.reasons)
            + ". Publishing is held: segments that do not differ on revenue or churn are not "
            "worth acting on; retrain on other features or check customer_outcomes."
        ),
        metadata={
            "segments_tested": tested_on,
            "eta_squared_revenue": result.eta_squared,
            "max_cramers_v": result.max_cramers_v,
            "reasons": "; ".join(result.reasons),
            "tests": md_table(result.tests),
            "per_segment": md_table(result.per_segment, digits=2),
        },
    )


@asset_check(
    asset=SEGMENTS_KEY,
    pool="duckdb",
    description="Agreement with the previous run after label matching (ARI, AMI; warn "
    "below 0.8) and the share of customers who changed segment.",
)
def run_to_run_agreement(warehouse: WarehouseResource) -> AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        segments = read_segments(con)
        previous_id, previous = previous_run(con, run_id_of(segments)[0])
    if previous.empty:
        return AssetCheckResult(
            passed=True, metadata={"note": "first recorded run: nothing to compare"}
        )
    result = stability.run_agreement(
        previous.rename(columns={"raw_segment_id": "segment_id"}), segments
    )
    return AssetCheckResult(
        passed=result.status == "pass",
        severity=AssetCheckSeverity.WARN,
        metadata={
            "ari": result.ari,
            "ami": result.ami,
            "changed_share": result.changed_share,
            "common_customers": result.common_customers,
            "previous_run_id": previous_id,
            "label_mapping": MetadataValue.json(
                {str(k): str(v) for k, v in result.label_mapping.items()}
            ),
        },
    )


@asset_check(
    asset=SEGMENTS_KEY,
    pool="duckdb",
    description="PSI per feature against the previous run (0.1 moderate, 0.25 major) and "
    "segment-size drift; major drift recommends redefining the segments.",
)
def feature_drift(
    warehouse: WarehouseResource, model_store: ModelStoreResource
) -> AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        segments = read_segments(con)
        previous_id, previous = previous_run(con, run_id_of(segments)[0])
        if previous.empty:
            return AssetCheckResult(
                passed=True, metadata={"note": "first recorded run: nothing to compare"}
            )
        _, _, current_values = feature_matrix(con, segments, scoring_model(segments, model_store))
        reference = load_snapshot(con, previous_id)
    summary = drift_against_previous_run(reference, current_values, previous, segments)
    return AssetCheckResult(
        passed=not summary.redefinition_recommended,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "status": summary.status,
            "message": summary.message,
            "drifted_features": ", ".join(summary.drifted_features) or "none",
            "max_psi": float(summary.features["psi"].max()) if len(summary.features) else 0.0,
            "segment_size_psi": summary.size_drift.psi if summary.size_drift else 0.0,
            "features": md_table(summary.features),
            "previous_run_id": previous_id,
        },
    )


monitoring_checks = [segment_stability, outcome_validation, run_to_run_agreement, feature_drift]
