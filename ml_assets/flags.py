"""Reading a nullable yes/no column (a playbook's create_csm_task, a catalog flag, a stored verdict)
as plain booleans, missing meaning no."""

from __future__ import annotations

import pandas as pd


def as_flags(values: pd.Series) -> pd.Series:
    """The column as bools, missing values False. Through pandas' nullable boolean dtype: fillna on
    an object column of bools and None downcasts it, which pandas warns about on every call."""
    return values.astype("boolean").fillna(False).astype(bool)
