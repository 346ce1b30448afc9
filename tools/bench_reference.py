"""The benchmark's yardstick: a hand-written DuckDB script from landing files to the main
per-customer attributes, what a data engineer would write in an afternoon.

Typed reads (malformed rows dropped by the CSV reader, rows missing a key filtered), events
deduplicated on their ids, deterministic identity joins (contacts, billing customers and product
users onto CRM accounts by id and normalised email) and the main attributes of
`marts.customer_attributes` as of the latest activity date. No quarantine, ledger, contract
reasons, tests or snapshots: `make bench` prints the pipeline's time as a ratio of this one's.

    python -m tools.bench_reference --landing DIR [--warehouse FILE] [--memory-limit 2GB]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

from orchestration.io.contract import DUCKDB_TYPES, RAW_TABLES
from orchestration.io.settings import duckdb_memory_limit

# The tables the attributes read, and the columns each must have to be kept.
_KEYS = {
    "crm_accounts": ["account_id"],
    "crm_contacts": ["contact_id"],
    "billing_customers": ["billing_customer_id"],
    "billing_subscriptions": ["subscription_id", "billing_customer_id"],
    "billing_invoices": ["invoice_id", "billing_customer_id", "issued_at"],
    "product_users": ["user_id"],
    "product_events": ["event_id", "user_id", "occurred_at"],
    "support_tickets": ["ticket_id", "requester_email", "created_at"],
    "email_events": ["event_id", "recipient_email", "event_type", "occurred_at"],
    "survey_responses": ["response_id", "respondent_email", "score", "submitted_at"],
}
# Events, invoices, tickets, email events and responses are redelivered: first row per id wins.
_DEDUP = {
    "product_events": "event_id",
    "billing_invoices": "invoice_id",
    "support_tickets": "ticket_id",
    "email_events": "event_id",
    "survey_responses": "response_id",
}

_ATTRIBUTES = """
CREATE OR REPLACE TABLE ref.customer_attributes AS
WITH as_of AS (SELECT max(occurred_at) AS t FROM product_events),
email_owner AS (  -- a normalised email -> the CRM account of its contact (first by id)
    SELECT lower(trim(email)) AS email, min(account_id) AS account_id
    FROM crm_contacts WHERE email IS NOT NULL AND account_id IS NOT NULL GROUP BY 1
),
billing_owner AS (
    SELECT b.billing_customer_id, coalesce(b.crm_account_id, o.account_id) AS account_id
    FROM billing_customers b LEFT JOIN email_owner o ON o.email = lower(trim(b.email))
),
user_owner AS (
    SELECT u.user_id, o.account_id FROM product_users u
    JOIN email_owner o ON o.email = lower(trim(u.email))
),
usage AS (
    SELECT uo.account_id,
        count(*) FILTER (WHERE e.occurred_at > a.t - INTERVAL 30 DAY) AS events_30d,
        count(*) FILTER (WHERE e.occurred_at > a.t - INTERVAL 90 DAY) AS events_90d,
        count(DISTINCT cast(e.occurred_at AS DATE))
            FILTER (WHERE e.occurred_at > a.t - INTERVAL 30 DAY) AS active_days_30d,
        count(DISTINCT e.user_id)
            FILTER (WHERE e.occurred_at > a.t - INTERVAL 30 DAY) AS active_users_30d,
        count(DISTINCT e.event_name) AS distinct_events,
        date_diff('day', max(e.occurred_at), any_value(a.t)) AS days_since_last_event
    FROM product_events e JOIN user_owner uo USING (user_id) CROSS JOIN as_of a
    GROUP BY 1
),
revenue AS (
    SELECT bo.account_id,
        sum(s.mrr) FILTER (WHERE s.ended_at IS NULL OR s.ended_at > a.t) AS mrr,
        count(*) AS subscriptions
    FROM billing_subscriptions s JOIN billing_owner bo USING (billing_customer_id)
    CROSS JOIN as_of a GROUP BY 1
),
invoicing AS (
    SELECT bo.account_id, sum(i.amount) AS invoiced_365d,
        avg(CASE WHEN i.paid_at IS NULL THEN 0 ELSE 1 END) AS paid_share
    FROM billing_invoices i JOIN billing_owner bo USING (billing_customer_id) CROSS JOIN as_of a
    WHERE i.issued_at > a.t - INTERVAL 365 DAY GROUP BY 1
),
support AS (
    SELECT o.account_id,
        count(*) FILTER (WHERE t.created_at > a.t - INTERVAL 90 DAY) AS tickets_90d,
        avg(t.satisfaction_score) AS satisfaction
    FROM support_tickets t JOIN email_owner o ON o.email = lower(trim(t.requester_email))
    CROSS JOIN as_of a GROUP BY 1
),
engagement AS (
    SELECT o.account_id,
        count(*) FILTER (WHERE lower(m.event_type) = 'open') AS email_opens,
        count(*) FILTER (WHERE lower(m.event_type) = 'click') AS email_clicks
    FROM email_events m JOIN email_owner o ON o.email = lower(trim(m.recipient_email))
    CROSS JOIN as_of a WHERE m.occurred_at > a.t - INTERVAL 90 DAY GROUP BY 1
),
surveys AS (
    SELECT o.account_id, arg_max(r.score, r.submitted_at) AS latest_score
    FROM survey_responses r JOIN email_owner o ON o.email = lower(trim(r.respondent_email))
    GROUP BY 1
)
SELECT c.account_id, c.industry, c.country, c.employee_count,
    coalesce(u.events_30d, 0) AS events_30d, coalesce(u.events_90d, 0) AS events_90d,
    coalesce(u.active_days_30d, 0) AS active_days_30d,
    coalesce(u.active_users_30d, 0) AS active_users_30d, u.distinct_events,
    u.days_since_last_event, coalesce(r.mrr, 0) AS mrr, r.subscriptions,
    coalesce(i.invoiced_365d, 0) AS invoiced_365d, i.paid_share,
    coalesce(s.tickets_90d, 0) AS tickets_90d, s.satisfaction,
    coalesce(g.email_opens, 0) AS email_opens, coalesce(g.email_clicks, 0) AS email_clicks,
    v.latest_score
