"""The business's vocabulary: archetypes and their parameters, firmographic and person names,
industries, countries, the product's event taxonomy and the code lists other sources use.

Constants only; everything else in the package draws from these.
"""

from __future__ import annotations

import numpy as np

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
# Plan changes in the 90 days before the reference date, so mrr_growth_90d is real: growing
# archetypes upgrade (MRR x GROWTH_FACTOR), disengaging ones downgrade (x CONTRACTION_FACTOR).
GROWTH_PROB = np.array([0.55, 0.0, 0.05, 0.30, 0.03, 0.0])
CONTRACTION_PROB = np.array([0.0, 0.45, 0.05, 0.0, 0.10, 0.30])
GROWTH_FACTOR = (1.25, 1.8)
CONTRACTION_FACTOR = (0.4, 0.8)
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
