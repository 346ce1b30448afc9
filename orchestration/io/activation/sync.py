"""Running one sync: read the inputs and what the destination holds, diff, guard, write, record.

The diff is against the destination's own rows (read back), so rows already written by an
interrupted run are not changes, a row we own but no longer want is deleted whatever the sync
state says, and rows we wrote that were lost or edited by someone else are re-sent (at most
`max_resend` per run). Changes go out in batches, one destination transaction each, retried
with exponential backoff; rows of a batch that still fails are recorded as failed in the ledger
and retried by the next run. A blast-radius guard stops runs whose real changes would touch more
than a share of the rows we own in the destination, and a dry run returns the diff without
writing anything anywhere.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import duckdb
import pandas as pd
from sqlalchemy.engine import Engine

from ml_assets.activation import (
    DESIRED_BUILDERS,
    NUL_REASON,
    SYNCS,
    BlastRadiusExceeded,
    Inputs,
    SyncOptions,
    SyncResult,
    SyncSpec,
    check_blast_radius,
    drift,
    held_state,
    keyed,
    limit_repairs,
    operation_counts,
    operation_preview,
    plan,
    plan_base,
    repairs,
    skip,
    unsendable,
)
from orchestration.io import destinations
from orchestration.io.activation import state, writer
from orchestration.io.activation.inputs import read_inputs

NOT_FOUND = "not found in the destination"


def _skip_unknown_accounts(
    engine: Engine, spec: SyncSpec, ops: pd.DataFrame, held: set[str]
) -> pd.DataFrame:
    """Update-only: accounts the destination does not have are skipped, never created."""
    candidates = ops.loc[~ops["_key"].isin(held), "_key"].tolist()
    existing = held | writer.existing_keys(engine, spec, candidates)
    return skip(ops, ~ops["_key"].isin(existing), NOT_FOUND)


def run_sync(
    name: str,
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    options: SyncOptions | None = None,
    run_id: str | None = None,
    inputs: Inputs | None = None,
    on_batch: Callable[[int, str], None] | None = None,
) -> SyncResult:
    """Sync one destination from the warehouse behind `con`.

    on_batch(batch_number, status) is called after each batch is settled ('ok' or 'failed'),
    e.g. to report progress.
    """
    options = options or SyncOptions()
    spec = SYNCS[name]
    run_id = run_id or uuid.uuid4().hex[:12]
    started = time.perf_counter()
    state.upgrade_warehouse_tables(con)
    target = state.target_of(engine, create=not options.dry_run)
    if not options.dry_run:
        state.rekey_legacy_target(con, engine, target)
    inputs = inputs or read_inputs(con)
    desired = keyed(spec, DESIRED_BUILDERS[name](inputs))
    believed = state.read_state(con, name, target)
    held, foreign = writer.read_back(engine, spec)
    holds = held_state(spec, held, desired, options.overwrite_nulls)
    actual = plan_base(spec, holds, believed, foreign)
    ops = plan(spec, desired, actual).assign(_reason=None)
    if spec.mode == "update_only" and len(ops):
        ops = _skip_unknown_accounts(engine, spec, ops, set(holds["key"]))
    ops = skip(ops, unsendable(spec, ops), NUL_REASON)
    repair = repairs(ops, believed)
    ops, deferred = limit_repairs(ops, repair, options.max_resend)
    repair &= ops["operation"] != "skip"
    result = SyncResult(
        destination=name,
        run_id=run_id,
        dry_run=options.dry_run,
        preview=operation_preview(spec, ops),
        unchanged=len(desired) - int((ops["operation"] != "delete").sum()),
        owned_rows=len(held),
        readback={
            **drift(believed, holds, foreign),
            "rows_resent": int(repair.sum()),
            "rows_deferred": deferred,
        },
    )
    approved = state.pending_retries(con, name, target) | set(ops.loc[repair, "_key"])
    try:
        check_blast_radius(spec, ops, len(held), options, approved, len(inputs.segments))
    except BlastRadiusExceeded as exc:
        if not options.dry_run:
            raise
        result.blocked_reason = str(exc)
    if options.dry_run:
        result.counts = operation_counts(ops.assign(status="planned"))
        result.elapsed_seconds = time.perf_counter() - started
        return result

    state.ensure_warehouse_tables(con)
    destinations.ensure_tables(engine, writer.destination_table(spec).metadata)
    skipped = ops[ops["operation"] == "skip"]
    for reason, rows in skipped.groupby("_reason", sort=True):
        state.record(con, spec, run_id, target, rows, "skipped", reason)
    writes = ops[ops["operation"] != "skip"]
    if len(writes):  # settled batch by batch; an interrupted run leaves them planned
        state.record(con, spec, run_id, target, writes, "planned", None)
    statuses = pd.Series("skipped", index=ops.index, dtype=object)
    for number, start in enumerate(range(0, len(writes), options.batch_size), start=1):
        batch = writes.iloc[start : start + options.batch_size]
        error = writer.write_with_retries(engine, spec, batch, options)
        status = "ok" if error is None else "failed"
        state.settle(con, spec, run_id, target, batch, status, error)
        statuses.loc[batch.index] = status
        if on_batch:
            on_batch(number, status)
    _rebuild_state(con, spec, run_id, target, desired, ops, believed, actual)
    result.counts = operation_counts(ops.assign(status=statuses))
    result.preview = operation_preview(spec, ops.assign(status=statuses))
    result.elapsed_seconds = time.perf_counter() - started
    return result


def _rebuild_state(
    con: duckdb.DuckDBPyConnection,
    spec: SyncSpec,
    run_id: str,
    target: str,
    desired: pd.DataFrame,
    ops: pd.DataFrame,
    believed: pd.DataFrame,
    actual: pd.DataFrame,
) -> None:
    """Make the state what the destination holds: adopt rows it already holds as desired (an
    interrupted run's, or a lost state's) and forget rows it neither holds nor should."""
    last = dict(zip(believed["key"], believed["payload_hash"], strict=True))
    in_sync = desired[~desired["_key"].isin(set(ops["_key"]))]
    adopted = in_sync[in_sync["_key"].map(last) != in_sync["_hash"]]
    held = set(actual["key"])
    not_found = set(ops.loc[ops["_reason"] == NOT_FOUND, "_key"])
    stale = believed["key"][
        (~believed["key"].isin(set(desired["_key"])) & ~believed["key"].isin(held))
        | believed["key"].isin(not_found)
    ]
    state.adopt(con, spec, run_id, target, adopted, stale.tolist())
