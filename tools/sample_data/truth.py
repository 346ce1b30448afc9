"""Ground truth of a run (`_truth/`, never loaded): planted outcomes, every identifier and
email with its company, archetypes and migrations, and the truth files' layout."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
        companies = pa.array(company_ids[tables[table]["_company"]])
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
