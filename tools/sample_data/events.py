"""Activity tables: product users and events, support tickets, email events, surveys and consent."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tools.sample_data.behaviour import _param_by_day
from tools.sample_data.columns import _num, _seq_ids, _take, _timestamps, _with_nulls
from tools.sample_data.population import _Companies
from tools.sample_data.timeline import DAY, TRACKING_CUTOVER, WINDOW_DAYS, Window
from tools.sample_data.vocabulary import (
    API_FEATURE,
    COMMENTS,
    DORMANT,
    EVENT_TAXONOMY,
    GENERIC_LOCALS,
    N_FEATURES,
    PRIORITIES,
    TICKET_CATEGORIES,
    URGENT_MIX,
)


def _product_users(
    co: _Companies, rng: np.random.Generator, win: Window, signup_epoch: np.ndarray
) -> dict:
    """Product users, created in the first days after their company's signup."""
    uc = co.user_company
    u_created = win.clip(signup_epoch[uc] + co.user_days_after_signup * DAY)
    return {
        "user_id": pa.array(co.user_ids, pa.string()),
        "email": pa.array(co.user_email, pa.string()),
        "created_at": _timestamps(rng, u_created, (0.5, 0.3, 0.2)),
        "_company": uc,
    }


def _events(co, bh, rng, win, period, chunk, days):
    n = co.n
    weekday = (win.start // DAY + days + 3) % 7  # 0 = Monday
    week_factor = np.where(weekday >= 5, 0.3, 1.0)
    p = np.clip(_param_by_day(bh, "p_active") * week_factor[None, :] * bh.activity, 0, 0.97)
    # no events before the first user exists (signup day itself is quiet)
    p[days[None, :] <= bh.signup_day[:, None]] = 0
    active = rng.random(p.shape) < p
    ci, di = np.nonzero(active)
    lam = _param_by_day(bh, "lam")[ci, di] * (0.5 + 0.5 * bh.activity[ci, di])
    count = 1 + rng.poisson(lam)
    ec = np.repeat(ci, count)
    ed = np.repeat(di, count)
    e = len(ec)
    epoch = win.start + ed * DAY + rng.integers(6 * 3600, 22 * 3600, e)
    epoch = np.minimum(epoch, win.end - 1)
    # Feature used: login often, otherwise one of the company's first `breadth` features.
    prefs = np.argsort(rng.random((n, N_FEATURES - 1)), axis=1) + 1
    breadth = np.where(bh.after[ec, ed], bh.params_after["breadth"][ec], bh.params["breadth"][ec])
    slot = np.minimum((rng.random(e) * breadth).astype(np.int64), breadth - 1)
    feature = np.where(slot == 0, 0, prefs[ec, np.maximum(slot - 1, 0)])
    feature = np.where(rng.random(e) < 0.3, 0, feature)
    # User: skewed towards the company's first users.
    user = co.user_offset[ec] + (rng.random(e) ** 1.7 * co.user_count[ec]).astype(np.int64)
    post = epoch >= int(TRACKING_CUTOVER.timestamp())
    lower = post & (rng.random(e) < 0.004)
    names = (
        [old for old, _ in EVENT_TAXONOMY]
        + [new for _, new in EVENT_TAXONOMY]
        + [new.lower() for _, new in EVENT_TAXONOMY]
    )
    name_code = feature + N_FEATURES * (post.astype(np.int64) + lower.astype(np.int64))
    platform = np.where(feature == API_FEATURE, 3, rng.choice(3, size=e, p=[0.7, 0.15, 0.15]))
    props = [
        '{"platform":"web"}',
        '{"platform":"ios"}',
        '{"platform":"android"}',
        '{"platform":"api"}',
    ]
    order = np.argsort(epoch, kind="stable")
    ec, epoch, user, name_code, platform = (
        a[order] for a in (ec, epoch, user, name_code, platform)
    )
    return {
        "event_id": _seq_ids(f"evt_{period}_{chunk:03d}_", e),
        "user_id": _take(co.user_ids, user),
        "event_name": _take(names, name_code),
        "occurred_at": _timestamps(rng, epoch, (0.5, 0.35, 0.15)),
        "properties": _take(props, platform),
        "_company": ec,
        "_order": epoch,
    }


def _requesters(co, rng, company: np.ndarray, generic_share: float) -> pa.Array:
    """An email per row: a contact's address or a shared inbox at the company domain."""
    m = len(company)
    cnt = co.contact_count[company]
    contact = co.contact_offset[company] + (rng.random(m) * np.maximum(cnt, 1)).astype(np.int64)
    generic = (rng.random(m) < generic_share) | (cnt == 0)
    generic_local = rng.choice(len(GENERIC_LOCALS), size=m, p=[0.4, 0.35, 0.1, 0.15])
    b2c_or_generic = [
        (co.user_email[co.user_offset[c]] if co.b2c[c] else f"{GENERIC_LOCALS[g]}@{co.domain[c]}")
        for c, g in zip(company[generic], generic_local[generic], strict=True)
    ]
    values = np.empty(m, dtype=object)
    if len(co.contact_other_form):
        forms = np.array(co.contact_other_form, dtype=object)
        values[~generic] = forms[np.minimum(contact[~generic], len(forms) - 1)]
    values[generic] = b2c_or_generic
    return pa.array(list(values), pa.string())


def _tickets(co, bh, rng, win, period, chunk):
    rate = _param_by_day(bh, "tickets") * (bh.activity > 0)
    counts = rng.poisson(rate)
    ci, di = np.nonzero(counts)
    tc = np.repeat(ci, counts[ci, di])
    td = np.repeat(di, counts[ci, di])
    m = len(tc)
    created = win.start + td * DAY + rng.integers(0, DAY, m)
    resolved = created + (rng.lognormal(np.log(8 * 3600), 1.2, m)).astype(np.int64)
    unresolved = (rng.random(m) < 0.06) | (resolved >= win.end)
    support_heavy = np.where(
        bh.after[tc, td], bh.params_after["urgent"][tc], bh.params["urgent"][tc]
    )
    u = rng.random(m)
    priority = (u[:, None] > np.cumsum(URGENT_MIX[support_heavy], axis=1)).sum(axis=1)
    csat = np.where(bh.after[tc, td], bh.params_after["csat"][tc], bh.params["csat"][tc])
    score = np.clip(np.round(csat + rng.normal(0, 0.8, m)), 1, 5)
    no_score = unresolved | (rng.random(m) < 0.4)
    order = np.argsort(created, kind="stable")
    tc, created, resolved, unresolved, priority, score, no_score = (
        a[order] for a in (tc, created, resolved, unresolved, priority, score, no_score)
    )
    return {
        "ticket_id": _seq_ids(f"T{period}{chunk:03d}-", m),
        "requester_email": _requesters(co, rng, tc, 0.2),
        "created_at": _timestamps(rng, created, (0.6, 0.3, 0.1)),
        "resolved_at": _with_nulls(
            _timestamps(rng, np.minimum(resolved, win.end - 1), (0.6, 0.3, 0.1)), unresolved
        ),
        "priority": _take(PRIORITIES, np.minimum(priority, 3)),
        "category": _take(TICKET_CATEGORIES, rng.integers(0, len(TICKET_CATEGORIES), m)),
        "satisfaction_score": _with_nulls(_num(score.astype(np.int64)), no_score),
        "_company": tc,
        "_order": created,
        "_resolved": np.where(unresolved, -1, resolved),
        "_score": score,
    }


def _email_events(co, bh, rng, win, period, chunk, campaign_days=None):
    """Campaign sends every 20 days (`campaign_days`: day indices inside the window) and what
    each recipient did with them."""
    n = co.n
    # Recipients: every contact, plus a shared inbox (info@/noreply@) for 60% of companies.
    inbox = np.flatnonzero(~co.b2c & (rng.random(n) < 0.6))
    b2c = np.flatnonzero(co.b2c)
    r_company = np.concatenate([co.contact_company, inbox, b2c])
    r_email = (
        list(co.contact_other_form)
        + [f"{('info', 'noreply')[i % 2]}@{co.domain[c]}" for i, c in enumerate(inbox)]
        + [co.user_email[co.user_offset[c]] for c in b2c]
    )
    r_generic = np.concatenate(
        [
            np.zeros(len(co.contact_company), bool),
            np.ones(len(inbox), bool),
            np.zeros(len(b2c), bool),
        ]
    )
    if campaign_days is None:
        campaign_days = np.arange(6, WINDOW_DAYS, 20)
    r, k = len(r_company), len(campaign_days)
    alive = (campaign_days[None, :] > bh.signup_day[:, None]) & (
        campaign_days[None, :] < bh.churn_day[:, None]
    )
    sent = (rng.random((r, k)) < 0.6) & alive[r_company]
    bounce = sent & (rng.random((r, k)) < 0.015)
    delivered = sent & ~bounce
    open_p = _param_by_day(bh, "open_rate")[:, campaign_days][r_company]
    open_p = np.where(r_generic[:, None], 0.05, open_p)
    opened = delivered & (rng.random((r, k)) < open_p)
    click_p = _param_by_day(bh, "click_rate")[:, campaign_days][r_company]
    clicked = opened & (rng.random((r, k)) < click_p)
    unsub = delivered & (rng.random((r, k)) < 0.004)
    base = win.start + campaign_days * DAY + 9 * 3600
    parts = []
    for code, mask, delay in (
        (0, delivered, 0),
        (4, bounce, 0),
        (1, opened, 1),
        (2, clicked, 2),
        (3, unsub, 3),
    ):
        ri, ki = np.nonzero(mask)
        t = base[ki] + rng.integers(0, 1800, len(ri))
        if delay:
            t = t + (rng.exponential(4 * 3600, len(ri)) * delay).astype(np.int64) + 60
        parts.append((ri, ki, np.full(len(ri), code), t))
    ri = np.concatenate([p[0] for p in parts])
    ki = np.concatenate([p[1] for p in parts])
    code = np.concatenate([p[2] for p in parts])
    t = np.minimum(np.concatenate([p[3] for p in parts]), win.end - 1)
    order = np.lexsort((code, t))
    ri, ki, code, t = ri[order], ki[order], code[order], t[order]
    campaign_ids = [
        "cmp_" + str(np.datetime64(int(win.start // DAY + d), "D")).replace("-", "")
        for d in campaign_days
    ]
    return {
        "event_id": _seq_ids(f"em_{period}_{chunk:03d}_", len(ri)),
        "campaign_id": _take(campaign_ids, ki),
        "recipient_email": _take(pa.array(r_email, pa.string()), ri),
        "event_type": _take(("delivered", "open", "click", "unsubscribe", "bounce"), code),
        "occurred_at": _timestamps(rng, t, (0.9, 0.05, 0.05)),
        "_company": r_company[ri],
        "_order": t,
    }


def _surveys(co, bh, rng, win, period, chunk, tickets, nps_days=None):
    """Quarterly NPS (`nps_days`: day indices inside the window) and CSAT after tickets; with the
    default days every company answers once before the reference date."""
    ensure_answer = nps_days is None
    if nps_days is None:
        nps_days = np.array([45, 136, 227, 318])  # 227 is within 90 days of the reference
    # Respondents: contacts (other systems' spelling) or the B2C customer's own email.
    b2c = np.flatnonzero(co.b2c)
    r_company = np.concatenate([co.contact_company, b2c])
    r_email = list(co.contact_other_form) + [co.user_email[co.user_offset[c]] for c in b2c]
    first_of_company = np.zeros(len(r_company), bool)
    first_of_company[np.unique(r_company, return_index=True)[1]] = True
    respond_p = np.where(bh.arch_eff[r_company] == DORMANT, 0.15, 0.35)
    responds = rng.random((len(r_company), len(nps_days))) < respond_p[:, None]
    if ensure_answer:
        responds[:, 2] |= first_of_company  # one answer per company before the reference date
    alive = (nps_days[None, :] > bh.signup_day[:, None]) & (
        nps_days[None, :] < bh.churn_day[:, None]
    )
    responds &= alive[r_company]
    ri, ki = np.nonzero(responds)
    mean = _param_by_day(bh, "nps")[:, nps_days][r_company[ri], ki]
    nps = np.clip(np.round(mean + rng.normal(0, 1.2, len(ri))), 0, 10)
    nps_t = win.start + nps_days[ki] * DAY + rng.integers(3600, 7 * DAY, len(ri))
    # CSAT after a share of resolved tickets, answered by the requester.
    resolved = tickets["_resolved"]
    csat_rows = np.flatnonzero((resolved >= 0) & (rng.random(len(resolved)) < 0.35))
    csat_t = resolved[csat_rows] + rng.integers(600, 2 * DAY, len(csat_rows))
    company = np.concatenate([r_company[ri], tickets["_company"][csat_rows]])
    score = np.concatenate([nps, tickets["_score"][csat_rows]])
    submitted = np.minimum(np.concatenate([nps_t, csat_t]), win.end - 1)
    kind = np.concatenate([np.zeros(len(ri), np.int64), np.ones(len(csat_rows), np.int64)])
    email = pa.concat_arrays(
        [
            _take(pa.array(r_email, pa.string()), ri),
            tickets["requester_email"].take(pa.array(csat_rows, pa.int64())),
        ]
    )
    low = score <= np.where(kind == 0, 6, 2)
    comment = np.where(
        rng.random(len(score)) < 0.5,
        0,
        np.where(
            low,
            rng.integers(4, 6, len(score)),
            np.where(rng.random(len(score)) < 0.5, 3, rng.integers(6, 9, len(score))),
        ),
    )
    order = np.argsort(submitted, kind="stable")
    return {
        "response_id": _seq_ids(f"sr_{period}_{chunk:03d}_", len(order)),
        "respondent_email": email.take(pa.array(order)),
        "survey_type": _take(("nps", "csat"), kind[order]),
        "score": _num(score[order].astype(np.int64)),
        "submitted_at": _timestamps(rng, submitted[order], (0.7, 0.2, 0.1)),
        "comment": _with_nulls(_take(COMMENTS, comment[order]), comment[order] == 0),
        "_company": company[order],
        "_order": submitted[order],
    }


def _consent(co, bh, rng, win, signup_epoch):
    """Analytics and marketing grants per contact email; some revoked later in the window."""
    cc = co.contact_company
    m = len(cc)
    emails = pa.array(co.contact_crm_form, pa.string())
    recorded = signup_epoch[cc] + co.contact_days_after_signup * DAY + rng.integers(60, DAY, m)
    recorded = np.minimum(recorded, win.end - 2 * DAY)
    parts = []
    for purpose, share in ((0, 0.85), (1, 0.70)):
        granted = rng.random(m) < share
        parts.append((np.arange(m), np.full(m, purpose), granted, recorded + purpose))
        revoke = granted & (rng.random(m) < 0.08)
        when = np.maximum(recorded, win.start) + rng.integers(DAY, 300 * DAY, m)
        revoke &= when < win.end
        idx = np.flatnonzero(revoke)
        parts.append((idx, np.full(len(idx), purpose), np.zeros(len(idx), bool), when[idx]))
    ci = np.concatenate([p[0] for p in parts])
    purpose = np.concatenate([p[1] for p in parts])
    granted = np.concatenate([p[2] for p in parts])
    t = np.concatenate([p[3] for p in parts])
    order = np.lexsort((purpose, t))
    ci, purpose, granted, t = ci[order], purpose[order], granted[order], t[order]
    return {
        "email": emails.take(pa.array(ci, pa.int64())),
        "purpose": _take(("analytics", "marketing"), purpose),
        "granted": _take(("false", "true"), granted.astype(np.int64)),
        "recorded_at": _timestamps(rng, t, (0.8, 0.2, 0.0)),
        "_company": cc[ci],
        "_order": t,
    }
