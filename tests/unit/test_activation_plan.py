"""The pure reverse-ETL core: keys and hashes, the diff, the blast-radius guard, counts and the
desired rows of each sync (no warehouse, no destination)."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

import ml_assets.activation as activation_core
from ml_assets.activation import (
    SYNCS,
    BlastRadiusExceeded,
    Inputs,
    SyncOptions,
    check_blast_radius,
    desired_audiences,
    desired_crm_fields,
    desired_csm_tasks,
    keyed,
    operation_counts,
    operation_preview,
    plan,
)

AT = pd.Timestamp("2026-03-01 08:00", tz="UTC")


def _state(desired: pd.DataFrame) -> pd.DataFrame:
    """The sync state after `desired` was written."""
    state = desired.rename(columns={"_key": "key", "_hash": "payload_hash", "_payload": "payload"})
    return state[["key", "payload_hash", "payload"]]


def _crm_rows(segment_ids: list[str], at: pd.Timestamp = AT) -> pd.DataFrame:
    n = len(segment_ids)
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "segment_id": segment_ids,
            "segment_name": "Champions",
            "playbook_action": "Call",
            "model_version": "v1",
            "segment_updated_at": at,
        }
    )


def _inputs() -> Inputs:
    segments = pd.DataFrame(
        {
            "customer_key": ["c0", "c1", "c2"],
            "segment_id": ["seg_01", "seg_02", "seg_01"],
            "confidence": [0.5, 0.9, 0.7],
            "model_version": "v1",
            "assigned_at": AT,
        }
    )
    customers = pd.DataFrame(
        {
            "customer_key": ["c0", "c1", "c2"],
            "crm_account_id": ["A0", "A0", None],  # c0 and c1 share one CRM account
            "primary_email": [" C0@Example.com ", None, "c2@example.com"],
            "has_marketing_consent": [True, True, None],
        }
    )
    profiles = pd.DataFrame(
        {
            "segment_id": ["seg_01", "seg_02"],
            "segment_name": ["Champions", None],
            "playbook_action": ["Call", "Email"],
            "create_csm_task": [True, False],
        }
    )
    return Inputs(segments, customers, profiles)


def test_plan_mirror_diff() -> None:
    spec = SYNCS["marketing_audiences"]
    desired = keyed(
        spec,
        pd.DataFrame(
            {"audience": ["a", "a"], "email": ["x@e.com", "y@e.com"], "customer_key": ["1", "2"]}
        ),
    )
    state = desired.rename(columns={"_key": "key", "_hash": "payload_hash", "_payload": "payload"})
    state = state[["key", "payload_hash", "payload"]]
    assert plan(spec, desired, state).empty

    changed = desired.copy()
    changed.loc[1, "_hash"] = "different"
    gone = state.iloc[[0]].assign(key="b|z@e.com", payload='{"audience":"b","email":"z@e.com"}')
    ops = plan(spec, changed, pd.concat([state, gone]))
    assert ops[["_key", "operation"]].values.tolist() == [
        ["a|y@e.com", "update"],
        ["b|z@e.com", "delete"],
    ]
    assert ops.loc[1, "email"] == "z@e.com"


def test_keyed_hashes_only_the_hash_columns_and_writes_utc_payloads() -> None:
    spec = SYNCS["crm_account_fields"]
    first = keyed(spec, _crm_rows(["seg_01", "seg_02"]))
    assert first["_key"].tolist() == ["A0", "A1"]
    assert '"segment_updated_at":"2026-03-01T08:00:00.000000Z"' in first.loc[0, "_payload"]
    # A re-assignment at a new time alone is not news; a new segment is.
    later = keyed(spec, _crm_rows(["seg_01", "seg_02"], at=AT + pd.Timedelta(days=1)))
    assert later["_hash"].tolist() == first["_hash"].tolist()
    moved = keyed(spec, _crm_rows(["seg_02", "seg_02"]))
    assert (moved["_hash"] != first["_hash"]).tolist() == [True, False]


def test_plan_by_mode() -> None:
    crm = SYNCS["crm_account_fields"]
    state = _state(keyed(crm, _crm_rows(["seg_01"])))
    ops = plan(crm, keyed(crm, _crm_rows(["seg_02", "seg_01"])), state)
    assert ops[["_key", "operation"]].values.tolist() == [["A0", "update"], ["A1", "update"]]

    tasks = SYNCS["csm_tasks"]
    rows = pd.DataFrame(
        {
            "idempotency_key": ["c0:seg_01:v1", "c1:seg_01:v1"],
            "account_id": ["A0", None],
            "customer_key": ["c0", "c1"],
            "segment_id": "seg_01",
            "segment_name": "Champions",
            "title": "Call",
        }
    )
    state = _state(keyed(tasks, rows.iloc[[0]]))
    ops = plan(tasks, keyed(tasks, rows.assign(title="edited")), state)
    assert ops[["_key", "operation"]].values.tolist() == [["c1:seg_01:v1", "insert"]]


def test_blast_radius_guard() -> None:
    spec = SYNCS["crm_account_fields"]
    ops = pd.DataFrame({"_key": list("abcd"), "operation": ["insert", "update", "delete", "skip"]})
    options = SyncOptions(max_change_share=0.25)
    check_blast_radius(spec, ops, owned=0, options=options)  # first sync: exempt
    check_blast_radius(spec, ops, owned=12, options=options)  # 3 of 12 = 25%: allowed
    with pytest.raises(BlastRadiusExceeded, match=r"change 3 of the 10 .* 1 deletes, 1 inserts"):
        check_blast_radius(spec, ops, owned=10, options=options)
    check_blast_radius(spec, ops, owned=10, options=SyncOptions(allow_large_changes=True))
    # Retries of rows an earlier run planned do not count.
    check_blast_radius(spec, ops, owned=10, options=options, pending={"a", "b"})


def test_blast_radius_counts_an_audience_move_once() -> None:
    spec = SYNCS["marketing_audiences"]
    options = SyncOptions(max_change_share=0.25)
    moves = pd.DataFrame({"_key": list("abcdef"), "operation": ["insert"] * 3 + ["delete"] * 3})
    check_blast_radius(spec, moves, owned=20, options=options)  # 3 members moved: 15%
    wipe = pd.DataFrame({"_key": list("abcdef"), "operation": ["delete"] * 6})
    with pytest.raises(BlastRadiusExceeded, match=r"change 6 of the 20 .* 6 deletes"):
        check_blast_radius(spec, wipe, owned=20, options=options)


def test_blast_radius_of_tasks_is_a_share_of_the_customers_in_scope() -> None:
    spec = SYNCS["csm_tasks"]
    options = SyncOptions(max_change_share=0.25)
    wave = pd.DataFrame({"_key": [f"t{i}" for i in range(30)], "operation": ["insert"] * 30})
    # 30 new tasks after 40 created so far, for a book of 200 customers: 15% of the book.
    check_blast_radius(spec, wave, owned=40, options=options, scope=200)
    with pytest.raises(BlastRadiusExceeded, match=r"create 30 rows for the 100 customers in scope"):
        check_blast_radius(spec, wave, owned=40, options=options, scope=100)
    # Without a scope the rows created so far are the base, as for the other syncs.
    with pytest.raises(BlastRadiusExceeded, match=r"change 30 of the 40 "):
        check_blast_radius(spec, wave, owned=40, options=options)
    check_blast_radius(spec, wave, owned=0, options=options, scope=100)  # first sync: exempt


def test_operation_counts_and_preview() -> None:
    spec = SYNCS["marketing_audiences"]
    ops = pd.DataFrame(
        {
            "audience": "a",
            "email": ["w@e.com", "x@e.com", "y@e.com", "z@e.com"],
            "customer_key": ["1", "2", "3", "4"],
            "_key": ["a|w", "a|x", "a|y", "a|z"],
            "operation": ["insert", "insert", "delete", "skip"],
            "status": ["ok", "failed", "ok", "skipped"],
        }
    )
    assert operation_counts(ops) == {
        "inserted": 1,
        "updated": 0,
        "deleted": 1,
        "failed": 1,
        "skipped": 1,
    }
    preview = operation_preview(spec, ops)
    assert preview.columns.tolist() == ["key", "operation", "status", *spec.columns]


def test_desired_rows_of_each_sync() -> None:
    inputs = _inputs()
    crm = desired_crm_fields(inputs)  # A0's most confident customer (c1) wins
    assert crm[["account_id", "segment_id", "playbook_action"]].values.tolist() == [
        ["A0", "seg_02", "Email"]
    ]
    # Consent and an email needed; emails trimmed and lower case; a nameless segment by its id.
    audiences = desired_audiences(inputs)
    assert audiences.values.tolist() == [["Champions", "c0@example.com", "c0"]]
    tasks = desired_csm_tasks(inputs)
    assert tasks["idempotency_key"].tolist() == ["c0:seg_01", "c2:seg_01"]  # no episodes yet
    assert tasks["title"].tolist()[0] == "Call (entered segment Champions)"


def test_the_pure_core_imports_no_io_library() -> None:
    forbidden = {"dagster", "duckdb", "sqlalchemy", "orchestration", "os"}
    imported = set()
    for path in Path(activation_core.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert imported & forbidden == set()
