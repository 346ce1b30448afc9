"""Reverse-ETL destinations: the CRM and marketing databases, reached through SQLAlchemy URLs.

`CRM_DATABASE_URL` and `MARKETING_DATABASE_URL` point at the real systems (PostgreSQL is tested);
without them an embedded SQLite file under `ACTIVATION_DIR` (default `data/`) stands in, so the
demo needs no server. The tables below are the demo's model of those systems. A real CRM already
has its accounts and tasks tables: `ensure_tables` only creates tables that are missing and never
alters existing ones, so pointing it at a real database needs tables with (at least) these
columns and the unique keys the upserts rely on (`crm_accounts.account_id`,
`audience_members (audience, email)`, `csm_tasks.idempotency_key`).

Each destination stores its own identity (`segmentation_platform_destination`, a generated id
created on the first sync), so the sync state follows the database, not the spelling of its URL.
Credentials in URLs never leave this module unredacted: `redact_url` is what gets persisted or
printed, and `scrub` removes them from error text.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from orchestration.io import settings

# Rows this system writes carry this marker, so syncs can tell them from other writers' rows.
WRITTEN_BY = "segmentation_platform"

crm_metadata = sa.MetaData()

# The CRM's accounts. account_name stands for the CRM's own fields; the segment_* columns,
# playbook_action and model_version are the fields we own.
crm_accounts = sa.Table(
    "crm_accounts",
    crm_metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("account_name", sa.String(255)),
    sa.Column("segment_id", sa.String(64)),  # stable text ids such as "seg_01"
    sa.Column("segment_name", sa.String(255)),
    sa.Column("playbook_action", sa.Text),
    sa.Column("model_version", sa.String(64)),
    sa.Column("segment_updated_at", sa.DateTime(timezone=True)),
)

# Tasks for customer-success managers; idempotency_key makes creating a task safe to repeat.
csm_tasks = sa.Table(
    "csm_tasks",
    crm_metadata,
    sa.Column("task_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("account_id", sa.String(64)),
    sa.Column("customer_key", sa.String(64), nullable=False),
    sa.Column("segment_id", sa.String(64)),  # stable text ids such as "seg_01"
    sa.Column("segment_name", sa.String(255)),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("written_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp()),
)

marketing_metadata = sa.MetaData()

# Audience membership, shared with other writers (marketing ops, other tools): written_by tells
# whose row it is, and this system only ever deletes its own rows.
audience_members = sa.Table(
    "audience_members",
    marketing_metadata,
    sa.Column("audience", sa.String(255), primary_key=True),
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("customer_key", sa.String(64)),
    sa.Column("written_by", sa.String(64), nullable=False),
    sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp()),
)

identity_metadata = sa.MetaData()

# One row: the id this system gave the destination database on its first sync.
destination_identity = sa.Table(
    "segmentation_platform_destination",
    identity_metadata,
    sa.Column("destination_id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

# Every destination table by name, as the syncs name their targets.
DESTINATION_TABLES = {t.name: t for t in (crm_accounts, csm_tasks, audience_members)}


def _embedded_url(name: str) -> str:
    folder = settings.activation_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / name}"


def crm_url() -> str:
    """CRM_DATABASE_URL, else the embedded data/crm.sqlite."""
    return settings.crm_database_url() or _embedded_url("crm.sqlite")


def marketing_url() -> str:
    """MARKETING_DATABASE_URL, else the embedded data/marketing.sqlite."""
    return settings.marketing_database_url() or _embedded_url("marketing.sqlite")


def create_destination_engine(url: str) -> Engine:
    """An engine whose transactions really are transactions, on every backend.

    Python's sqlite3 driver does not BEGIN before DDL and commits on its own schedule; the
    SQLAlchemy-documented recipe below hands transaction control to SQLAlchemy so one batch
    (temp table included) commits or rolls back as a whole. pool_pre_ping replaces connections
    a restarted server dropped.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _explicit_begin(conn) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def ensure_tables(engine: Engine, metadata: sa.MetaData) -> None:
    """Create the destination tables that are missing (a real CRM would already have them)."""
    metadata.create_all(engine, checkfirst=True)


