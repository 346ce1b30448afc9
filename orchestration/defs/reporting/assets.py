"""The segment report asset: reads segments, profiles, migration and performance, renders the
self-contained HTML page (ml_assets.report) and writes it next to the model artifacts."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from ml_assets import plots
from ml_assets.monitoring.episodes import entries_at
from ml_assets.profiling import attribute_stats
from ml_assets.report import render_report
from orchestration.defs.dbt.assets import dbt_table_key
from orchestration.defs.resources import WarehouseResource
from orchestration.io import history, reports, tables
from orchestration.io.catalog import default_manifest_path, load_attribute_catalog
from orchestration.io.warehouse import read_table

REPORT_KEY = AssetKey(tables.SEGMENT_REPORT.path)


@asset(
    key=REPORT_KEY,
    kinds={"html"},
    pool="duckdb",
    deps=[
        AssetKey(tables.SEGMENT_PROFILES.path),
        AssetKey(tables.SEGMENT_MIGRATION.path),  # after the history and its episodes
        dbt_table_key(tables.SEGMENT_PERFORMANCE),
    ],
    description="Self-contained HTML report of the run: sizes, profiles, names, playbooks, "
    "outcome differences, stability and migration.",
)
def segment_report(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        profiles = read_table(con, *tables.SEGMENT_PROFILES)
        segments = read_table(con, *tables.CUSTOMER_SEGMENTS)
        attributes = read_table(con, *tables.CUSTOMER_ATTRIBUTES)
        migration = read_table(con, *tables.SEGMENT_MIGRATION)
        performance = read_table(con, *tables.SEGMENT_PERFORMANCE)
        runs = history.list_runs(con)
        spells = read_table(con, *tables.MEMBERSHIP_EPISODES)
    # Entries since the previous run (on the first run everybody "enters": nothing to show).
    entries = entries_at(spells, runs["scored_at"].iloc[-1]) if len(runs) > 1 else None
    lift_png = None
    if not segments.empty:
        rows = attributes.merge(segments[["customer_key", "segment_id"]], on="customer_key")
        stats = attribute_stats(
            rows, rows["segment_id"], load_attribute_catalog(default_manifest_path())
        )
        if not stats.empty:
            labels = dict(zip(profiles["segment_id"], profiles["segment_name"], strict=True))
            lift_png = plots.lift_heatmap(stats, labels)
    page = render_report(profiles, lift_png, migration, performance, entries=entries)
    target = reports.write_report(page)
    context.log.info(f"segment report written to {target}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(target)),
            "size_kb": round(len(page) / 1024, 1),
            "segments": len(profiles),
        }
    )


report_assets = [segment_report]
