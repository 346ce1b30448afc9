"""Membership episodes: entries, stays, exits, cool-down returns; the basis of actions on change."""

from __future__ import annotations

import pandas as pd

from ml_assets.monitoring.episodes import entries_at, episodes

DAYS = pd.date_range("2026-01-01", periods=6, freq="30D")


def _history(memberships: dict[str, list[str | None]]) -> pd.DataFrame:
    rows = [
        {"customer_key": c, "published_segment_id": s, "scored_at": DAYS[i]}
        for c, segments in memberships.items()
        for i, s in enumerate(segments)
        if s is not ...
    ]
    return pd.DataFrame(rows)


def test_staying_is_one_episode_and_moving_opens_another():
    found = episodes(_history({"c1": ["A", "A", "A", "B", "B", "B"]}))
    assert found[["segment_id", "entered_at", "left_at"]].values.tolist() == [
        ["A", DAYS[0], DAYS[3]],
        ["B", DAYS[3], pd.NaT],
    ]
    assert found["episode_key"].tolist() == ["c1:A:20260101T000000", "c1:B:20260401T000000"]


def test_return_within_the_cooldown_continues_the_episode_and_after_it_is_new():
    within = episodes(_history({"c1": ["A", "B", "A", "A", "A", "A"]}), cooldown_days=45)
    assert within["segment_id"].tolist() == ["A", "B"]  # by entry: A from the first run on
    a = within.set_index("segment_id").loc["A"]
    assert a["entered_at"] == DAYS[0] and pd.isna(a["left_at"])
    after = episodes(_history({"c1": ["A", "B", "A", "A", "A", "A"]}), cooldown_days=10)
    assert after["segment_id"].tolist() == ["A", "B", "A"]
    assert after["entered_at"].tolist() == [DAYS[0], DAYS[1], DAYS[2]]


def test_a_run_without_the_customer_ends_its_episode():
    found = episodes(
        _history({"c1": ["A", "A", None, "A", "A", "A"], "c2": ["B"] * 6}), cooldown_days=0
    )
    assert found.query("customer_key == 'c1'")["entered_at"].tolist() == [DAYS[0], DAYS[3]]
    assert found.query("customer_key == 'c2'")["left_at"].isna().all()


def test_rerunning_adds_no_episode():
    once = episodes(_history({"c1": ["A", "A", "B"]}))
    twice = episodes(pd.concat([_history({"c1": ["A", "A", "B"]})] * 2, ignore_index=True))
    pd.testing.assert_frame_equal(once, twice)


def test_entries_at_a_run_count_who_entered_not_who_stayed():
    spells = episodes(
        _history({"c1": ["A", "A", "B"], "c2": ["A", "B", "B"], "c3": ["B", "B", "A"]})
    )
    assert entries_at(spells, DAYS[2]).to_dict() == {"A": 1, "B": 1}
    assert entries_at(spells, DAYS[1]).to_dict() == {"B": 1}
    assert entries_at(spells.iloc[:0], DAYS[1]).empty
