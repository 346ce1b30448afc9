"""The company population of a chunk: identities, firmographics, contacts, users and billing
addresses, all from period-independent streams (period 2 has the same ids and emails)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.sample_data.behaviour import _draw_behaviour
from tools.sample_data.columns import _ids, _perm_id
from tools.sample_data.vocabulary import (
    ACCOUNTANT_INBOXES,
    ARCHETYPES,
    B2C_PROB,
    CHANNEL_GIVEN_GENDER,
    CHANNELS,
    CONTACTS,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    EMPLOYEES_MEDIAN,
    EXTRA_USERS,
    FIRST_NAMES,
    INDUSTRIES,
    INDUSTRY_TILT,
    JOB_TITLES,
    LAST_NAMES,
    LEGAL,
    MRR_MEDIAN,
    NAME_A,
    NAME_B,
    NAME_C,
    PERSONAL_DOMAINS,
    POWER,
    REGION,
    SHARES,
    TENURE_DAYS,
    TLDS,
)

_NAME_SPACE = len(NAME_A) * len(NAME_B) * len(NAME_C) * len(TLDS)


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


def _companies(
    rng: np.random.Generator, first: int, n: int, archetype: int | None = None
) -> _Companies:
    """Companies `first .. first + n - 1`; all of `archetype` when given (new sign-ups)."""
    idx = np.arange(first, first + n, dtype=np.int64)
    if archetype is None:
        arch = rng.choice(len(ARCHETYPES), size=n, p=SHARES)
    else:
        arch = np.full(n, archetype, dtype=np.int64)
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
