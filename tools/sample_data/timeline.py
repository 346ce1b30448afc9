"""The calendar: period windows, reference date, outcome horizon, the tracking cutover and the
continuing history's periods.

Period 1 covers 2025-01-01..2025-12-31, period 2 the same 365 days shifted by 90 days. Day index 0
is the window's first day; the reference date is the window's last day minus `OUTCOME_DAYS`.
A continuing history starts with period 1 as `period_00`; its period k (k >= 1) covers
[HISTORY_START + (k - 1) * D days, HISTORY_START + k * D days), ending by `HISTORY_LIMIT`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

DAY = 86_400
WINDOW_DAYS = 365
OUTCOME_DAYS = 90
REF_DAY = WINDOW_DAYS - 1 - OUTCOME_DAYS  # day index of the reference date (attributes as of it)
SWITCH_DAY = WINDOW_DAYS - 180  # period 2: migrating companies behave as their new archetype
PERIOD_STARTS = {1: date(2025, 1, 1), 2: date(2025, 4, 1)}
TRACKING_CUTOVER = datetime(2025, 6, 1, tzinfo=UTC)
HISTORY_START = datetime(2026, 1, 1, tzinfo=UTC)  # the day after period 1's window
HISTORY_LIMIT = datetime(2026, 11, 30, tzinfo=UTC)  # the last history period ends by then


class _Clipped:
    end: int

    def clip(self, epoch) -> np.ndarray:
        """Epoch seconds capped at the window's last second."""
        return np.minimum(np.asarray(epoch, dtype=np.int64), self.end - 1)


@dataclass(frozen=True)
class Window(_Clipped):
    """The period's time window in epoch seconds (UTC); day index 0 is the first day."""

    period: int

    @property
    def start(self) -> int:
        d = PERIOD_STARTS[self.period]
        return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())

    @property
    def end(self) -> int:  # exclusive
        return self.start + WINDOW_DAYS * DAY

    @property
    def reference(self) -> int:  # end of the reference date
        return self.start + (REF_DAY + 1) * DAY


@dataclass(frozen=True)
class Span(_Clipped):
    """A continuing-history period: [start, end) in epoch seconds (UTC), `days` long."""

    start: int
    days: int

    @property
    def end(self) -> int:  # exclusive
        return self.start + self.days * DAY


def history_span(period: int, period_days: int) -> Span:
    """The window of history period `period` (1-based; period 0 is `Window(1)`)."""
    start = int(HISTORY_START.timestamp()) + (period - 1) * period_days * DAY
    return Span(start, period_days)
