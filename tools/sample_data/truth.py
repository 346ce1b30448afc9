"""Ground truth of a run (`_truth/`, never loaded): planted outcomes, every identifier and
email with its company, archetypes and migrations, and the truth files' layout."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tools.sample_data.columns import _ids, _perm_id
from tools.sample_data.timeline import WINDOW_DAYS
from tools.sample_data.vocabulary import ARCHETYPES

TRUTH_DIR = "_truth"


def _truth_files(period: int) -> dict[str, tuple[list[str], str]]:
    """The truth files by chunk-result key: (header, file name); migrations in period 2 only."""
    files = {
        "identifiers": (["identifier_type", "identifier", "company_id"], "identifiers.csv"),
        "companies": (
            [
                "company_id",
                "archetype",
                "crm_account_ids",
                "billing_customer_ids",
                "future_revenue",
                "churned",
                "expanded",
            ],
            "companies.csv",
        ),
        "malformed": (["table", "file", "line", "kind"], "malformed.csv"),
    }
    if period == 2:
        files["migrations"] = (
            ["company_id", "archetype_before", "archetype_after", "moved"],
            "migrations.csv",
        )
    return files


def _outcomes(co, bh, invoices, win):
    """Outcome truth after the reference date, as customer_outcomes measures it."""
    after_ref = (invoices["_issued"] >= win.reference) & ~invoices["_void"]
    future = np.bincount(
        invoices["_company"][after_ref], weights=invoices["_amount"][after_ref], minlength=co.n
    )
    return {
        "future_revenue": np.round(future, 2),
        "churned": bh.churn_day < WINDOW_DAYS,
        "expanded": bh.expand_day >= 0,
    }


def _truth_emails(tables: dict[str, dict], company_ids: np.ndarray) -> list[tuple[str, str]]:
    """(normalised email, company_id) for every email that appears in the chunk's data."""
    email_cols = {
        "crm_contacts": "email",
        "billing_customers": "email",
        "product_users": "email",
        "support_tickets": "requester_email",
        "email_events": "recipient_email",
        "survey_responses": "respondent_email",
        "consent_events": "email",
    }
    pairs = []
    for table, col in email_cols.items():
        values = pc.utf8_lower(pc.utf8_trim_whitespace(tables[table][col]))
        companies = pa.array(company_ids[tables[table]["_company"]], pa.string())
        key = pc.binary_join_element_wise(values, companies, "\t")
        pairs.append(pc.unique(pc.drop_null(key)))
    unique = pc.unique(pa.concat_arrays(pairs)).to_pylist()
    return sorted(tuple(k.split("\t")) for k in unique)


def _chunk_truth(co, bh, tables: dict[str, dict], outcomes: dict, ids: list) -> dict[str, list]:
    """Truth rows of one chunk: identifiers, companies (archetype, outcomes) and migrations."""
    n = co.n
    primary_id, dup_id, billing_ids = ids
    company_ids = np.array([f"CO{i:07d}" for i in co.idx], dtype=object)
    identifiers = [
        ("crm_account", a, company_ids[c])
        for a, c in zip(
            tables["crm_accounts"]["account_id"].to_pylist(),
            tables["crm_accounts"]["_company"],
            strict=True,
        )
    ]
    identifiers += [
        ("crm_contact", i, company_ids[c])
        for i, c in zip(co.contact_ids, co.contact_company, strict=True)
    ]
    identifiers += [("billing_customer", b, company_ids[c]) for c, b in enumerate(billing_ids)]
    identifiers += [
        ("product_user", u, company_ids[c])
        for u, c in zip(co.user_ids, co.user_company, strict=True)
    ]
    identifiers += [("email", e, c) for e, c in _truth_emails(tables, company_ids)]
    companies = []
    for c in range(n):
        accounts = [] if co.b2c[c] else [primary_id[c]] + ([dup_id[c]] if co.has_dup[c] else [])
        companies.append(
            (
                company_ids[c],
                ARCHETYPES[bh.arch_eff[c]],
                ";".join(accounts),
                billing_ids[c],
                f"{outcomes['future_revenue'][c]:.2f}",
                str(bool(outcomes["churned"][c])).lower(),
                str(bool(outcomes["expanded"][c])).lower(),
            )
        )
    migrations = [
        (
            company_ids[c],
            ARCHETYPES[co.arch[c]],
            ARCHETYPES[bh.arch_eff[c]],
            str(bool(bh.moved[c])).lower(),
        )
        for c in range(n)
    ]
    return {"identifiers": identifiers, "companies": companies, "migrations": migrations}


