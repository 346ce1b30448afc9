"""The state a continuing history carries for one chunk from period to period, and the changes
planted in each period: archetype migrations, sign-ups, churn and expansion.

The ledger starts from the chunk's initial history (period 1 of `chunk._build_chunk`) and grows
by the companies that sign up. Every period draws from its own generators seeded from
(seed, chunk, stream, period), so a period depends only on the seed, the chunk and the periods
before it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from tools.sample_data.behaviour import _Behaviour, _curves, _draw_behaviour
from tools.sample_data.columns import _ids, _perm_id
from tools.sample_data.population import _Companies, _companies
from tools.sample_data.timeline import DAY, REF_DAY, Span, Window
from tools.sample_data.vocabulary import (
    CHURN_PROB,
    COUNTRIES,
    CURRENCY,
    EXPAND_PROB,
    HIGH_VALUE,
    MOVES,
    MRR_MEDIAN,
    NEW,
    POWER,
    STEADY,
)

# Planted migrations: history period -> share of the active companies that switch archetype at
# its start (disjoint sets; a company migrates at most once).
MIGRATION_PERIODS = {2: 0.10, 4: 0.10}
SIGNUP_RATE = 0.02  # new companies per 30 days, as a share of the initial accounts
EXPANSION_FACTOR = (1.1, 1.5)  # MRR multiplier of an expansion
# New companies of chunk c in period k get global indices SIGNUP_BASE + (c * MAX_PERIODS + k) *
# MAX_SIGNUPS + j: disjoint from the initial accounts and from every other chunk and period.
SIGNUP_BASE = 16_000_000
MAX_PERIODS = 64
MAX_SIGNUPS = 2048
PLAN_NAMES = np.array(["starter", "growth", "pro", "enterprise"], dtype=object)


def _plan(mrr: np.ndarray) -> np.ndarray:
    return PLAN_NAMES[np.searchsorted([200, 1000, 3000], mrr, side="right")]


@dataclass
class _Ledger:
    """Every company of the chunk known so far, its current state and its subscriptions."""

    co: _Companies
    first_period: np.ndarray  # history period that created the company (0 = initial history)
    arch: np.ndarray  # current archetype
    params: dict[str, np.ndarray]  # current behaviour parameters
    anchor: np.ndarray  # epoch of x = 0 of the activity curve
    signup: np.ndarray  # signup epoch
    churned_at: np.ndarray  # epoch, or -1 while active
    migrated: np.ndarray  # bool: already migrated in the history
    billing_ids: np.ndarray
    currency: np.ndarray
    subs: dict[str, np.ndarray]  # company, k, plan, mrr, start, end (-1 = open), status


@dataclass
class _PeriodChanges:
    """What one period planted: its sign-ups and lifecycle changes, for its tables and truth."""

    span: Span
    new_block: _Companies | None  # the companies that signed up in the period
    new_offset: int  # their first index in the ledger
    new_signup: np.ndarray
    touched_subs: np.ndarray  # subscription rows created or changed in the period
    migrated: np.ndarray  # bool per company (ledger order)
    arch_before: np.ndarray
    existing: np.ndarray  # bool: company existed before the period
    churned: np.ndarray  # bool: churned in the period
    expanded: np.ndarray  # bool: expanded in the period


def _concat_companies(a: _Companies, b: _Companies) -> _Companies:
    """`a` followed by `b`, with b's local indices shifted."""
    shift = {
        "contact_company": a.n,
        "user_company": a.n,
        "user_offset": len(a.user_company),
        "contact_offset": len(a.contact_company),
    }
    merged = {}
    for f in fields(_Companies):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "n":
            merged[f.name] = x + y
        elif f.name == "parent":
            merged[f.name] = np.concatenate([x, np.where(y >= 0, y + a.n, y)])
        elif isinstance(x, dict):
            merged[f.name] = {k: np.concatenate([x[k], y[k]]) for k in x}
        elif isinstance(x, list):
            merged[f.name] = x + y
        else:
            merged[f.name] = np.concatenate([x, y + shift.get(f.name, 0)])
    return _Companies(**merged)


