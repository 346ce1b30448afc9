"""dbt staging and event normalisation on generated data: email normalisation, redelivery
dedup, UTC timestamps, the event taxonomy across tracking versions, unmapped names and the
capture-consistency detector."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from orchestration.io.ingestion import load_landing
from orchestration.io.warehouse import connect
from tests.support.dbt import run_dbt
from tools.sample_data import TRACKING_CUTOVER

EMAIL_MODELS = {
    "stg_crm__contacts": "email_raw",
    "stg_billing__customers": "email_raw",
    "stg_product__users": "email_raw",
    "stg_support__tickets": "requester_email",
    "stg_email__events": "recipient_email",
    "stg_survey__responses": "respondent_email",
    "stg_consent__events": "email_raw",
}


def _utc_naive(text: str) -> datetime:
    """How a landing timestamp should read in staging: UTC, naive (naive input already is UTC)."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(UTC).replace(tzinfo=None)


def _query(warehouse: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql, params or []).df()


def test_emails_are_trimmed_and_lower_cased(built_warehouse):
    for model, raw_column in EMAIL_MODELS.items():
        frame = _query(built_warehouse, f"select {raw_column} as raw, email from staging.{model}")
        assert len(frame), model
        expected = frame.raw.str.strip().str.lower().replace("", None)
        assert (frame.email.fillna("") == expected.fillna("")).all(), model
    contacts = _query(built_warehouse, "select email_raw, email from staging.stg_crm__contacts")
    # the generator spells the same address with other casing and padding: those were changed
    assert (contacts.email_raw != contacts.email).any()


def test_generic_inboxes_and_personal_domains_are_flagged(built_warehouse):
    flags = _query(
        built_warehouse,
        """select email, is_generic_inbox, is_personal_email_domain
           from staging.stg_billing__customers""",
    ).set_index("email")
    generic = flags[flags.index.str.startswith("billing@")]
    assert len(generic) and generic.is_generic_inbox.all()
    personal = flags[flags.index.str.endswith("@gmail.com")]
    assert len(personal) and personal.is_personal_email_domain.all()
    assert not flags[
        ~flags.index.str.contains("gmail|yahoo|outlook|hotmail")
    ].is_personal_email_domain.any()


def test_website_domains_are_normalised(built_warehouse):
    domains = _query(built_warehouse, "select website_domain from staging.stg_crm__accounts")
    values = domains.website_domain.dropna()
    assert len(values)
    assert not values.str.contains(r"^https?://|^www\.|/|[A-Z]").any()


def test_redelivered_events_are_deduplicated(built_warehouse):
    counts = _query(
        built_warehouse,
        """select
               (select count(*) from raw.product_events) as raw_rows,
               (select count(distinct trim(event_id)) from raw.product_events) as raw_ids,
               (select count(*) from staging.stg_product__events) as staged_rows,
               (select count(distinct event_id) from staging.stg_product__events) as staged_ids""",
    ).iloc[0]
    assert counts.raw_rows > counts.raw_ids, "the generator redelivers some events"
    assert counts.staged_rows == counts.staged_ids == counts.raw_ids