def _history_truth_files() -> dict[str, tuple[list[str], str]]:
    """The truth files of a continuing-history period (`period_NN/_truth/`, NN >= 01)."""
    files = _truth_files(2)
    files["companies"] = (
        [
            "company_id",
            "archetype",
            "crm_account_ids",
            "billing_customer_ids",
            "revenue",
            "churned",
            "expanded",
            "active",
            "first_period",
        ],
        "companies.csv",
    )
    return files


def _id_pairs(kind: str, values: pa.Array, company: np.ndarray, company_ids) -> list[tuple]:
    """Unique (kind, identifier, company_id) rows of one id column."""
    key = pc.binary_join_element_wise(
        pc.cast(values, pa.string()), pa.array(company_ids[company], pa.string()), "\t"
    )
    unique = pc.unique(pc.drop_null(key)).to_pylist()
    return sorted((kind, *k.split("\t")) for k in unique)


def _period_truth(led, ch, tables: dict[str, dict]) -> dict[str, list]:
    """Truth rows of one history period for a chunk: identifiers appearing in the period,
    every company known at its end, and the migrations planted in it."""
    co, span = led.co, ch.span
    company_ids = np.array([f"CO{i:07d}" for i in co.idx], dtype=object)
    id_columns = {
        "crm_account": [("crm_accounts", "account_id")],
        "crm_contact": [("crm_contacts", "contact_id")],
        "billing_customer": [
            ("billing_customers", "billing_customer_id"),
            ("billing_subscriptions", "billing_customer_id"),
            ("billing_invoices", "billing_customer_id"),
        ],
        "product_user": [("product_users", "user_id"), ("product_events", "user_id")],
    }
    identifiers = []
    for kind, columns in id_columns.items():
        values = pa.concat_arrays([pc.cast(tables[t][c], pa.string()) for t, c in columns])
        company = np.concatenate([tables[t]["_company"] for t, _ in columns])
        identifiers += _id_pairs(kind, values, company, company_ids)
    identifiers += [("email", e, c) for e, c in _truth_emails(tables, company_ids)]

    inv = tables["billing_invoices"]
    paid = ~inv["_void"]
    revenue = np.bincount(inv["_company"][paid], weights=inv["_amount"][paid], minlength=co.n)
    primary = _ids("001", _perm_id(co.idx * 2, 16807))
    dup = _ids("001", _perm_id(co.idx * 2 + 1, 16807))
    companies = []
    for c in range(co.n):
        accounts = [] if co.b2c[c] else [primary[c]] + ([dup[c]] if co.has_dup[c] else [])
        companies.append(
            (
                company_ids[c],
                ARCHETYPES[led.arch[c]],
                ";".join(accounts),
                led.billing_ids[c],
                f"{revenue[c]:.2f}",
                _flag(ch.churned[c]),
                _flag(ch.expanded[c]),
                _flag(led.churned_at[c] < 0),
                str(int(led.first_period[c])),
            )
        )
    was_active = ch.existing & ((led.churned_at < 0) | (led.churned_at >= span.start))
    migrations = [
        (
            company_ids[c],
            ARCHETYPES[ch.arch_before[c]],
            ARCHETYPES[led.arch[c]],
            _flag(ch.migrated[c]),
        )
        for c in np.flatnonzero(was_active)
    ]
    return {"identifiers": identifiers, "companies": companies, "migrations": migrations}


def _flag(value) -> str:
    return str(bool(value)).lower()
