"""Consent masks: analytics consent gates who is clustered, marketing consent what is sent.

Only an explicit grant counts; a customer without a consent record has not consented.
Analytics consent is a customer's (dim_customers: the primary email's latest decision, else the
latest among the customer's other emails). Marketing consent belongs to an address: marketing
goes only to an address whose own latest marketing decision is a grant
(`marketing_consented_addresses`), never to one that rides on a colleague's grant.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd


def _granted(value: Any) -> bool:
    """Only an explicit grant counts; null, NA and anything unexpected mean no consent."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in ("true", "t", "1", "yes")


def _consent_flags(dim_customers: pd.DataFrame, column: str) -> pd.Series:
    flags = dim_customers.drop_duplicates("customer_key", keep="last").set_index("customer_key")
    return flags[column].map(_granted).astype(bool)


def analytics_consent_mask(dim_customers: pd.DataFrame, customer_keys: Iterable) -> pd.Series:
    """True for customers whose latest analytics consent is granted; unknown customers are False.

    Given a Series (e.g. `attributes["customer_key"]`) the mask keeps its index, so it lines up
    with that frame's rows; given plain keys it is indexed by customer_key.
    """
    if isinstance(customer_keys, pd.Series):
        keys = customer_keys
    else:
        keys = pd.Series(list(customer_keys), dtype=object)
        keys.index = pd.Index(keys.to_numpy(), name="customer_key")
    flags = _consent_flags(dim_customers, "has_analytics_consent")
    return keys.map(flags).eq(True).rename("has_analytics_consent")


def marketing_consented(
    frame: pd.DataFrame, dim_customers: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Only the rows of customers with marketing consent: the filter before any marketing send.

    Uses the frame's own `has_marketing_consent` column when present, else looks the customers
    up in `dim_customers` by customer_key; customers without a consent record are left out.
    """
    if "has_marketing_consent" in frame.columns:
        granted = frame["has_marketing_consent"].map(_granted)
    else:
        if dim_customers is None:
            raise ValueError("frame has no has_marketing_consent column; pass dim_customers")
        flags = _consent_flags(dim_customers, "has_marketing_consent")
        granted = frame["customer_key"].map(flags).eq(True)
    return frame.loc[granted.astype(bool)]


def normalise_email(emails: pd.Series) -> pd.Series:
    """Trimmed, lower case, empty as missing: the normalisation of the dbt staging models."""
    text = emails.astype("string").str.strip().str.lower()
    return text.mask(text == "")


def marketing_consented_addresses(consent_events: pd.DataFrame) -> set[str]:
    """Normalised emails whose own latest marketing decision is a grant.

    consent_events: email, purpose, granted, recorded_at (staging.stg_consent__events). The latest
    decision per address wins; on a tie the revocation wins (as in dim_customers).
    """
    if consent_events.empty:
        return set()
    events = consent_events.assign(
        email=normalise_email(consent_events["email"]),
        purpose=consent_events["purpose"].astype("string").str.strip().str.lower(),
        granted=consent_events["granted"].map(_granted).astype(bool),
        recorded_at=pd.to_datetime(consent_events["recorded_at"], utc=True),
    )
    events = events[(events["purpose"] == "marketing") & events["email"].notna()]
    latest = events.sort_values(["recorded_at", "granted"], ascending=[True, False], kind="stable")
    latest = latest.drop_duplicates("email", keep="last")
    return set(latest.loc[latest["granted"], "email"].astype(str))