FROM (SELECT * FROM crm_accounts QUALIFY row_number() OVER (PARTITION BY account_id) = 1) c
LEFT JOIN usage u USING (account_id) LEFT JOIN revenue r USING (account_id)
LEFT JOIN invoicing i USING (account_id) LEFT JOIN support s USING (account_id)
LEFT JOIN engagement g USING (account_id) LEFT JOIN surveys v USING (account_id)
"""


def _read(con: duckdb.DuckDBPyConnection, landing: Path, table: str) -> int:
    """A typed read of every CSV of the table: rows that do not parse are dropped."""
    files = sorted(str(p) for p in (landing / table).glob("*.csv"))
    spec = RAW_TABLES[table]
    columns = "{" + ", ".join(f"'{c.name}': '{DUCKDB_TYPES[c.type]}'" for c in spec.columns) + "}"
    keys = " AND ".join(f"{k} IS NOT NULL" for k in _KEYS[table])
    # placeholder dates in the future (2099-...) parse, but are as malformed as the rest
    keys += "".join(
        f" AND ({c.name} IS NULL OR {c.name} <= now() + INTERVAL 1 DAY)"
        for c in spec.columns
        if c.type == "timestamp"
    )
    dedup = (
        f" QUALIFY row_number() OVER (PARTITION BY {_DEDUP[table]}) = 1" if table in _DEDUP else ""
    )
    source = (
        f"read_csv({files!r}, header = true, columns = {columns}, ignore_errors = true)"
        if files
        else "(SELECT "
        + ", ".join(f"NULL::{DUCKDB_TYPES[c.type]} AS {c.name}" for c in spec.columns)
        + " WHERE false)"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {source} WHERE {keys}{dedup}"
    )
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def run(landing: Path, warehouse: Path, memory_limit: str | None = None) -> dict:
    """Build ref.customer_attributes from the landing files; rows kept per table and wall time.

    memory_limit defaults to the pipeline's own (DUCKDB_MEMORY_LIMIT), so both run bounded alike.
    """
    started = time.perf_counter()
    warehouse.unlink(missing_ok=True)
    con = duckdb.connect(
        str(warehouse), config={"memory_limit": memory_limit or duckdb_memory_limit()}
    )
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE SCHEMA IF NOT EXISTS ref")
        rows = {table: _read(con, landing, table) for table in _KEYS}
        con.execute(_ATTRIBUTES)
        customers = con.execute("SELECT count(*) FROM ref.customer_attributes").fetchone()[0]
    finally:
        con.close()
    return {
        "rows": rows,
        "customers": int(customers),
        "wall_s": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--warehouse", type=Path, default=Path("reference.duckdb"))
    parser.add_argument("--memory-limit", default=None, help="default: DUCKDB_MEMORY_LIMIT")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.landing, args.warehouse, args.memory_limit), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
