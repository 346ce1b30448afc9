"""Reverse ETL scenarios, each against the embedded default destination (SQLite) and a real
PostgreSQL server: the `dest_url` fixture (tests/support/activation.py) is parametrized over both.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from ml_assets.activation import SYNCS, BlastRadiusExceeded, Inputs, assignments
from ml_assets.monitoring.episodes import episodes
from orchestration.defs.activation.assets import activation_assets
from orchestration.defs.resources import DestinationResource, WarehouseResource
from orchestration.io import activation, destinations, history, tables, warehouse
from orchestration.io.activation.writer import copy_text
from orchestration.io.destinations import WRITTEN_BY
from tests.support.activation import (
    ASSIGNED_AT,
    CRM_KNOWN,
    CUSTOMERS,
    SEGMENT_IDS,
    SEGMENT_NAMES,
    allow_all,
    audience,
    crm_fields,
    engine_for,
    execute,
    ledger,
    make_inputs,
    move,
    query,
    reject_account,
    seed_crm,
    set_consent,
    sync,
    sync_all,
    update_inputs,
)

ID_SQL = "select destination_id from segmentation_platform_destination"

# --------------------------------------------------------------------------------------------
# Scenarios (each against SQLite and PostgreSQL)


def test_first_sync_writes_each_destination(wh: Path, crm: str) -> None:
    results = sync_all(wh, crm)

    assert results["crm_account_fields"].counts == {
        "inserted": 0,
        "updated": CRM_KNOWN,
        "deleted": 0,
        "failed": 0,
        "skipped": 1,
    }
    fields = crm_fields(crm)
    assert fields["A00"] == ("seg_01", "Champions", "Call within a week", "v1")
    assert fields["A01"] == ("seg_02", SEGMENT_NAMES[1], "Send renewal offer", "v1")
    assert "A18" not in fields  # update-only: the sync never creates CRM accounts
    assert query(crm, "select account_name from crm_accounts where account_id = 'A05'") == [
        ("Account 5",)
    ]
    updated_at = query(crm, "select segment_updated_at from crm_accounts where account_id = 'A00'")
    assert pd.Timestamp(updated_at[0][0]).tz_localize(None) == ASSIGNED_AT.tz_localize(None)

    consenting = {f"c{i:02d}@example.com" for i in range(0, CUSTOMERS, 2)}
    members = audience(crm)
    assert {email for _, email, _ in members} == consenting  # trimmed, lower case
    assert {written_by for *_, written_by in members} == {WRITTEN_BY}
    assert ("Champions", "c00@example.com", WRITTEN_BY) in members
    assert (SEGMENT_NAMES[1], "c04@example.com", WRITTEN_BY) in members
    assert results["marketing_audiences"].counts["inserted"] == len(consenting)

    tasks = query(crm, "select idempotency_key, account_id from csm_tasks order by idempotency_key")
    # Before any scoring run is recorded there are no episodes: one task per customer and segment.
    assert tasks == [(f"c{i:02d}:seg_01", f"A{i:02d}") for i in range(0, 19, 3)]

    crm_ledger = ledger(wh, results["crm_account_fields"].run_id)
    assert crm_ledger["status"].value_counts().to_dict() == {"ok": CRM_KNOWN, "skipped": 1}
    skipped = crm_ledger[crm_ledger["status"] == "skipped"]
    assert skipped[["key", "operation"]].values.tolist() == [["A18", "skip"]]
    assert skipped["error"].iloc[0] == "not found in the destination"


def test_incremental_sync_writes_only_changes(wh: Path, crm: str) -> None:
    sync_all(wh, crm)

    def edit(inputs: Inputs) -> None:
        move(inputs, "c01", 0)  # no marketing consent; enters the task segment
        move(inputs, "c02", 1)  # consents: leaves one audience, joins another
        inputs.segments["assigned_at"] = ASSIGNED_AT + pd.Timedelta(days=1)  # re-scored: not news

    update_inputs(wh, edit)
    results = sync_all(wh, crm)

    crm_run = results["crm_account_fields"]
    assert crm_run.counts["updated"] == 2 and crm_run.unchanged == CRM_KNOWN - 2
    assert ledger(wh, crm_run.run_id)["key"].tolist() == ["A01", "A02", "A18"]  # A18: skipped
    assert crm_fields(crm)["A02"] == ("seg_02", SEGMENT_NAMES[1], "Send renewal offer", "v1")

    audience_run = results["marketing_audiences"]
    assert audience_run.counts == {
        "inserted": 1,
        "updated": 0,
        "deleted": 1,
        "failed": 0,
        "skipped": 0,
    }
    assert set(ledger(wh, audience_run.run_id)["operation"]) == {"insert", "delete"}
    assert ("Champions", "c02@example.com", WRITTEN_BY) not in audience(crm)
    assert (SEGMENT_NAMES[1], "c02@example.com", WRITTEN_BY) in audience(crm)

    assert results["csm_tasks"].counts["inserted"] == 1
    key = "c01:seg_01"
    assert query(crm, "select count(*) from csm_tasks where idempotency_key = :key", key=key) == [
        (1,)
    ]


def test_rerun_writes_nothing_and_tasks_are_created_once(wh: Path, crm: str) -> None:
    sync_all(wh, crm)
    before = (crm_fields(crm), audience(crm), query(crm, "select * from csm_tasks"))

    again = sync_all(wh, crm)
    assert all(result.rows_written == 0 for result in again.values())
    assert again["crm_account_fields"].counts["skipped"] == 1  # still unknown to the CRM
    assert (crm_fields(crm), audience(crm), query(crm, "select * from csm_tasks")) == before

    # Even with the sync state lost, the idempotency key keeps tasks from being duplicated.
    with warehouse.connect(wh) as con:
        con.execute("delete from activation.sync_state")
    sync_all(wh, crm, allow_large_changes=True)
    assert query(crm, "select count(*) from csm_tasks") == [(7,)]
    assert len(audience(crm)) == 10


def test_tracked_mirror_leaves_foreign_rows_alone(wh: Path, crm: str) -> None:
    engine = engine_for(crm)
    destinations.ensure_tables(engine, destinations.marketing_metadata)
    engine.dispose()
    execute(
        crm,
        "insert into audience_members (audience, email, written_by) values "
        "('Champions', 'c00@example.com', 'marketing_ops'), "
        "('Champions', 'vip@partner.example', 'marketing_ops')",
    )
    sync_all(wh, crm)
    members = audience(crm)
    assert ("Champions", "c00@example.com", "marketing_ops") in members  # not taken over
    assert ("Champions", "c06@example.com", WRITTEN_BY) in members

    def edit(inputs: Inputs) -> None:  # both leave: c00's row is someone else's
        set_consent(inputs, "c00", False)
        set_consent(inputs, "c06", False)

    update_inputs(wh, edit)
    result = sync(wh, crm, "marketing_audiences")
    assert result.counts["deleted"] == 2
    members = audience(crm)
    assert ("Champions", "c06@example.com", WRITTEN_BY) not in members
    assert ("Champions", "c00@example.com", "marketing_ops") in members
    assert ("Champions", "vip@partner.example", "marketing_ops") in members


def test_consent_is_respected(wh: Path, crm: str) -> None:
    sync(wh, crm, "marketing_audiences")
    emails = {email for _, email, _ in audience(crm)}
    assert "c01@example.com" not in emails and "c02@example.com" in emails

    def edit(inputs: Inputs) -> None:
        set_consent(inputs, "c02", False)  # revoked: removed
        set_consent(inputs, "c04", None)  # unknown: not consent
        set_consent(inputs, "c01", True)  # granted: added

    update_inputs(wh, edit)
    result = sync(wh, crm, "marketing_audiences", max_change_share=0.5)
    assert (result.counts["inserted"], result.counts["deleted"]) == (1, 2)
    emails = {email for _, email, _ in audience(crm)}
    assert {"c02@example.com", "c04@example.com"}.isdisjoint(emails)
    assert "c01@example.com" in emails


def test_null_does_not_overwrite_a_populated_crm_field(wh: Path, crm: str) -> None:
    with warehouse.connect(wh) as con:  # seg_01 has no playbook in this model
        con.execute(
            "update segmentation.segment_profiles set playbook_action = null "
            "where segment_id = 'seg_01'"
        )
    execute(
        crm,
        "update crm_accounts set playbook_action = 'Exec sponsor call' where account_id = 'A03'",
    )

    sync(wh, crm, "crm_account_fields")
    assert crm_fields(crm)["A03"] == ("seg_01", "Champions", "Exec sponsor call", "v1")
    assert crm_fields(crm)["A00"] == ("seg_01", "Champions", None, "v1")

    with warehouse.connect(wh) as con:
        con.execute("delete from activation.sync_state")
    sync(wh, crm, "crm_account_fields", overwrite_nulls=True, allow_large_changes=True)
    assert crm_fields(crm)["A03"] == ("seg_01", "Champions", None, "v1")


def test_failed_batch_leaves_no_partial_batch_and_a_rerun_converges(wh: Path, crm: str) -> None:
    reject_account(crm, "A07")
    options = {"batch_size": 3, "retries": 1, "backoff_seconds": 0.0}
    first = sync(wh, crm, "crm_account_fields", **options)

    # Batches of A00-A02, A03-A05, A06-A08, ...: the third fails as a whole.
    assert first.counts["failed"] == 3 and first.counts["updated"] == CRM_KNOWN - 3
    fields = crm_fields(crm)
    assert [account for account, row in fields.items() if row[0] is None] == ["A06", "A07", "A08"]
    failed = ledger(wh, first.run_id).query("status == 'failed'")
    assert failed["key"].tolist() == ["A06", "A07", "A08"]
    assert failed["error"].str.contains("rejected_by_test").all()

    allow_all(crm)
    retry = sync(wh, crm, "crm_account_fields", **options)
    assert retry.counts["updated"] == 3 and retry.counts["failed"] == 0
    assert all(row[0] is not None for row in crm_fields(crm).values())
    assert sync(wh, crm, "crm_account_fields", **options).rows_written == 0


def test_blast_radius_guard_trips_and_can_be_overridden(wh: Path, crm: str) -> None:
    sync_all(wh, crm)
    before = crm_fields(crm)
    with warehouse.connect(wh) as con:
        ledger_rows = len(activation.read_ledger(con))

    def edit(inputs: Inputs) -> None:
        for i in range(10):
            move(inputs, f"c{i:02d}", (i + 1) % 3)

    update_inputs(wh, edit)
    with pytest.raises(BlastRadiusExceeded, match=r"would change 10 of the 18 destination rows"):
        sync(wh, crm, "crm_account_fields")
    assert crm_fields(crm) == before
    with warehouse.connect(wh) as con:
        assert len(activation.read_ledger(con)) == ledger_rows

    preview = sync(wh, crm, "crm_account_fields", dry_run=True)
    assert "allow_large_changes=True" in preview.blocked_reason

    result = sync(wh, crm, "crm_account_fields", allow_large_changes=True)
    assert result.counts["updated"] == 10
    assert crm_fields(crm)["A00"][0] == "seg_02"


def record_history_run(
    wh: Path,
    run_id: str,
    day: int,
    raw: dict[str, str],
    published: dict[str, str],
    model_version: str = "v1",
) -> pd.Timestamp:
    """Store a scoring run as the monitoring asset does (history, then the entry episodes):
    everyone in their make_inputs() segment except the given overrides."""
    base = {f"c{i:02d}": SEGMENT_IDS[i % 3] for i in range(CUSTOMERS)}
    scored_at = pd.Timestamp("2026-03-01 08:00") + pd.Timedelta(days=day)
    run = pd.DataFrame(
        {
            "customer_key": list(base),
            "raw_segment_id": [raw.get(key, segment) for key, segment in base.items()],
            "published_segment_id": [published.get(key, seg) for key, seg in base.items()],
            "margin": 0.4,
        }
    )
    with warehouse.connect(wh) as con:
        history.record_run(con, run_id, model_version, scored_at, run)
        warehouse.replace_table(
            con, *tables.MEMBERSHIP_EPISODES, episodes(history.load_history(con), 30.0)
        )
    return scored_at


def test_published_segment_of_the_latest_run_is_synced(wh: Path, crm: str) -> None:
    # An older run put c06 in seg_03; the latest one has it back in seg_01.
    record_history_run(wh, "v1@1", 0, raw={"c06": "seg_03"}, published={"c06": "seg_03"})
    # Latest run: c00 is a boundary customer whose raw move to seg_02 is held by anti-flapping,
    # c03 really moved to seg_02. customer_segments holds the raw assignment.
    moved = {"c00": "seg_02", "c03": "seg_02"}
    scored_at = record_history_run(wh, "v1@2", 1, raw=moved, published={"c03": "seg_02"})

    def edit(inputs: Inputs) -> None:
        move(inputs, "c00", 1)
        move(inputs, "c03", 1)
        inputs.segments["segment_name"] = "stale name"  # names come from segment_profiles

    update_inputs(wh, edit)
    sync_all(wh, crm)

    fields = crm_fields(crm)
    assert fields["A00"] == ("seg_01", "Champions", "Call within a week", "v1")  # held
    assert fields["A03"] == ("seg_02", SEGMENT_NAMES[1], "Send renewal offer", "v1")
    assert fields["A06"] == ("seg_01", "Champions", "Call within a week", "v1")  # latest run
    # The CRM's "since" is when the customer entered its segment (the first run), not the latest
    # scoring; the CSM task is keyed by that entry.
    since = query(crm, "select segment_updated_at from crm_accounts where account_id = 'A00'")
    assert pd.Timestamp(since[0][0]).tz_localize(None) == scored_at - pd.Timedelta(days=1)
    assert ("Champions", "c00@example.com", WRITTEN_BY) in audience(crm)
    tasks = {key for (key,) in query(crm, "select idempotency_key from csm_tasks")}
    assert "c00:seg_01:20260301T080000" in tasks and not any(k.startswith("c03:") for k in tasks)

    # The next run publishes c00's move: exactly that change reaches the CRM.
    record_history_run(wh, "v1@3", 2, raw=moved, published=moved)
    result = sync(wh, crm, "crm_account_fields")
    assert result.counts["updated"] == 1
    assert crm_fields(crm)["A00"] == ("seg_02", SEGMENT_NAMES[1], "Send renewal offer", "v1")


def test_a_retrain_that_keeps_segments_writes_nothing_and_reentry_creates_one_task(
    wh: Path, crm: str
) -> None:
    record_history_run(wh, "v1@1", 0, raw={}, published={})
    first = sync_all(wh, crm)
    assert first["csm_tasks"].counts["inserted"] == 7
    # A retrain (new model version, segment ids kept) and two more daily scorings: no change
    # a CRM user would see, no new task.
    for day in (1, 2):
        record_history_run(wh, f"v2@{day}", day, raw={}, published={}, model_version="v2")
        again = sync_all(wh, crm)
        assert {name: r.rows_written for name, r in again.items()} == {
            "crm_account_fields": 0,
            "marketing_audiences": 0,
            "csm_tasks": 0,
        }
    # c00 leaves its task segment for 40 days (past the 30-day cool-down) and comes back.
    record_history_run(wh, "v2@3", 3, raw={"c00": "seg_02"}, published={"c00": "seg_02"})
    record_history_run(wh, "v2@43", 43, raw={}, published={}, model_version="v2")
    back = sync_all(wh, crm)
    assert back["csm_tasks"].counts["inserted"] == 1
    keys = [key for (key,) in query(crm, "select idempotency_key from csm_tasks")]
    assert sorted(k for k in keys if k.startswith("c00:")) == [
        "c00:seg_01:20260301T080000",
        "c00:seg_01:20260413T080000",
    ]


def test_assignments_fall_back_to_raw_segments_without_history() -> None:
    inputs = make_inputs()
    raw = assignments(inputs)
    assert raw["segment_id"].tolist() == inputs.segments["segment_id"].tolist()
    run = pd.DataFrame(
        {
            "customer_key": ["c00", "c01"],
            "model_version": "v2",
            "scored_at": pd.Timestamp("2026-04-01"),
            "raw_segment_id": ["seg_02", "seg_02"],
            "published_segment_id": ["seg_01", None],  # c01: not published, not synced
        }
    )
    published = assignments(dataclasses.replace(inputs, published=run))
    assert published[["customer_key", "segment_id"]].values.tolist() == [["c00", "seg_01"]]
    assert published["confidence"].tolist() == [0.9]  # from customer_segments


def test_dry_run_writes_nothing(wh: Path, crm: str) -> None:
    results = sync_all(wh, crm, dry_run=True)

    assert results["crm_account_fields"].counts["updated"] == CRM_KNOWN
    assert results["marketing_audiences"].counts["inserted"] == 10
    assert results["csm_tasks"].counts["inserted"] == 7
    preview = results["crm_account_fields"].preview
    assert set(preview["operation"]) == {"update", "skip"}
    assert "| A00 | update |" in results["crm_account_fields"].preview_markdown()
    assert all(row[0] is None for row in crm_fields(crm).values())
    engine = engine_for(crm)
    assert not sa.inspect(engine).has_table("audience_members")
    engine.dispose()
    assert query(crm, "select count(*) from csm_tasks") == [(0,)]
    with warehouse.connect(wh) as con:
        assert not warehouse.table_exists(con, "activation", "sync_ledger")
        assert not warehouse.table_exists(con, "activation", "sync_state")


# --------------------------------------------------------------------------------------------
# Embedded-only: pure helpers, defaults and the Dagster assets


def test_sync_state_is_kept_per_destination_database(wh: Path, tmp_path: Path) -> None:
    first = seed_crm(f"sqlite:///{tmp_path / 'first.sqlite'}")
    assert sync(wh, first, "marketing_audiences").counts["inserted"] == 10
    # Another database starts from its own (empty) state, not from what the first one got.
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert sync(wh, other, "marketing_audiences").counts["inserted"] == 10
    assert len(audience(other)) == 10
    assert sync(wh, first, "marketing_audiences").rows_written == 0
    with warehouse.connect(wh) as con:
        targets = con.execute("select distinct target from activation.sync_state").fetchall()
    # Keyed by the id each destination stores for itself, not by the spelling of its URL.
    ids = {f"destination:{query(url, ID_SQL)[0][0]}" for url in (first, other)}
    assert {target for (target,) in targets} == ids and len(ids) == 2


def test_state_of_an_older_version_is_adopted(wh: Path, crm: str) -> None:
    sync(wh, crm, "crm_account_fields")
    with warehouse.connect(wh) as con:  # as written before the target column existed
        for table in ("sync_state", "sync_ledger"):
            con.execute(f"alter table activation.{table} drop column target")
    result = sync(wh, crm, "crm_account_fields")
    assert result.rows_written == 0 and result.unchanged == CRM_KNOWN


def test_copy_text_escapes_and_marks_nulls() -> None:
    frame = pd.DataFrame({"a": ["x\ty", "b\\c", None, "n\nl"], "b": [1, None, 3, 4]}, dtype=object)
    assert copy_text(frame) == "x\\ty\t1\nb\\\\c\t\\N\n\\N\t3\nn\\nl\t4\n"


def test_default_destinations_are_embedded_sqlite(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    monkeypatch.delenv("MARKETING_DATABASE_URL", raising=False)
    monkeypatch.setenv("ACTIVATION_DIR", str(tmp_path))
    assert destinations.crm_url() == f"sqlite:///{tmp_path / 'crm.sqlite'}"
    assert DestinationResource().resolved_marketing_url().endswith("marketing.sqlite")
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql+psycopg2://u@db/crm")
    assert DestinationResource().resolved_crm_url() == "postgresql+psycopg2://u@db/crm"
    assert destinations.dialect_kind(destinations.crm_url()) == "postgres"


def test_missing_upstream_table_is_explained(tmp_path: Path, dest_url: str) -> None:
    with pytest.raises(ValueError, match="segmentation.customer_segments is missing"):
        sync(tmp_path / "empty.duckdb", dest_url, "crm_account_fields")


def test_assets_sync_and_report(wh: Path, crm: str) -> None:
    resources = {
        "warehouse": WarehouseResource(path=str(wh)),
        "destinations": DestinationResource(crm_url=crm, marketing_url=crm),
    }
    result = dg.materialize(activation_assets, resources=resources)
    assert result.success
    by_key = {
        name: result.asset_materializations_for_node(f"activation__{name}")[0].metadata
        for name in SYNCS
    }
    assert by_key["crm_account_fields"]["rows_updated"].value == CRM_KNOWN
    assert by_key["crm_account_fields"]["rows_skipped"].value == 1
    assert by_key["marketing_audiences"]["rows_inserted"].value == 10
    assert by_key["csm_tasks"]["rows_inserted"].value == 7
    assert "A00" in by_key["crm_account_fields"]["preview"].value
    kind = "postgres" if crm.startswith("postgresql") else "sqlite"
    assert by_key["csm_tasks"]["destination"].value == kind

    # A batch that keeps failing fails the asset after recording the rows in the ledger.
    update_inputs(wh, lambda inputs: move(inputs, "c03", 1))
    reject_account(crm, "A03")
    run_config = {"ops": {"activation__crm_account_fields": {"config": {"backoff_seconds": 0.0}}}}
    failed = dg.materialize(
        [activation_assets[0]], resources=resources, run_config=run_config, raise_on_error=False
    )
    assert not failed.success
    with warehouse.connect(wh) as con:
        statuses = activation.read_ledger(con, failed.run_id).sort_values("key")["status"]
    assert statuses.tolist() == ["failed", "skipped"]  # A03 failed, A18 unknown to the CRM
