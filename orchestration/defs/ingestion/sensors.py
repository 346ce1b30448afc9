"""The landing sensor: starts ingestion of the raw tables whose landing folders hold new files."""

import hashlib
import json

import duckdb
from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from orchestration.defs.ingestion.keys import raw_asset_key
from orchestration.defs.resources import LandingResource, WarehouseResource
from orchestration.io.contract import RAW_TABLES
from orchestration.io.ingestion.landing import Digests, KnownFiles, known_files, scan_landing


def _digests(cursor: str | None) -> Digests:
    """The content hashes the previous tick stored in the cursor (none when unreadable)."""
    try:
        stored = json.loads(cursor or "{}")
        return {
            path: (int(size), int(mtime), int(ctime), int(inode), str(digest))
            for path, (size, mtime, ctime, inode, digest) in stored.items()
        }
    except (ValueError, TypeError, AttributeError):
        return {}


def _known(warehouse: WarehouseResource) -> KnownFiles:
    """The ledger's view, read in a short read-only connection (none when no warehouse yet)."""
    if not warehouse.file.exists():
        return KnownFiles()
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
    # The cursor carries each file's hash with its size, mtime, ctime and inode, so unchanged
    # files are not read again on every tick.
    scan = scan_landing(landing.root, known, digests=_digests(context.cursor))
    context.update_cursor(json.dumps(scan.digests, sort_keys=True))
    new = scan.new
    for waiting in scan.waiting:
        context.log.info(f"waiting for the next tick: {waiting.file} ({waiting.reason})")
    if not new:
        still = f"; {len(scan.waiting)} file(s) still being written" if scan.waiting else ""
        return SkipReason(f"no new files under {landing.root}{still}")
    hashes = sorted(digest for files in new.values() for _, digest in files)
    # The same set of new files never triggers twice, whatever the tick.
    run_key = "landing-" + hashlib.sha256("".join(hashes).encode()).hexdigest()[:20]
    files = sum(len(f) for f in new.values())
    return RunRequest(
        run_key=run_key,
        asset_selection=[raw_asset_key(table) for table in sorted(new)],
        tags={"trigger": "landing_sensor", "new_files": str(files)},
    )