def _start_ledger(co: _Companies, bh: _Behaviour, tables: dict, billing_ids) -> _Ledger:
    """The state at the end of the initial history (period 1's window)."""
    win = Window(1)
    subs = tables["billing_subscriptions"]
    signup = win.start + bh.signup_day * DAY + co.signup_offset
    canceled = subs["_status"] == "canceled"
    churned_at = np.full(co.n, -1, dtype=np.int64)
    np.maximum.at(churned_at, subs["_company"][canceled], subs["_end"][canceled])
    return _Ledger(
        co=co,
        first_period=np.zeros(co.n, dtype=np.int64),
        arch=bh.arch_eff.copy(),
        params={k: v.copy() for k, v in bh.params.items()},
        anchor=np.full(co.n, win.start + REF_DAY * DAY, dtype=np.int64),
        signup=signup.astype(np.int64),
        churned_at=churned_at,
        migrated=np.zeros(co.n, dtype=bool),
        billing_ids=np.asarray(billing_ids, dtype=object),
        currency=_currency(co),
        subs={
            "company": subs["_company"].astype(np.int64),
            "k": subs["_k"].astype(np.int64),
            "plan": subs["_plan"].astype(object),
            "mrr": subs["_mrr"].astype(float),
            "start": subs["_start"].astype(np.int64),
            "end": subs["_end"].astype(np.int64),
            "status": subs["_status"].astype(object),
        },
    )


def _currency(co: _Companies) -> np.ndarray:
    return np.array([CURRENCY.get(COUNTRIES[c], "USD") for c in co.country], dtype=object)


def _add_subs(led: _Ledger, company, k, mrr, start) -> np.ndarray:
    """Append open subscriptions; return their row indices."""
    n0 = len(led.subs["company"])
    new = {
        "company": company,
        "k": np.full(len(company), k, dtype=np.int64),
        "plan": _plan(mrr),
        "mrr": mrr.astype(float),
        "start": start.astype(np.int64),
        "end": np.full(len(company), -1, dtype=np.int64),
        "status": np.full(len(company), "active", dtype=object),
    }
    led.subs = {c: np.concatenate([led.subs[c], new[c]]) for c in led.subs}
    return np.arange(n0, n0 + len(company))


def _base_rows(led: _Ledger, companies: np.ndarray) -> np.ndarray:
    """The open, non-add-on subscription row of each company (the one MRR changes act on)."""
    s = led.subs
    open_base = np.flatnonzero((s["end"] < 0) & (s["k"] != 2))
    last = np.full(led.co.n, -1, dtype=np.int64)
    last[s["company"][open_base]] = open_base  # rows are appended in time order: keep the last
    return last[companies]


