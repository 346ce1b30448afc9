"""Nullable yes/no columns read as plain booleans (ml_assets.flags)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ml_assets.flags import as_flags


def test_missing_reads_as_no_and_the_dtype_is_plain_bool():
    values = pd.Series([True, None, False, np.nan, True], dtype=object, index=list("abcde"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas' downcasting FutureWarning would fail here
        flags = as_flags(values)
    assert flags.dtype == bool
    assert flags.to_dict() == {"a": True, "b": False, "c": False, "d": False, "e": True}


def test_a_column_read_back_from_the_warehouse_as_float_keeps_its_values():
    assert as_flags(pd.Series([1.0, 0.0, np.nan])).tolist() == [True, False, False]
