"""Dagster assets for reverse ETL: thin wrappers around `orchestration.io.activation`.

Each asset syncs one destination and reports what it wrote, and what the read-back found. Gating
on the upstream blocking checks is done by the automation conditions in the definitions, not
here. Destination URLs appear only redacted (metadata, logs, errors).
"""

# No `from __future__ import annotations`: Dagster reads the config and resource annotations of
# the asset functions at definition time.
import dagster as dg
from pydantic import Field

from ml_assets.activation import SYNCS, SyncOptions
from orchestration.defs.dbt.assets import dbt_table_key
from orchestration.defs.resources import DestinationResource, WarehouseResource
from orchestration.io import tables
from orchestration.io.activation import run_sync, staged_crm_accounts
from orchestration.io.destinations import dialect_kind, redact_url, scrub, seed_embedded_crm

UPSTREAM = [
    dg.AssetKey(tables.CUSTOMER_SEGMENTS.path),
    dg.AssetKey(tables.SEGMENT_PROFILES.path),
    dbt_table_key(tables.DIM_CUSTOMERS),
    # Marketing consent is per address: the latest decision of each email.
    dbt_table_key(tables.STAGED_CONSENT_EVENTS),
    # The published (anti-flapping) segment of the latest run is what gets synced.
    dg.AssetKey(tables.MEMBERSHIP_HISTORY.path),
]


def activation_asset_key(sync_name: str) -> dg.AssetKey:
    """activation/<sync name>: the asset that runs the sync."""
    return dg.AssetKey([tables.ACTIVATION_SCHEMA, sync_name])


class SyncConfig(dg.Config):
    dry_run: bool = Field(default=False, description="Preview the diff; write nothing anywhere.")
    allow_large_changes: bool = Field(
        default=False, description="Let a run change more than max_change_share of our rows."
    )
    max_change_share: float = Field(
        default=0.25,
        description="Blast-radius guard: largest share of the destination rows this system owns "
        "that one run may change; for CSM tasks, of the customers in scope (the first sync "
        "into an empty destination is exempt).",
    )
    batch_size: int = Field(default=1000, description="Rows per destination transaction.")
    retries: int = Field(default=2, description="Extra attempts for a failed batch.")
    backoff_seconds: float = Field(
        default=0.2, description="Delay before the first retry, doubled for each further one."
    )
    overwrite_nulls: bool = Field(
        default=False, description="CRM: let a null replace a populated field."
    )
    max_resend: int = Field(
        default=1000,
        description="Read-back: most rows re-sent per run that the destination lost or someone "
        "else edited (the rest wait for the next run).",
    )

    def options(self) -> SyncOptions:
        return SyncOptions(**self.model_dump())


def _sync_asset(name: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=activation_asset_key(name),
        deps=UPSTREAM,
        pool="duckdb",
        kinds={"postgres", "sqlite", "python"},  # the embedded default, or the real database
        description=description,
    )
    def _sync(
        context: dg.AssetExecutionContext,
        config: SyncConfig,
        warehouse: WarehouseResource,
        destinations: DestinationResource,
    ) -> dg.MaterializeResult:
        marketing = SYNCS[name].system == "marketing"
        url = (
            destinations.resolved_marketing_url() if marketing else destinations.resolved_crm_url()
        )
        engine = destinations.marketing_engine() if marketing else destinations.crm_engine()
        context.log.info(f"syncing {name} to {redact_url(url)}")
        try:
            with warehouse.connect() as con:
                if name == "crm_account_fields" and destinations.uses_embedded_crm():
                    added = seed_embedded_crm(engine, staged_crm_accounts(con))
                    context.log.info(f"embedded demo CRM: {added} accounts added")
                result = run_sync(
                    name,
                    con,
                    engine,
                    config.options(),
                    run_id=context.run_id,
                    on_batch=lambda n, status: context.log.debug(f"batch {n}: {status}"),
                )
        except Exception as exc:
            message = scrub(str(exc), url)
            if message == str(exc):
                raise
            # The driver's message carried a credential: re-raise it without one (or its cause).
            raise RuntimeError(f"{type(exc).__name__}: {message}") from None
        finally:
            engine.dispose()
        metadata = {
            **{f"rows_{key}": value for key, value in result.counts.items()},
            "rows_unchanged": result.unchanged,
            "owned_rows_before": result.owned_rows,
            "dry_run": result.dry_run,
            "destination": dialect_kind(url),
            "destination_url": redact_url(url),
            **result.readback,  # rows_missing, rows_edited, rows_resent, rows_deferred
            "sync_run_id": result.run_id,
            "preview": dg.MetadataValue.md(result.preview_markdown()),
        }
        if result.counts["failed"]:
            # The ledger has every failed row; their state did not advance, so the next run
            # retries them. Fail loudly so nobody mistakes a partial sync for a complete one.
            raise dg.Failure(
                description=f"{result.counts['failed']} rows failed to sync to {name}; "
                f"see {'.'.join(tables.SYNC_LEDGER)} for run {result.run_id}",
                metadata=metadata,
            )
        return dg.MaterializeResult(metadata=metadata)

    return _sync


crm_account_fields = _sync_asset(
    "crm_account_fields",
    "Segment fields (id, name, playbook action, model version, updated at) on CRM accounts: "
    "update-only, keyed by CRM account id; a null never overwrites a populated field.",
)
marketing_audiences = _sync_asset(
    "marketing_audiences",
    "Marketing audience membership per segment for customers with marketing consent: a tracked "
    "mirror that deletes only rows this system wrote.",
)
csm_tasks = _sync_asset(
    "csm_tasks",
    "Create-only CSM tasks for customers entering a segment whose playbook asks for one; an "
    "idempotency key (customer, segment, model version) prevents duplicates.",
)

activation_assets = [crm_account_fields, marketing_audiences, csm_tasks]

__all__ = ["DestinationResource", "SyncConfig", "activation_assets"]
