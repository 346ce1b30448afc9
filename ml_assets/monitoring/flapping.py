"""Anti-flapping: publish a segment move only when it is decisive or has persisted.

A customer near a segment boundary can swap segments on every re-score. Sales and marketing see
each swap as a real change, so a raw move is published only when the new segment wins by at least
`min_margin` (same units as `customer_segments.margin`) or when the customer has been assigned to
the same new segment for `persist_runs` consecutive runs. Both assignments are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STATE_COLUMNS = ["customer_key", "published_segment_id", "candidate_segment_id", "candidate_runs"]


@dataclass
class FlappingResult:
    """Raw and published assignment per customer, the new pending state, and the counts."""

    assignments: pd.DataFrame  # customer_key, raw_segment_id, margin, published_segment_id,
    #                            candidate_segment_id, candidate_runs, raw_move, published_move
    raw_moves: int  # raw assignment differs from the previously published segment
    published_moves: int
    suppressed_moves: int

    @property
    def flapping_rate_prevented(self) -> float:
        """Share of raw moves that were held back (0 when nothing moved)."""
        return self.suppressed_moves / self.raw_moves if self.raw_moves else 0.0

    @property
    def state(self) -> pd.DataFrame:
        """Pending state to feed into the next run."""
        return self.assignments[STATE_COLUMNS]


def apply_anti_flapping(
    previous_state: pd.DataFrame,
    new: pd.DataFrame,
    min_margin: float,
    persist_runs: int,
) -> FlappingResult:
    """Decide the published segment of each customer in `new`.

    previous_state: customer_key, published_segment_id, candidate_segment_id (the challenger seen
    last run, or NA), candidate_runs (consecutive runs it was seen). new: customer_key,
    raw_segment_id, margin. Customers without a previous state publish their raw segment.
    """
    state = previous_state.reindex(columns=STATE_COLUMNS)
    frame = new[["customer_key", "raw_segment_id", "margin"]].merge(
        state, on="customer_key", how="left"
    )
    prev_pub = frame["published_segment_id"]
    raw = frame["raw_segment_id"]
    is_new = prev_pub.isna().to_numpy()
    raw_move = ~is_new & (raw != prev_pub).to_numpy()
    same_candidate = (raw == frame["candidate_segment_id"]).fillna(False).to_numpy()
    prior_runs = pd.to_numeric(frame["candidate_runs"]).fillna(0).to_numpy(dtype=int)
    runs_seen = np.where(same_candidate, prior_runs + 1, 1)
    decisive = pd.to_numeric(frame["margin"]).fillna(0).to_numpy(dtype=float) >= min_margin
    publish = raw_move & (decisive | (runs_seen >= persist_runs))
    suppressed = raw_move & ~publish

    out = frame[["customer_key", "raw_segment_id", "margin"]].copy()
    out["published_segment_id"] = np.where(raw_move & ~publish, prev_pub, raw)
    out["published_segment_id"] = out["published_segment_id"].astype(frame["raw_segment_id"].dtype)
    # Segment ids may be ints or strings: keep them as objects, None where no challenger.
    out["candidate_segment_id"] = raw.astype(object).where(suppressed, None)
    out["candidate_runs"] = np.where(suppressed, runs_seen, 0)
    out["raw_move"] = raw_move
    out["published_move"] = publish
    return FlappingResult(
        assignments=out,
        raw_moves=int(raw_move.sum()),
        published_moves=int(publish.sum()),
        suppressed_moves=int(suppressed.sum()),
    )


def state_from_history(history: pd.DataFrame) -> pd.DataFrame:
    """Rebuild the pending state from the membership history (raw + published per run).

    For each customer: the published segment of its latest run, and as candidate the raw segment
    of that run when it differs from the published one, counted over the consecutive latest runs
    that showed the same raw segment while another one stayed published.
    """
    if history.empty:
        return pd.DataFrame(columns=STATE_COLUMNS)
    # Newest run first within each customer; the first row is the latest state.
    ordered = history.sort_values(["customer_key", "scored_at"], ascending=[True, False])
    latest = ordered.groupby("customer_key", sort=False).head(1).set_index("customer_key")
    candidate = (
        latest["raw_segment_id"]
        .astype(object)
        .where(latest["raw_segment_id"] != latest["published_segment_id"], None)
    )
    per_row_candidate = ordered["customer_key"].map(candidate)
    challenger_held = (ordered["raw_segment_id"] == per_row_candidate) & (
        ordered["published_segment_id"] != per_row_candidate
    )
    # Count the unbroken run of "challenger seen but held back" from the newest run backwards.
    streak = challenger_held.astype(int).groupby(ordered["customer_key"], sort=False).cumprod()
    counts = streak.groupby(ordered["customer_key"], sort=False).sum()
    state = pd.DataFrame(
        {
            "customer_key": latest.index,
            "published_segment_id": latest["published_segment_id"].to_numpy(),
            "candidate_segment_id": candidate.to_numpy(),
            "candidate_runs": counts.reindex(latest.index).to_numpy(),
        }
    )
    return state
