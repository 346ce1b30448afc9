"""Custom attribute values as of the validation date: a CRM attribute updated after the validation
date keeps its earlier value in the validation snapshot (no leak from the outcome window), the
current snapshot gets the new one, and the model's reader joins each snapshot with its own. The
marts show the one canonical spelling of the name ("Renewal Plan" is renewal_plan)."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd

from ml_assets.governance import custom_attribute_catalog, parse_policy
from orchestration.io import tables
from orchestration.io.attributes import read_attributes
from orchestration.io.warehouse import connect, read_table
from tests.support.dbt import run_dbt

ATTRIBUTE = "Renewal Plan"


def test_validation_snapshot_takes_custom_values_as_of_its_date(built_warehouse, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        validation_date = con.sql(f"select validation_date from {tables.REFERENCE_PERIOD.sql}")
        validation_date = pd.Timestamp(validation_date.fetchone()[0])
        # three CRM accounts that resolve to customers
        accounts = con.sql(
            "select account_id, customer_key from intermediate.int_account_attributes_attributed "
            "where customer_key is not null group by all order by account_id limit 3"
        ).df()
        before = validation_date - pd.Timedelta(days=20)
        after = validation_date + pd.Timedelta(days=5)
        rows = []
        a, b, c = accounts["account_id"]
        # a: changed after the validation date; b: only set after it; c: undated (always known)
        for line, (account, value, updated) in enumerate(
            [(a, "basic", before), (a, "premium", after), (b, "premium", after), (c, "basic", None)]
        ):
            rows.append((account, ATTRIBUTE, value, updated, "history.csv", line + 1))
        con.executemany(
            "insert into raw.crm_account_attributes "
            "(account_id, attribute, value, updated_at, _source_file, _source_line, _loaded_at) "
            "values (?, ?, ?, ?, ?, ?, now())",
            rows,
        )
    run_dbt(["build", "--select", "stg_crm__account_attributes+"], warehouse)

    name = "renewal_plan"
    keys = dict(zip(accounts["account_id"], accounts["customer_key"], strict=True))
    with connect(warehouse, read_only=True) as con:
        current = read_table(con, *tables.CUSTOM_ATTRIBUTES)
        as_of = read_table(con, *tables.CUSTOM_ATTRIBUTES_VALIDATION)
        policy = parse_policy(
            {
                "attributes": {"customer_key": "prohibited"},
                "custom_attributes": {ATTRIBUTE: "allowed"},
            }
        )
        catalog = custom_attribute_catalog(policy, current)
        scoring = read_attributes(con, tables.CUSTOMER_ATTRIBUTES, catalog, [name])
        validation = read_attributes(con, tables.CUSTOMER_ATTRIBUTES_VALIDATION, catalog, [name])

    def value(frame: pd.DataFrame, account: str):
        rows = frame[(frame["customer_key"] == keys[account]) & (frame["attribute"] == name)]
        return rows["value"].iloc[0] if len(rows) else None

    # the dbt marts spell it as the policy, the console and `make docs` do
    assert name in set(current["attribute"]) and ATTRIBUTE.lower() not in set(current["attribute"])
    assert set(as_of["attribute"]) <= set(current["attribute"])
    assert [value(current, x) for x in (a, b, c)] == ["premium", "premium", "basic"]
    assert [value(as_of, x) for x in (a, b, c)] == ["basic", None, "basic"]
    assert (
        pd.to_datetime(as_of["updated_at"]).dropna() <= validation_date + pd.Timedelta(days=1)
    ).all()

    def joined(frame: pd.DataFrame, account: str):
        got = frame.loc[frame["customer_key"] == keys[account], name]
        return got.iloc[0] if len(got) and pd.notna(got.iloc[0]) else None

    assert [joined(scoring, x) for x in (a, b, c)] == ["premium", "premium", "basic"]
    assert [joined(validation, x) for x in (a, b, c)] == ["basic", None, "basic"]
