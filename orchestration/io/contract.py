"""The raw data contract (DESIGN.md section 4): one entry per landing table.

Everything that reads or writes raw files (sample-data generator, ingestion, dbt sources,
the Online Retail adapter) takes table and column definitions from here, so the contract is
written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Logical column types and the DuckDB type each loads as.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "double": "DOUBLE",
    "bigint": "BIGINT",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    required: bool = False
    non_negative: bool = False  # numbers that can never be below zero (amounts, counts, scores)
    allowed_values: tuple[str, ...] | None = None  # lower-cased accepted values, when enumerated


@dataclass(frozen=True)
class RawTable:
    name: str
    description: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: str = "string", required: bool = False, **kwargs) -> Column:
    return Column(name=name, type=type_, required=required, **kwargs)


RAW_TABLES: dict[str, RawTable] = {
    t.name: t
    for t in [
        RawTable(
            "crm_accounts",
            "CRM accounts (companies).",
            ("account_id",),
            (
                _c("account_id", required=True),
                _c("account_name"),
                _c("website_domain"),
                _c("industry"),
                _c("employee_count", "bigint", non_negative=True),
                _c("country"),
                _c("parent_account_id"),
                _c("created_at", "timestamp", required=True),
                _c("updated_at", "timestamp"),
            ),
        ),
        RawTable(
            "crm_account_attributes",
            "Custom firmographic/demographic account attributes, long format.",
            ("account_id", "attribute"),
            (
                _c("account_id", required=True),
                _c("attribute", required=True),
                _c("value"),
                _c("updated_at", "timestamp"),
            ),
        ),
        RawTable(
            "crm_contacts",
            "CRM contacts (people at accounts).",
            ("contact_id",),
            (
                _c("contact_id", required=True),
                _c("account_id"),
                _c("email"),
                _c("full_name"),
                _c("job_title"),
                _c("created_at", "timestamp"),
                _c("updated_at", "timestamp"),
            ),
        ),
        RawTable(
            "billing_customers",
            "Billing-system customers.",
            ("billing_customer_id",),
            (
                _c("billing_customer_id", required=True),
                _c("email"),
                _c("company_name"),
                _c("crm_account_id"),
                _c("created_at", "timestamp", required=True),
            ),
        ),
        RawTable(
            "billing_subscriptions",
            "Billing subscriptions with their monthly recurring revenue.",
            ("subscription_id",),
            (
                _c("subscription_id", required=True),
                _c("billing_customer_id", required=True),
                _c("plan"),
                _c("mrr", "double", non_negative=True),
                _c("currency"),
                _c("started_at", "timestamp", required=True),
                _c("ended_at", "timestamp"),
                _c("status"),
            ),
        ),
        RawTable(
            "billing_invoices",
            "Billing invoices.",
            ("invoice_id",),
            (
                _c("invoice_id", required=True),
                _c("billing_customer_id", required=True),
                _c("amount", "double", required=True),
                _c("currency"),
                _c("issued_at", "timestamp", required=True),
                _c("paid_at", "timestamp"),
                _c("status"),
            ),
        ),
        RawTable(
            "product_users",
            "Product (application) users.",
            ("user_id",),
            (
                _c("user_id", required=True),
                _c("email"),
                _c("created_at", "timestamp"),
            ),
        ),
        RawTable(
            "product_events",
            "Product analytics events.",
            ("event_id",),
            (
                _c("event_id", required=True),
                _c("user_id", required=True),
                _c("event_name", required=True),
                _c("occurred_at", "timestamp", required=True),
                _c("properties"),
            ),
        ),
        RawTable(
            "support_tickets",
            "Support tickets.",
            ("ticket_id",),
            (
                _c("ticket_id", required=True),
                _c("requester_email", required=True),
                _c("created_at", "timestamp", required=True),
                _c("resolved_at", "timestamp"),
                _c("priority"),
                _c("category"),
                _c("satisfaction_score", "double", non_negative=True),
            ),
        ),
        RawTable(
            "email_events",
            "Marketing email events.",
            ("event_id",),
            (
                _c("event_id", required=True),
                _c("campaign_id"),
                _c("recipient_email", required=True),
                _c(
                    "event_type",
                    required=True,
                    allowed_values=("delivered", "open", "click", "unsubscribe", "bounce"),
                ),
                _c("occurred_at", "timestamp", required=True),
            ),
        ),
        RawTable(
            "survey_responses",
            "Survey responses (NPS 0-10, CSAT 1-5).",
            ("response_id",),
            (
                _c("response_id", required=True),
                _c("respondent_email", required=True),
                _c("survey_type", allowed_values=("nps", "csat")),
                _c("score", "double", required=True, non_negative=True),
                _c("submitted_at", "timestamp", required=True),
                _c("comment"),
            ),
        ),
        RawTable(
            "consent_events",
            "Consent ledger: the latest event per email and purpose wins.",
            ("email", "purpose", "recorded_at"),
            (
                _c("email", required=True),
                _c("purpose", required=True, allowed_values=("analytics", "marketing")),
                _c("granted", "boolean", required=True),
                _c("recorded_at", "timestamp", required=True),
            ),
        ),
    ]
}

# At least one of these must be present for a load to describe any customer.
CUSTOMER_ROOT_TABLES = ("crm_accounts", "billing_customers")

# Columns every loaded raw table carries in addition to the contract's.
LOAD_COLUMNS = {"_source_file": "VARCHAR", "_source_line": "BIGINT", "_loaded_at": "TIMESTAMPTZ"}
