"""The diff: which rows a sync must insert, update or delete, and the blast-radius guard.

Each desired row is keyed by its destination key and hashed over the columns whose change means
a write; the plan compares those hashes with the sync state (what was last confirmed written), so
only changes go out. The guard stops a run that would change more than a share of the rows this
system owns in the destination.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from ml_assets.activation.syncs import SyncOptions, SyncSpec


class BlastRadiusExceeded(RuntimeError):
    """A run would change more of the destination than allowed; nothing was written."""


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Python objects with None for every missing value (NaN, NaT, pd.NA)."""
    frame = frame.astype(object)
    return frame.where(frame.notna(), None)


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row (vectorised; timestamps as ISO 8601 UTC strings)."""
    if frame.empty:
        return []
    frame = frame.copy()
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.DatetimeTZDtype) or frame[name].dtype.kind == "M":
            # numpy formats datetimes in C; pandas' JSON writer takes microseconds per value.
            values = pd.to_datetime(frame[name], utc=True).dt.tz_localize(None)
            stamps = values.to_numpy(dtype="datetime64[us]")
            text = np.char.add(np.datetime_as_string(stamps, unit="us"), "Z")
            frame[name] = np.where(pd.isna(stamps), None, text)
    return frame.to_json(orient="records", lines=True).rstrip("\n").split("\n")


def row_keys(spec: SyncSpec, frame: pd.DataFrame) -> pd.Series:
    """The text key of each row: its key columns joined by |."""
    key = frame[spec.key_columns[0]].astype(str)
    for column in spec.key_columns[1:]:
        key = key + "|" + frame[column].astype(str)
    return key


def keyed(spec: SyncSpec, desired: pd.DataFrame, payload: bool = True) -> pd.DataFrame:
    """The desired rows with `_key` (text key), `_hash` (of the hash columns), `_payload` (JSON;
    None without `payload`, when only the comparison is needed)."""
    typed = desired[list(spec.columns)].reset_index(drop=True)
    frame = _plain(typed)
    frame["_key"] = row_keys(spec, frame)
    # JSON from the typed frame (vectorised) rather than from the Python objects.
    hashed = _json_lines(typed[list(spec.hash_columns)])
    frame["_hash"] = [hashlib.sha1(text.encode()).hexdigest() for text in hashed]
    frame["_payload"] = _json_lines(typed) if payload else None
    return frame.drop_duplicates("_key")


def plan(spec: SyncSpec, desired: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    """Operations needed to move the destination from `state` to `desired`.

    desired: keyed() rows; state: key, payload_hash, payload (JSON of the written row).
    Returns the payload columns plus _key, _hash, operation (insert/update/delete), sorted by key.
    """
    last = dict(zip(state["key"], state["payload_hash"], strict=True)) if len(state) else {}
    previous = desired["_key"].map(last)
    new = previous.isna()
    changed = ~new & (previous != desired["_hash"])
    if spec.mode == "update_only":
        ops = desired[new | changed].assign(operation="update")
    elif spec.mode == "create_only":
        ops = desired[new].assign(operation="insert")
    else:
        ops = pd.concat(
            [desired[new].assign(operation="insert"), desired[changed].assign(operation="update")]
        )
    if spec.mode == "mirror" and len(state):
        gone = state[~state["key"].isin(set(desired["_key"]))]
        if len(gone):
            removed = pd.DataFrame(
                [json.loads(p) for p in gone["payload"]], columns=list(spec.columns)
            )
            removed["_key"] = gone["key"].to_numpy()
            removed["_hash"] = None
            removed["_payload"] = gone["payload"].to_numpy()
            ops = pd.concat([ops, removed.assign(operation="delete")])
    columns = [*spec.columns, "_key", "_hash", "_payload", "operation"]
    return ops.reindex(columns=columns).sort_values("_key", kind="stable").reset_index(drop=True)


def check_blast_radius(
    spec: SyncSpec,
    ops: pd.DataFrame,
    owned: int,
    options: SyncOptions,
    pending: set[str] | frozenset[str] = frozenset(),
    scope: int = 0,
) -> None:
    """Raise BlastRadiusExceeded when the run would touch too much of what we own.

    Only real changes count; in a mirrored audience a move between audiences counts once. A
    create-only sync (tasks) is measured against `scope`, the customers it can raise tasks for:
    the tasks it created so far only ever grow, so against them the same wave of tasks would stop
    a young deployment and pass a year-old one, and every held run would make the next bigger.
    `pending` are keys that need no new approval: retries of rows that
    failed or were left unsettled by an interrupted earlier run (planned, and past the guard,
    then: an outage or a kill must not need an override to recover from) and read-back repairs
    (rows restored to what we already wrote).
    """
    writes = ops[(ops["operation"] != "skip") & ~ops["_key"].isin(pending)]
    if owned == 0 or options.allow_large_changes or len(writes) == 0:
        return  # first sync into an empty destination, or explicitly allowed
    by_op = writes["operation"].value_counts().to_dict()
    changed = len(writes)
    if spec.mode == "mirror":
        # A member moving between audiences is one exit plus one entry: it counts once, while a
        # wipe (all exits) or a flood (all entries) still counts every row.
        changed -= min(by_op.get("insert", 0), by_op.get("delete", 0))
    per_customer = spec.mode == "create_only" and scope > 0
    base = scope if per_customer else owned
    share = changed / base
    if share > options.max_change_share:
        detail = ", ".join(f"{n} {op}s" for op, n in sorted(by_op.items()))
        what = (
            f"create {changed} rows for the {base} customers in scope"
            if per_customer
            else f"change {changed} of the {base} destination rows this system owns"
        )
        raise BlastRadiusExceeded(
            f"{spec.name}: this run would {what} ({share:.1%} > the allowed "
            f"{options.max_change_share:.1%}): {detail}. Nothing was written. If this is "
            f"expected (a new model version, a consent change), re-run with "
            f"allow_large_changes=True."
        )