def _advance(led: _Ledger, seed: int, chunk: int, period: int, span: Span) -> _PeriodChanges:
    """Plant one period's migrations, sign-ups, churn and expansion into the ledger."""
    rng = np.random.default_rng([seed, chunk, 400, period])
    n0 = led.co.n
    existing = led.signup < span.start
    active = existing & (led.churned_at < 0)
    touched = []
    arch_before = led.arch.copy()

    # Migrations at the period start: the new archetype's behaviour, a new base subscription.
    migrated = np.zeros(n0, dtype=bool)
    share = MIGRATION_PERIODS.get(period, 0.0)
    if share:
        candidates = np.flatnonzero(active & ~led.migrated)
        migrated[candidates[rng.random(len(candidates)) < share]] = True
        idx = np.flatnonzero(migrated)
        pick = rng.random(len(idx))
        target = np.array(
            [MOVES[a][int(p * len(MOVES[a]))] for a, p in zip(led.arch[idx], pick, strict=True)],
            dtype=np.int64,
        )
        target = np.where(led.co.b2c[idx] & np.isin(target, [POWER, HIGH_VALUE]), STEADY, target)
        same = target == led.arch[idx]  # a B2C steady company drawn to power stays: no move
        migrated[idx[same]] = False
        idx, target = idx[~same], target[~same]
        after = _draw_behaviour(rng, target)
        for key, values in after.items():
            led.params[key][idx] = values
        ratio = MRR_MEDIAN[target] / MRR_MEDIAN[led.arch[idx]] * rng.lognormal(0, 0.2, len(idx))
        switch = span.start + 9 * 3600
        base = _base_rows(led, idx)
        old_mrr = led.subs["mrr"][base]
        led.subs["end"][base] = switch
        led.subs["status"][base] = "changed"
        sub_k = 3 + sorted(MIGRATION_PERIODS).index(period)
        new_rows = _add_subs(led, idx, sub_k, np.round(old_mrr * ratio), np.full(len(idx), switch))
        touched += [base, new_rows]
        led.arch[idx] = target
        # The new curve reaches its reference-date level (x = 0) by the period's end: a planted
        # migration is complete within the period it is planted in.
        led.anchor[idx] = span.end
        led.migrated |= migrated

    # Churn and expansion of the companies active at the period start.
    days = span.days
    p_churn = 1 - (1 - CHURN_PROB[led.arch]) ** (days / 90)
    churned = active & (rng.random(n0) < p_churn)
    p_expand = 1 - (1 - EXPAND_PROB[led.arch]) ** (days / 365)
    expanded = active & ~churned & ~migrated & (rng.random(n0) < p_expand)
    when = span.start + rng.integers(1, days, n0) * DAY + rng.integers(8 * 3600, 20 * 3600, n0)
    c_idx = np.flatnonzero(churned)
    open_rows = np.flatnonzero(np.isin(led.subs["company"], c_idx) & (led.subs["end"] < 0))
    led.subs["end"][open_rows] = when[led.subs["company"][open_rows]]
    led.subs["status"][open_rows] = "canceled"
    led.churned_at[c_idx] = when[c_idx]
    e_idx = np.flatnonzero(expanded)
    e_rows = _base_rows(led, e_idx)
    led.subs["mrr"][e_rows] = np.round(
        led.subs["mrr"][e_rows] * rng.uniform(*EXPANSION_FACTOR, len(e_rows))
    )
    led.subs["plan"][e_rows] = _plan(led.subs["mrr"][e_rows])
    touched += [open_rows, e_rows]

    # Sign-ups: new companies, ramping from a signup day inside the period.
    initial = int((led.first_period == 0).sum())
    m = min(MAX_SIGNUPS, max(1, int(rng.poisson(initial * SIGNUP_RATE * days / 30))))
    first = SIGNUP_BASE + (chunk * MAX_PERIODS + period) * MAX_SIGNUPS
    block = _companies(np.random.default_rng([seed, chunk, 500, period]), first, m, NEW)
    signup = span.start + rng.integers(0, days, m) * DAY + block.signup_offset
    led.co = _concat_companies(led.co, block)
    new = np.arange(n0, n0 + m)
    led.first_period = np.concatenate([led.first_period, np.full(m, period)])
    led.arch = np.concatenate([led.arch, block.arch])
    led.params = {k: np.concatenate([led.params[k], block.behaviour[k]]) for k in led.params}
    led.anchor = np.concatenate([led.anchor, np.full(m, Window(1).start + REF_DAY * DAY)])
    led.signup = np.concatenate([led.signup, signup])
    led.churned_at = np.concatenate([led.churned_at, np.full(m, -1, dtype=np.int64)])
    led.migrated = np.concatenate([led.migrated, np.zeros(m, bool)])
    led.billing_ids = np.concatenate(
        [led.billing_ids, np.array(_ids("cus_", _perm_id(block.idx, 1103515245)), dtype=object)]
    )
    led.currency = np.concatenate([led.currency, _currency(block)])
    sub_start = np.minimum(signup + rng.integers(0, 5 * DAY, m), span.end - 1)
    touched.append(_add_subs(led, new, 0, block.mrr, sub_start))

    pad = np.zeros(m, dtype=bool)
    return _PeriodChanges(
        span=span,
        new_block=block,
        new_offset=n0,
        new_signup=signup,
        touched_subs=np.unique(np.concatenate(touched)),
        migrated=np.concatenate([migrated, pad]),
        arch_before=np.concatenate([arch_before, block.arch]),
        existing=np.concatenate([existing, pad]),
        churned=np.concatenate([churned, pad]),
        expanded=np.concatenate([expanded, pad]),
    )


def _period_behaviour(led: _Ledger, span: Span) -> _Behaviour:
    """Day-by-company behaviour of the period from the ledger's current state."""
    n, days = led.co.n, span.days
    d = np.arange(days)
    signup_day = (led.signup - span.start) // DAY
    churn_day = np.where(led.churned_at < 0, days, (led.churned_at - span.start) // DAY)
    x = (span.start - led.anchor)[:, None] // DAY + d[None, :]
    signup_x = (led.signup // DAY * DAY - led.anchor) // DAY
    alive = (d[None, :] >= signup_day[:, None]) & (d[None, :] < churn_day[:, None])
    return _Behaviour(
        arch_eff=led.arch,
        after=np.zeros((n, days), dtype=bool),
        signup_day=signup_day,
        churn_day=churn_day,
        expand_day=np.full(n, -1),
        activity=_curves(led.arch, x, signup_x) * alive,
        params=led.params,
        params_after=led.params,
        mrr_after=np.zeros(n),
        moved=np.zeros(n, dtype=bool),
    )
