"""The monthly review asset, its job and schedule (on by default): segment sizes over time,
stability, drift, outcome differences and agreement, and a keep / retrain / redefine
recommendation with its evidence, appended to monitoring.segment_review."""

from datetime import UTC, datetime

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    DefaultScheduleStatus,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    define_asset_job,
)

from ml_assets import plots
from ml_assets.lifecycle import LifecyclePolicy
from ml_assets.monitoring import outcomes
from ml_assets.monitoring.review import ReviewInputs, review
from ml_assets.monitoring.stability import run_agreement
from orchestration.defs.monitoring.assets import HISTORY_KEY
from orchestration.defs.monitoring.inputs import md_table, read_segments
from orchestration.defs.resources import ModelStoreResource, WarehouseResource
from orchestration.io import history, model_lifecycle, tables
from orchestration.io.warehouse import append_table, read_table

REVIEW_KEY = AssetKey(tables.SEGMENT_REVIEW.path)


def _inputs(con, model, policy: LifecyclePolicy) -> ReviewInputs:
    segments = read_segments(con)
    customer_outcomes = read_table(con, *tables.CUSTOMER_OUTCOMES)
    validation = None
    if not customer_outcomes.empty and not segments.empty:
        customer_outcomes["customer_key"] = customer_outcomes["customer_key"].astype(str)
        validation = outcomes.validate_outcomes(segments, customer_outcomes)
    selection = read_table(con, *tables.MODEL_SELECTION)
    chosen = selection.loc[selection["chosen"]] if "chosen" in selection else selection.iloc[:0]
    runs = history.list_runs(con)
    agreement = None
    if len(runs) >= 2:
        previous, current = (
            history.load_run(con, run).rename(columns={"published_segment_id": "segment_id"})
            for run in runs["run_id"].iloc[-2:]
        )
        agreement = run_agreement(previous, current).ari
    drift = read_table(con, *tables.FEATURE_DRIFT)
    now = model_lifecycle.data_as_of(con)
    trained_at = getattr(model, "trained_at", None)
    return ReviewInputs(
        outcomes_passed=None if validation is None else validation.passed,
        eta_squared=None if validation is None else validation.eta_squared,
        max_cramers_v=None if validation is None else validation.max_cramers_v,
        stability=float(chosen["stability_mean"].iloc[0]) if len(chosen) else None,
        agreement=agreement,
        max_psi=float(drift["psi"].max()) if len(drift) else None,
        drifted=tuple(drift.loc[drift["band"] == "major", "feature"]) if len(drift) else (),
        drift_recommends_redefinition=(
            None if drift.empty else not model_lifecycle.recommending_drift(drift).empty
        ),
        model_age_days=(now - trained_at).days if now and trained_at else None,
        retrain_days=policy.retrain_days,
    )


def _sizes_over_time(con) -> pd.DataFrame:
    """Customers per published segment per run (rows: run, columns: segment)."""
    rows = history.load_history(con)
    if rows.empty:
        return pd.DataFrame()
    return (
        rows.groupby([pd.to_datetime(rows["scored_at"]).dt.date, "published_segment_id"])
        .size()
        .unstack(fill_value=0)
    )


@asset(
    key=REVIEW_KEY,
    deps=[HISTORY_KEY],
    pool="duckdb",
    kinds={"python"},
    description="Monthly review: sizes over time, stability, drift, outcome differences and "
    "agreement, and a keep / retrain / redefine recommendation with its evidence.",
)
def segment_review(
    context: AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource
) -> MaterializeResult:
    model = model_store.load("segment_model")
    with warehouse.connect() as con:
        result = review(_inputs(con, model, LifecyclePolicy()))
        sizes = _sizes_over_time(con)
        reviewed_at = datetime.now(UTC).replace(tzinfo=None)
        append_table(
            con,
            *tables.SEGMENT_REVIEW,
            result.evidence.assign(
                reviewed_at=reviewed_at,
                recommendation=result.recommendation,
                model_version=getattr(model, "version", None),
                figure=result.evidence["figure"].astype(float),
            ),
        )
    context.log.info(f"segment review: {result.summary}")
    metadata = {
        "recommendation": result.recommendation,
        "summary": result.summary,
        "evidence": md_table(result.evidence),
    }
    if not sizes.empty:
        metadata["sizes_over_time"] = MetadataValue.md(md_table(sizes.reset_index()).value)
        metadata["sizes_chart"] = MetadataValue.md(
            plots.markdown_image(plots.sizes_over_time_chart(sizes), "segment sizes over time")
        )
    return MaterializeResult(metadata=metadata)


monthly_review_job = define_asset_job(
    "monthly_review_job",
    selection=[REVIEW_KEY],
    description="The monthly review of the segmentation (keep, retrain or redefine).",
)
monthly_review_schedule = ScheduleDefinition(
    name="monthly_review",
    job=monthly_review_job,
    cron_schedule="0 6 1 * *",
    default_status=DefaultScheduleStatus.RUNNING,
    description="First of the month: review the segments and recommend keep, retrain or redefine.",
)
