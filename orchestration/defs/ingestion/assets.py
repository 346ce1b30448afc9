"""Dagster wrappers for ingestion: one asset and one contract check per raw table, and a sensor.

The loading and validation logic lives in orchestration.io.ingestion; these wrappers only open the
warehouse, call it and report what happened as metadata.
"""

import hashlib

import duckdb
from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    DataVersion,
    DefaultSensorStatus,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    asset,
    asset_check,
    sensor,
)

from orchestration.defs.resources import LandingResource, WarehouseResource
from orchestration.io.contract import RAW_SCHEMA, RAW_TABLES, RawTable
from orchestration.io.ingestion import (
    REJECTED,
    FileLoadResult,
    KnownFiles,
    find_new_files,
    known_files,
    load_landing,
    loaded_version,
    summarize,
    validate_raw_table,
)

FILES_ACCEPTED_CHECK = "landing_files_accepted"
CONTRACT_CHECK = "gx_contract"


def raw_asset_key(table: str) -> AssetKey:
    return AssetKey([RAW_SCHEMA, table])


def _column_schema(con: duckdb.DuckDBPyConnection, spec: RawTable) -> TableSchema:
    """The raw table's columns as loaded (contract, extra and load columns)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [RAW_SCHEMA, spec.name],
    ).fetchall()
    contract = {c.name: c for c in spec.columns}
    columns = []
    for name, data_type in rows:
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
        columns.append(TableColumn(name, data_type, description, constraints))
    return TableSchema(columns=columns)


def _files_markdown(results: list[FileLoadResult]) -> str:
    if not results:
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
    return "\n".join(lines)


def _reason_totals(results: list[FileLoadResult]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for r in results:
        for reason, rows in r.quarantine_reasons.items():
            totals[reason] = totals.get(reason, 0) + rows
    return totals


def _build_raw_asset(spec: RawTable) -> AssetsDefinition:
    key = raw_asset_key(spec.name)
    required = ", ".join(spec.required_columns)

    @asset(
        key=key,
        group_name="ingestion",
        kinds={"duckdb"},
        pool="duckdb",
        description=(
            f"{spec.description} Loaded from LANDING_DIR/{spec.name}/ (CSV or Parquet), "
            f"validated against the raw data contract (required: {required}); bad rows go to "
            f"raw_quarantine.{spec.name} with file, line and reason."
        ),
        check_specs=[
            AssetCheckSpec(
                FILES_ACCEPTED_CHECK,
                asset=key,
                description="Every new landing file was readable and had the required columns.",
            )
        ],
    )
    def raw_table(
        context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource
    ) -> MaterializeResult:
        with warehouse.connect() as con:
            results = load_landing(landing.root, con, tables=[spec.name])
            row_count = con.execute(f'SELECT count(*) FROM {RAW_SCHEMA}."{spec.name}"').fetchone()
            schema = _column_schema(con, spec)
            # unchanged when no new file loaded, so downstream assets are not marked stale
            version = loaded_version(con, spec.name)
        context.log.info(summarize(results))
        rejected = [r for r in results if r.status == REJECTED]
        for r in rejected:
            context.log.error(r.error)
        return MaterializeResult(
            data_version=DataVersion(version),
            metadata={
                "files": MetadataValue.md(_files_markdown(results)),
                "files_new": len(results),
                "rows_in": sum(r.rows_in for r in results),
                "rows_loaded": sum(r.rows_loaded for r in results),
                "rows_quarantined": sum(r.rows_quarantined for r in results),
                "quarantine_reasons": MetadataValue.json(_reason_totals(results)),
                "dagster/row_count": int(row_count[0]),
                "dagster/column_schema": schema,
            },
            check_results=[
                AssetCheckResult(
                    check_name=FILES_ACCEPTED_CHECK,
                    passed=not rejected,
                    severity=AssetCheckSeverity.ERROR,
                    metadata={
                        "rejected_files": len(rejected),
                        "errors": MetadataValue.json([r.error for r in rejected]),
                    },
                )
            ],
        )

    return raw_table


def _build_contract_check(spec: RawTable) -> AssetChecksDefinition:
    @asset_check(
        asset=raw_asset_key(spec.name),
        name=CONTRACT_CHECK,
        pool="duckdb",
        description=(
            "great-expectations suite on the loaded table: contract columns present, required "
            "columns not null, contract types, non-negative and allowed values."
        ),
    )
    def contract_check(warehouse: WarehouseResource) -> AssetCheckResult:
        if not warehouse.file.exists():
            return AssetCheckResult(
                passed=False, metadata={"error": f"no warehouse at {warehouse.file} yet"}
            )
        with warehouse.connect(read_only=True) as con:
            outcome = validate_raw_table(con, spec.name)
        failed = [e for e in outcome.expectations if not e["success"]]
        return AssetCheckResult(
            passed=outcome.success,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "rows_in_table": outcome.rows_in_table,
                "rows_validated": outcome.rows_validated,
                "expectations": len(outcome.expectations),
                "failed_expectations": MetadataValue.json(failed),
            },
        )

    return contract_check


ingestion_assets = [_build_raw_asset(spec) for spec in RAW_TABLES.values()]
ingestion_checks = [_build_contract_check(spec) for spec in RAW_TABLES.values()]


def _known(warehouse: WarehouseResource) -> KnownFiles:
    """The ledger's view, read in a short read-only connection (none when no warehouse yet)."""
    if not warehouse.file.exists():
        return KnownFiles(set(), set())
    with warehouse.connect(read_only=True, wait_seconds=0) as con:  # busy: skip this tick
        return known_files(con)


@sensor(
    name="landing_sensor",
    minimum_interval_seconds=30,
    target=AssetSelection.assets(*(raw_asset_key(t) for t in RAW_TABLES)),
    # On by default so dropped files flow without clicks. Its read-only look at the ledger takes
    # milliseconds, and writers (warehouse.connect, the dbt profile's retries) wait out that lock.
    default_status=DefaultSensorStatus.RUNNING,
    description="Starts ingestion of the raw tables whose landing folders hold new files.",
)
def landing_sensor(
    context: SensorEvaluationContext, warehouse: WarehouseResource, landing: LandingResource
):
    try:
        known = _known(warehouse)
    except duckdb.Error as exc:  # a run is writing the warehouse: look again next tick
        return SkipReason(f"warehouse busy, will retry: {str(exc).splitlines()[0]}")
    new = find_new_files(landing.root, known)
    if not new:
        return SkipReason(f"no new files under {landing.root}")
    hashes = sorted(digest for files in new.values() for _, digest in files)
    # The same set of new files never triggers twice, whatever the tick.
    run_key = "landing-" + hashlib.sha256("".join(hashes).encode()).hexdigest()[:20]
    files = sum(len(f) for f in new.values())
    return RunRequest(
        run_key=run_key,
        asset_selection=[raw_asset_key(table) for table in sorted(new)],
        tags={"trigger": "landing_sensor", "new_files": str(files)},
    )
