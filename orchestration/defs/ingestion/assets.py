"""Ingestion assets: one per raw contract table, loading its new landing files.

The loading logic lives in orchestration.io.ingestion; each asset only opens the warehouse, calls
it and reports what happened as metadata, with the landing_files_accepted check result.
"""

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Config,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    asset,
)
from pydantic import Field

from orchestration.defs.ingestion.checks import (
    REJECTED_HINT,
    files_accepted_result,
    files_accepted_spec,
)
from orchestration.defs.ingestion.keys import raw_asset_key
from orchestration.defs.resources import LandingResource, WarehouseResource
from orchestration.io.contract import RAW_TABLES, RawTable
from orchestration.io.ingestion.landing import WaitingFile
from orchestration.io.ingestion.loader import (
    FileLoadResult,
    load_new_files,
    loaded_version,
    summarize,
)
from orchestration.io.ingestion.raw_tables import FAILED, REJECTED, loaded_columns, row_count


def _column_schema(columns: list[tuple[str, str]], spec: RawTable) -> TableSchema:
    """The raw table's columns as loaded (contract, extra and load columns), described."""
    contract = {c.name: c for c in spec.columns}
    described = []
    for name, data_type in columns:
        col = contract.get(name)
        if col is not None:
            description = "required" if col.required else "optional"
            if col.allowed_values:
                description += f"; one of {', '.join(col.allowed_values)}"
        elif name.startswith("_"):
            description = "load metadata"
        else:
            description = "extra column from the landing files (kept, not used)"
        constraints = TableColumnConstraints(nullable=not (col is not None and col.required))
        described.append(TableColumn(name, data_type, description, constraints))
    return TableSchema(columns=described)


def _files_markdown(results: list[FileLoadResult], waiting: list[WaitingFile]) -> str:
    if not results and not waiting:
        return "No new files."
    lines = [
        "| file | status | rows in | loaded | quarantined | error |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        error = (r.error or "").replace("|", "\\|")
        lines.append(
            f"| {r.file} | {r.status} | {r.rows_in} | {r.rows_loaded} | "
            f"{r.rows_quarantined} | {error} |"
        )
    lines += [f"| {w.file} | waiting | | | | {w.reason} |" for w in waiting]
    return "\n".join(lines)


def _reason_totals(results: list[FileLoadResult]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for r in results:
        for reason, rows in r.quarantine_reasons.items():
            totals[reason] = totals.get(reason, 0) + rows
    return totals


class RawTableConfig(Config):
    """Launchpad options of a raw table's load."""

    retry_rejected: bool = Field(
        default=False,
        description="Look again at the files this table rejected before, unchanged: after a fix "
        "in configuration or code (a changed file is always looked at again).",
    )


def _build_raw_asset(spec: RawTable) -> AssetsDefinition:
    key = raw_asset_key(spec.name)
    required = ", ".join(spec.required_columns)

    @asset(
        key=key,
        kinds={"duckdb"},
        pool="duckdb",
        description=(
            f"{spec.description} Loaded from LANDING_DIR/{spec.name}/ (CSV or Parquet), "
            f"validated against the raw data contract (required: {required}); bad rows go to "
            f"raw_quarantine.{spec.name} with file, line and reason."
        ),
        check_specs=[files_accepted_spec(key)],
    )
    def raw_table(
        context: AssetExecutionContext,
        config: RawTableConfig,
        warehouse: WarehouseResource,
        landing: LandingResource,
    ) -> MaterializeResult:
        with warehouse.connect() as con:
            load = load_new_files(
                landing.root, con, tables=[spec.name], retry_rejected=config.retry_rejected
            )
            results = load.results
            rows = row_count(con, spec.name)
            schema = _column_schema(loaded_columns(con, spec.name), spec)
            # unchanged when no new file loaded, so downstream assets are not marked stale
            version = loaded_version(con, spec.name)
        context.log.info(summarize(results))
        for r in results:
            if r.status == REJECTED:
                context.log.error(f"{r.error}. To load it: {REJECTED_HINT}")
            elif r.status == FAILED:
                context.log.error(r.error)
        for w in load.waiting:
            context.log.info(f"waiting for the next run: {w.file} ({w.reason})")
        return MaterializeResult(
            data_version=DataVersion(version),
            metadata={
                "files": MetadataValue.md(_files_markdown(results, load.waiting)),
                "files_new": len(results),
                "files_hashed": load.files_hashed,
                "files_waiting": MetadataValue.json([w.file for w in load.waiting]),
                "rows_in": sum(r.rows_in for r in results),
                "rows_loaded": sum(r.rows_loaded for r in results),
                "rows_quarantined": sum(r.rows_quarantined for r in results),
                "quarantine_reasons": MetadataValue.json(_reason_totals(results)),
                "dagster/row_count": rows,
                "dagster/column_schema": schema,
            },
            check_results=[files_accepted_result(results)],
        )

    return raw_table


ingestion_assets = [_build_raw_asset(spec) for spec in RAW_TABLES.values()]
