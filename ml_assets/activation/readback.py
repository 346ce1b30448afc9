"""Read-back: what the destination holds of our rows, against what we believe we wrote.

A sync plans against the destination's own rows (read back), not against the sync state alone:
a lost or stale state, an interrupted run or a respelled URL then never turns into a wave of
spurious changes, and a row we own but no longer want is deleted whatever the state says. The
sync state is what we believe we wrote; where the destination differs from it (a row lost, or
edited by someone else) the row is re-sent, at most `max_resend` of them per run.
"""

from __future__ import annotations

import pandas as pd

from ml_assets.activation.plan import keyed, row_keys
from ml_assets.activation.syncs import SyncSpec

STATE_COLUMNS = ["key", "payload_hash", "payload"]

NUL_REASON = "a value contains a NUL character, which the destination cannot store"
RESEND_LIMIT_REASON = "re-send limit of this run reached: re-sent by a later run"


def _as_state(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"key": rows["_key"], "payload_hash": rows["_hash"], "payload": rows["_payload"]}
    )


def held_state(
    spec: SyncSpec, held: pd.DataFrame, desired: pd.DataFrame, overwrite_nulls: bool = False
) -> pd.DataFrame:
    """key, payload_hash, payload of our rows as the destination holds them (read back).

    held: spec.columns; desired: keyed() rows. An update-only sync that never lets a null
    overwrite a field counts a populated field where it wants null as in agreement.
    """
    if held.empty:
        return pd.DataFrame(columns=STATE_COLUMNS)
    held = held.reset_index(drop=True)
    if spec.mode == "update_only" and not overwrite_nulls and len(desired):
        fields = [c for c in spec.hash_columns if c not in spec.key_columns]
        wanted = desired.set_index("_key")[fields]
        keys = row_keys(spec, held).to_numpy()
        known = pd.Index(keys).isin(wanted.index)
        aligned = wanted.reindex(keys)  # one lookup for every field
        held = held.copy()
        for column in fields:
            held.loc[known & aligned[column].isna().to_numpy(), column] = None
    # Only a mirror needs the payload of what it holds: to delete rows it no longer wants.
    return _as_state(keyed(spec, held, payload=spec.mode == "mirror")).reset_index(drop=True)


def plan_base(
    spec: SyncSpec, held: pd.DataFrame, believed: pd.DataFrame, foreign: set[str]
) -> pd.DataFrame:
    """What the plan diffs against: the rows the destination holds (held_state), plus, from our
    belief (the sync state), rows we must not write again though the destination lacks them:
    keys another writer holds (we never touch them, so they must not look missing on every run)
    and, for a create-only sync, what we created once (a task the CSM closed stays closed)."""
    keep = believed["key"].isin(foreign) | (spec.mode == "create_only")
    extra = believed[keep & ~believed["key"].isin(set(held["key"]))]
    if extra.empty:
        return held
    return pd.concat([held, extra[STATE_COLUMNS]], ignore_index=True)


def destination_state(
    spec: SyncSpec,
    held: pd.DataFrame,
    desired: pd.DataFrame,
    believed: pd.DataFrame,
    foreign: set[str],
    overwrite_nulls: bool = False,
) -> pd.DataFrame:
    """plan_base over held_state: the read-back rows `held` (spec.columns) as the plan's base."""
    return plan_base(spec, held_state(spec, held, desired, overwrite_nulls), believed, foreign)


def drift(
    believed: pd.DataFrame, actual: pd.DataFrame, foreign: set[str] = frozenset()
) -> dict[str, int]:
    """Rows we believe we wrote that the destination lost (missing) or holds otherwise (edited).

    actual: held_state (what the destination holds); keys another writer holds are not ours.
    """
    believed = believed[~believed["key"].isin(foreign)]
    held = dict(zip(actual["key"], actual["payload_hash"], strict=True))
    seen = believed["key"].map(held)
    return {
        "rows_missing": int(seen.isna().sum()),
        "rows_edited": int((seen.notna() & (seen != believed["payload_hash"])).sum()),
    }


def repairs(ops: pd.DataFrame, believed: pd.DataFrame) -> pd.Series:
    """Writes that only restore what we believe we wrote: the destination lost or changed it."""
    last = dict(zip(believed["key"], believed["payload_hash"], strict=True))
    writes = ops["operation"].isin(["insert", "update"])
    return writes & ops["_key"].map(last).eq(ops["_hash"])


def skip(ops: pd.DataFrame, mask: pd.Series, reason: str) -> pd.DataFrame:
    """The ops with the masked ones turned into skips, with the reason recorded in `_reason`."""
    ops = ops if "_reason" in ops.columns else ops.assign(_reason=None)
    ops.loc[mask, "operation"] = "skip"
    ops.loc[mask, "_reason"] = reason
    return ops


def unsendable(spec: SyncSpec, ops: pd.DataFrame) -> pd.Series:
    """Ops carrying a NUL character: PostgreSQL text cannot hold one, and no address has one."""
    bad = pd.Series(False, index=ops.index)
    for column in spec.columns:
        values = ops[column]
        if values.dtype == object:  # vectorised: one C-speed scan per column
            bad |= values.astype(str).str.contains("\x00", regex=False).to_numpy()
    return bad & (ops["operation"] != "skip")


def limit_repairs(ops: pd.DataFrame, repair: pd.Series, limit: int) -> tuple[pd.DataFrame, int]:
    """Keep at most `limit` repairs in this run; the rest wait. Returns the ops and how many."""
    over = repair & (repair.cumsum() > max(limit, 0))
    return skip(ops, over, RESEND_LIMIT_REASON), int(over.sum())
