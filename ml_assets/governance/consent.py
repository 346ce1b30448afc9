"""Consent masks: analytics consent gates who is clustered, marketing consent what is sent.

Only an explicit grant counts; a customer without a consent record has not consented.
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
