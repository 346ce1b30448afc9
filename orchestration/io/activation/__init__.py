"""Reverse ETL's I/O: push segments to the CRM and marketing databases, safe by default.

The syncs, their desired rows and the diff are pure (`ml_assets.activation`); this package reads
the warehouse (`inputs`), keeps the sync state and ledger (`state`), writes the destinations
(`writer`) and runs one sync end to end (`sync.run_sync`). No Dagster here:
`orchestration.defs.activation` wraps it.
"""

from orchestration.io.activation.inputs import read_inputs, staged_crm_accounts
from orchestration.io.activation.state import read_ledger
from orchestration.io.activation.sync import run_sync

__all__ = ["read_inputs", "read_ledger", "run_sync", "staged_crm_accounts"]
