"""One chunk of companies in memory: its seeded random streams, population, behaviour and every
raw table (before defects are planted) plus the planted outcomes.

Every chunk has its own generators seeded from (seed, chunk, stream): company identity and
migrations come from period-independent streams, behaviour from a period stream, so output
depends only on seed, account count and period.
"""

from __future__ import annotations

import numpy as np

from tools.sample_data.behaviour import _Behaviour, _behaviour
from tools.sample_data.companies import _billing, _billing_customers, _crm_tables
from tools.sample_data.events import (
    _consent,
    _email_events,
    _events,
    _product_users,
    _surveys,
    _tickets,
)
from tools.sample_data.population import _Companies, _companies
from tools.sample_data.timeline import DAY, WINDOW_DAYS, Window
from tools.sample_data.truth import _outcomes


def _build_chunk(seed: int, period: int, chunk: int, first: int, n: int) -> tuple:
    """Companies `first .. first + n - 1`: (companies, behaviour, tables, outcomes, ids)."""
    win = Window(period)
    rng_company = np.random.default_rng([seed, chunk, 0])
    rng_migration = np.random.default_rng([seed, chunk, 1])
    rng = np.random.default_rng([seed, chunk, 100 + period])
    co = _companies(rng_company, first, n)
    bh = _behaviour(co, rng_migration, rng, period)
    tables, outcomes, ids = _chunk_tables(co, bh, rng, win, period, chunk)
    return co, bh, tables, outcomes, ids


def _chunk_tables(
    co: _Companies, bh: _Behaviour, rng: np.random.Generator, win: Window, period: int, chunk: int
) -> tuple[dict[str, dict], dict, list]:
    """Build every table of one chunk: {table: {col: array, "_company": idx, "_order": key}}."""
    days = np.arange(WINDOW_DAYS)
    signup_epoch = win.start + bh.signup_day * DAY + co.signup_offset
    tables, primary_id, dup_id = _crm_tables(co, rng, win, signup_epoch)
    tables["billing_customers"], billing_ids = _billing_customers(
        co, rng, win, signup_epoch, primary_id, dup_id
    )
    subs, invoices = _billing(co, bh, rng, win, signup_epoch, billing_ids, period, chunk)
    tables["billing_subscriptions"] = subs
    tables["billing_invoices"] = invoices
    tables["product_users"] = _product_users(co, rng, win, signup_epoch)
    tables["product_events"] = _events(co, bh, rng, win, period, chunk, days)

    # Support, email, survey, consent.
    tables["support_tickets"] = _tickets(co, bh, rng, win, period, chunk)
    tables["email_events"] = _email_events(co, bh, rng, win, period, chunk)
    tables["survey_responses"] = _surveys(
        co, bh, rng, win, period, chunk, tables["support_tickets"]
    )
    tables["consent_events"] = _consent(co, bh, rng, win, signup_epoch)

    outcomes = _outcomes(co, bh, invoices, win)
    return tables, outcomes, [primary_id, dup_id, billing_ids]