def test_timestamps_are_converted_to_utc(built_warehouse, generated_landing):
    """Landing files mix 'Z', local time with an offset, and naive UTC; staging holds UTC."""
    files = sorted((generated_landing / "product_users").glob("*.csv"))
    landing = pd.concat(pd.read_csv(f, dtype=str) for f in files)
    with_offset = landing[landing.created_at.str.contains(r"[+-]\d\d:\d\d$", na=False)]
    naive = landing[landing.created_at.str.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", na=False)]
    assert len(with_offset) and len(naive)
    sample = pd.concat([with_offset.head(50), naive.head(50)])
    staged = _query(
        built_warehouse,
        """select user_id, created_at from staging.stg_product__users
           where user_id in (select unnest(?))""",
        [sample.user_id.tolist()],
    ).set_index("user_id")
    expected = sample.set_index("user_id").created_at.map(_utc_naive)
    common = staged.index.intersection(expected.index)
    assert len(common) > 50
    mismatched = [
        (user, staged.loc[user, "created_at"], expected.loc[user])
        for user in common
        if staged.loc[user, "created_at"].to_pydatetime() != expected.loc[user]
    ]
    assert not mismatched, mismatched[:5]


def test_taxonomy_maps_both_tracking_versions(built_warehouse):
    events = _query(
        built_warehouse,
        """select tracking_version, canonical_event, occurred_at < ? as before_cutover,
               count(*) as n
           from intermediate.int_events_normalised
           group by all""",
        [TRACKING_CUTOVER.replace(tzinfo=None)],
    )
    assert events.tracking_version.notna().all(), "generated event names are all in the taxonomy"
    assert set(events[events.before_cutover].tracking_version) == {"v1"}
    assert set(events[~events.before_cutover].tracking_version) == {"v2"}
    by_version = events.groupby("canonical_event").tracking_version.nunique()
    assert (by_version == 2).all(), by_version[by_version < 2]
    raw_spellings = _query(
        built_warehouse,
        """select count(distinct event_name) from intermediate.int_events_normalised
           where canonical_event = 'logged_in'""",
    ).iloc[0, 0]
    assert raw_spellings >= 3  # login, "User Logged In" and its lower-case spelling
    unmapped = _query(built_warehouse, "select count(*) from intermediate.int_events_unmapped")
    assert unmapped.iloc[0, 0] == 0


def test_unmapped_names_and_capture_step_changes_surface(built_warehouse, tmp_path):
    """A new tracker name the taxonomy lacks is listed (and warned about) instead of vanishing;
    a whole tracking version missing from the taxonomy shows up as a volume step change at the
    cutover. One dbt invocation covers both to keep the test quick."""
    flagged = _query(
        built_warehouse,
        "select count(*) from intermediate.int_event_capture_consistency where is_step_change",
    )
    assert flagged.iloc[0, 0] == 0, "the taxonomy absorbs the cutover"

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    user_id = _query(warehouse, "select min(user_id) from staging.stg_product__users").iloc[0, 0]
    landing = tmp_path / "landing" / "product_events"
    landing.mkdir(parents=True)
    (landing / "product_events_new_tracker.csv").write_text(
        "event_id,user_id,event_name,occurred_at,properties\n"
        f"evt_new_1,{user_id},Widget Frobbed,2025-11-01T10:00:00Z,{{}}\n"
        f"evt_new_2,{user_id}, widget frobbed ,2025-11-02T10:00:00+02:00,{{}}\n"
    )
    with connect(warehouse) as con:
        load_landing(landing.parent, con)
        # forget the v2 names: every canonical event's volume collapses at the cutover
        con.execute("delete from seeds.event_taxonomy where tracking_version = 'v2'")
    result = run_dbt(
        [
            "build",
            "--select",
            "int_event_taxonomy",
            "stg_product__events",  # a table: rebuilt to see the new raw rows
            "int_events_normalised",
            "int_events_unmapped",
            "int_event_capture_consistency",
        ],
        warehouse,
    )

    unmapped = _query(warehouse, "select * from intermediate.int_events_unmapped").set_index(
        "raw_event_name_normalised"
    )
    assert unmapped.loc["widget frobbed", "event_count"] == 2
    assert "user logged in" in unmapped.index
    assert "WARN" in result.stdout and "int_events_unmapped" in result.stdout
    kept = _query(
        warehouse,
        "select count(*) from intermediate.int_events_normalised where event_id like 'evt_new_%'",
    )
    assert kept.iloc[0, 0] == 2  # unmapped events are kept, not dropped

    steps = _query(
        warehouse,
        """select canonical_event, min(event_date) as first_flag
           from intermediate.int_event_capture_consistency
           where is_step_change group by canonical_event""",
    ).set_index("canonical_event")
    assert "logged_in" in steps.index
    cutover = pd.Timestamp(TRACKING_CUTOVER.date())
    assert abs((pd.Timestamp(steps.loc["logged_in", "first_flag"]) - cutover).days) <= 14
    assert "no_event_capture_step_changes" in result.stdout
