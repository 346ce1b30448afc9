"""The pure read-back arithmetic (the destination's rows as the plan's base, drift, bounded
repairs, unsendable rows), per-address marketing consent, and URL redaction."""

from __future__ import annotations

import pandas as pd

from ml_assets.activation import (
    NUL_REASON,
    SYNCS,
    destination_state,
    drift,
    keyed,
    limit_repairs,
    plan,
    repairs,
    skip,
    unsendable,
)
from ml_assets.governance.consent import marketing_consented_addresses
from orchestration.io.destinations import normalised_url, redact_url, scrub

AUDIENCES = SYNCS["marketing_audiences"]
CRM = SYNCS["crm_account_fields"]


def members(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(AUDIENCES.columns))


def as_state(frame: pd.DataFrame) -> pd.DataFrame:
    rows = keyed(AUDIENCES, frame)
    return pd.DataFrame(
        {"key": rows["_key"], "payload_hash": rows["_hash"], "payload": rows["_payload"]}
    )


def test_plan_against_the_destination_deletes_owned_rows_the_state_never_knew() -> None:
    desired = keyed(AUDIENCES, members(("A", "a@x", "c1")))
    held = members(("A", "a@x", "c1"), ("A", "stale@x", "c9"))
    actual = destination_state(AUDIENCES, held, desired, as_state(held.iloc[:0]), set())
    ops = plan(AUDIENCES, desired, actual)
    assert ops[["_key", "operation"]].values.tolist() == [["A|stale@x", "delete"]]


def test_drift_and_bounded_repairs() -> None:
    wanted = members(("A", "a@x", "c1"), ("A", "b@x", "c2"), ("A", "c@x", "c3"))
    desired = keyed(AUDIENCES, wanted)
    believed = as_state(wanted)
    held = members(("A", "a@x", "edited"))  # b and c lost, a edited by someone else
    actual = destination_state(AUDIENCES, held, desired, believed, set())
    assert drift(believed, actual) == {"rows_missing": 2, "rows_edited": 1}
    ops = plan(AUDIENCES, desired, actual).assign(_reason=None)
    repair = repairs(ops, believed)
    assert repair.all()
    ops, deferred = limit_repairs(ops, repair, 2)
    assert deferred == 1 and (ops["operation"] == "skip").sum() == 1


def test_rows_another_writer_holds_keep_our_belief() -> None:
    wanted = members(("A", "a@x", "c1"))
    desired = keyed(AUDIENCES, wanted)
    actual = destination_state(AUDIENCES, members(), desired, as_state(wanted), {"A|a@x"})
    assert plan(AUDIENCES, desired, actual).empty  # not re-sent on every run


def test_a_null_we_never_write_is_in_agreement() -> None:
    row = {
        "account_id": "A0",
        "segment_id": "seg_01",
        "segment_name": "Champions",
        "playbook_action": None,
        "model_version": "v1",
        "segment_updated_at": pd.Timestamp("2026-03-01", tz="UTC"),
    }
    desired = keyed(CRM, pd.DataFrame([row]))
    held = pd.DataFrame([{**row, "playbook_action": "Exec sponsor call"}])
    empty = pd.DataFrame(columns=["key", "payload_hash", "payload"])
    assert plan(CRM, desired, destination_state(CRM, held, desired, empty, set())).empty
    overwrite = destination_state(CRM, held, desired, empty, set(), overwrite_nulls=True)
    assert plan(CRM, desired, overwrite)["operation"].tolist() == ["update"]


def test_nul_characters_are_unsendable() -> None:
    desired = keyed(AUDIENCES, members(("A", "a\x00@x", "c1"), ("A", "b@x", "c2")))
    ops = plan(AUDIENCES, desired, as_state(members())).assign(_reason=None)
    ops = skip(ops, unsendable(AUDIENCES, ops), NUL_REASON)
    assert ops["operation"].tolist() == ["skip", "insert"]
    assert ops["_reason"].tolist() == [NUL_REASON, None]


def test_marketing_consent_is_the_addresss_own_latest_decision() -> None:
    at = pd.Timestamp("2026-01-01", tz="UTC")
    events = pd.DataFrame(
        {
            "email": [" A@x ", "a@x", "b@x", "c@x", "c@x", "d@x"],
            "purpose": [
                "marketing",
                "marketing",
                "marketing",
                "marketing",
                "marketing",
                "analytics",
            ],
            "granted": [True, False, True, True, False, True],
            "recorded_at": [at, at + pd.Timedelta(days=1), at, at, at, at],
        }
    )
    # a: revoked later; b: granted; c: a tie, the revocation wins; d: analytics only
    assert marketing_consented_addresses(events) == {"b@x"}


def test_urls_are_redacted_scrubbed_and_normalised() -> None:
    url = "postgresql+psycopg2://u:pa%40ss@127.0.0.1/db?sslpassword=ssl1&api_key=k1&sslmode=require"
    redacted = redact_url(url)
    assert "pa%40ss" not in redacted and "ssl1" not in redacted and "k1" not in redacted
    assert "sslmode=require" in redacted and "u:***@" in redacted
    assert scrub("failed for pa@ss / pa%40ss / ssl1", url) == "failed for *** / *** / ***"
    assert normalised_url(url) == normalised_url("postgresql://other@localhost:5432/db")
    assert normalised_url("sqlite:////tmp/a.sqlite?timeout=5") == "sqlite:////tmp/a.sqlite"
