"""Running one sync: read the inputs, diff against the sync state, guard, write, record.

Changes go out in batches, one destination transaction each, retried with exponential backoff;
rows of a batch that still fails are recorded as failed in the ledger and, because their state
did not advance, retried by the next run. A blast-radius guard stops runs that would touch more
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
    SYNCS,
    BlastRadiusExceeded,
    Inputs,
    SyncOptions,
    SyncResult,
    check_blast_radius,
    keyed,
    operation_counts,
    operation_preview,
    plan,
)
from orchestration.io import destinations
from orchestration.io.activation import state, writer
from orchestration.io.activation.inputs import read_inputs


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
    target = state.target_of(engine)
    state.upgrade_warehouse_tables(con)
    desired = keyed(spec, DESIRED_BUILDERS[name](inputs or read_inputs(con)))
    ops = plan(spec, desired, state.read_state(con, name, target))
    if spec.mode == "update_only" and len(ops):
        existing = writer.existing_keys(engine, spec, ops["_key"].tolist())
        ops.loc[~ops["_key"].isin(existing), "operation"] = "skip"
    owned = writer.owned_rows(engine, spec)
    result = SyncResult(
        destination=name,
        run_id=run_id,
        dry_run=options.dry_run,
        preview=operation_preview(spec, ops),
        unchanged=len(desired) - int((ops["operation"] != "delete").sum()),
        owned_rows=owned,
    )
    try:
        check_blast_radius(spec, ops, owned, options, state.pending_retries(con, name, target))
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
    if len(skipped):
        state.record(con, spec, run_id, target, skipped, "skipped", "not found in the destination")
    writes = ops[ops["operation"] != "skip"]
    statuses = pd.Series("skipped", index=ops.index, dtype=object)
    for number, start in enumerate(range(0, len(writes), options.batch_size), start=1):
        batch = writes.iloc[start : start + options.batch_size]
        error = writer.write_with_retries(engine, spec, batch, options)
        status = "ok" if error is None else "failed"
        state.record(con, spec, run_id, target, batch, status, error)
        statuses.loc[batch.index] = status
        if on_batch:
            on_batch(number, status)
    result.counts = operation_counts(ops.assign(status=statuses))
    result.preview = operation_preview(spec, ops.assign(status=statuses))
    result.elapsed_seconds = time.perf_counter() - started
    return result
