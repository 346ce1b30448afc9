"""Company-side tables: CRM accounts, account attributes and contacts; billing customers,
subscriptions and invoices."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tools.sample_data.columns import (
    _ids,
    _num,
    _perm_id,
    _seq_ids,
    _take,
    _timestamps,
    _with_nulls,
)
from tools.sample_data.population import _Companies
from tools.sample_data.timeline import DAY, PERIOD_STARTS, REF_DAY, SWITCH_DAY, WINDOW_DAYS, Window
from tools.sample_data.vocabulary import (
    AGE_BANDS,
    CHANNELS,
    CONTRACTION_FACTOR,
    CONTRACTION_PROB,
    COUNTRIES,
    CURRENCY,
    DORMANT,
    GENDERS,
    GROWTH_FACTOR,
    GROWTH_PROB,
    HIGH_VALUE,
    INDUSTRIES,
    JOB_TITLES,
    LEGAL,
    POWER,
)


def _crm_tables(
    co: _Companies, rng: np.random.Generator, win: Window, signup_epoch: np.ndarray
) -> tuple[dict[str, dict], np.ndarray, np.ndarray]:
    """CRM accounts (primary and duplicate records), custom attributes (long format), contacts."""
    tables: dict[str, dict] = {}
    n = co.n

    # CRM accounts (primary + duplicates).
    crm = np.flatnonzero(~co.b2c)
    dup = np.flatnonzero(co.has_dup)
    primary_id = np.array(_ids("001", _perm_id(co.idx * 2, 16807)), dtype=object)
    dup_id = np.array(_ids("001", _perm_id(co.idx * 2 + 1, 16807)), dtype=object)
    acc_company = np.concatenate([crm, dup])
    acc_ids = np.concatenate([primary_id[crm], dup_id[dup]])
    names = [f"{co.name[c]} {LEGAL[co.legal[c]][0]}" for c in crm] + [
        f"{co.name[c].upper()} {LEGAL[co.legal[c]][1]}" for c in dup
    ]
    created = np.concatenate(
        [signup_epoch[crm], signup_epoch[dup] + rng.integers(30, 400, len(dup)) * DAY]
    )
    created = win.clip(created)
    updated = win.clip(created + rng.integers(1, 700, len(acc_company)) * DAY)
    parent = co.parent[acc_company]
    emp_missing = rng.random(len(acc_company)) < 0.05
    tables["crm_accounts"] = {
        "account_id": pa.array(list(acc_ids)),
        "account_name": pa.array(names),
        "website_domain": _take(co.domain, acc_company),
        "industry": _take(INDUSTRIES, co.industry[acc_company]),
        "employee_count": _with_nulls(
            _num(co.employees[acc_company].astype(np.int64)), emp_missing
        ),
        "country": _take(COUNTRIES, co.country[acc_company]),
        "parent_account_id": _with_nulls(
            _take(list(primary_id), np.maximum(parent, 0)), parent < 0
        ),
        "created_at": _timestamps(rng, created, (0.8, 0.1, 0.1)),
        "updated_at": _timestamps(rng, updated, (0.8, 0.1, 0.1)),
        "_company": acc_company,
    }

    # Custom account attributes, long format (primary accounts only).
    tier = np.where(co.mrr >= 1500, 0, np.where(co.mrr >= 400, 1, 2))
    tier = np.where(rng.random(n) < 0.1, rng.integers(0, 3, n), tier)
    attr_values = {
        "account_tier": _take(("gold", "silver", "bronze"), tier[crm]),
        "primary_contact_gender": _take(GENDERS, co.gender[crm]),
        "primary_contact_age_band": _take(AGE_BANDS, co.age_band[crm]),
        "preferred_channel": _take(CHANNELS, co.channel[crm]),
        "region_code": _take(co.region_code, crm),
    }
    attr_updated = win.clip(signup_epoch[crm] + rng.integers(1, 200, len(crm)) * DAY)
    attr_ts = _timestamps(rng, attr_updated, (0.8, 0.1, 0.1))
    k = len(attr_values)
    tables["crm_account_attributes"] = {
        "account_id": _take(list(primary_id[crm]), np.repeat(np.arange(len(crm)), k)),
        "attribute": _take(list(attr_values), np.tile(np.arange(k), len(crm))),
        "value": pa.concat_arrays([v for v in attr_values.values()]).take(
            pa.array((np.arange(k)[None, :] * len(crm) + np.arange(len(crm))[:, None]).ravel())
        ),
        "updated_at": attr_ts.take(pa.array(np.repeat(np.arange(len(crm)), k))),
        "_company": np.repeat(crm, k),
    }

    # Contacts.
    cc = co.contact_company
    c_account = np.where(co.contact_on_dup, dup_id[cc], primary_id[cc])
    c_created = win.clip(signup_epoch[cc] + co.contact_days_after_signup * DAY)
    tables["crm_contacts"] = {
        "contact_id": pa.array(co.contact_ids, pa.string()),
        "account_id": _with_nulls(pa.array(list(c_account), pa.string()), co.contact_orphan),
        "email": pa.array(co.contact_crm_form, pa.string()),
        "full_name": pa.array(co.contact_name, pa.string()),
        "job_title": _take(JOB_TITLES, co.contact_title),
        "created_at": _timestamps(rng, c_created, (0.8, 0.1, 0.1)),
        "updated_at": _timestamps(
            rng, win.clip(c_created + rng.integers(0, 300, len(cc)) * DAY), (0.8, 0.1, 0.1)
        ),
        "_company": cc,
    }
    return tables, primary_id, dup_id


def _billing_customers(
    co: _Companies,
    rng: np.random.Generator,
    win: Window,
    signup_epoch: np.ndarray,
    primary_id: np.ndarray,
    dup_id: np.ndarray,
) -> tuple[dict, np.ndarray]:
    """One billing customer per company, linked to a CRM account unless B2C or unlinked."""
    n = co.n
    billing_ids = np.array(_ids("cus_", _perm_id(co.idx, 1103515245)), dtype=object)
    linked = ~co.b2c & ~co.unlinked_billing
    crm_link = np.where(co.has_dup & (rng.random(n) < 0.2), dup_id, primary_id)
    table = {
        "billing_customer_id": pa.array(list(billing_ids)),
        "email": pa.array(co.billing_email, pa.string()),
        "company_name": pa.array(co.billing_name, pa.string()),
        "crm_account_id": _with_nulls(pa.array(list(crm_link), pa.string()), ~linked),
        "created_at": _timestamps(
            rng, win.clip(signup_epoch + rng.integers(0, 3 * DAY, n)), (0.3, 0.1, 0.6)
        ),
        "_company": np.arange(n),
    }
    return table, billing_ids


def _billing(co, bh, rng, win, signup_epoch, billing_ids, period, chunk):
    n = co.n
    last = win.end - 1
    plan_of = np.array(["starter", "growth", "pro", "enterprise"], dtype=object)

    def plan(mrr):
        return plan_of[np.searchsorted([200, 1000, 3000], mrr, side="right")]

    # Subscription segments: main, plan change (migrations) and add-on (expansion).
    switch_epoch = win.start + SWITCH_DAY * DAY + 9 * 3600
    churn_epoch = win.start + bh.churn_day * DAY + rng.integers(8 * 3600, 20 * 3600, n)
    expand_epoch = win.start + bh.expand_day * DAY + rng.integers(8 * 3600, 20 * 3600, n)
    changed = bh.moved & (bh.mrr_after != co.mrr)
    churned = bh.churn_day < WINDOW_DAYS
    main_start = np.minimum(signup_epoch + rng.integers(0, 5 * DAY, n), last)
    rows = {"company": [], "k": [], "plan": [], "mrr": [], "start": [], "end": [], "status": []}

    def add(mask, k, mrr, start, end, status):
        idx = np.flatnonzero(mask)
        rows["company"].append(idx)
        rows["k"].append(np.full(len(idx), k))
        rows["plan"].append(plan(mrr[idx]) if k != 2 else np.full(len(idx), "addon_seats", object))
        rows["mrr"].append(mrr[idx])
        rows["start"].append(start[idx])
        rows["end"].append(end[idx])
        rows["status"].append(status[idx])

    # Upgrades and downgrades in the 90 days before the reference date (own stream: the other
    # tables' draws stay as they were), for companies signed up a month before the change; never
    # for a planted mover, whose segment change must stay the planted one.
    plans = np.random.default_rng([period, chunk, 144])
    u = plans.random(n)
    grows = u < GROWTH_PROB[bh.arch_eff]
    shrinks = ~grows & (u < GROWTH_PROB[bh.arch_eff] + CONTRACTION_PROB[bh.arch_eff])
    factor = np.where(
        grows, plans.uniform(*GROWTH_FACTOR, n), plans.uniform(*CONTRACTION_FACTOR, n)
    )
    replan_epoch = win.start + plans.integers(REF_DAY - 80, REF_DAY - 5, n) * DAY + 10 * 3600
    replanned = ~bh.moved & (grows | shrinks) & (main_start < replan_epoch - 30 * DAY)
    replanned &= replan_epoch < last

    never = np.full(n, -1, dtype=np.int64)
    end_main = np.where(
        changed,
        switch_epoch,
        np.where(replanned, replan_epoch, np.where(churned, churn_epoch, never)),
    )
    status_main = np.where(
        changed | replanned, "changed", np.where(churned, "canceled", "active")
    ).astype(object)
    add(np.ones(n, bool), 0, co.mrr, main_start, end_main, status_main)
    end_after = np.where(churned, churn_epoch, never)
    status_after = np.where(churned, "canceled", "active").astype(object)
    mrr_next = np.where(changed, bh.mrr_after, np.maximum(np.round(co.mrr * factor), 1.0))
    start_next = np.where(changed, switch_epoch, replan_epoch)
    add(changed | replanned, 1, mrr_next, start_next, end_after, status_after)
    addon_mrr = np.round(bh.mrr_after * rng.uniform(0.25, 0.9, n))
    add(bh.expand_day >= 0, 2, addon_mrr, expand_epoch, never, np.full(n, "active", object))
    sc = np.concatenate(rows["company"])
    sk = np.concatenate(rows["k"])
    smrr = np.concatenate(rows["mrr"]).astype(float)
    sstart = np.concatenate(rows["start"])
    send = np.concatenate(rows["end"])
    order = np.lexsort((sk, sc))
    sc, sk, smrr, sstart, send = sc[order], sk[order], smrr[order], sstart[order], send[order]
    splan = np.concatenate(rows["plan"])[order]
    sstatus = np.concatenate(rows["status"])[order]
    currency = np.array([CURRENCY.get(COUNTRIES[c], "USD") for c in co.country], dtype=object)
    sub_ids = _ids("sub_", _perm_id(co.idx[sc] * 8 + sk, 950706376))
    subs = {
        "subscription_id": pa.array(sub_ids, pa.string()),
        "billing_customer_id": pa.array(list(billing_ids[sc])),
        "plan": pa.array(list(splan)),
        "mrr": _num(smrr, 2),
        "currency": pa.array(list(currency[sc])),
        "started_at": _timestamps(rng, sstart, (0.3, 0.1, 0.6)),
        "ended_at": _with_nulls(_timestamps(rng, np.maximum(send, 0), (0.3, 0.1, 0.6)), send < 0),
        "status": pa.array(list(sstatus)),
        "_company": sc,
        # the subscription's state, for a continuing history to re-deliver it
        "_k": sk,
        "_plan": splan,
        "_mrr": smrr,
        "_start": sstart,
        "_end": send,
        "_status": sstatus,
    }

    months = np.arange(
        np.datetime64(PERIOD_STARTS[win.period], "M"),
        np.datetime64(PERIOD_STARTS[win.period], "M") + 12,
    )
    invoices = _invoices(
        rng,
        win,
        months,
        f"in_p{win.period}_{chunk:03d}_",
        (sc, smrr, sstart, send),
        billing_ids,
        currency,
        co.arch,
        bh.arch_eff,
    )
    return subs, invoices


def _invoices(rng, win, months, id_prefix, subs, billing_ids, currency, base_arch, arch_eff):
    """Monthly invoices of each subscription inside the window, on its day of month.

    `months`: the calendar months to consider; `subs`: (company, mrr, start, end or -1) arrays;
    `base_arch` sets overage (power users), `arch_eff` late payment.
    """
    sc, smrr, sstart, send = subs
    last = win.end - 1
    start_day = (sstart // DAY).astype("datetime64[D]")
    month_start = start_day.astype("datetime64[M]").astype("datetime64[D]")
    anchor = np.minimum((start_day - month_start).astype(np.int64), 27)
    issue_day = months.astype("datetime64[D]").astype(np.int64)[None, :] + anchor[:, None]
    issue = issue_day * DAY + 6 * 3600
    end_eff = np.where(send < 0, np.iinfo(np.int64).max, send)
    valid = (
        (issue >= sstart[:, None])
        & (issue < end_eff[:, None])
        & (issue >= win.start)
        & (issue <= last)
    )
    si, mi = np.nonzero(valid)
    issued = issue[si, mi]
    m = len(si)
    overage = np.where(base_arch[sc[si]] == POWER, rng.uniform(0, 0.15, m), 0.0)
    amount = np.round(smrr[si] * (1 + overage), 2)
    days_left = (last - issued) // DAY
    unpaid = (days_left < 20) & (rng.random(m) < 0.6)
    late_payer = np.isin(arch_eff[sc[si]], [DORMANT, HIGH_VALUE]) & (rng.random(m) < 0.08)
    status = np.where(unpaid | late_payer, "open", "paid").astype(object)
    void = rng.random(m) < 0.005
    status[void] = "void"
    paid_at = np.minimum(issued + rng.integers(3600, 12 * DAY, m), last)
    invoices = {
        "invoice_id": _seq_ids(id_prefix, m),
        "billing_customer_id": pa.array(list(billing_ids[sc[si]])),
        "amount": _num(amount, 2),
        "currency": pa.array(list(currency[sc[si]])),
        "issued_at": _timestamps(rng, issued, (0.3, 0.1, 0.6)),
        "paid_at": _with_nulls(_timestamps(rng, paid_at, (0.3, 0.1, 0.6)), status != "paid"),
        "status": pa.array(list(status)),
        "_company": sc[si],
        "_issued": issued,
        "_amount": amount,
        "_void": void,
    }
    return invoices
