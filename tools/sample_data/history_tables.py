"""One continuing-history period's raw tables for a chunk: the sign-ups' identity tables, the
subscription rows created or changed in the period, and everyone's activity inside the window.

Campaigns (every 20 days) and NPS surveys (every 91 days) follow one calendar from the initial
history's first day, so they continue across periods.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tools.sample_data.columns import _ids, _num, _perm_id, _take, _timestamps, _with_nulls
from tools.sample_data.companies import _billing_customers, _crm_tables, _invoices
from tools.sample_data.events import (
    _consent,
    _email_events,
    _events,
    _product_users,
    _surveys,
    _tickets,
)
from tools.sample_data.history import _Ledger, _period_behaviour, _PeriodChanges
from tools.sample_data.timeline import DAY, Window

CAMPAIGN_EVERY, CAMPAIGN_FIRST = 20, 6
NPS_EVERY, NPS_FIRST = 91, 45
CONSENT_CHANGE_PER_30D = 0.02  # share of existing contacts and purposes that change consent


def _calendar_days(span, first: int, every: int) -> np.ndarray:
    """Day indices inside the period of a schedule counted from the initial history's day 0."""
    day0 = (span.start - Window(1).start) // DAY
    d = np.arange(span.days)
    return d[(day0 + d - first) % every == 0]


def _shift(table: dict, offset: int) -> dict:
    return {**table, "_company": np.asarray(table["_company"]) + offset}


def _subscriptions(led: _Ledger, rows: np.ndarray, rng) -> dict:
    """The subscription rows created or changed in the period, in their end-of-period state."""
    s = {k: v[rows] for k, v in led.subs.items()}
    sub_ids = _ids("sub_", _perm_id(led.co.idx[s["company"]] * 8 + s["k"], 950706376))
    return {
        "subscription_id": pa.array(sub_ids, pa.string()),
        "billing_customer_id": pa.array(list(led.billing_ids[s["company"]]), pa.string()),
        "plan": pa.array(list(s["plan"]), pa.string()),
        "mrr": _num(s["mrr"], 2),
        "currency": pa.array(list(led.currency[s["company"]]), pa.string()),
        "started_at": _timestamps(rng, s["start"], (0.3, 0.1, 0.6)),
        "ended_at": _with_nulls(
            _timestamps(rng, np.maximum(s["end"], 0), (0.3, 0.1, 0.6)), s["end"] < 0
        ),
        "status": pa.array(list(s["status"]), pa.string()),
        "_company": s["company"],
        "_order": s["start"],
    }


def _consent_changes(led: _Ledger, ch: _PeriodChanges, rng) -> dict:
    """Sign-ups' first grants (and early revocations), plus grants and revocations by contacts
    of companies active in the period."""
    span, block, off = ch.span, ch.new_block, ch.new_offset
    first = _shift(_consent(block, None, rng, span, ch.new_signup), off)
    cc = led.co.contact_company
    active = ch.existing & (led.churned_at < 0)  # active all period
    share = CONSENT_CHANGE_PER_30D * span.days / 30
    contact, purpose = np.nonzero(active[cc][:, None] & (rng.random((len(cc), 2)) < share))
    granted = rng.random(len(contact)) < 0.5
    when = span.start + rng.integers(0, span.days * DAY - 60, len(contact))
    emails = pa.array(led.co.contact_crm_form, pa.string()).take(pa.array(contact, pa.int64()))
    t = np.concatenate([first["_order"], when])
    order = np.argsort(t, kind="stable")
    return {
        "email": pa.concat_arrays([first["email"], emails]).take(pa.array(order)),
        "purpose": pa.concat_arrays(
            [first["purpose"], _take(("analytics", "marketing"), purpose)]
        ).take(pa.array(order)),
        "granted": pa.concat_arrays(
            [first["granted"], _take(("false", "true"), granted.astype(np.int64))]
        ).take(pa.array(order)),
        "recorded_at": pa.concat_arrays(
            [first["recorded_at"], _timestamps(rng, when, (0.8, 0.2, 0.0))]
        ).take(pa.array(order)),
        "_company": np.concatenate([first["_company"], cc[contact]])[order],
        "_order": t[order],
    }


def _period_tables(
    led: _Ledger, ch: _PeriodChanges, seed: int, chunk: int, period: int
) -> dict[str, dict]:
    """Every raw table of one history period for the chunk: {table: {col: array, ...}}."""
    rng = np.random.default_rng([seed, chunk, 600, period])
    span, block, off = ch.span, ch.new_block, ch.new_offset
    tag = f"h{period:02d}"
    tables, primary_id, dup_id = _crm_tables(block, rng, span, ch.new_signup)
    tables = {name: _shift(t, off) for name, t in tables.items()}
    customers, _ = _billing_customers(block, rng, span, ch.new_signup, primary_id, dup_id)
    tables["billing_customers"] = _shift(customers, off)
    tables["billing_subscriptions"] = _subscriptions(led, ch.touched_subs, rng)
    s = led.subs
    overlaps = (s["start"] < span.end) & ((s["end"] < 0) | (s["end"] > span.start))
    rows = np.flatnonzero(overlaps)
    months = np.arange(
        np.datetime64(span.start, "s").astype("datetime64[M]"),
        np.datetime64(span.end - 1, "s").astype("datetime64[M]") + 1,
    )
    tables["billing_invoices"] = _invoices(
        rng,
        span,
        months,
        f"in_{tag}_{chunk:03d}_",
        (s["company"][rows], s["mrr"][rows], s["start"][rows], s["end"][rows]),
        led.billing_ids,
        led.currency,
        led.arch,
        led.arch,
    )
    tables["product_users"] = _shift(_product_users(block, rng, span, ch.new_signup), off)
    bh = _period_behaviour(led, span)
    co = led.co
    tables["product_events"] = _events(co, bh, rng, span, tag, chunk, np.arange(span.days))
    tables["support_tickets"] = _tickets(co, bh, rng, span, tag, chunk)
    tables["email_events"] = _email_events(
        co, bh, rng, span, tag, chunk, _calendar_days(span, CAMPAIGN_FIRST, CAMPAIGN_EVERY)
    )
    tables["survey_responses"] = _surveys(
        co,
        bh,
        rng,
        span,
        tag,
        chunk,
        tables["support_tickets"],
        _calendar_days(span, NPS_FIRST, NPS_EVERY),
    )
    tables["consent_events"] = _consent_changes(led, ch, rng)
    return tables
