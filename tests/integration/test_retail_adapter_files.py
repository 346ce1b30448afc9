"""The Online Retail adapter on the real files: both layouts, each alone or together, CSV too."""

from __future__ import annotations

import pandas as pd
import pytest

from tools.retail_adapter import (
    DEFAULT_SOURCE_DIR,
    UnknownLayout,
    read_invoice_lines,
    to_raw_tables,
    write_landing,
)

MAIN = DEFAULT_SOURCE_DIR / "online_retail.parquet"
SUPPLEMENT = DEFAULT_SOURCE_DIR / "online_retail_II_2009_2010.parquet"


def test_real_files_overlap_is_taken_once(tmp_path):
    lines = read_invoice_lines(DEFAULT_SOURCE_DIR)
    main = pd.read_parquet(MAIN)
    supplement = pd.read_parquet(SUPPLEMENT)
    # The main file whole, plus the supplement's lines on days the main file does not cover.
    main_days = set(main["InvoiceDate"].dt.normalize())
    only_supplement = ~supplement["InvoiceDate"].dt.normalize().isin(main_days)
    assert len(lines) == len(main) + only_supplement.sum()
    overlap = lines["InvoiceDate"].between("2010-12-01", "2010-12-10")
    assert overlap.sum() == main["InvoiceDate"].between("2010-12-01", "2010-12-10").sum()
    assert set(lines.loc[overlap, "source_file"]) == {MAIN.name}
    counts = write_landing(to_raw_tables(lines), tmp_path)
    assert counts["billing_customers"] > 5_000
    written = pd.read_csv(tmp_path / "billing_invoices" / "online_retail_billing_invoices.csv")
    assert len(written) == counts["billing_invoices"]
    assert written["invoice_id"].is_unique


def test_each_layout_alone_maps_to_the_same_columns():
    main = read_invoice_lines(MAIN)
    supplement = read_invoice_lines(SUPPLEMENT)  # Online Retail II: Invoice, Price, Customer ID
    assert len(main) == 541_909 and len(supplement) == 525_461
    assert list(main.columns) == list(supplement.columns)
    assert set(supplement["layout"]) == {"Online Retail II (UCI 502)"}
    invoices = to_raw_tables(supplement)["billing_invoices"]
    assert invoices["invoice_id"].nunique() == 28_816  # the README's invoice count
    assert invoices["billing_customer_id"].nunique() == 4_383


def test_csv_of_the_second_layout_and_an_unknown_layout(tmp_path):
    sample = pd.read_parquet(SUPPLEMENT).head(50)
    sample.to_csv(tmp_path / "year_2009.csv", index=False)
    lines = read_invoice_lines(tmp_path / "year_2009.csv")
    assert len(lines) == 50 and lines["InvoiceNo"].tolist() == sample["Invoice"].tolist()
    sample.rename(columns={"Invoice": "Bill"}).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(UnknownLayout, match=r"other\.csv: columns .*Bill.* not an Online Retail"):
        read_invoice_lines(tmp_path / "other.csv")
