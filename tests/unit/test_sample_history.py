"""Sample-data continuing history: period windows, keys across periods, re-delivered
subscriptions, planted migrations, sign-ups, determinism and the initial history."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from orchestration.io.contract import RAW_TABLES
from tools import sample_data
from tools.sample_data import generate, generate_history
from tools.sample_data.vocabulary import ACCOUNTANT_INBOXES

ACCOUNTS = 120
SEED = 11
PERIODS = 3
DAYS = 10
HISTORY_START = datetime(2026, 1, 1, tzinfo=UTC)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _hashes(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*.csv"))
    }


def _clean_table(period: Path, name: str) -> pd.DataFrame:
    """The table's rows of one period without the planted malformed rows."""
    bad = _read(period / "_truth" / "malformed.csv")
    frames = []
    for path in sorted((period / name).glob("*.csv")):
        lines = bad.loc[(bad["table"] == name) & (bad["file"] == path.name), "line"]
        frame = _read(path)
        frames.append(frame.drop(lines.astype(int) - 2))
    return pd.concat(frames, ignore_index=True)


def _instant(text: str) -> pd.Timestamp:
    ts = pd.Timestamp(text.strip())
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _utc(values: pd.Series) -> pd.Series:
    # one value at a time: a vectorised parse of mixed offsets misreads the naive ones
    return values.map(_instant)


def _window(period: int) -> tuple[datetime, datetime]:
    start = HISTORY_START + timedelta(days=(period - 1) * DAYS)
    return start, start + timedelta(days=DAYS)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("history")
    return out, generate_history(out, ACCOUNTS, SEED, PERIODS, DAYS)


def test_layout_one_landing_folder_per_period_with_unique_file_names(history):
    out, summary = history
    assert sorted(p.name for p in out.iterdir()) == [f"period_{p:02d}" for p in range(4)]
    names = []
    for p in range(PERIODS + 1):
        period = out / f"period_{p:02d}"
        assert sorted(x.name for x in period.iterdir()) == sorted([*RAW_TABLES, "_truth"])
        assert sorted(x.name for x in (period / "_truth").iterdir()) == sorted(
            ["companies.csv", "identifiers.csv", "malformed.csv"]
            + (["migrations.csv"] if p else [])
        )
        names += [f.name for f in period.glob("*/*.csv") if f.parent.name != "_truth"]
        for name in RAW_TABLES:
            assert list(_read(next((period / name).glob("*.csv"))).columns) == (
                RAW_TABLES[name].column_names
            )
    assert len(names) == len(set(names))
    assert (out / "period_01" / "product_events" / "product_events_h01_000.csv").exists()
    for part in summary["periods"][1:]:  # everyone active keeps doing things every period
        assert part["rows"]["product_events"] > 1000
        assert part["rows"]["billing_invoices"] > 0
        assert part["rows"]["support_tickets"] > 0
        assert part["rows"]["consent_events"] > 0
        assert sum(part["malformed"].values()) > 0


def test_every_timestamp_is_inside_its_period(history):
    out, _ = history
    initial = _read(next((out / "period_00" / "billing_subscriptions").glob("*.csv")))
    earlier_subs = set(initial["subscription_id"])
    for p in range(1, PERIODS + 1):
        period = out / f"period_{p:02d}"
        start, end = _window(p)
        for name, spec in RAW_TABLES.items():
            frame = _clean_table(period, name)
            for col in (c.name for c in spec.columns if c.type == "timestamp"):
                when = _utc(frame[col][frame[col] != ""])
                if name == "billing_subscriptions" and col == "started_at":
                    # only a re-delivered subscription started before the period
                    before = frame.loc[when.index[when < start], "subscription_id"]
                    assert set(before) <= earlier_subs
                    assert (when < end).all()
                    continue
                assert (when >= start).all(), (p, name, col, when.min())
                assert (when < end).all(), (p, name, col, when.max())
        subs = _read(next((period / "billing_subscriptions").glob("*.csv")))
        earlier_subs |= set(subs["subscription_id"])
    assert end < datetime.now(UTC)