def seed_embedded_crm(engine: Engine, accounts: list[tuple[str, str | None]]) -> int:
    """Give the embedded demo CRM the accounts a real CRM would already hold (id and name only).

    The CRM sync is update-only, so without this the demo CRM would stay empty. Accounts it
    already has are left alone; returns how many were added. Never used for a configured CRM.
    """
    ensure_tables(engine, crm_metadata)
    with engine.begin() as conn:
        known = {row[0] for row in conn.execute(sa.select(crm_accounts.c.account_id))}
        new = [{"account_id": a, "account_name": n} for a, n in accounts if a not in known]
        if new:
            conn.execute(crm_accounts.insert(), new)
    return len(new)


def dialect_kind(url: str) -> str:
    """The Dagster kind tag of a destination URL: postgres, sqlite, ..."""
    name = sa.engine.make_url(url).get_backend_name()
    return "postgres" if name == "postgresql" else name


def uses_embedded_crm(configured_url: str | None) -> bool:
    """True when no CRM was configured and the demo's SQLite file stands in for one."""
    return not configured_url and not settings.crm_database_url()


# ---------------------------------------------------------------------------------------------
# Credentials and identity

REDACTED = "***"
_SECRET_KEY = re.compile(r"pass|secret|token|key", re.IGNORECASE)


def _url(url: str | URL) -> URL:
    return url if isinstance(url, URL) else sa.engine.make_url(url)


def _secrets(url: URL) -> list[str]:
    """The password and the values of query keys that name a secret (password, sslpassword...)."""
    values = [url.password] if url.password else []
    for key, value in url.query.items():
        if _SECRET_KEY.search(key):
            values.extend([value] if isinstance(value, str) else list(value))
    return [str(v) for v in values if v]


def redact_url(url: str | URL) -> str:
    """The URL with its password and secret query values replaced by ***: safe to store or print."""
    parsed = _url(url)
    query = {
        key: (REDACTED if _SECRET_KEY.search(key) else value) for key, value in parsed.query.items()
    }
    parsed = parsed.set(password=REDACTED if parsed.password else None, query=query)
    return parsed.render_as_string(hide_password=False).replace(quote(REDACTED), REDACTED)


def scrub(text: str, url: str | URL) -> str:
    """The text with every credential of the URL (as given, or URL-quoted) replaced by ***."""
    for secret in sorted(_secrets(_url(url)), key=len, reverse=True):
        for spelling in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(spelling, REDACTED)
    return text


def normalised_url(url: str | URL) -> str:
    """The database a URL names, without driver, credentials or options: the state key fallback.

    localhost and 127.0.0.1 are one host, and a missing port is the backend's default.
    """
    parsed = _url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return f"sqlite:///{parsed.database or ''}"
    host = (parsed.host or "localhost").lower()
    host = "localhost" if host in ("127.0.0.1", "::1") else host
    port = parsed.port or {"postgresql": 5432, "mysql": 3306}.get(backend, "")
    return f"{backend}://{host}:{port}/{parsed.database or ''}"


def read_identity(engine: Engine) -> str | None:
    """The id the destination stores for itself, None before the first sync."""
    if not sa.inspect(engine).has_table(destination_identity.name):
        return None
    with engine.connect() as conn:
        return conn.execute(sa.select(destination_identity.c.destination_id)).scalars().first()


def ensure_identity(engine: Engine) -> str:
    """The destination's id, generated and stored on first use."""
    known = read_identity(engine)
    if known:
        return known
    ensure_tables(engine, identity_metadata)
    with engine.begin() as conn:
        known = conn.execute(sa.select(destination_identity.c.destination_id)).scalars().first()
        if known:  # another run got there first
            return known
        new = uuid.uuid4().hex
        conn.execute(
            destination_identity.insert(), {"destination_id": new, "created_at": datetime.now(UTC)}
        )
        return new
