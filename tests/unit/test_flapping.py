"""Anti-flapping: boundary customers stop swapping segments on every run."""

from __future__ import annotations

import pandas as pd
import pytest

from ml_assets.monitoring.flapping import STATE_COLUMNS, apply_anti_flapping, state_from_history


def run(state: pd.DataFrame, raw: dict, margin: dict, min_margin=0.2, persist_runs=3):
    new = pd.DataFrame(
        {
            "customer_key": list(raw),
            "raw_segment_id": list(raw.values()),
            "margin": [margin[k] for k in raw],
        }
    )
    return apply_anti_flapping(state, new, min_margin=min_margin, persist_runs=persist_runs)


def test_boundary_customer_flips_are_cut():
    """Raw assignment alternates 0/1 with a small margin: published stays put."""
    state = pd.DataFrame(columns=STATE_COLUMNS)
    raw_series, published_series, suppressed, raw_moves = [], [], 0, 0
    for step in range(10):
        result = run(state, {"edge": step % 2, "solid": 2}, {"edge": 0.05, "solid": 0.9})
        state = result.state
        row = result.assignments.set_index("customer_key").loc["edge"]
        raw_series.append(int(row["raw_segment_id"]))
        published_series.append(int(row["published_segment_id"]))
        suppressed += result.suppressed_moves
        raw_moves += result.raw_moves
    raw_flips = sum(a != b for a, b in zip(raw_series, raw_series[1:], strict=False))
    published_flips = sum(
        a != b for a, b in zip(published_series, published_series[1:], strict=False)
    )
    assert raw_flips == 9
    assert published_flips == 0
    assert published_series == [0] * 10
    assert suppressed == raw_moves == 5  # every raw move away from segment 0 was held back


def test_decisive_margin_publishes_immediately():
    state = pd.DataFrame(
        {
            "customer_key": ["a", "b"],
            "published_segment_id": [0, 0],
            "candidate_segment_id": pd.array([pd.NA, pd.NA], dtype="Int64"),
            "candidate_runs": [0, 0],
        }
    )
    result = run(state, {"a": 1, "b": 1}, {"a": 0.5, "b": 0.05})
    published = result.assignments.set_index("customer_key")["published_segment_id"].to_dict()
    assert published == {"a": 1, "b": 0}
    assert (result.raw_moves, result.published_moves, result.suppressed_moves) == (2, 1, 1)
    assert result.flapping_rate_prevented == pytest.approx(0.5)
    b = result.assignments.set_index("customer_key").loc["b"]
    assert (b["candidate_segment_id"], b["candidate_runs"]) == (1, 1)


def test_persistent_move_is_published_after_persist_runs():
    state = pd.DataFrame(columns=STATE_COLUMNS)
    state = run(state, {"x": 0}, {"x": 0.9}).state
    published = []
    for _ in range(3):
        result = run(state, {"x": 1}, {"x": 0.01}, persist_runs=3)
        state = result.state
        published.append(int(result.assignments["published_segment_id"].iloc[0]))
    assert published == [0, 0, 1]
    assert state["candidate_runs"].iloc[0] == 0


def test_new_customers_publish_raw_and_are_not_moves():
    result = run(pd.DataFrame(columns=STATE_COLUMNS), {"n": 4}, {"n": 0.0})
    assert result.assignments["published_segment_id"].iloc[0] == 4
    assert result.raw_moves == 0
    assert result.flapping_rate_prevented == 0.0


def test_state_rebuilt_from_history_matches_live_state():
    state = pd.DataFrame(columns=STATE_COLUMNS)
    rows = []
    sequence = [(0, 0.9), (1, 0.05), (1, 0.05), (2, 0.05)]
    for run_no, (raw, margin) in enumerate(sequence):
        result = run(state, {"k": raw, "m": 3}, {"k": margin, "m": 0.9}, persist_runs=5)
        state = result.state
        rows.append(
            result.assignments.assign(
                scored_at=pd.Timestamp("2026-01-01") + pd.Timedelta(days=run_no)
            )
        )
        if run_no == 2:
            rebuilt = state_from_history(pd.concat(rows)).set_index("customer_key")
            assert rebuilt.loc["k", "candidate_segment_id"] == 1
            assert rebuilt.loc["k", "candidate_runs"] == 2
    rebuilt = state_from_history(pd.concat(rows)).set_index("customer_key")
    live = state.set_index("customer_key")
    assert rebuilt.loc["k", "published_segment_id"] == live.loc["k", "published_segment_id"] == 0
    assert rebuilt.loc["k", "candidate_segment_id"] == live.loc["k", "candidate_segment_id"] == 2
    assert rebuilt.loc["k", "candidate_runs"] == live.loc["k", "candidate_runs"] == 1
    assert pd.isna(rebuilt.loc["m", "candidate_segment_id"])
    assert rebuilt.loc["m", "candidate_runs"] == 0


def test_string_segment_ids():
    """The segmentation uses stable string ids ('S01'); state and candidates keep them."""
    state = pd.DataFrame(columns=STATE_COLUMNS)
    state = run(state, {"s": "S01"}, {"s": 0.9}).state
    held = run(state, {"s": "S02"}, {"s": 0.01})
    assert held.assignments["published_segment_id"].tolist() == ["S01"]
    assert held.state["candidate_segment_id"].tolist() == ["S02"]
    history = held.assignments.assign(scored_at=pd.Timestamp("2026-01-01"))
    assert state_from_history(history)["candidate_segment_id"].tolist() == ["S02"]
    moved = run(held.state, {"s": "S02"}, {"s": 0.01}, persist_runs=2)
    assert moved.assignments["published_segment_id"].tolist() == ["S02"]
