"""Reverse ETL hardening (issue 14), each scenario against SQLite and PostgreSQL: consent per
address, removals and resumed syncs that need no override, the read-back repairs, the state
keyed by the destination's own id, NUL characters, and credentials that are never stored."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from ml_assets.activation import NUL_REASON, SYNCS, Inputs, SyncOptions
from orchestration.defs.activation import assets as activation_assets_module
from orchestration.defs.activation.assets import activation_assets
from orchestration.defs.resources import DestinationResource, WarehouseResource
from orchestration.io import activation, warehouse
from orchestration.io.activation import state
from orchestration.io.destinations import WRITTEN_BY
from tests.support.activation import (
    audience,
    crm_fields,
    engine_for,
    execute,
    ledger,
    query,
    record_consent,
    set_consent,
    sync,
    sync_all,
    update_inputs,
)

CONSENTING = {f"c{i:02d}@example.com" for i in range(0, 20, 2)}


def emails(url: str) -> set[str]:
    return {email for _, email, _ in audience(url)}


def respelled(url: str) -> str:
    """The same database under another spelling of its URL (driver, host, options)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        host = "127.0.0.1" if parsed.host == "localhost" else "localhost"
        return parsed.set(drivername="postgresql+psycopg2", host=host).render_as_string(False)
    return url + "?timeout=20"


# --------------------------------------------------------------------------------------------
# 1. Consent belongs to an address


def test_a_colleagues_grant_does_not_send_the_primary_email(wh: Path, crm: str) -> None:
    def edit(inputs: Inputs) -> None:
        # c01's primary email never consented; a colleague's other address did (dim_customers,
        # by its customer-level rule, says the customer consents).
        record_consent(inputs, "colleague@example.com", True)
        customers = inputs.customers
        customers.loc[customers["customer_key"] == "c01", "has_marketing_consent"] = True
        # c00's primary email revoked after granting; the customer-level flag still says yes.
        record_consent(inputs, "c00@example.com", False)

    update_inputs(wh, edit)
    sync(wh, crm, "marketing_audiences")
    sent = emails(crm)
    assert "c01@example.com" not in sent and "colleague@example.com" not in sent
    assert "c00@example.com" not in sent
    assert sent == CONSENTING - {"c00@example.com"}


# --------------------------------------------------------------------------------------------
# 2 and 3. Removals against what the destination holds; state keyed by the destination's id


def test_revocation_removes_the_address_with_the_state_lost(wh: Path, crm: str) -> None:
    sync(wh, crm, "marketing_audiences")
    with warehouse.connect(wh) as con:  # a rebuilt warehouse: no state, no ledger
        con.execute("drop schema activation cascade")
    update_inputs(wh, lambda inputs: set_consent(inputs, "c02", False))
    result = sync(wh, crm, "marketing_audiences")  # no override needed
    assert result.counts["deleted"] == 1 and result.counts["inserted"] == 0
    assert emails(crm) == CONSENTING - {"c02@example.com"}
    assert sync(wh, crm, "marketing_audiences").rows_written == 0


def test_a_respelled_url_keeps_the_state_and_removes_revoked(wh: Path, crm: str) -> None:
    sync(wh, crm, "marketing_audiences")
    update_inputs(wh, lambda inputs: set_consent(inputs, "c04", False))
    result = sync(wh, respelled(crm), "marketing_audiences")
    assert (result.counts["deleted"], result.counts["inserted"]) == (1, 0)
    assert "c04@example.com" not in emails(crm)
    with warehouse.connect(wh) as con:
        targets = con.execute("select distinct target from activation.sync_state").fetchall()
    [(stored_id,)] = query(crm, "select destination_id from segmentation_platform_destination")
    assert targets == [(f"destination:{stored_id}",)]


def test_owned_rows_the_state_never_knew_are_removed(wh: Path, crm: str) -> None:
    sync(wh, crm, "marketing_audiences")
    execute(
        crm,
        "insert into audience_members (audience, email, customer_key, written_by) values "
        f"('Champions', 'stale@example.com', 'c99', '{WRITTEN_BY}'), "
        "('Champions', 'theirs@example.com', 'x', 'marketing_ops')",
    )
    result = sync(wh, crm, "marketing_audiences")
    assert result.counts["deleted"] == 1
    assert "stale@example.com" not in emails(crm) and "theirs@example.com" in emails(crm)


# --------------------------------------------------------------------------------------------
# 4. Interrupted syncs resume without an override


class Killed(Exception):
    """Stands in for the process being killed."""


