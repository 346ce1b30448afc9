"""Sample-data generator: files, ground truth, planted defects, determinism and period 2."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from orchestration.io.contract import RAW_TABLES
from tools import sample_data
from tools.sample_data import ARCHETYPES, EVENT_TAXONOMY, generate

ACCOUNTS = 200
SEED = 3


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _table(out: Path, name: str) -> pd.DataFrame:
    return pd.concat([_read(p) for p in sorted((out / name).glob("*.csv"))], ignore_index=True)


def _hashes(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*.csv"))
    }


def _utc(text: str) -> datetime | None:
    try:
        ts = pd.Timestamp(text.strip())
    except (ValueError, TypeError):
        return None
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).to_pydatetime()


@pytest.fixture(scope="module")
def period1(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample_p1")
    return out, generate(out, accounts=ACCOUNTS, seed=SEED)


@pytest.fixture(scope="module")
def period2(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample_p2")
    return out, generate(out, accounts=ACCOUNTS, seed=SEED, period=2)


def test_same_seed_gives_identical_files_and_other_seed_differs(period1, tmp_path):
    out, _ = period1
    again = tmp_path / "again"
    generate(again, accounts=ACCOUNTS, seed=SEED)
    assert _hashes(again) == _hashes(out)
    other = tmp_path / "other"
    generate(other, accounts=ACCOUNTS, seed=SEED + 1)
    differing = [f for f, h in _hashes(other).items() if _hashes(out).get(f) != h]
    assert "product_events/product_events_p1_000.csv" in differing
    assert "_truth/companies.csv" in differing


def test_chunks_are_independent_of_each_other(tmp_path, monkeypatch):
    # Small chunks force several files per table (and the worker pool); the first chunk's
    # files do not depend on how many accounts follow it.
    monkeypatch.setattr("tools.sample_data.writer.CHUNK_ACCOUNTS", 40)
    many, one = tmp_path / "many", tmp_path / "one"
    summary = generate(many, accounts=100, seed=SEED)
    generate(one, accounts=40, seed=SEED)
    assert sorted(p.name for p in (many / "product_events").glob("*.csv")) == [
        "product_events_p1_000.csv",
        "product_events_p1_001.csv",
        "product_events_p1_002.csv",
    ]
    first_chunk = {f: h for f, h in _hashes(many).items() if f.endswith("_p1_000.csv")}
    assert first_chunk == {f: h for f, h in _hashes(one).items() if f.endswith("_p1_000.csv")}
    companies = _read(many / "_truth" / "companies.csv")
    assert len(companies) == 100 and companies["company_id"].is_unique
    assert summary["rows"]["crm_accounts"] == len(_table(many, "crm_accounts"))


def test_every_contract_table_is_written_with_contract_columns(period1):
    out, summary = period1
    for name, spec in RAW_TABLES.items():
        files = sorted((out / name).glob("*.csv"))
        assert [f.name for f in files] == [f"{name}_p1_000.csv"]
        frame = _read(files[0])
        assert list(frame.columns) == spec.column_names
        assert len(frame) == summary["rows"][name] > 0, name


def test_truth_covers_every_identifier_in_the_data(period1):
    out, _ = period1
    truth = _read(out / "_truth" / "identifiers.csv")
    assert set(truth["identifier_type"]) == {
        "crm_account",
        "crm_contact",
        "billing_customer",
        "product_user",
        "email",
    }
    known = {t: set(g["identifier"]) for t, g in truth.groupby("identifier_type")}
    id_columns = [
        ("crm_accounts", "account_id", "crm_account"),
        ("crm_accounts", "parent_account_id", "crm_account"),
        ("crm_contacts", "contact_id", "crm_contact"),
        ("crm_contacts", "account_id", "crm_account"),
        ("billing_customers", "billing_customer_id", "billing_customer"),
        ("billing_customers", "crm_account_id", "crm_account"),
        ("billing_subscriptions", "billing_customer_id", "billing_customer"),
        ("billing_invoices", "billing_customer_id", "billing_customer"),
        ("product_users", "user_id", "product_user"),
        ("product_events", "user_id", "product_user"),
    ]
    for table, column, kind in id_columns:
        values = set(_table(out, table)[column]) - {""}
        assert values and values <= known[kind], (table, column)
    email_columns = [
        ("crm_contacts", "email"),
        ("billing_customers", "email"),
        ("product_users", "email"),
        ("support_tickets", "requester_email"),
        ("email_events", "recipient_email"),
        ("survey_responses", "respondent_email"),
        ("consent_events", "email"),
    ]
    for table, column in email_columns:
        values = {v.strip().lower() for v in _table(out, table)[column]} - {""}
        assert values and values <= known["email"], (table, column)
    # Truth emails are normalised; the data spells some of them differently.
    assert all(e == e.strip().lower() for e in known["email"])
    users = _table(out, "product_users")["email"]
    assert (users != users.str.strip().str.lower()).any()


def test_companies_truth_is_consistent_with_identifiers(period1):
    out, summary = period1
    companies = _read(out / "_truth" / "companies.csv")
    truth = _read(out / "_truth" / "identifiers.csv")
    owner = {(r.identifier_type, r.identifier): r.company_id for r in truth.itertuples()}
    assert len(companies) == ACCOUNTS and companies["company_id"].is_unique
    for row in companies.itertuples():
        for account in filter(None, row.crm_account_ids.split(";")):
            assert owner[("crm_account", account)] == row.company_id
        assert owner[("billing_customer", row.billing_customer_ids)] == row.company_id
    assert set(companies["churned"]) == {"true", "false"}
    assert set(companies["expanded"]) == {"true", "false"}
    assert (companies["future_revenue"].astype(float) >= 0).all()
    # duplicate CRM accounts and billing-only (B2C) companies are both present
    n_accounts = companies["crm_account_ids"].str.count(";") + (companies["crm_account_ids"] != "")
    assert (n_accounts == 2).any() and (n_accounts == 0).any()
    assert summary["archetypes"] == companies["archetype"].value_counts().to_dict()


def test_at_least_six_archetypes_with_unequal_meaningful_shares(period1):
    _, summary = period1
    counts = summary["archetypes"]
    assert set(counts) == set(ARCHETYPES) and len(ARCHETYPES) >= 6
    shares = {a: c / ACCOUNTS for a, c in counts.items()}
    assert min(shares.values()) >= 0.06
    assert max(shares.values()) > 1.5 * min(shares.values())


def test_outcomes_are_planted_in_billing(period1):
    out, _ = period1
    companies = _read(out / "_truth" / "companies.csv")
    subs = _table(out, "billing_subscriptions")
    churned = companies.loc[companies["churned"] == "true", "billing_customer_ids"]
    assert len(churned) > 0
    churned_subs = subs[subs["billing_customer_id"].isin(churned)]
    assert (churned_subs["status"] == "canceled").any()
    # a churned customer has no subscription left running
    assert not (churned_subs["status"] == "active").any()
    dormant = companies[companies["archetype"] == "dormant_churning"]
    power = companies[companies["archetype"] == "power_expanding"]
    assert (dormant["churned"] == "true").mean() > 0.6
    assert (power["expanded"] == "true").mean() > 0.5
    expanded = companies.loc[companies["expanded"] == "true", "billing_customer_ids"]
    addons = subs[subs["plan"] == "addon_seats"]["billing_customer_id"]
    assert set(expanded) <= set(addons)


def test_every_malformed_kind_is_planted_and_listed(period1):
    out, summary = period1
    malformed = _read(out / "_truth" / "malformed.csv")
    kinds = {
        "missing_key",
        "bad_number",
        "bad_timestamp",
        "future_timestamp",
        "negative_amount",
        "duplicate_key",
    }
    assert set(malformed["kind"]) == kinds
    assert summary["malformed"] == malformed["kind"].value_counts().to_dict()
    total = sum(summary["rows"].values())
    assert 0.003 < len(malformed) / total < 0.008
    files: dict[str, pd.DataFrame] = {}
    for row in malformed.itertuples():
        spec = RAW_TABLES[row.table]
        if row.file not in files:
            files[row.file] = _read(out / row.table / row.file)
        frame = files[row.file]
        record = frame.iloc[int(row.line) - 2]  # line 1 is the header
        if row.kind == "missing_key":
            assert any(record[c] == "" for c in spec.required_columns)
        elif row.kind == "bad_number":
            numeric = [c.name for c in spec.columns if c.type in ("double", "bigint")]
            assert any(
                pd.to_numeric(record[c], errors="coerce")
                != pd.to_numeric(record[c], errors="coerce")
                and record[c]
                for c in numeric
            )
        elif row.kind == "bad_timestamp":
            stamps = [c.name for c in spec.columns if c.type == "timestamp"]
            assert any(record[c] and _utc(record[c]) is None for c in stamps)
        elif row.kind == "future_timestamp":
            assert any(str(v).startswith("2099-") for v in record)
        elif row.kind == "negative_amount":
            assert any(record[c.name].startswith("-") for c in spec.columns if c.non_negative)
        else:
            key = list(spec.primary_key)
            same_key = frame[(frame[key] == record[key]).all(axis=1)]
            earlier = same_key.index[same_key.index < int(row.line) - 2]
            assert len(earlier) >= 1
            assert not (frame.loc[earlier[0]] == record).all()


def test_tracking_cutover_renames_events_with_the_same_behaviour(period1):
    out, _ = period1
    malformed = _read(out / "_truth" / "malformed.csv")
    events = _table(out, "product_events")
    bad_ids = set(
        _read(out / "product_events" / "product_events_p1_000.csv").iloc[
            malformed.loc[malformed["table"] == "product_events", "line"].astype(int) - 2
        ]["event_id"]
    )
    events = events[~events["event_id"].isin(bad_ids)]
    when = events["occurred_at"].map(_utc)
    cutover = datetime(2025, 6, 1, tzinfo=UTC)
    before, after = events[when < cutover], events[when >= cutover]
    old_names = {old for old, _ in EVENT_TAXONOMY}
    new_names = {new for _, new in EVENT_TAXONOMY}
    assert set(before["event_name"]) <= old_names
    assert set(after["event_name"]) <= new_names | {n.lower() for n in new_names}
    assert "user logged in" in set(after["event_name"])  # casing defect
    # same underlying behaviour: login share stays similar across the rename
    login_before = (before["event_name"] == "login").mean()
    login_after = after["event_name"].str.lower().eq("user logged in").mean()
    assert abs(login_before - login_after) < 0.1


def test_duplicate_deliveries_and_mixed_offsets(period1):
    out, _ = period1
    events = _read(out / "product_events" / "product_events_p1_000.csv")
    identical = events[events.duplicated(keep="first")]
    assert 0.005 < len(identical) / len(events) < 0.03
    malformed = _read(out / "_truth" / "malformed.csv")
    listed = set(malformed.loc[malformed["table"] == "product_events", "line"].astype(int))
    assert not listed & set(identical.index + 2)  # redeliveries are not malformed
    stamps = events["occurred_at"]
    assert stamps.str.endswith("Z").any()
    assert stamps.str.contains(r"T\d\d:\d\d:\d\d[+-]\d\d:\d\d$").any()
    assert stamps.str.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$").any()


def test_identity_defects_are_present(period1):
    out, _ = period1
    billing = _table(out, "billing_customers")
    # an outsourced accountant inbox shared by several companies' billing customers
    shared = billing["email"].str.strip().str.lower().value_counts()
    assert (shared > 1).any()
    assert (billing["crm_account_id"] == "").any()
    emails = pd.concat(
        [
            _table(out, "support_tickets")["requester_email"],
            _table(out, "email_events")["recipient_email"],
        ]
    )
    for inbox in ("info@", "support@", "noreply@"):
        assert emails.str.strip().str.lower().str.startswith(inbox).any()
    contacts = _table(out, "crm_contacts")["email"].str.lower()
    assert contacts.str.contains("@gmail.com|@yahoo.com|@outlook.com|@hotmail.com").any()
    accounts = _table(out, "crm_accounts")
    assert (accounts["parent_account_id"] != "").any()
    assert accounts["website_domain"].duplicated().any()  # duplicate CRM account for a company
    attrs = _table(out, "crm_account_attributes")
    wide = attrs.pivot_table(
        index="account_id", columns="attribute", values="value", aggfunc="first"
    )
    table = pd.crosstab(wide["primary_contact_gender"], wide["preferred_channel"])
    chi2 = (
        ((table - table.sum(1).values[:, None] * table.sum(0).values / table.values.sum()) ** 2)
        / (table.sum(1).values[:, None] * table.sum(0).values / table.values.sum())
    ).values.sum()
    cramers_v = (chi2 / (table.values.sum() * (min(table.shape) - 1))) ** 0.5
    assert cramers_v > 0.5  # planted proxy for a sensitive attribute


def test_period_two_keeps_identifiers_shifts_window_and_plants_migrations(period1, period2):
    out1, _ = period1
    out2, summary2 = period2
    ids1 = _read(out1 / "_truth" / "identifiers.csv")
    ids2 = _read(out2 / "_truth" / "identifiers.csv")
    not_email1 = ids1[ids1["identifier_type"] != "email"].sort_values(
        ["identifier_type", "identifier"]
    )
    not_email2 = ids2[ids2["identifier_type"] != "email"].sort_values(
        ["identifier_type", "identifier"]
    )
    assert not_email1.reset_index(drop=True).equals(not_email2.reset_index(drop=True))
    assert (out2 / "product_events" / "product_events_p2_000.csv").exists()
    migrations = _read(out2 / "_truth" / "migrations.csv")
    assert list(migrations.columns) == [
        "company_id",
        "archetype_before",
        "archetype_after",
        "moved",
    ]
    moved = migrations["moved"] == "true"
    assert 0.07 < moved.mean() < 0.25
    assert (
        migrations.loc[moved, "archetype_before"] != migrations.loc[moved, "archetype_after"]
    ).all()
    assert (
        migrations.loc[~moved, "archetype_before"] == migrations.loc[~moved, "archetype_after"]
    ).all()
    companies1 = _read(out1 / "_truth" / "companies.csv").set_index("company_id")
    companies2 = _read(out2 / "_truth" / "companies.csv").set_index("company_id")
    before = migrations.set_index("company_id")
    assert (before["archetype_before"] == companies1["archetype"]).all()
    assert (before["archetype_after"] == companies2["archetype"]).all()
    assert not (out1 / "_truth" / "migrations.csv").exists()
    bad = _read(out2 / "_truth" / "malformed.csv")
    events = _read(out2 / "product_events" / "product_events_p2_000.csv")
    events = events.drop(bad.loc[bad["table"] == "product_events", "line"].astype(int) - 2)
    when = events["occurred_at"].map(_utc)
    assert when.min() >= datetime(2025, 4, 1, tzinfo=UTC)
    assert when.max() < datetime(2026, 4, 1, tzinfo=UTC)
    assert summary2["period"] == 2


def test_cli_writes_files_and_prints_a_summary(tmp_path, capsys):
    summary = sample_data.main(["--accounts", "15", "--seed", "5", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "product_events" in printed and "malformed" in printed
    assert summary["accounts"] == 15
    assert (tmp_path / "crm_accounts" / "crm_accounts_p1_000.csv").exists()
    with pytest.raises(ValueError, match="period must be 1 or 2"):
        generate(tmp_path, accounts=5, period=3)
