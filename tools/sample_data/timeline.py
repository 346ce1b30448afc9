"""The calendar of a period: window, reference date, outcome horizon and the tracking cutover.

Period 1 covers 2025-01-01..2025-12-31, period 2 the same 365 days shifted by 90 days. Day index 0
is the window's first day; the reference date is the window's last day minus `OUTCOME_DAYS`.
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


@dataclass(frozen=True)
class Window:
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

    def clip(self, epoch) -> np.ndarray:
        """Epoch seconds capped at the window's last second."""
        return np.minimum(np.asarray(epoch, dtype=np.int64), self.end - 1)
