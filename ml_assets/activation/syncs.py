"""The three reverse-ETL syncs: what each writes, how it is keyed, and the run options.

- `crm_account_fields`: update-only upsert of our fields on accounts that exist in the CRM; a
  null never overwrites a populated CRM field unless `overwrite_nulls`.
- `marketing_audiences`: tracked mirror of audience membership for customers with marketing
  consent; adds who entered, removes who left, and only ever deletes rows this system wrote.
- `csm_tasks`: create-only; one task per customer entering a segment whose playbook asks for
  one, keyed by an idempotency key so re-runs never duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["update_only", "mirror", "create_only"]
System = Literal["crm", "marketing"]


@dataclass(frozen=True)
class SyncOptions:
    dry_run: bool = False
    allow_large_changes: bool = False
    max_change_share: float = 0.25  # of the rows this system owns (tasks: customers in scope)
    batch_size: int = 1000
    retries: int = 2  # extra attempts per failed batch
    backoff_seconds: float = 0.2  # first retry delay, doubled on each further retry
    overwrite_nulls: bool = False  # CRM: let a null replace a populated field
    # Read-back repairs per run: rows we wrote that the destination lost or someone else edited.
    max_resend: int = 1000


@dataclass(frozen=True)
class SyncSpec:
    """What one sync writes and how it maps the desired rows onto the destination."""

    name: str
    system: System  # the destination database: the CRM or the marketing database
    table: str  # the destination table's name
    mode: Mode
    key_columns: tuple[str, ...]  # identify a row in the destination
    columns: tuple[str, ...]  # payload written (includes the key columns)
    hash_columns: tuple[str, ...]  # a change in these means the row must be written again


CRM_FIELDS = (
    "segment_id",
    "segment_name",
    "playbook_action",
    "model_version",
    "segment_updated_at",
)

SYNCS: dict[str, SyncSpec] = {
    "crm_account_fields": SyncSpec(
        name="crm_account_fields",
        system="crm",
        table="crm_accounts",
        mode="update_only",
        key_columns=("account_id",),
        columns=("account_id", *CRM_FIELDS),
        # Change detection looks at what a CRM user sees: segment, name and playbook. The model
        # version (a retrain that keeps ids) and the assignment time are not news on their own.
        hash_columns=(
            "account_id",
            "segment_id",
            "segment_name",
            "playbook_action",
        ),
    ),
    "marketing_audiences": SyncSpec(
        name="marketing_audiences",
        system="marketing",
        table="audience_members",
        mode="mirror",
        key_columns=("audience", "email"),
        columns=("audience", "email", "customer_key"),
        hash_columns=("audience", "email", "customer_key"),
    ),
    "csm_tasks": SyncSpec(
        name="csm_tasks",
        system="crm",
        table="csm_tasks",
        mode="create_only",
        key_columns=("idempotency_key",),
        columns=(
            "idempotency_key",
            "account_id",
            "customer_key",
            "segment_id",
            "segment_name",
            "title",
        ),
        hash_columns=("idempotency_key",),  # a task, once created, is the CSM's to edit
    ),
}
