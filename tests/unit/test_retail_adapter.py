"""The Online Retail adapter maps invoice lines onto the raw contract without hiding anything."""

from __future__ import annotations

import pandas as pd

from orchestration.io.contract import RAW_TABLES
from tools.retail_adapter import to_raw_tables


def _lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "InvoiceNo": ["536365", "536365", "C536379", "536380", "A563185"],
            "Quantity": [6, 2, -1, 3, 1],
            "UnitPrice": [2.55, 4.0, 27.5, 1.0, -11062.06],
            "InvoiceDate": pd.to_datetime(
                [
                    "2010-12-01 08:26",
                    "2010-12-01 08:26",
                    "2010-12-01 09:41",
                    "2010-12-01 09:45",
                    "2011-08-12 14:50",
                ]
            ),
            "customer_id": pd.array(["17850", "17850", "14527", pd.NA, pd.NA], dtype="string"),
            "Country": ["United Kingdom"] * 5,
        }
    )


def test_invoices_sum_lines_and_cancellations_become_refunds():
    invoices = to_raw_tables(_lines())["billing_invoices"].set_index("invoice_id")
    assert list(invoices.columns) == RAW_TABLES["billing_invoices"].column_names[1:]
    assert invoices.loc["536365", "amount"] == 23.3
    assert invoices.loc["536365", "status"] == "paid"
    assert invoices.loc["C536379", "amount"] == -27.5
    assert invoices.loc["C536379", "status"] == "refunded"
    assert invoices.loc["A563185", "status"] == "adjustment"


def test_lines_without_customer_keep_an_empty_key_for_the_loader_to_quarantine():
    invoices = to_raw_tables(_lines())["billing_invoices"].set_index("invoice_id")
    assert pd.isna(invoices.loc["536380", "billing_customer_id"])
    customers = to_raw_tables(_lines())["billing_customers"]
    assert sorted(customers["billing_customer_id"]) == ["14527", "17850"]
    assert customers.set_index("billing_customer_id").loc["17850", "country"] == "United Kingdom"
