"""Reverse-ETL test helpers: small synthetic sync inputs, destination queries, and the
`dest_url` / `crm` / `wh` fixtures (every scenario runs against SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from ml_assets.activation import SYNCS, Inputs, SyncOptions, SyncResult
from orchestration.io import activation, destinations, warehouse

CUSTOMERS = 20
CRM_KNOWN = 18  # A00..A17 exist in the CRM; c18's account A18 does not; c19 has no account
# The second name exercises quoting and COPY escaping (quote, tab, backslash, pipe).
SEGMENT_IDS = ["seg_01", "seg_02", "seg_03"]  # stable text ids, as the segmentation writes them
SEGMENT_NAMES = ["Champions", 'At risk: "renewal"\t\\ due | soon', "Dormant"]
PLAYBOOKS = ["Call within a week", "Send renewal offer", "Win-back email"]
ASSIGNED_AT = pd.Timestamp("2026-03-01 08:00", tz="UTC")


CONSENT_AT = pd.Timestamp("2026-02-01 08:00", tz="UTC")


def consent_event(email: str, granted: bool, at: pd.Timestamp = CONSENT_AT) -> dict:
    """A staged marketing consent decision (emails normalised, as staging stores them)."""
    return {"email": email, "purpose": "marketing", "granted": granted, "recorded_at": at}


def make_inputs() -> Inputs:
    """20 customers in 3 segments; even customers consent to marketing (on their primary email:
    a dim_customers flag and a staged consent event); seg_01 asks for tasks."""
    ids = range(CUSTOMERS)
    segments = pd.DataFrame(
        {
            "customer_key": [f"c{i:02d}" for i in ids],
            "segment_id": [SEGMENT_IDS[i % 3] for i in ids],
            "segment_name": [SEGMENT_NAMES[i % 3] for i in ids],
            "confidence": 0.9,
            "margin": 0.4,
            "model_version": "v1",
            "assigned_at": ASSIGNED_AT,
        }
    )
    customers = pd.DataFrame(
        {
            "customer_key": [f"c{i:02d}" for i in ids],
            "crm_account_id": [f"A{i:02d}" if i < CUSTOMERS - 1 else None for i in ids],
            "primary_email": [f" C{i:02d}@Example.com " for i in ids],
            "has_marketing_consent": [i % 2 == 0 for i in ids],
            "customer_name": [f"Customer {i}" for i in ids],
        }
    )
    profiles = pd.DataFrame(
        {
            "segment_id": SEGMENT_IDS,
            "segment_name": SEGMENT_NAMES,
            "playbook_action": PLAYBOOKS,
            "create_csm_task": [True, False, False],
            "size": [7, 7, 6],
        }
    )
    consent_events = pd.DataFrame(
        [consent_event(f"c{i:02d}@example.com", True) for i in ids if i % 2 == 0]
    )
    return Inputs(segments, customers, profiles, consent_events=consent_events)


def write_inputs(path: Path, inputs: Inputs) -> None:
    with warehouse.connect(path) as con:
        warehouse.replace_table(con, "segmentation", "customer_segments", inputs.segments)
        warehouse.replace_table(con, "marts", "dim_customers", inputs.customers)
        warehouse.replace_table(con, "segmentation", "segment_profiles", inputs.profiles)
        warehouse.replace_table(con, "staging", "stg_consent__events", inputs.consent_events)


def update_inputs(path: Path, edit) -> None:
    """Read the inputs back, let `edit(inputs)` change the frames in place, write them again."""
    with warehouse.connect(path) as con:
        inputs = activation.read_inputs(con)
    edit(inputs)
    write_inputs(path, inputs)


def move(inputs: Inputs, customer: str, segment: int) -> None:
    """Assign the customer to the segment-th segment (0: seg_01)."""
    frame = inputs.segments
    row = frame["customer_key"] == customer
    frame.loc[row, "segment_id"] = SEGMENT_IDS[segment]
    frame.loc[row, "segment_name"] = SEGMENT_NAMES[segment]


def set_consent(inputs: Inputs, customer: str, consent: bool | None) -> None:
    """The customer's primary email grants or revokes marketing consent (a later decision), or
    (None) has no recorded decision at all."""
    frame = inputs.customers
    frame["has_marketing_consent"] = frame["has_marketing_consent"].astype(object)
    frame.loc[frame["customer_key"] == customer, "has_marketing_consent"] = consent
    email = frame.loc[frame["customer_key"] == customer, "primary_email"].iloc[0]
    record_consent(inputs, email.strip().lower(), consent)


def record_consent(inputs: Inputs, email: str, consent: bool | None) -> None:
    """Add a decision for one address, later than every recorded one (None: forget them all)."""
    events = inputs.consent_events
    if consent is None:
        events.drop(events.index[events["email"] == email], inplace=True)
        return
    at = pd.to_datetime(events["recorded_at"], utc=True).max() + pd.Timedelta(hours=1)
    row = int(events.index.max()) + 1 if len(events) else 0
    events.loc[row] = consent_event(email, consent, at)


def engine_for(url: str) -> sa.Engine:
    return destinations.create_destination_engine(url)


def query(url: str, sql: str, **params) -> list[tuple]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def sync(wh: Path, url: str, name: str, **options) -> SyncResult:
    engine = engine_for(url)
    try:
        with warehouse.connect(wh) as con:
            return activation.run_sync(name, con, engine, SyncOptions(**options))
    finally:
        engine.dispose()


def sync_all(wh: Path, url: str, **options) -> dict[str, SyncResult]:
    """All three syncs, reading the inputs once (as a run of the three assets would)."""
    # CRM and marketing share one database in these tests; their tables do not overlap.
    engine = engine_for(url)
    try:
        with warehouse.connect(wh) as con:
            inputs = activation.read_inputs(con)
            return {
                name: activation.run_sync(name, con, engine, SyncOptions(**options), inputs=inputs)
                for name in SYNCS
            }
    finally:
        engine.dispose()


def ledger(wh: Path, run_id: str) -> pd.DataFrame:
    with warehouse.connect(wh) as con:
        return activation.read_ledger(con, run_id).sort_values("key").reset_index(drop=True)


def crm_fields(url: str) -> dict[str, tuple]:
    rows = query(
        url,
        "select account_id, segment_id, segment_name, playbook_action, model_version "
        "from crm_accounts order by account_id",
    )
    return {row[0]: row[1:] for row in rows}


def audience(url: str) -> set[tuple]:
    return set(query(url, "select audience, email, written_by from audience_members"))


def reject_account(url: str, account_id: str) -> None:
    """A destination constraint that refuses our fields on one account."""
    if url.startswith("postgresql"):
        execute(
            url,
            # NOT VALID: enforced on new writes only (like the SQLite trigger), not on the
            # fields an earlier sync already wrote to the account.
            "alter table crm_accounts add constraint rejected_by_test "
            f"check (account_id <> '{account_id}' or segment_id is null) not valid",
        )
    else:
        execute(
            url,
            "create trigger rejected_by_test before update on crm_accounts "
            f"when new.account_id = '{account_id}' and new.segment_id is not null "
            "begin select raise(abort, 'rejected_by_test'); end",
        )


def allow_all(url: str) -> None:
    if url.startswith("postgresql"):
        execute(url, "alter table crm_accounts drop constraint rejected_by_test")
    else:
        execute(url, "drop trigger rejected_by_test")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def dest_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every scenario runs against the embedded SQLite default and a real PostgreSQL server."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'destination.sqlite'}"


def seed_crm(url: str) -> str:
    """A CRM that knows accounts A00..A17 (with their own names)."""
    engine = engine_for(url)
    destinations.ensure_tables(engine, destinations.crm_metadata)
    with engine.begin() as conn:
        conn.execute(
            destinations.crm_accounts.insert(),
            [{"account_id": f"A{i:02d}", "account_name": f"Account {i}"} for i in range(CRM_KNOWN)],
        )
    engine.dispose()
    return url


@pytest.fixture
def crm(dest_url: str) -> str:
    return seed_crm(dest_url)


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    write_inputs(path, make_inputs())
    return path
