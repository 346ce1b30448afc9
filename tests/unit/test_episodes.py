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


def test_the_cooldown_counts_days_of_data_not_of_wall_clock():
    """Six monthly periods replayed within a few minutes: the return after 60 days of data is a
    new entry although the runs were minutes apart; without a data clock it would continue."""
    history = _history({"c1": ["A", "B", "B", "A", "A", "A"]})
    replayed = history.assign(
        data_as_of=history["scored_at"],
        scored_at=history["scored_at"].map(
            dict(zip(DAYS, pd.date_range("2026-06-01 10:00", periods=6, freq="1min"), strict=True))
        ),
    )
    by_data = episodes(replayed, cooldown_days=30)
    assert by_data["segment_id"].tolist() == ["A", "B", "A"]
    by_wall = episodes(replayed.drop(columns="data_as_of"), cooldown_days=30)
    assert by_wall["segment_id"].tolist() == ["A", "B"]
    # A history begun before the data clock was recorded keeps the wall clock for every run.
    mixed = replayed.assign(data_as_of=replayed["data_as_of"].where(replayed.index > 0))
    assert episodes(mixed, cooldown_days=30)["segment_id"].tolist() == ["A", "B"]
