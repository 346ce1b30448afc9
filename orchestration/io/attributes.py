"""The attributes the segment model reads: an attribute snapshot with the allowed custom attributes
joined wide, the catalog that describes both, and their quality.

Training (segment_model) and scoring (customer_segments, the validation snapshot, profiles) read
through `read_attributes`, so a model is scored on exactly the columns it was trained on. Each
snapshot gets the custom values of its date: the current snapshot the latest ones
(marts.customer_custom_attributes), the validation snapshot those updated on or before the
validation date (marts.customer_custom_attributes_validation; values without updated_at count as
known, see its dbt doc). A warehouse built before that table existed falls back to the latest
values.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from ml_assets.governance import (
    GovernancePolicy,
    custom_attribute_catalog,
    custom_attribute_quality,
    widen_custom_attributes,
)
from orchestration.io import tables
from orchestration.io.governance import read_custom_attributes
from orchestration.io.tables import Table
from orchestration.io.warehouse import read_table, table_exists

# The custom attributes each attribute snapshot is joined with (its own date's values).
CUSTOM_VALUES_OF = {tables.CUSTOMER_ATTRIBUTES_VALIDATION: tables.CUSTOM_ATTRIBUTES_VALIDATION}


def custom_values_for(con: duckdb.DuckDBPyConnection, source: Table) -> Table:
    """The custom attribute table whose values are those of the snapshot `source`'s date."""
    table = CUSTOM_VALUES_OF.get(source, tables.CUSTOM_ATTRIBUTES)
    return table if table_exists(con, *table) else tables.CUSTOM_ATTRIBUTES


def model_catalog(
    con: duckdb.DuckDBPyConnection, catalog: pd.DataFrame, policy: GovernancePolicy
) -> pd.DataFrame:
    """The dbt attribute catalog plus an entry (group `custom`) per custom attribute present."""
    custom = custom_attribute_catalog(
        policy, read_custom_attributes(con), taken=catalog["attribute_name"]
    )
    if custom.empty:
        return catalog
    return pd.concat([catalog, custom], ignore_index=True)


def read_attributes(
    con: duckdb.DuckDBPyConnection,
    source: Table,
    catalog: pd.DataFrame | None,
    custom: Iterable[str] = (),
) -> pd.DataFrame:
    """The snapshot `source` with the custom attributes `custom` (those the catalog describes)
    joined as typed columns, with the values of the snapshot's date (`custom_values_for`);
    customers without a value get a missing value."""
    attributes = read_table(con, *source)
    names = [n for n in custom if n not in attributes.columns]
    if attributes.empty or not names or catalog is None:
        return attributes
    long = read_custom_attributes(con, custom_values_for(con, source))
    wide = widen_custom_attributes(long, catalog, names)
    if not len(wide.columns):
        return attributes
    wide.index = wide.index.astype(attributes["customer_key"].dtype)
    return attributes.merge(wide, left_on="customer_key", right_index=True, how="left")


def training_inputs(
    con: duckdb.DuckDBPyConnection,
    catalog: pd.DataFrame,
    policy: GovernancePolicy,
    usable_custom: Iterable[str],
    source: Table = tables.CUSTOMER_ATTRIBUTES,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(attributes, catalog, quality) to train on: the snapshot `source` with the usable custom
    attributes (as governance decided) joined, the catalog with their entries, and the quality of
    both."""
    catalog = model_catalog(con, catalog, policy)
    attributes = read_attributes(con, source, catalog, usable_custom)
    keys = attributes["customer_key"] if "customer_key" in attributes else []
    return attributes, catalog, read_attribute_quality(con, catalog, keys)


def read_attribute_quality(
    con: duckdb.DuckDBPyConnection, catalog: pd.DataFrame, customer_keys: Iterable | None = None
) -> pd.DataFrame:
    """marts.attribute_quality plus the same measures for the catalog's custom attributes, over
    the customers of customer_attributes (or `customer_keys`)."""
    quality = read_table(con, *tables.ATTRIBUTE_QUALITY)
    if customer_keys is None:
        customer_keys = read_table(con, *tables.CUSTOMER_ATTRIBUTES)["customer_key"]
    custom = custom_attribute_quality(read_custom_attributes(con), customer_keys, catalog)
    if custom.empty:
        return quality
    return pd.concat([quality, custom], ignore_index=True) if not quality.empty else custom
