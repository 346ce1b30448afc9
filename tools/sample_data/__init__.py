"""Sample-data generator: a B2B SaaS business across the six raw sources, with ground truth.

`python -m tools.sample_data --accounts N --seed S --out DIR [--period 1|2]` writes every
raw-contract table (`orchestration.contract.RAW_TABLES`) as CSV under `DIR/<table>/` and the truth
under `DIR/_truth/` (never loaded; see docs/interfaces.md).

How it is built, and why:

- Companies are generated in fixed chunks of `CHUNK_ACCOUNTS`; every chunk has its own random
  generators seeded from (seed, chunk, stream), so output depends only on seed, account count
  and period, and one chunk is in memory at a time (100,000 accounts stream to disk). Each table
  gets one file per chunk: `<table>_p<period>_<NNN>.csv`.
- Company identity (ids, names, emails, archetype, base behaviour) comes from period-independent
  streams, so period 2 has the same ids and emails; behaviour draws come from a period stream.
- Each company follows one of six archetypes that differ on several attributes at once (value,
  tenure, activity, breadth, trend, recency, email engagement, tickets, NPS). Per-company
  behaviour is a day-by-company activity matrix, expanded to events with numpy (no per-event
  Python loops).
- Time: period 1 covers 2025-01-01..2025-12-31, period 2 the same 365 days shifted by 90 days.
  The reference date is the window's last day minus 90 days; outcomes (churn, expansion, future
  revenue) are planted in the 90 days after it. In period 2 about 15% of companies migrate to
  another archetype, behaving as the new one for the last 180 days of the window. Creation dates
  are calendar-fixed across periods, except that a company still `new_ramping` in period 2 is
  re-anchored to the later window (otherwise it could not still be new).
- Capture defects (tracking rename at `TRACKING_CUTOVER`, duplicate deliveries, mixed UTC offsets,
  email case/whitespace, duplicate CRM accounts, shared inboxes) are part of normal rows; planted
  malformed rows (~0.5%) are listed in `_truth/malformed.csv` with file, 1-based line and kind.

Truth files (`_truth/`): `identifiers.csv` lists every id and every normalised email that occurs
in the data with its company; an outsourced accountant's inbox is used by several companies and
so appears once per company. `companies.csv` holds the archetype at the period's reference date
(in period 2 the archetype after migration) and the outcomes planted after it. In
`malformed.csv`, `file` is the file name inside `<table>/` and `line` counts the header as line 1;
for `duplicate_key` the listed line is the second, conflicting row. Generate each period into
its own directory: the truth files are per run.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from tqdm import tqdm

from orchestration.contract import RAW_TABLES, RawTable

CHUNK_ACCOUNTS = 1250
DAY = 86_400
WINDOW_DAYS = 365
OUTCOME_DAYS = 90
REF_DAY = WINDOW_DAYS - 1 - OUTCOME_DAYS  # day index of the reference date (attributes as of it)
SWITCH_DAY = WINDOW_DAYS - 180  # period 2: migrating companies behave as their new archetype
PERIOD_STARTS = {1: date(2025, 1, 1), 2: date(2025, 4, 1)}
TRACKING_CUTOVER = datetime(2025, 6, 1, tzinfo=UTC)
MIGRATION_RATE = 0.15
MALFORMED_RATE = 0.005
DUPLICATE_DELIVERY_RATE = {"product_events": 0.015, "email_events": 0.005}
TRUTH_DIR = "_truth"

ARCHETYPES = (
    "power_expanding",
    "high_value_disengaging",
    "steady_low_touch",
    "new_ramping",
    "support_heavy",
    "dormant_churning",
)
POWER, HIGH_VALUE, STEADY, NEW, SUPPORT, DORMANT = range(6)

# Per-archetype parameters, indexed by archetype code (order of ARCHETYPES).
SHARES = np.array([0.17, 0.12, 0.27, 0.14, 0.13, 0.17])
MRR_MEDIAN = np.array([1800.0, 3200.0, 320.0, 220.0, 900.0, 140.0])
TENURE_DAYS = np.array([[365, 1800], [500, 2000], [365, 2200], [20, 110], [300, 1600], [400, 1900]])
P_ACTIVE = np.array([0.62, 0.80, 0.42, 0.62, 0.55, 0.40])  # chance of an active weekday
EVENTS_PER_DAY = np.array([2.2, 1.6, 0.5, 1.4, 1.0, 0.5])  # extra events on an active day
BREADTH = np.array([[11, 16], [6, 9], [3, 5], [6, 10], [4, 7], [2, 3]])  # features used
CONTACTS = np.array([[4, 10], [3, 8], [1, 4], [1, 5], [2, 7], [1, 3]])
EXTRA_USERS = np.array([[2, 8], [1, 4], [0, 2], [1, 4], [0, 3], [0, 1]])
OPEN_RATE = np.array([0.38, 0.05, 0.20, 0.50, 0.24, 0.03])
CLICK_GIVEN_OPEN = np.array([0.30, 0.08, 0.15, 0.35, 0.15, 0.05])
TICKETS_PER_90D = np.array([2.5, 0.8, 0.4, 3.0, 14.0, 0.3])
NPS_MEAN = np.array([9.2, 6.0, 7.6, 8.6, 2.5, 4.5])
CSAT_MEAN = np.array([4.5, 3.6, 4.2, 4.3, 2.1, 3.2])
CHURN_PROB = np.array([0.0, 0.30, 0.03, 0.05, 0.15, 0.85])
EXPAND_PROB = np.array([0.80, 0.0, 0.10, 0.50, 0.05, 0.0])
EMPLOYEES_MEDIAN = np.array([250.0, 700.0, 60.0, 35.0, 150.0, 30.0])
B2C_PROB = np.array([0.0, 0.0, 0.06, 0.05, 0.04, 0.06])
URGENT_MIX = np.array([[0.35, 0.45, 0.15, 0.05], [0.15, 0.35, 0.30, 0.20]])  # normal, support_heavy
# Plausible period-2 moves (archetype_before -> candidates for archetype_after).
MOVES = {
    POWER: [HIGH_VALUE],
    HIGH_VALUE: [DORMANT],
    STEADY: [SUPPORT, DORMANT, POWER],
    NEW: [POWER, STEADY],
    SUPPORT: [DORMANT, STEADY],
    DORMANT: [STEADY],
}

# (v1 name before the cutover, v2 name after it); index = canonical feature. Login first.
EVENT_TAXONOMY = (
    ("login", "User Logged In"),
    ("view_dashboard", "Dashboard Viewed"),
    ("create_report", "Report Created"),
    ("export_data", "Data Exported"),
    ("invite_user", "User Invited"),
    ("use_api", "API Called"),
    ("configure_integration", "Integration Configured"),
    ("share_dashboard", "Dashboard Shared"),
    ("create_dashboard", "Dashboard Created"),
    ("edit_report", "Report Edited"),
    ("schedule_report", "Report Scheduled"),
    ("create_alert", "Alert Created"),
    ("add_comment", "Comment Added"),
    ("upload_data", "Data Uploaded"),
    ("run_query", "Query Run"),
    ("update_settings", "Settings Updated"),
)
N_FEATURES = len(EVENT_TAXONOMY)
API_FEATURE = 5

INDUSTRIES = (
    "Software",
    "Fintech",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Education",
    "Media",
    "Logistics",
    "Real Estate",
    "Energy",
    "Telecom",
    "Nonprofit",
)
# Industries over-represented in each archetype (mild correlation).
INDUSTRY_TILT = {
    POWER: ("Software", "Fintech"),
    HIGH_VALUE: ("Manufacturing", "Telecom"),
    STEADY: ("Retail", "Real Estate"),
    NEW: ("Software", "Media"),
    SUPPORT: ("Healthcare", "Logistics"),
    DORMANT: ("Education", "Nonprofit"),
}
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "CA", "AU", "SE", "ES", "IN")
COUNTRY_WEIGHTS = np.array([0.35, 0.12, 0.10, 0.08, 0.06, 0.08, 0.06, 0.04, 0.05, 0.06])
CURRENCY = {"GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR", "ES": "EUR", "SE": "EUR"}
REGION = {
    "US": "NA",
    "CA": "NA",
    "GB": "EMEA",
    "DE": "EMEA",
    "FR": "EMEA",
    "NL": "EMEA",
    "SE": "EMEA",
    "ES": "EMEA",
    "AU": "APAC",
    "IN": "APAC",
}
GENDERS = ("f", "m", "x")
AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
CHANNELS = ("email", "phone", "chat", "in_person")
# preferred_channel is a planted proxy for primary_contact_gender (strong association).
CHANNEL_GIVEN_GENDER = np.array(
    [[0.62, 0.03, 0.32, 0.03], [0.08, 0.55, 0.04, 0.33], [0.25, 0.05, 0.65, 0.05]]
)

NAME_A = tuple(
    "Bright Blue North Silver Swift Clear Iron Green Red Stone Sun Star Oak River Peak Cloud "
    "Quantum Nova Summit Pine Harbor Atlas Maple Cedar Falcon".split()
)
NAME_B = tuple(
    "forge field point bridge stack wave line gate path works light mark scale core grid leaf "
    "stream view craft loop port shift spark base hub".split()
)
NAME_C = tuple(
    "Analytics Systems Labs Logistics Health Foods Media Energy Capital Software Retail "
    "Partners Solutions Networks Studios Robotics Dynamics Learning Motors Realty Telecom "
    "Foundation Devices Bio Finance Security Cloud Data Design Goods Supply Industries Ventures "
    "Group Digital Consulting".split()
)
TLDS = ("com", "io", "co", "net", "ai")
LEGAL = (
    ("Inc", "Incorporated"),
    ("LLC", "L.L.C."),
    ("Ltd", "Limited"),
    ("Corp", "Corporation"),
    ("GmbH", "Gesellschaft mbH"),
)
FIRST_NAMES = tuple(
    "Jane John Maria David Sarah Michael Emma James Olivia Robert Sofia Daniel Anna Thomas "
    "Laura Lucas Mia Noah Chloe Ethan Priya Arjun Yuki Kenji Fatima Omar Ingrid Lars Elena "
    "Marco Aisha Samuel Grace Leo Hannah Felix Nina Oscar Zoe Victor".split()
)
LAST_NAMES = tuple(
    "Doe Smith Garcia Müller Brown Johnson Rossi Dubois Jansen Nielsen Kumar Patel Tanaka Sato "
    "Khan Silva Novak Kowalski Lee Wang Martin Bernard Schmidt Fischer Larsen Berg Lopez Perez "
    "Walker Young Hill Moore Clark Lewis Hall Allen King Wright Scott Green".split()
)
JOB_TITLES = (
    "CEO",
    "CTO",
    "VP Engineering",
    "Head of Data",
    "Data Analyst",
    "Product Manager",
    "Finance Manager",
    "Operations Lead",
    "Marketing Manager",
    "Software Engineer",
    "Customer Success Lead",
    "Office Manager",
)
PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")
ACCOUNTANT_INBOXES = (
    "ap@ledgerpro-accounting.com",
    "invoices@brightbooks-cpa.com",
    "billing@taxwise-partners.com",
)
GENERIC_LOCALS = ("info", "support", "billing", "noreply")
TICKET_CATEGORIES = (
    "billing",
    "bug",
    "how_to",
    "feature_request",
    "account",
    "integration",
    "performance",
)
PRIORITIES = ("low", "normal", "high", "urgent")
COMMENTS = (
    "",
    "",
    "",
    "Great product",
    "Too expensive for what we use",
    "Support is slow",
    "Reports are really useful, thanks",
    "Hard to set up",
    "Love the dashboards",
)
# UTC offsets (minutes) used when a source writes local time with an offset.
OFFSETS = np.array([-480, -300, -240, 60, 120, 330, 540])
_PRIME = 2_147_483_647  # ids are a bijection of a global counter, so they look unordered
_NAME_SPACE = len(NAME_A) * len(NAME_B) * len(NAME_C) * len(TLDS)


@dataclass(frozen=True)
class Window:
    """The period's time window in epoch seconds (UTC); day index 0 is the first day."""

    period: int

    @property
    def start(self) -> int:
        d = PERIOD_STARTS[self.period]
        return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())

    @property
    def end(self) -> int:  # exclusive
        return self.start + WINDOW_DAYS * DAY

    @property
    def reference(self) -> int:  # end of the reference date
        return self.start + (REF_DAY + 1) * DAY


