"""Monitoring assets (group `monitoring`): every scoring run's membership history with the
published (anti-flapping) segment, the feature snapshot and drift of each run, and the migration
between the last two runs.

Tables in schema `monitoring`: segment_membership_history (raw + published segment per customer
per run), scoring_runs (every scoring run, published or held, and why: see
orchestration.io.scoring_runs), feature_snapshots (a sample of each run's raw feature values,
the PSI reference of the next run), feature_drift (PSI per feature of the latest run),
segment_migration (the matrix of the last two runs, long format) and action_entrants (customers
who entered a segment marked for action).
"""

# No `from __future__ import annotations` here: Dagster reads the Config classes from the runtime
# annotations.
from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from ml_assets import plots
from ml_assets.monitoring import migration
from ml_assets.monitoring.drift import drift_against_previous_run
from ml_assets.monitoring.episodes import episodes
from ml_assets.monitoring.flapping import apply_anti_flapping, state_from_history
from orchestration.defs.monitoring.checks import SEGMENTS_KEY
from orchestration.defs.monitoring.inputs import (
    feature_matrix,
    md_table,
    previous_run,
    read_segments,
    run_id_of,
    scoring_model,
)
from orchestration.defs.resources import ModelStoreResource, WarehouseResource
from orchestration.io import history, model_lifecycle, tables
from orchestration.io.scoring_runs import PUBLISHED, record_scoring_run
from orchestration.io.snapshots import load_snapshot, store_snapshot
from orchestration.io.warehouse import read_table, replace_table

HISTORY_KEY = AssetKey(tables.MEMBERSHIP_HISTORY.path)
MIGRATION_KEY = AssetKey(tables.SEGMENT_MIGRATION.path)


class AntiFlappingConfig(Config):
    min_margin: float = Field(
        # margin = (d2 - d1) / (d2 + d1): 0 on a boundary. At 0.1, 5,000 generated accounts publish
        # most planted moves at once and hold back only near-ties for another run.
        default=0.1,
        description="A raw move is published at once when its margin (customer_segments.margin) "
        "is at least this.",
    )
    persist_runs: int = Field(
        default=2,
        description="Otherwise it is published after this many consecutive runs on new data "
        "(a re-run on the same data repeats the earlier decision).",
    )
    cooldown_days: float = Field(
        default=30.0,
        description="A customer back in a segment within this many days of leaving it continues "
        "the earlier episode (no new CSM task); later, it is a new entry.",
    )


class MigrationConfig(Config):
    action_segments: list[str] = Field(
        # ml_assets.naming calls the segments that need a save "Dormant", "High value,
        # disengaging" and "Unhappy"; "at risk" covers names set by hand.
        default=["at risk", "at-risk", "disengaging", "dormant", "unhappy"],
        description="Segments marked for action: a segment id, or text its name contains.",
    )
    value_column: str = Field(
        default="current_mrr", description="customer_attributes column whose total is 'moved'."
    )


@asset(
    key=HISTORY_KEY,
    deps=[SEGMENTS_KEY],
    pool="duckdb",
    kinds={"python"},
    description="Every scoring run's raw and published (anti-flapping) segment per customer.",
)
def segment_membership_history(
    context: AssetExecutionContext,
    config: AntiFlappingConfig,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
) -> MaterializeResult:
    with warehouse.connect() as con:
        segments = read_segments(con)
        run_id, model_version, scored_at = run_id_of(segments)
        data_date = model_lifecycle.data_as_of(con)
        earlier = history.runs_before(con, run_id, data_date)[-config.persist_runs :]
        state = state_from_history(history.load_history(con, earlier))
        new = segments.rename(columns={"segment_id": "raw_segment_id"})
        result = apply_anti_flapping(state, new, config.min_margin, config.persist_runs)
        rows = history.record_run(
            con, run_id, model_version, scored_at, result.assignments, data_as_of=data_date
        )
        # This asset runs only when every blocking check on the segments passed.
        record_scoring_run(
            con,
            run_id,
            scored_at,
            model_version,
            rows,
            PUBLISHED,
            f"blocking checks passed; {result.published_moves} moves published, "
            f"{result.suppressed_moves} held by anti-flapping",
        )
        # Entry episodes from every run so far: what actions (CSM tasks) fire on.
        spells = episodes(history.load_history(con), config.cooldown_days)
        replace_table(con, *tables.MEMBERSHIP_EPISODES, spells)
        _, _, values = feature_matrix(con, segments, scoring_model(segments, model_store))
        store_snapshot(con, run_id, values)
        previous_id, previous = previous_run(con, run_id)
        drift_rows = 0
        if previous_id is not None:
            summary = drift_against_previous_run(
                load_snapshot(con, previous_id), values, previous, segments
            )
            drift_rows = replace_table(
                con,
                *tables.FEATURE_DRIFT,
                # The data date lets the training decision tell drift the model has seen from
                # drift after it was trained (model_lifecycle.drift_recommendation).
                summary.features.assign(
                    run_id=run_id,
                    previous_run_id=previous_id,
                    data_as_of=model_lifecycle.data_as_of(con),
                    redefinition_recommended=summary.redefinition_recommended,
                    verdict=summary.message,
                ),
            )
        runs_stored = len(history.list_runs(con))
    context.log.info(
        f"recorded run {run_id}: {rows} customers, {result.suppressed_moves} moves held"
    )
    return MaterializeResult(
        metadata={
            "run_id": run_id,
            "dagster/row_count": rows,
            "runs_stored": runs_stored,
            "raw_moves": result.raw_moves,
            "published_moves": result.published_moves,
            "suppressed_moves": result.suppressed_moves,
            "flapping_rate_prevented": result.flapping_rate_prevented,
            "feature_drift_rows": drift_rows,
        }
    )


