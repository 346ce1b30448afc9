"""Ingestion checks: every new landing file was accepted, and the great-expectations contract
suite on each loaded raw table."""

from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    asset_check,
)

from orchestration.defs.ingestion.keys import CONTRACT_CHECK, FILES_ACCEPTED_CHECK, raw_asset_key
from orchestration.defs.resources import WarehouseResource
from orchestration.io.contract import RAW_TABLES, RawTable
from orchestration.io.ingestion.loader import FileLoadResult
from orchestration.io.ingestion.raw_tables import FAILED, REJECTED
from orchestration.io.ingestion.validation import validate_raw_table

# What to do about a rejected file, on the console and in the check's description.
REJECTED_HINT = (
    "fix the file and drop it again, or after a fix in configuration or code re-run this asset "
    "with config retry_rejected: true"
)


def files_accepted_spec(key: AssetKey) -> AssetCheckSpec:
    """Declared on each raw asset, which reports the result as it loads."""
    return AssetCheckSpec(
        FILES_ACCEPTED_CHECK,
        asset=key,
        description="Every new landing file was readable and had the required columns "
        "(a rejected file is looked at again when it changes, or with the asset's config "
        "retry_rejected: true; a failed load is retried on the next run).",
    )


def files_accepted_result(results: list[FileLoadResult]) -> AssetCheckResult:
    not_loaded = [r for r in results if r.status in (REJECTED, FAILED)]
    advice = []
    if any(r.status == REJECTED for r in not_loaded):
        advice.append(f"rejected files: {REJECTED_HINT}")
    if any(r.status == FAILED for r in not_loaded):
        advice.append("failed loads (not the files' content) are retried on the next run")
    return AssetCheckResult(
        check_name=FILES_ACCEPTED_CHECK,
        passed=not not_loaded,
        description="; ".join(advice) or None,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "rejected_files": sum(r.status == REJECTED for r in not_loaded),
            "failed_files": sum(r.status == FAILED for r in not_loaded),
            "errors": MetadataValue.json([r.error for r in not_loaded]),
        },
    )


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


ingestion_checks = [_build_contract_check(spec) for spec in RAW_TABLES.values()]
