"""Reverse ETL's pure core: the syncs, the rows they want, the diff and its safety arithmetic.

Frames in, frames out: the warehouse reads, sync state and destination writes live in
`orchestration.io.activation`.

- `syncs`: the three syncs (`SYNCS`, `SyncSpec`) and `SyncOptions`;
- `desired`: the rows each sync wants, from the warehouse frames (`Inputs`);
- `plan`: keying, hashing and diffing against the sync state; the blast-radius guard;
- `readback`: the destination's own rows as the plan's base, drift against the sync state,
  bounded re-sends and the rows that cannot be sent;
- `report`: counts and preview of the operations, and the `SyncResult` of a run.
"""

from ml_assets.activation.desired import (
    DESIRED_BUILDERS,
    Inputs,
    assignments,
    desired_audiences,
    desired_crm_fields,
    desired_csm_tasks,
)
from ml_assets.activation.plan import BlastRadiusExceeded, check_blast_radius, keyed, plan
from ml_assets.activation.readback import (
    NUL_REASON,
    destination_state,
    drift,
    held_state,
    limit_repairs,
    plan_base,
    repairs,
    skip,
    unsendable,
)
from ml_assets.activation.report import SyncResult, operation_counts, operation_preview
from ml_assets.activation.syncs import CRM_FIELDS, SYNCS, SyncOptions, SyncSpec

__all__ = [
    "CRM_FIELDS",
    "DESIRED_BUILDERS",
    "NUL_REASON",
    "SYNCS",
    "BlastRadiusExceeded",
    "Inputs",
    "SyncOptions",
    "SyncResult",
    "SyncSpec",
    "assignments",
    "check_blast_radius",
    "desired_audiences",
    "desired_crm_fields",
    "desired_csm_tasks",
    "destination_state",
    "drift",
    "held_state",
    "keyed",
    "limit_repairs",
    "operation_counts",
    "operation_preview",
    "plan",
    "plan_base",
    "repairs",
    "skip",
    "unsendable",
]