def test_keys_never_repeat_across_periods_except_redelivered_subscriptions(history):
    out, _ = history
    seen: dict[str, dict[tuple, dict]] = {name: {} for name in RAW_TABLES}
    redelivered = 0
    for p in range(PERIODS + 1):
        period = out / f"period_{p:02d}"
        for name, spec in RAW_TABLES.items():
            frame = _clean_table(period, name).drop_duplicates()
            key = list(spec.primary_key)
            frame = frame.drop_duplicates(key, keep="last")
            keys = set(frame[key].itertuples(index=False, name=None))
            repeated = keys & seen[name].keys()
            if name != "billing_subscriptions":
                assert not repeated, (p, name, sorted(repeated)[:3])
                seen[name].update(dict.fromkeys(keys))
                continue
            rows = {tuple(r[key]): r for _, r in frame.iterrows()}
            for k in repeated:
                before, now = seen[name][k], rows[k]
                assert (before["ended_at"], before["status"], before["mrr"]) != (
                    now["ended_at"],
                    now["status"],
                    now["mrr"],
                )
                assert _instant(now["started_at"]) == _instant(before["started_at"])
                redelivered += 1
            seen[name].update(rows)
    assert redelivered > 0


def test_churn_and_expansion_are_redelivered_subscription_rows(history):
    out, _ = history
    statuses = pd.concat(
        _read(f) for f in sorted(out.glob("period_0[1-9]/billing_subscriptions/*.csv"))
    )
    canceled = statuses[statuses["status"] == "canceled"]
    assert len(canceled) > 0 and (canceled["ended_at"] != "").all()
    churned = pd.concat(_read(f) for f in sorted(out.glob("period_0[1-9]/_truth/companies.csv")))
    assert (churned["churned"] == "true").sum() > 0
    assert (churned["expanded"] == "true").sum() > 0


def test_migrations_are_planted_in_period_two_only(history):
    out, _ = history
    truth = {p: out / f"period_{p:02d}" / "_truth" for p in range(1, PERIODS + 1)}
    for p in (1, 3):
        assert (_read(truth[p] / "migrations.csv")["moved"] == "false").all()
    migrations = _read(truth[2] / "migrations.csv")
    moved = migrations[migrations["moved"] == "true"]
    assert 0.03 < len(moved) / len(migrations) < 0.2
    assert (moved["archetype_before"] != moved["archetype_after"]).all()
    before = _read(truth[1] / "companies.csv").set_index("company_id")
    after = _read(truth[2] / "companies.csv").set_index("company_id")
    moved = moved.set_index("company_id")
    assert (before.loc[moved.index, "archetype"] == moved["archetype_before"]).all()
    assert (after.loc[moved.index, "archetype"] == moved["archetype_after"]).all()
    # the migration ends the base subscription at the period start (status `changed`)
    subs = _read(next((out / "period_02" / "billing_subscriptions").glob("*.csv")))
    changed = subs[subs["status"] == "changed"]
    moved_billing = set(after.loc[moved.index, "billing_customer_ids"])
    assert moved_billing <= set(changed["billing_customer_id"])


def test_new_companies_appear_first_in_the_period_that_creates_them(history):
    out, _ = history
    seen_companies = set(_read(out / "period_00" / "_truth" / "companies.csv")["company_id"])
    seen_ids = set(_read(out / "period_00" / "_truth" / "identifiers.csv")["identifier"])
    for p in range(1, PERIODS + 1):
        period = out / f"period_{p:02d}"
        companies = _read(period / "_truth" / "companies.csv")
        new = companies[companies["first_period"] == str(p)]
        assert len(new) > 0
        assert not set(new["company_id"]) & seen_companies
        assert set(companies["company_id"]) - set(new["company_id"]) <= seen_companies
        assert (new["archetype"] == "new_ramping").all()
        customers = _read(next((period / "billing_customers").glob("*.csv")))
        assert set(new["billing_customer_ids"]) <= set(customers["billing_customer_id"])
        ids = _read(period / "_truth" / "identifiers.csv")
        new_ids = ids[ids["company_id"].isin(new["company_id"])]
        new_ids = new_ids[~new_ids["identifier"].isin(ACCOUNTANT_INBOXES)]  # shared on purpose
        assert not set(new_ids["identifier"]) & seen_ids
        assert set(customers["billing_customer_id"]) <= set(new_ids["identifier"])
        seen_companies |= set(companies["company_id"])
        seen_ids |= set(ids["identifier"])