def test_kill_between_destination_commit_and_state_write(
    wh: Path, crm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle = state.settle

    def killed_after_commit(*args, **kwargs):
        raise Killed  # the batch is committed in the destination; the state never hears of it

    monkeypatch.setattr(state, "settle", killed_after_commit)
    for name in ("marketing_audiences", "csm_tasks"):
        with pytest.raises(Killed):
            sync(wh, crm, name, batch_size=4)
    assert len(audience(crm)) == 4
    assert query(crm, "select count(*) from csm_tasks") == [(4,)]
    monkeypatch.setattr(state, "settle", settle)

    results = {name: sync(wh, crm, name, batch_size=4) for name in SYNCS}  # no override
    assert results["marketing_audiences"].counts["inserted"] == 6
    assert results["csm_tasks"].counts["inserted"] == 3
    assert emails(crm) == CONSENTING
    tasks = query(crm, "select idempotency_key, count(*) from csm_tasks group by idempotency_key")
    assert len(tasks) == 7 and all(count == 1 for _, count in tasks)  # created once
    again = sync_all(wh, crm)
    assert all(result.rows_written == 0 for result in again.values())


def test_kill_between_batches_resumes_without_an_override(wh: Path, crm: str) -> None:
    sync_all(wh, crm)

    def edit(inputs: Inputs) -> None:  # a consent wave: 6 of the 10 members change
        for i in range(1, 7, 2):
            set_consent(inputs, f"c{i:02d}", True)
        for i in range(2, 8, 2):
            set_consent(inputs, f"c{i:02d}", False)

    update_inputs(wh, edit)

    def killed_after_first_batch(number: int, status: str) -> None:
        raise Killed

    engine = engine_for(crm)
    try:
        with warehouse.connect(wh) as con, pytest.raises(Killed):
            activation.run_sync(
                "marketing_audiences",
                con,
                engine,
                SyncOptions(batch_size=2, allow_large_changes=True),
                on_batch=killed_after_first_batch,
            )
    finally:
        engine.dispose()
    # The next plain run (no override) finishes what the approved run started.
    result = sync(wh, crm, "marketing_audiences", batch_size=2)
    assert result.rows_written == 4
    expected = CONSENTING - {"c02@example.com", "c04@example.com", "c06@example.com"}
    assert emails(crm) == expected | {"c01@example.com", "c03@example.com", "c05@example.com"}
    assert sync(wh, crm, "marketing_audiences").rows_written == 0


# --------------------------------------------------------------------------------------------
# 5. Read-back: lost and edited rows are re-sent, bounded per run


def test_read_back_resends_lost_and_edited_rows(wh: Path, crm: str) -> None:
    sync_all(wh, crm)
    execute(
        crm,
        "delete from audience_members where email in ('c00@example.com', 'c02@example.com')",
        "update audience_members set customer_key = 'edited' where email = 'c04@example.com'",
        "update crm_accounts set segment_name = 'renamed by a CRM user' where account_id = 'A00'",
    )
    limited = sync(wh, crm, "marketing_audiences", max_resend=1)
    assert limited.readback == {
        "rows_missing": 2,
        "rows_edited": 1,
        "rows_resent": 1,
        "rows_deferred": 2,
    }
    assert limited.rows_written == 1
    rest = sync(wh, crm, "marketing_audiences")
    assert rest.readback["rows_resent"] == 2 and rest.rows_written == 2
    assert emails(crm) == CONSENTING
    assert ("c04@example.com", "c04") in set(
        query(crm, "select email, customer_key from audience_members")
    )
    assert sync(wh, crm, "marketing_audiences").readback == {
        "rows_missing": 0,
        "rows_edited": 0,
        "rows_resent": 0,
        "rows_deferred": 0,
    }

    crm_run = sync(wh, crm, "crm_account_fields")
    assert crm_run.readback["rows_edited"] == 1 and crm_run.counts["updated"] == 1
    assert crm_fields(crm)["A00"][1] == "Champions"


# --------------------------------------------------------------------------------------------
# 6. A NUL character in one email skips that row, not the sync


def test_a_nul_character_skips_one_row_and_the_rest_sync(wh: Path, crm: str) -> None:
    bad = "c00\x00@example.com"

    def edit(inputs: Inputs) -> None:
        customers = inputs.customers
        customers.loc[customers["customer_key"] == "c00", "primary_email"] = bad
        record_consent(inputs, bad, True)

    update_inputs(wh, edit)
    result = sync(wh, crm, "marketing_audiences")
    assert result.counts["inserted"] == 9 and result.counts["skipped"] == 1
    assert emails(crm) == CONSENTING - {"c00@example.com"}
    skipped = ledger(wh, result.run_id).query("status == 'skipped'")
    assert skipped["error"].tolist() == [NUL_REASON]


# --------------------------------------------------------------------------------------------
# 7. Credentials are never stored or printed

SECRETS = ("s3cr3t-pw", "s3cr3t-query", "s3cr3t-ssl", "s3cr3t-token")


def with_credentials(url: str) -> str:
    """The URL carrying a password in every form a URL can hold one."""
    parsed = sa.engine.make_url(url)
    query = {"password": SECRETS[1]}
    if parsed.get_backend_name() == "postgresql":
        # The test server trusts local connections, so libpq ignores these passwords.
        parsed = parsed.set(password=SECRETS[0])
        query["sslpassword"] = SECRETS[2]
    else:  # SQLite ignores (with a warning) the options it does not know; libpq refuses them
        query["api_token"] = SECRETS[3]
    return parsed.set(query=query).render_as_string(hide_password=False)


def warehouse_text(wh: Path) -> str:
    """Every text value of every warehouse table, joined."""
    parts = []
    with warehouse.connect(wh) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        for schema, table, column in columns:
            values = con.execute(f'select "{column}" from "{schema}"."{table}"').fetchall()
            parts.extend(str(value) for (value,) in values)
    return "\n".join(parts)


@pytest.mark.filterwarnings("ignore:Query string argument")
def test_credentials_in_urls_appear_nowhere(wh: Path, crm: str) -> None:
    url = with_credentials(crm)
    resources = {
        "warehouse": WarehouseResource(path=str(wh)),
        "destinations": DestinationResource(crm_url=url, marketing_url=url),
    }
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(activation_assets, resources=resources, instance=instance)
    assert result.success
    update_inputs(wh, lambda inputs: set_consent(inputs, "c02", False))
    assert dg.materialize(activation_assets, resources=resources, instance=instance).success

    stored = warehouse_text(wh)
    assert "destination:" in stored  # the state and ledger name the destination by its id
    records = instance.get_records_for_run(result.run_id).records
    logged = "\n".join(str(record.event_log_entry) for record in records)
    metadata = [
        str(event.materialization.metadata) for event in result.get_asset_materialization_events()
    ]
    assert "***" in "".join(metadata)  # the redacted URL is reported
    for secret in SECRETS:
        assert secret not in stored
        assert secret not in logged
        assert all(secret not in text for text in metadata)


@pytest.mark.filterwarnings("ignore:Query string argument")
def test_an_error_carrying_the_url_is_reraised_without_its_credentials(
    wh: Path, crm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = with_credentials(crm)

    def unreachable(*args, **kwargs):
        raise ValueError(f"cannot reach {url}")  # as some drivers word it

    monkeypatch.setattr(activation_assets_module, "run_sync", unreachable)
    resources = {
        "warehouse": WarehouseResource(path=str(wh)),
        "destinations": DestinationResource(crm_url=url, marketing_url=url),
    }
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [activation_assets[1]], resources=resources, instance=instance, raise_on_error=False
    )
    assert not result.success
    records = instance.get_records_for_run(result.run_id).records
    logged = "\n".join(str(record.event_log_entry) for record in records)
    assert "cannot reach" in logged
    assert all(secret not in logged for secret in SECRETS)


@pytest.mark.filterwarnings("ignore:Query string argument")
def test_state_keyed_by_an_older_versions_url_moves_to_the_destination_id(
    wh: Path, crm: str
) -> None:
    sync(wh, crm, "marketing_audiences")
    legacy = sa.engine.make_url(crm).set(query={"password": "old-s3cret"})
    with warehouse.connect(wh) as con:  # as older versions keyed it: the URL, query in clear
        for table in ("sync_state", "sync_ledger"):
            con.execute(
                f"update activation.{table} set target = ?",
                [legacy.render_as_string(hide_password=True)],
            )
    engine = engine_for(legacy.render_as_string(hide_password=False))
    try:
        with warehouse.connect(wh) as con:
            result = activation.run_sync("marketing_audiences", con, engine)
    finally:
        engine.dispose()
    assert result.rows_written == 0 and result.readback["rows_missing"] == 0
    assert "old-s3cret" not in warehouse_text(wh)


def test_a_task_the_csm_deleted_is_not_created_again(wh: Path, crm: str) -> None:
    sync(wh, crm, "csm_tasks")
    execute(crm, "delete from csm_tasks where idempotency_key = 'c00:seg_01'")
    result = sync(wh, crm, "csm_tasks")
    assert result.rows_written == 0 and result.readback["rows_missing"] == 1
    assert query(crm, "select count(*) from csm_tasks") == [(6,)]
