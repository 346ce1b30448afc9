"""How companies behave over a period: per-company parameters, activity curves, period-2
archetype migrations, and the churn and expansion days planted after the reference date."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tools.sample_data.timeline import REF_DAY, SWITCH_DAY, WINDOW_DAYS
from tools.sample_data.vocabulary import (
    BREADTH,
    CHURN_PROB,
    CLICK_GIVEN_OPEN,
    CSAT_MEAN,
    EVENTS_PER_DAY,
    EXPAND_PROB,
    HIGH_VALUE,
    MOVES,
    MRR_MEDIAN,
    NEW,
    NPS_MEAN,
    OPEN_RATE,
    P_ACTIVE,
    POWER,
    STEADY,
    SUPPORT,
    TICKETS_PER_90D,
)

if TYPE_CHECKING:
    from tools.sample_data.population import _Companies

MIGRATION_RATE = 0.15


def _draw_behaviour(rng: np.random.Generator, arch: np.ndarray) -> dict[str, np.ndarray]:
    """Per-company behaviour parameters for the given archetypes (lognormal spread within each)."""
    n = len(arch)
    lo, hi = BREADTH[arch, 0], BREADTH[arch, 1]
    return {
        "p_active": np.clip(P_ACTIVE[arch] * rng.lognormal(0, 0.2, n), 0.05, 0.95),
        "lam": EVENTS_PER_DAY[arch] * rng.lognormal(0, 0.45, n),
        "breadth": rng.integers(lo, hi + 1),
        "open_rate": np.clip(OPEN_RATE[arch] * rng.lognormal(0, 0.25, n), 0.005, 0.95),
        "click_rate": np.clip(CLICK_GIVEN_OPEN[arch] * rng.lognormal(0, 0.25, n), 0.01, 0.9),
        "tickets": TICKETS_PER_90D[arch] * rng.lognormal(0, 0.35, n) / 90.0,
        "nps": np.clip(NPS_MEAN[arch] + rng.normal(0, 0.8, n), 0, 10),
        "csat": np.clip(CSAT_MEAN[arch] + rng.normal(0, 0.4, n), 1, 5),
        "urgent": (arch == SUPPORT).astype(np.int64),
    }


def _curves(arch: np.ndarray, x: np.ndarray, signup_x: np.ndarray) -> np.ndarray:
    """Activity multiplier per company and day (x = days relative to the reference date: one
    row for every company, or one row per company)."""
    X = np.asarray(x, dtype=float)
    X = X[None, :] if X.ndim == 1 else X
    s = signup_x[:, None].astype(float)
    ones = np.ones((len(arch), X.shape[1]))
    curves = [
        ones * (1 + 0.5 * np.clip((X + 60) / 60, 0, 1.3)),  # power: growing into the reference
        # disengaging: halves every 40 days up to the reference date, then stays at 1/8 (it
        # would otherwise look dormant in the months of a continuing history)
        ones * np.where(X < -120, 1.0, 0.5 ** ((np.minimum(X, 0) + 120) / 40)),
        ones,  # steady
        np.where(X >= s, np.clip(0.1 + (X - s) / 80, 0, 2.0), 0.0),  # new: ramps from signup
        ones,  # support heavy
        ones * np.where(X < -100, 1.0, np.where(X < -60, 1 - 0.97 * (X + 100) / 40, 0.015)),
    ]
    return np.choose(arch[:, None], curves)


@dataclass
class _Behaviour:
    arch_eff: np.ndarray  # archetype at the reference date
    after: np.ndarray  # bool [n, D]: day follows the migrated archetype
    signup_day: np.ndarray  # day index (may be negative)
    churn_day: np.ndarray  # day index or WINDOW_DAYS (never)
    expand_day: np.ndarray  # day index or -1
    activity: np.ndarray  # [n, D] multiplier incl. alive mask
    params: dict[str, np.ndarray]  # before params
    params_after: dict[str, np.ndarray]
    mrr_after: np.ndarray
    moved: np.ndarray


def _param_by_day(b: _Behaviour, key: str) -> np.ndarray:
    return np.where(b.after, b.params_after[key][:, None], b.params[key][:, None])


def _behaviour(
    co: _Companies, rng_mig: np.random.Generator, rng: np.random.Generator, period: int
) -> _Behaviour:
    n = co.n
    # Migrations are always drawn (same stream in both periods), applied in period 2 only.
    moved = rng_mig.random(n) < MIGRATION_RATE
    pick = rng_mig.random(n)
    target = np.array(
        [MOVES[a][int(p * len(MOVES[a]))] for a, p in zip(co.arch, pick, strict=True)]
    )
    target = np.where(co.b2c & np.isin(target, [POWER, HIGH_VALUE]), STEADY, target)
    params_after = _draw_behaviour(rng_mig, target)
    mrr_ratio = MRR_MEDIAN[target] / MRR_MEDIAN[co.arch] * rng_mig.lognormal(0, 0.2, n)
    if period == 1:
        moved = np.zeros(n, dtype=bool)
    arch_after = np.where(moved, target, co.arch)
    tenure = co.tenure_p1 + (period - 1) * 90
    tenure = np.where((co.arch == NEW) & ~moved, co.tenure_p1, tenure)
    signup_day = REF_DAY - tenure
    days = np.arange(WINDOW_DAYS)
    x = days - REF_DAY
    after = moved[:, None] & (days[None, :] >= SWITCH_DAY)
    m = np.where(after, _curves(arch_after, x, -tenure), _curves(co.arch, x, -tenure))
    churned = rng.random(n) < CHURN_PROB[arch_after]
    expanded = ~churned & (rng.random(n) < EXPAND_PROB[arch_after])
    churn_day = np.where(churned, rng.integers(REF_DAY + 5, WINDOW_DAYS - 3, n), WINDOW_DAYS)
    expand_day = np.where(expanded, rng.integers(REF_DAY + 5, WINDOW_DAYS - 10, n), -1)
    alive = (days[None, :] >= signup_day[:, None]) & (days[None, :] < churn_day[:, None])
    return _Behaviour(
        arch_eff=arch_after,
        after=after,
        signup_day=signup_day,
        churn_day=churn_day,
        expand_day=expand_day,
        activity=m * alive,
        params=co.behaviour,
        params_after={k: np.where(moved, params_after[k], co.behaviour[k]) for k in params_after},
        mrr_after=np.where(moved, np.round(co.mrr * mrr_ratio), co.mrr),
        moved=moved,
    )
