"""What a sync did or would do: the counts per operation, the preview of planned operations,
and the result a run returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ml_assets.activation.syncs import SyncSpec


@dataclass
class SyncResult:
    """What one run of a sync did (or, in a dry run, would do)."""

    destination: str
    run_id: str
    dry_run: bool
    preview: pd.DataFrame  # one row per planned operation: key, operation, status, payload
    unchanged: int = 0
    owned_rows: int = 0
    elapsed_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    blocked_reason: str | None = None  # dry run: why a real run would stop (blast radius)
    # Read-back: rows we believe we wrote that the destination no longer holds (missing) or
    # holds with other values (edited), and how many of those this run re-sent or deferred.
    readback: dict[str, int] = field(default_factory=dict)

    @property
    def rows_written(self) -> int:
        return (
            self.counts.get("inserted", 0)
            + self.counts.get("updated", 0)
            + self.counts.get("deleted", 0)
        )

    def preview_markdown(self, limit: int = 25) -> str:
        """The first planned operations as a markdown table (for Dagster metadata)."""
        if self.preview.empty:
            return "_no changes_"
        shown = self.preview.head(limit).astype(str)
        header = "| " + " | ".join(shown.columns) + " |"
        rule = "|" + "---|" * len(shown.columns)
        body = [
            "| " + " | ".join(v.replace("|", "\\|") for v in row) + " |" for row in shown.values
        ]
        more = len(self.preview) - len(shown)
        tail = [f"\n_… and {more} more_"] if more > 0 else []
        return "\n".join([header, rule, *body, *tail])


def operation_counts(ops: pd.DataFrame) -> dict[str, int]:
    """Rows inserted/updated/deleted (written, or planned in a dry run), failed and skipped."""
    ok = ops[ops["status"].isin(["ok", "planned"])]
    by_op = ok["operation"].value_counts()
    return {
        "inserted": int(by_op.get("insert", 0)),
        "updated": int(by_op.get("update", 0)),
        "deleted": int(by_op.get("delete", 0)),
        "failed": int((ops["status"] == "failed").sum()),
        "skipped": int((ops["operation"] == "skip").sum()),
    }


def operation_preview(spec: SyncSpec, ops: pd.DataFrame) -> pd.DataFrame:
    """One row per planned operation: key, operation, status (once known) and payload."""
    columns = ["_key", "operation", *(["status"] if "status" in ops.columns else []), *spec.columns]
    return ops[columns].rename(columns={"_key": "key"}).reset_index(drop=True)