# --------------------------------------------------------------------------------------------
# Small vectorised helpers


def _perm_id(counter: np.ndarray, mult: int) -> np.ndarray:
    return ((np.asarray(counter, dtype=np.int64) + 7919) * mult) % _PRIME


def _ids(prefix: str, numbers: np.ndarray, width: int = 10) -> list[str]:
    return [f"{prefix}{int(v):0{width}d}" for v in numbers]


def _seq_ids(prefix: str, n: int) -> pa.Array:
    """Vectorised `prefix + zero-padded counter` for large tables."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string()), 8, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _take(values, codes: np.ndarray) -> pa.Array:
    """Look up strings by integer code (values: a sequence or arrow array)."""
    arr = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    return arr.take(pa.array(np.asarray(codes, dtype=np.int64)))


def _num(values: np.ndarray, decimals: int | None = None) -> pa.Array:
    values = np.asarray(values)
    if decimals is not None:
        values = np.round(values, decimals)
    return pc.cast(pa.array(values), pa.string())


def _with_nulls(arr: pa.Array, null_mask: np.ndarray) -> pa.Array:
    if not null_mask.any():
        return arr
    return pc.if_else(pa.array(null_mask), pa.nulls(len(arr), pa.string()), arr)


def _timestamps(rng: np.random.Generator, epoch: np.ndarray, mix: tuple[float, float, float]):
    """Format UTC epoch seconds as text, mixing 'Z', local time with an offset, and naive UTC.

    mix = probabilities of (Z, offset, naive): the same instant, spelled as different sources do.
    Built directly as an arrow string buffer (fixed 19-byte stamp + variable suffix) for speed.
    """
    epoch = np.asarray(epoch, dtype=np.int64)
    n = len(epoch)
    style = rng.choice(3, size=n, p=mix)
    offset = OFFSETS[rng.integers(0, len(OFFSETS), size=n)]
    local = epoch + np.where(style == 1, offset * 60, 0)
    stamp = np.datetime_as_string(local.astype("datetime64[s]"), unit="s").astype("S19")
    width = 19 + 6
    buf = np.zeros((n, width), dtype=np.uint8)
    buf[:, :19] = stamp.view(np.uint8).reshape(n, 19)
    buf[style == 2, 10] = ord(" ")
    suffix_code = np.where(
        style == 0, 0, np.where(style == 2, 1, 2 + np.searchsorted(OFFSETS, offset))
    )
    suffixes = [b"Z", b""] + [
        f"{'+' if o >= 0 else '-'}{abs(o) // 60:02d}:{abs(o) % 60:02d}".encode() for o in OFFSETS
    ]
    table = np.zeros((len(suffixes), 6), dtype=np.uint8)
    lengths = np.array([len(x) for x in suffixes])
    for i, sfx in enumerate(suffixes):
        table[i, : len(sfx)] = np.frombuffer(sfx, dtype=np.uint8)
    buf[:, 19:] = table[suffix_code]
    row_len = 19 + lengths[suffix_code]
    keep = np.arange(width)[None, :] < row_len[:, None]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(row_len, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf[keep].tobytes()))


def _email_variant(email: str, code: int) -> str:
    """The same address as another system might spell it (case and whitespace only)."""
    local, _, domain = email.partition("@")
    if code == 1:
        return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize()
    if code == 2:
        return email.upper()
    if code == 3:
        return " " + email
    if code == 4:
        return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain + " "
    return email


def _ascii(name: str) -> str:
    return name.lower().replace("ü", "u").replace(" ", "")


# --------------------------------------------------------------------------------------------
# Companies and identities (period independent)


@dataclass
class _Companies:
    n: int
    idx: np.ndarray  # global company index
    arch: np.ndarray  # archetype (period 1 / before migration)
    b2c: np.ndarray
    has_dup: np.ndarray
    unlinked_billing: np.ndarray
    accountant: np.ndarray  # index into ACCOUNTANT_INBOXES or -1
    tenure_p1: np.ndarray  # days before the period-1 reference date
    signup_offset: np.ndarray  # seconds within the signup day
    mrr: np.ndarray
    name: list[str]
    domain: list[str]
    legal: np.ndarray
    industry: np.ndarray
    country: np.ndarray
    employees: np.ndarray
    parent: np.ndarray  # local index of the parent company or -1
    gender: np.ndarray
    age_band: np.ndarray
    channel: np.ndarray
    region_code: list[str]
    behaviour: dict[str, np.ndarray]
    # contacts / users (flat, with owning company)
    contact_company: np.ndarray
    contact_email: list[str]  # canonical (lower case)
    contact_name: list[str]
    contact_title: np.ndarray
    contact_on_dup: np.ndarray
    contact_orphan: np.ndarray
    contact_crm_form: list[str]
    contact_other_form: list[str]
    contact_ids: list[str]
    contact_days_after_signup: np.ndarray
    user_company: np.ndarray
    user_email: list[str]  # as the product stores it (case/whitespace variants)
    user_ids: list[str]
    user_days_after_signup: np.ndarray
    user_offset: np.ndarray  # first user of each company in the flat arrays
    user_count: np.ndarray
    contact_offset: np.ndarray
    contact_count: np.ndarray
    billing_email: list[str]
    billing_name: list[str]


def _draw_behaviour(rng: np.random.Generator, arch: np.ndarray) -> dict[str, np.ndarray]:
    """Per-company behaviour parameters for the given archetypes (lognormal spread within each)."""
    n = len(arch)
    lo, hi = BREADTH[arch, 0], BREADTH[arch, 1]
    return {
        "p_active": np.clip(P_ACTIVE[arch] * rng.lognormal(0, 0.2, n), 0.05, 0.95),
        "lam": EVENTS_PER_DAY[arch] * rng.lognormal(0, 0.45, n),
        "breadth": rng.integers(lo, hi + 1),
        "open_rate": np.clip(OPEN_RATE[arch] * rng.lognormal(0, 0.25, n), 0.005, 0.95),
        "click_rate": np.clip(CLICK_GIVEN_OPEN[arch] * rng.lognormal(0, 0.25, n), 0.01, 0.9),
        "tickets": TICKETS_PER_90D[arch] * rng.lognormal(0, 0.35, n) / 90.0,
        "nps": np.clip(NPS_MEAN[arch] + rng.normal(0, 0.8, n), 0, 10),
        "csat": np.clip(CSAT_MEAN[arch] + rng.normal(0, 0.4, n), 1, 5),
        "urgent": (arch == SUPPORT).astype(np.int64),
    }


def _companies(rng: np.random.Generator, first: int, n: int) -> _Companies:
    idx = np.arange(first, first + n, dtype=np.int64)
    arch = rng.choice(len(ARCHETYPES), size=n, p=SHARES)
    b2c = rng.random(n) < B2C_PROB[arch]
    has_dup = ~b2c & (rng.random(n) < 0.05)
    unlinked = ~b2c & (rng.random(n) < 0.10)
    accountant = np.where(
        ~b2c & ~unlinked & (rng.random(n) < 0.03), rng.integers(0, len(ACCOUNTANT_INBOXES), n), -1
    )
    lo, hi = TENURE_DAYS[arch, 0], TENURE_DAYS[arch, 1]
    tenure = rng.integers(lo, hi + 1)
    signup_offset = rng.integers(8 * 3600, 18 * 3600, n)
    mrr = MRR_MEDIAN[arch] * rng.lognormal(0, 0.45, n)
    mrr = np.where(arch == POWER, mrr * (1 + rng.pareto(3.0, n)), mrr)  # heavy tail at the top
    mrr = np.round(mrr, 0)

    # Firmographics: names from a bijection of the index so domains never collide.
    slot = (idx * 7919) % _NAME_SPACE
    a, rest = slot % len(NAME_A), slot // len(NAME_A)
    b, rest = rest % len(NAME_B), rest // len(NAME_B)
    c, t = rest % len(NAME_C), rest // len(NAME_C)
    clash = idx // _NAME_SPACE
    name = [f"{NAME_A[i]}{NAME_B[j]} {NAME_C[k]}" for i, j, k in zip(a, b, c, strict=True)]
    domain = [
        f"{_ascii(nm)}{str(k) if k else ''}.{TLDS[tl]}"
        for nm, k, tl in zip(name, clash, t, strict=True)
    ]
    legal = rng.integers(0, len(LEGAL), n)
    weights = np.ones((len(ARCHETYPES), len(INDUSTRIES)))
    for code, tilted in INDUSTRY_TILT.items():
        for ind in tilted:
            weights[code, INDUSTRIES.index(ind)] = 2.5
    weights /= weights.sum(axis=1, keepdims=True)
    industry = (rng.random((n, 1)) > np.cumsum(weights[arch], axis=1)).sum(axis=1)
    country_w = np.tile(COUNTRY_WEIGHTS, (n, 1))
    country_w[arch == POWER, 0] *= 1.5  # mild tilt: power users a bit more US
    country_w /= country_w.sum(axis=1, keepdims=True)
    country = (rng.random((n, 1)) > np.cumsum(country_w, axis=1)).sum(axis=1)
    country = np.minimum(country, len(COUNTRIES) - 1)
    industry = np.minimum(industry, len(INDUSTRIES) - 1)
    employees = np.maximum(1, np.round(EMPLOYEES_MEDIAN[arch] * rng.lognormal(0, 0.9, n)))
    is_parent_candidate = ~b2c & (rng.random(n) >= 0.05)
    parent = np.full(n, -1)
    subsidiary = ~b2c & ~is_parent_candidate
    candidates = np.flatnonzero(is_parent_candidate)
    if len(candidates):
        parent[subsidiary] = candidates[rng.integers(0, len(candidates), subsidiary.sum())]
    gender = rng.choice(3, size=n, p=[0.48, 0.48, 0.04])
    age_band = rng.choice(4, size=n, p=[0.2, 0.4, 0.3, 0.1])
    channel = (rng.random((n, 1)) > np.cumsum(CHANNEL_GIVEN_GENDER[gender], axis=1)).sum(axis=1)
    channel = np.minimum(channel, len(CHANNELS) - 1)
    # region_code: mostly geography, weakly tilted by gender.
    region_digit = np.where(rng.random(n) < 0.15, gender + 1, rng.integers(1, 4, n))
    region_code = [
        f"{REGION[COUNTRIES[ct]]}-{d}" for ct, d in zip(country, region_digit, strict=True)
    ]
    behaviour = _draw_behaviour(rng, arch)

    # Contacts and product users.
    n_contacts = np.where(b2c, 0, rng.integers(CONTACTS[arch, 0], CONTACTS[arch, 1] + 1))
    n_extra = np.where(b2c, 0, rng.integers(EXTRA_USERS[arch, 0], EXTRA_USERS[arch, 1] + 1))
    contact_company, contact_email, contact_name, contact_ids = [], [], [], []
    user_company, user_email = [], []
    billing_email, billing_name = [], []
    n_total = int(n_contacts.sum() + n_extra.sum() + n) * 2
    r_first = rng.integers(0, len(FIRST_NAMES), n_total)
    r_last = rng.integers(0, len(LAST_NAMES), n_total)
    r_style = rng.integers(0, 3, n_total)
    r_personal = rng.random(n_total) < 0.08
    r_pdomain = rng.integers(0, len(PERSONAL_DOMAINS), n_total)
    r_is_user = rng.random(n_total) < 0.8
    r_variant = rng.choice(5, size=(n_total, 3), p=[0.45, 0.3, 0.05, 0.1, 0.1])
    r_billing = rng.random(n)
    draws = (r_first, r_last, r_style, r_personal, r_pdomain)
    pos = 0
    user_variant_codes = []
    for ci in range(n):
        g = int(idx[ci])
        used: set[str] = set()
        if b2c[ci]:
            full, email = _person(draws, pos, g, domain[ci], used, personal_ok=False)
            email = email.split("@")[0] + f".{g}@" + PERSONAL_DOMAINS[r_pdomain[pos]]
            user_company.append(ci)
            user_email.append(email)
            user_variant_codes.append(r_variant[pos, 1])
            billing_email.append(_email_variant(email, r_variant[pos, 2]))
            billing_name.append(full)
            pos += 1
            continue
        for k in range(int(n_contacts[ci])):
            # the first contact is always on the company domain
            full, email = _person(draws, pos, g, domain[ci], used, personal_ok=k > 0)
            contact_company.append(ci)
            contact_email.append(email)
            contact_name.append(full)
            contact_ids.append(g * 16 + k)
            if r_is_user[pos] or k == 0:
                user_company.append(ci)
                user_email.append(email)
                user_variant_codes.append(r_variant[pos, 1])
            pos += 1
        for _ in range(int(n_extra[ci])):  # users the CRM does not know
            _, email = _person(draws, pos, g, domain[ci], used, personal_ok=False)
            user_company.append(ci)
            user_email.append(email)
            user_variant_codes.append(r_variant[pos, 1])
            pos += 1
        legal_short = LEGAL[legal[ci]][0]
        billing_name.append(f"{name[ci]} {legal_short}" if r_billing[ci] < 0.6 else name[ci])
        first_contact = contact_email[len(contact_email) - int(n_contacts[ci])]
        if accountant[ci] >= 0:
            billing_email.append(ACCOUNTANT_INBOXES[accountant[ci]])
        elif unlinked[ci] or r_billing[ci] < 0.5:
            billing_email.append(_email_variant(first_contact, r_variant[pos - 1, 2]))
        else:
            billing_email.append(f"billing@{domain[ci]}")

    contact_company_a = np.array(contact_company, dtype=np.int64)
    user_company_a = np.array(user_company, dtype=np.int64)
    n_c, n_u = len(contact_email), len(user_email)
    variants = r_variant[: max(n_c, 1)]
    contact_crm_form = [
        _email_variant(e, int(v)) if v in (0, 1) else e
        for e, v in zip(contact_email, variants[:n_c, 0], strict=True)
    ]
    contact_other_form = [
        _email_variant(e, int(v)) for e, v in zip(contact_email, variants[:n_c, 2], strict=True)
    ]
    user_email_stored = [
        _email_variant(e, int(v)) for e, v in zip(user_email, user_variant_codes, strict=True)
    ]
    user_ids = _ids(
        "u_", _perm_id(idx[user_company_a] * 64 + _rank_within(user_company_a), 48271), 9
    )
    contact_id_str = _ids("003", _perm_id(np.array(contact_ids, dtype=np.int64), 69621))
    return _Companies(
        n=n,
        idx=idx,
        arch=arch,
        b2c=b2c,
        has_dup=has_dup,
        unlinked_billing=unlinked,
        accountant=accountant,
        tenure_p1=tenure,
        signup_offset=signup_offset,
        mrr=mrr,
        name=name,
        domain=domain,
        legal=legal,
        industry=industry,
        country=country,
        employees=employees,
        parent=parent,
        gender=gender,
        age_band=age_band,
        channel=channel,
        region_code=region_code,
        behaviour=behaviour,
        contact_company=contact_company_a,
        contact_email=contact_email,
        contact_name=contact_name,
        contact_title=rng.integers(0, len(JOB_TITLES), n_c),
        contact_on_dup=has_dup[contact_company_a] & (rng.random(n_c) < 0.3),
        contact_orphan=rng.random(n_c) < 0.03,
        contact_crm_form=contact_crm_form,
        contact_other_form=contact_other_form,
        contact_ids=contact_id_str,
        contact_days_after_signup=rng.integers(0, 60, n_c),
        user_company=user_company_a,
        user_email=user_email_stored,
        user_ids=user_ids,
        user_days_after_signup=rng.integers(0, 4, n_u),
        user_offset=np.searchsorted(user_company_a, np.arange(n)),
        user_count=np.bincount(user_company_a, minlength=n),
        contact_offset=np.searchsorted(contact_company_a, np.arange(n)),
        contact_count=np.bincount(contact_company_a, minlength=n),
        billing_email=billing_email,
        billing_name=billing_name,
    )


def _person(draws, k: int, g: int, domain: str, used: set[str], personal_ok: bool):
    """A person's full name and canonical email: on the company domain (unique local part) or,
    when allowed and drawn, a personal address made unique by the company and draw index."""
    r_first, r_last, r_style, r_personal, r_pdomain = draws
    first_name, last_name = FIRST_NAMES[r_first[k]], LAST_NAMES[r_last[k]]
    full = f"{first_name} {last_name}"
    fl, ll = _ascii(first_name), _ascii(last_name)
    if personal_ok and r_personal[k]:
        return full, f"{fl}.{ll}.{g}{k % 100}@{PERSONAL_DOMAINS[r_pdomain[k]]}"
    local = base = (f"{fl}.{ll}", f"{fl[0]}{ll}", fl)[r_style[k]]
    suffix = 2
    while local in used:
        local, suffix = f"{base}{suffix}", suffix + 1
    used.add(local)
    return full, f"{local}@{domain}"


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """0,1,2... within each run of equal (sorted) group values."""
    if len(groups) == 0:
        return groups
    starts = np.searchsorted(groups, groups)
    return np.arange(len(groups)) - starts


# --------------------------------------------------------------------------------------------
# Behaviour over the period


def _curves(arch: np.ndarray, x: np.ndarray, signup_x: np.ndarray) -> np.ndarray:
    """Activity multiplier per company and day (x = days relative to the reference date)."""
    X = x[None, :].astype(float)
    s = signup_x[:, None].astype(float)
    ones = np.ones((len(arch), len(x)))
    curves = [
        ones * (1 + 0.5 * np.clip((X + 60) / 60, 0, 1.3)),  # power: growing into the reference
        ones * np.where(X < -120, 1.0, 0.5 ** ((X + 120) / 40)),  # disengaging: halves / 40 days
        ones,  # steady
        np.where(X >= s, np.clip(0.1 + (X - s) / 80, 0, 2.0), 0.0),  # new: ramps from signup
        ones,  # support heavy
        ones * np.where(X < -100, 1.0, np.where(X < -60, 1 - 0.97 * (X + 100) / 40, 0.015)),
    ]
    return np.choose(arch[:, None], curves)


@dataclass
class _Behaviour:
    arch_eff: np.ndarray  # archetype at the reference date
    after: np.ndarray  # bool [n, D]: day follows the migrated archetype
    signup_day: np.ndarray  # day index (may be negative)
    churn_day: np.ndarray  # day index or WINDOW_DAYS (never)
    expand_day: np.ndarray  # day index or -1
    activity: np.ndarray  # [n, D] multiplier incl. alive mask
    params: dict[str, np.ndarray]  # before params
    params_after: dict[str, np.ndarray]
    mrr_after: np.ndarray
    moved: np.ndarray


def _param_by_day(b: _Behaviour, key: str) -> np.ndarray:
    return np.where(b.after, b.params_after[key][:, None], b.params[key][:, None])


def _behaviour(
    co: _Companies, rng_mig: np.random.Generator, rng: np.random.Generator, period: int
) -> _Behaviour:
    n = co.n
    # Migrations are always drawn (same stream in both periods), applied in period 2 only.
    moved = rng_mig.random(n) < MIGRATION_RATE
    pick = rng_mig.random(n)
    target = np.array(
        [MOVES[a][int(p * len(MOVES[a]))] for a, p in zip(co.arch, pick, strict=True)]
    )
    target = np.where(co.b2c & np.isin(target, [POWER, HIGH_VALUE]), STEADY, target)
    params_after = _draw_behaviour(rng_mig, target)
    mrr_ratio = MRR_MEDIAN[target] / MRR_MEDIAN[co.arch] * rng_mig.lognormal(0, 0.2, n)
    if period == 1:
        moved = np.zeros(n, dtype=bool)
    arch_after = np.where(moved, target, co.arch)
    tenure = co.tenure_p1 + (period - 1) * 90
    tenure = np.where((co.arch == NEW) & ~moved, co.tenure_p1, tenure)
    signup_day = REF_DAY - tenure
    days = np.arange(WINDOW_DAYS)
    x = days - REF_DAY
    after = moved[:, None] & (days[None, :] >= SWITCH_DAY)
    m = np.where(after, _curves(arch_after, x, -tenure), _curves(co.arch, x, -tenure))
    churned = rng.random(n) < CHURN_PROB[arch_after]
    expanded = ~churned & (rng.random(n) < EXPAND_PROB[arch_after])
    churn_day = np.where(churned, rng.integers(REF_DAY + 5, WINDOW_DAYS - 3, n), WINDOW_DAYS)
    expand_day = np.where(expanded, rng.integers(REF_DAY + 5, WINDOW_DAYS - 10, n), -1)
    alive = (days[None, :] >= signup_day[:, None]) & (days[None, :] < churn_day[:, None])
    return _Behaviour(
        arch_eff=arch_after,
        after=after,
        signup_day=signup_day,
        churn_day=churn_day,
        expand_day=expand_day,
        activity=m * alive,
        params=co.behaviour,
        params_after={k: np.where(moved, params_after[k], co.behaviour[k]) for k in params_after},
        mrr_after=np.where(moved, np.round(co.mrr * mrr_ratio), co.mrr),
        moved=moved,
    )


# --------------------------------------------------------------------------------------------
# Tables for one chunk


def _chunk_tables(
    co: _Companies, bh: _Behaviour, rng: np.random.Generator, win: Window, period: int, chunk: int
) -> tuple[dict[str, dict], dict, list]:
    """Build every table of one chunk: {table: {col: array, "_company": idx, "_order": key}}."""
    tables: dict[str, dict] = {}
    n = co.n
    days = np.arange(WINDOW_DAYS)
    signup_epoch = win.start + bh.signup_day * DAY + co.signup_offset
    last = win.end - 1

    def clip(e):
        return np.minimum(np.asarray(e, dtype=np.int64), last)

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
    created = clip(created)
    updated = clip(created + rng.integers(1, 700, len(acc_company)) * DAY)
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
    attr_updated = clip(signup_epoch[crm] + rng.integers(1, 200, len(crm)) * DAY)
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
    c_created = clip(signup_epoch[cc] + co.contact_days_after_signup * DAY)
    tables["crm_contacts"] = {
        "contact_id": pa.array(co.contact_ids, pa.string()),
        "account_id": _with_nulls(pa.array(list(c_account), pa.string()), co.contact_orphan),
        "email": pa.array(co.contact_crm_form, pa.string()),
        "full_name": pa.array(co.contact_name, pa.string()),
        "job_title": _take(JOB_TITLES, co.contact_title),
        "created_at": _timestamps(rng, c_created, (0.8, 0.1, 0.1)),
        "updated_at": _timestamps(
            rng, clip(c_created + rng.integers(0, 300, len(cc)) * DAY), (0.8, 0.1, 0.1)
        ),
        "_company": cc,
    }

    # Billing customers, subscriptions, invoices.
    billing_ids = np.array(_ids("cus_", _perm_id(co.idx, 1103515245)), dtype=object)
    linked = ~co.b2c & ~co.unlinked_billing
    crm_link = np.where(co.has_dup & (rng.random(n) < 0.2), dup_id, primary_id)
    tables["billing_customers"] = {
        "billing_customer_id": pa.array(list(billing_ids)),
        "email": pa.array(co.billing_email, pa.string()),
        "company_name": pa.array(co.billing_name, pa.string()),
        "crm_account_id": _with_nulls(pa.array(list(crm_link), pa.string()), ~linked),
        "created_at": _timestamps(
            rng, clip(signup_epoch + rng.integers(0, 3 * DAY, n)), (0.3, 0.1, 0.6)
        ),
        "_company": np.arange(n),
    }
    subs, invoices = _billing(co, bh, rng, win, signup_epoch, billing_ids, period, chunk)
    tables["billing_subscriptions"] = subs
    tables["billing_invoices"] = invoices

    # Product users and events.
    uc = co.user_company
    u_created = clip(signup_epoch[uc] + co.user_days_after_signup * DAY)
    tables["product_users"] = {
        "user_id": pa.array(co.user_ids, pa.string()),
        "email": pa.array(co.user_email, pa.string()),
        "created_at": _timestamps(rng, u_created, (0.5, 0.3, 0.2)),
        "_company": uc,
    }
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

    never = np.full(n, -1, dtype=np.int64)
    end_main = np.where(changed, switch_epoch, np.where(churned, churn_epoch, never))
    status_main = np.where(changed, "changed", np.where(churned, "canceled", "active")).astype(
        object
    )
    add(np.ones(n, bool), 0, co.mrr, main_start, end_main, status_main)
    end_after = np.where(churned, churn_epoch, never)
    status_after = np.where(churned, "canceled", "active").astype(object)
    add(changed, 1, bh.mrr_after, np.full(n, switch_epoch), end_after, status_after)
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
    }

    # Monthly invoices per subscription inside the window, on the subscription's day of month.
    months = np.arange(
        np.datetime64(PERIOD_STARTS[win.period], "M"),
        np.datetime64(PERIOD_STARTS[win.period], "M") + 12,
    )
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
    overage = np.where(co.arch[sc[si]] == POWER, rng.uniform(0, 0.15, m), 0.0)
    amount = np.round(smrr[si] * (1 + overage), 2)
    days_left = (last - issued) // DAY
    unpaid = (days_left < 20) & (rng.random(m) < 0.6)
    late_payer = np.isin(bh.arch_eff[sc[si]], [DORMANT, HIGH_VALUE]) & (rng.random(m) < 0.08)
    status = np.where(unpaid | late_payer, "open", "paid").astype(object)
    void = rng.random(m) < 0.005
    status[void] = "void"
    paid_at = np.minimum(issued + rng.integers(3600, 12 * DAY, m), last)
    invoices = {
        "invoice_id": _seq_ids(f"in_p{win.period}_{chunk:03d}_", m),
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
    return subs, invoices


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


def _email_events(co, bh, rng, win, period, chunk):
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


def _surveys(co, bh, rng, win, period, chunk, tickets):
    nps_days = np.array([45, 136, 227, 318])  # quarterly; 227 is within 90 days of the reference
    # Respondents: contacts (other systems' spelling) or the B2C customer's own email.
    b2c = np.flatnonzero(co.b2c)
    r_company = np.concatenate([co.contact_company, b2c])
    r_email = list(co.contact_other_form) + [co.user_email[co.user_offset[c]] for c in b2c]
    first_of_company = np.zeros(len(r_company), bool)
    first_of_company[np.unique(r_company, return_index=True)[1]] = True
    respond_p = np.where(bh.arch_eff[r_company] == DORMANT, 0.15, 0.35)
    responds = rng.random((len(r_company), len(nps_days))) < respond_p[:, None]
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


# --------------------------------------------------------------------------------------------
# Planted defects and file writing

KIND_CODES = (
    "",
    "missing_key",
    "bad_number",
    "bad_timestamp",
    "future_timestamp",
    "negative_amount",
    "duplicate_key",
)
# Column changed in the second row of a planted duplicate_key pair.
DUP_KEY_COLUMN = {
    "crm_accounts": "account_name",
    "crm_account_attributes": "updated_at",
    "crm_contacts": "job_title",
    "billing_customers": "company_name",
    "billing_subscriptions": "plan",
    "billing_invoices": "amount",
    "product_users": "created_at",
    "product_events": "event_name",
    "support_tickets": "priority",
    "email_events": "event_type",
    "survey_responses": "score",
    "consent_events": "granted",
}


def _applicable_kinds(spec: RawTable) -> list[int]:
    types = {c.type for c in spec.columns}
    kinds = [1] if spec.required_columns else []
    if types & {"double", "bigint"}:
        kinds.append(2)
    if "timestamp" in types:
        kinds += [3, 4]
    if any(c.non_negative for c in spec.columns):
        kinds.append(5)
    kinds.append(6)
    return kinds


def _plant_defects(
    spec: RawTable, cols: dict[str, pa.Array], order: np.ndarray, rng: np.random.Generator
) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Add malformed rows and duplicate deliveries; return the table, kinds and companies."""
    n = len(order)
    company = cols["_company"]
    data = {c: cols[c] for c in spec.column_names}
    kinds_available = _applicable_kinds(spec)
    n_bad = int(rng.binomial(n, MALFORMED_RATE)) if n else 0
    bad_rows = rng.choice(n, size=n_bad, replace=False) if n_bad else np.array([], np.int64)
    bad_kind = np.array(kinds_available)[rng.permutation(len(kinds_available))]
    bad_kind = np.resize(bad_kind, n_bad) if n_bad else np.array([], np.int64)
    kinds = np.zeros(n, np.int8)
    replacements: dict[str, dict[int, str]] = {c: {} for c in spec.column_names}
    ts_cols = [c.name for c in spec.columns if c.type == "timestamp"]
    ts_required = [c.name for c in spec.columns if c.type == "timestamp" and c.required] or ts_cols
    num_cols = [c.name for c in spec.columns if c.type in ("double", "bigint")]
    nonneg = [c.name for c in spec.columns if c.non_negative]
    for row, kind in zip(bad_rows.tolist(), bad_kind.tolist(), strict=True):
        if kind == 6:
            continue
        kinds[row] = kind
        if kind == 1:
            col = spec.required_columns[rng.integers(len(spec.required_columns))]
            replacements[col][row] = None
        elif kind == 2:
            col = num_cols[rng.integers(len(num_cols))]
            replacements[col][row] = ("12,5x", "n/a", "1.2.3", "abc", "3O0")[rng.integers(5)]
        elif kind == 3:
            col = ts_required[rng.integers(len(ts_required))]
            replacements[col][row] = (
                "not-a-date",
                "2025-13-45T25:61:00Z",
                "31/02/2025 10:00",
                "yesterday",
            )[rng.integers(4)]
        elif kind == 4:
            col = ts_required[rng.integers(len(ts_required))]
            replacements[col][row] = (
                f"2099-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
                f"T{rng.integers(0, 24):02d}:00:00Z"
            )
        elif kind == 5:
            col = nonneg[rng.integers(len(nonneg))]
            value = data[col][row].as_py()
            replacements[col][row] = f"-{value}" if value else f"-{rng.integers(1, 50)}"
    for col, rows in replacements.items():
        if rows:
            mask = np.zeros(n, bool)
            mask[list(rows)] = True
            values = [rows[r] for r in sorted(rows)]
            data[col] = pc.replace_with_mask(
                data[col], pa.array(mask), pa.array(values, pa.string())
            )

    # Duplicate deliveries: identical rows again, a little later in the file (not malformed).
    clean = np.flatnonzero(kinds == 0)
    dup_rate = DUPLICATE_DELIVERY_RATE.get(spec.name, 0.0)
    dup_rows = clean[rng.random(len(clean)) < dup_rate] if dup_rate else np.array([], np.int64)
    # duplicate_key: a second row with the same key but different content.
    key_src = bad_rows[bad_kind == 6]
    key_src = key_src[kinds[key_src] == 0]
    dup_rows = np.setdiff1d(dup_rows, key_src)
    dkcol = DUP_KEY_COLUMN[spec.name]
    key_copy = {c: data[c].take(pa.array(key_src, pa.int64())) for c in spec.column_names}
    changed = key_copy[dkcol]
    for _ in range(30):
        other = data[dkcol].take(pa.array(rng.integers(0, n, len(key_src)), pa.int64()))
        same = pc.fill_null(pc.equal(changed, key_copy[dkcol]), True)
        changed = pc.if_else(same, other, changed)
    still = pc.fill_null(pc.equal(changed, key_copy[dkcol]), True).to_numpy(zero_copy_only=False)
    if still.any():
        changed = pc.if_else(pa.array(still), pa.scalar("x", pa.string()), changed)
    key_copy[dkcol] = changed

    parts = {
        c: [data[c], data[c].take(pa.array(dup_rows, pa.int64())), key_copy[c]]
        for c in spec.column_names
    }
    later = rng.integers(1, 600, len(dup_rows)) if np.issubdtype(order.dtype, np.integer) else 0
    all_order = np.concatenate([order, order[dup_rows] + later, order[key_src]])
    all_kinds = np.concatenate(
        [kinds, np.zeros(len(dup_rows), np.int8), np.full(len(key_src), 6, np.int8)]
    )
    all_company = np.concatenate([company, company[dup_rows], company[key_src]])
    perm = np.argsort(all_order, kind="stable")
    table = pa.table(
        {c: pa.concat_arrays(parts[c]).take(pa.array(perm)) for c in spec.column_names}
    )
    return table, all_kinds[perm], all_company[perm]