@asset(
    key=MIGRATION_KEY,
    deps=[HISTORY_KEY],
    pool="duckdb",
    kinds={"python"},
    description="Migration matrix between the last two runs' published segments, flows by "
    "customers and value, and customers who entered segments marked for action.",
)
def segment_migration(config: MigrationConfig, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.connect() as con:
        runs = history.list_runs(con)
        if len(runs) < 2:
            return MaterializeResult(metadata={"note": "fewer than two runs recorded"})
        previous_id, current_id = runs["run_id"].iloc[-2], runs["run_id"].iloc[-1]
        published = {"published_segment_id": "segment_id"}
        previous = history.load_run(con, previous_id).rename(columns=published)
        current = history.load_run(con, current_id).rename(columns=published)
        names = read_segments(con)
        attributes = read_table(con, *tables.CUSTOMER_ATTRIBUTES)
        names = names[["segment_id", "segment_name"]].drop_duplicates("segment_id")
        labels = dict(zip(names["segment_id"], names["segment_name"], strict=True))
        values = None
        if config.value_column in attributes:
            values = attributes[["customer_key", config.value_column]].astype({"customer_key": str})

        counts, shares = migration.migration_matrix(previous, current)
        flows = migration.migration_flows(previous, current, values, config.value_column)
        action = migration.segments_marked_for_action(names, config.action_segments)
        entrants = migration.action_entrants(previous, current, action)
        table = (
            counts.stack()
            .rename("customers")
            .to_frame()
            .join(shares.stack().rename("share_of_from"))
            .reset_index()
            .assign(previous_run_id=previous_id, run_id=current_id)
        )
        replace_table(con, *tables.SEGMENT_MIGRATION, table)
        replace_table(
            con,
            *tables.ACTION_ENTRANTS,
            entrants.assign(previous_run_id=previous_id, run_id=current_id),
        )
    png = migration.migration_heatmap_png(shares, counts, labels=labels)
    moved = int(table.loc[table["from_segment"] != table["to_segment"], "customers"].sum())
    named = flows.assign(
        from_name=flows["from_segment"].map(labels), to_name=flows["to_segment"].map(labels)
    )
    return MaterializeResult(
        metadata={
            "previous_run_id": previous_id,
            "run_id": current_id,
            "customers_compared": int(counts.to_numpy().sum()),
            "customers_moved": moved,
            "moved_share": moved / max(int(counts.to_numpy().sum()), 1),
            "matrix": MetadataValue.md(counts.rename(index=labels, columns=labels).to_markdown()),
            "chart": MetadataValue.md(plots.markdown_image(png, "segment migration")),
            "top_flows_by_customers": md_table(named.head(10)),
            "top_flows_by_value": md_table(named.sort_values("rank_by_value").head(10)),
            "action_segments": ", ".join(str(labels.get(s, s)) for s in sorted(action)) or "none",
            "action_entrants": len(entrants),
            "action_entrants_preview": md_table(entrants.head(20)),
        }
    )


monitoring_assets = [segment_membership_history, segment_migration]
