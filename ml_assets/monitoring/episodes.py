"""Membership episodes: when each customer entered and left each published segment.

Built from the membership history (one published segment per customer per scoring run), an
episode is a run of consecutive scorings in the same published segment. Actions fire on episode
*entry*: a CSM task is created once per entry into a segment whose playbook asks for one, never
again while the customer stays, however often the pipeline re-runs or the model retrains (a
retrain keeps segment ids, so membership and episodes carry over). Re-entering after a cool-down
is a new entry; re-entering within it continues the earlier episode.
"""

from __future__ import annotations

import pandas as pd

EPISODE_COLUMNS = ["customer_key", "segment_id", "entered_at", "left_at", "episode_key"]


def episodes(history: pd.DataFrame, cooldown_days: float = 30.0) -> pd.DataFrame:
    """One row per (customer, published segment, episode): entered_at, left_at (NaT: still in).

    `history` has customer_key, published_segment_id and scored_at for every run. A customer
    absent from a run (no consent, churned) has left its segment at that run. A return to the same
    segment within `cooldown_days` of leaving it extends the earlier episode. The cool-down counts
    days of data when the history has `data_as_of` (the data's clock at each run), so a replayed
    history of months run in minutes measures months; runs without it count wall-clock time.
    """
    if history.empty:
        return pd.DataFrame(columns=EPISODE_COLUMNS)
    rows = history.assign(scored_at=pd.to_datetime(history["scored_at"]))
    runs = sorted(rows["scored_at"].unique())
    next_run = dict(zip(runs, [*runs[1:], pd.NaT], strict=True))
    clock = _run_clock(rows)
    rows = rows.dropna(subset=["published_segment_id"])
    rows = rows.drop_duplicates(["customer_key", "scored_at"], keep="last")  # a run recorded twice
    rows = rows.sort_values(["customer_key", "scored_at"], kind="mergesort")
    cooldown = pd.Timedelta(days=cooldown_days)
    found: list[dict] = []
    for customer, scorings in rows.groupby("customer_key", sort=True):
        mine: list[dict] = []
        pairs = zip(scorings["published_segment_id"], scorings["scored_at"], strict=True)
        for segment, scored in pairs:
            last = mine[-1] if mine else None
            if last is not None and last["segment_id"] == segment:
                if next_run[last["last_seen"]] == scored:
                    last["last_seen"] = scored  # still in: consecutive runs
                    continue
            earlier = next((e for e in reversed(mine) if e["segment_id"] == segment), None)
            left = next_run[earlier["last_seen"]] if earlier is not None else pd.NaT
            if earlier is not None and clock[scored] - clock[left] <= cooldown:
                mine.remove(earlier)  # back within the cool-down: the same episode goes on
                mine.append({**earlier, "last_seen": scored})
                continue
            mine.append(
                {
                    "customer_key": customer,
                    "segment_id": segment,
                    "entered_at": scored,
                    "last_seen": scored,
                }
            )
        found += mine
    frame = pd.DataFrame(found, columns=["customer_key", "segment_id", "entered_at", "last_seen"])
    frame["left_at"] = pd.to_datetime(frame["last_seen"].map(next_run))
    frame["episode_key"] = (
        frame["customer_key"].astype(str)
        + ":"
        + frame["segment_id"].astype(str)
        + ":"
        + pd.to_datetime(frame["entered_at"]).dt.strftime("%Y%m%dT%H%M%S")
    )
    return frame.sort_values(["customer_key", "entered_at"], ignore_index=True)[EPISODE_COLUMNS]


def _run_clock(rows: pd.DataFrame) -> dict:
    """Each run's time for the cool-down: its data date when every run has one, else (a history
    begun before the data clock was recorded) when it was scored; the two clocks never mix."""
    wall = {run: run for run in rows["scored_at"].unique()}
    if "data_as_of" not in rows:
        return wall
    per_run = pd.to_datetime(rows.groupby("scored_at")["data_as_of"].max())
    return wall if per_run.isna().any() else per_run.to_dict()


def entries_at(spells: pd.DataFrame, scored_at) -> pd.Series:
    """Customers per segment whose episode entered at the scoring run `scored_at` (the entries
    that actions fire on; a customer who stays is not counted)."""
    if spells.empty:
        return pd.Series(dtype="int64", name="entered")
    entered = pd.to_datetime(spells["entered_at"]) == pd.Timestamp(scored_at)
    return spells.loc[entered].groupby(spells["segment_id"].astype(str)).size().rename("entered")