def _write_csv(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


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


def _generate_chunk(args: tuple[int, int, int, int, int, str]) -> dict:
    """Generate and write one chunk; return its truth rows and counts (picklable)."""
    seed, period, chunk, first, n, out = args
    out_dir = Path(out)
    win = Window(period)
    rng_company = np.random.default_rng([seed, chunk, 0])
    rng_migration = np.random.default_rng([seed, chunk, 1])
    rng = np.random.default_rng([seed, chunk, 100 + period])
    co = _companies(rng_company, first, n)
    bh = _behaviour(co, rng_migration, rng, period)
    tables, outcomes, (primary_id, dup_id, billing_ids) = _chunk_tables(
        co, bh, rng, win, period, chunk
    )
    company_ids = np.array([f"CO{i:07d}" for i in co.idx], dtype=object)

    rows, malformed, bad = {}, [], Counter()
    rng_defects = np.random.default_rng([seed, chunk, 200 + period])
    for name, spec in RAW_TABLES.items():
        cols = tables[name]
        order = cols.get("_order", np.arange(len(cols["_company"])))
        table, kinds, _ = _plant_defects(spec, cols, np.asarray(order), rng_defects)
        file_name = f"{name}_p{period}_{chunk:03d}.csv"
        _write_csv(table, out_dir / name / file_name)
        rows[name] = table.num_rows
        for line in np.flatnonzero(kinds):
            malformed.append((name, file_name, int(line) + 2, KIND_CODES[kinds[line]]))
            bad[KIND_CODES[kinds[line]]] += 1

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
    return {
        "rows": rows,
        "malformed": malformed,
        "bad": bad,
        "identifiers": identifiers,
        "companies": companies,
        "migrations": migrations,
        "n": n,
    }


def _csv_line(values) -> str:
    out = []
    for v in values:
        s = str(v)
        if any(ch in s for ch in ',"\n') or s != s.strip():
            s = '"' + s.replace('"', '""') + '"'
        out.append(s)
    return ",".join(out) + "\n"


def generate(
    out_dir: Path, accounts: int, seed: int = 42, period: int = 1, show_progress: bool = False
) -> dict:
    """Write sample landing files and ground truth for `accounts` companies; return a summary.

    The summary holds rows written per table (`rows`), planted malformed rows per kind
    (`malformed`), companies per archetype (`archetypes`) and the parameters used.
    """
    if period not in PERIOD_STARTS:
        raise ValueError(f"period must be 1 or 2, got {period}")
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    out_dir = Path(out_dir)
    truth = out_dir / TRUTH_DIR
    truth.mkdir(parents=True, exist_ok=True)
    for name in RAW_TABLES:  # a re-run replaces this period's files
        for old in (out_dir / name).glob(f"{name}_p{period}_*.csv"):
            old.unlink()
    chunks = [
        (seed, period, i, first, min(CHUNK_ACCOUNTS, accounts - first), str(out_dir))
        for i, first in enumerate(range(0, accounts, CHUNK_ACCOUNTS))
    ]
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
    else:
        (truth / "migrations.csv").unlink(missing_ok=True)
    handles = {k: open(truth / f, "w", encoding="utf-8", newline="") for k, (_, f) in files.items()}
    rows: Counter = Counter()
    bad: Counter = Counter()
    archetypes: Counter = Counter()
    workers = min(2, os.cpu_count() or 1, len(chunks))
    import pandas  # noqa: F401  pyarrow imports it on first use; once here, not in every worker

    try:
        for key, (header, _) in files.items():
            handles[key].write(_csv_line(header))
        with tqdm(
            total=accounts, unit="acct", disable=not show_progress, desc="sample data"
        ) as bar:
            if workers > 1:
                pool = ProcessPoolExecutor(max_workers=workers)
                results = pool.map(_generate_chunk, chunks)
            else:
                pool, results = None, map(_generate_chunk, chunks)
            try:
                for res in results:
                    rows.update(res["rows"])
                    bad.update(res["bad"])
                    archetypes.update(c[1] for c in res["companies"])
                    for key in files:
                        handles[key].writelines(_csv_line(r) for r in res[key])
                    bar.update(res["n"])
            finally:
                if pool is not None:
                    pool.shutdown()
    finally:
        for h in handles.values():
            h.close()
    return {
        "out_dir": str(out_dir),
        "accounts": accounts,
        "seed": seed,
        "period": period,
        "rows": {name: rows.get(name, 0) for name in RAW_TABLES},
        "malformed": {k: bad.get(k, 0) for k in KIND_CODES[1:]},
        "archetypes": {a: archetypes.get(a, 0) for a in ARCHETYPES},
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000, help="number of companies")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True, help="landing directory to write")
    parser.add_argument("--period", type=int, choices=(1, 2), default=1)
    args = parser.parse_args(argv)
    summary = generate(args.out, args.accounts, args.seed, args.period, show_progress=True)
    total = sum(summary["rows"].values())
    print(
        f"wrote {total:,} rows for {args.accounts:,} accounts to {args.out} (period {args.period})"
    )
    for name, count in summary["rows"].items():
        print(f"  {name:<24} {count:>12,}")
    print("  malformed: " + ", ".join(f"{k}={v}" for k, v in summary["malformed"].items()))
    return summary