def test_same_seed_gives_identical_bytes(history, tmp_path):
    out, _ = history
    generate_history(tmp_path, ACCOUNTS, SEED, PERIODS, DAYS)
    assert _hashes(tmp_path) == _hashes(out)


def test_no_periods_writes_only_the_initial_history_as_period_one(tmp_path):
    history_out, single = tmp_path / "history", tmp_path / "single"
    summary = generate_history(history_out, 40, SEED, periods=0, period_days=DAYS)
    generate(single, accounts=40, seed=SEED)
    assert [p.name for p in history_out.iterdir()] == ["period_00"]
    assert _hashes(history_out / "period_00") == _hashes(single)
    assert len(summary["periods"]) == 1


def test_history_stays_in_the_past_and_periods_are_long_enough(tmp_path):
    with pytest.raises(ValueError, match="stay in the past"):
        generate_history(tmp_path, 10, SEED, periods=12, period_days=30)
    with pytest.raises(ValueError, match="period_days must be at least"):
        generate_history(tmp_path, 10, SEED, periods=2, period_days=3)


def test_cli_writes_a_history(tmp_path, capsys):
    summary = sample_data.main(
        ["--accounts", "15", "--out", str(tmp_path), "--periods", "1", "--period-days", "7"]
    )
    printed = capsys.readouterr().out
    assert "period_01" in printed and "product_events" in printed
    assert len(summary["periods"]) == 2
    assert (tmp_path / "period_01" / "crm_accounts" / "crm_accounts_h01_000.csv").exists()


def test_disengaging_activity_stops_falling_at_the_reference_date():
    """High-value disengaging customers halve their activity up to the reference date and then
    stay at 1/8: a continuing history scored months later must not see them as dormant."""
    from tools.sample_data.behaviour import _curves
    from tools.sample_data.vocabulary import HIGH_VALUE

    x = np.array([-200.0, -80.0, 0.0, 40.0, 300.0])
    curve = _curves(np.array([HIGH_VALUE]), x, np.array([-1000]))[0]
    assert curve[0] == 1.0 and curve[1] == pytest.approx(0.5)
    assert list(curve[2:]) == pytest.approx([0.125, 0.125, 0.125])


def test_a_planted_migration_is_complete_within_its_period(tmp_path):
    """By the last day of the period that plants it, a mover's activity is its new archetype's
    level at the reference date (a 'dormant' mover is not still at three quarters of its old
    activity when the period is scored)."""
    from tools.sample_data.behaviour import _curves
    from tools.sample_data.history import (
        MIGRATION_PERIODS,
        _advance,
        _period_behaviour,
        _start_ledger,
    )
    from tools.sample_data.timeline import history_span
    from tools.sample_data.writer import _initial_chunk

    _, (co, bh, tables, ids) = _initial_chunk(SEED, 1, 0, 0, 400, tmp_path / "p0")
    ledger = _start_ledger(co, bh, tables, ids[2])
    period = min(MIGRATION_PERIODS)
    for p in range(1, period + 1):
        span = history_span(p, 30)
        changes = _advance(ledger, SEED, 0, p, span)
    movers = np.flatnonzero(changes.migrated)
    assert len(movers) >= 10
    behaviour = _period_behaviour(ledger, span)
    alive = behaviour.activity[movers, -1] > 0
    target = _curves(ledger.arch[movers], np.array([0.0]), np.full(len(movers), -1000))[:, 0]
    last_day = behaviour.activity[movers, -1]
    assert np.allclose(last_day[alive], target[alive], rtol=0.05)
