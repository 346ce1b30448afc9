"""Adapter: the UCI Online Retail data set (../shared/datasets/online_retail) to the raw contract.

Retail has invoice lines and no CRM, product, support or email data, so it exercises the
pipeline's "absent sources" path on real data:

- billing_customers: one per CustomerID (created_at = first invoice), with the customer's country
  kept as an extra column;
- billing_invoices: one per invoice number, amount = sum(quantity * unit price); cancellations
  (invoice numbers starting with C) become refunds with a negative amount and status "refunded";
  bad-debt adjustments (A) keep status "adjustment";
- invoice lines without a CustomerID still become invoices, with an empty billing_customer_id, so
  the loader quarantines them and the ledger counts them instead of the adapter hiding them.

InvoiceDate is UK local time without an offset; it is written as-is (the contract reads naive
timestamps as UTC), which shifts summer-time invoices by one hour and no day boundaries that matter.

Usage: python -m tools.retail_adapter --out DIR [--source-dir DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from orchestration.io.contract import RAW_TABLES
from orchestration.io.settings import PROJECT_ROOT

DEFAULT_SOURCE_DIR = PROJECT_ROOT.parent / "shared" / "datasets" / "online_retail"
MAIN_FILE = "online_retail.parquet"
SUPPLEMENT_FILE = "online_retail_II_2009_2010.parquet"
# The supplement overlaps the main file from this date on; those days are taken from the main file.
MAIN_FILE_STARTS = pd.Timestamp("2010-12-01")
SUPPLEMENT_COLUMNS = {"Invoice": "InvoiceNo", "Price": "UnitPrice", "Customer ID": "CustomerID"}


def read_invoice_lines(source_dir: Path) -> pd.DataFrame:
    """Both files as one frame of invoice lines in the main file's column names, without overlap."""
    main = pd.read_parquet(source_dir / MAIN_FILE)
    frames = [main]
    supplement_path = source_dir / SUPPLEMENT_FILE
    if supplement_path.exists():
        supplement = pd.read_parquet(supplement_path).rename(columns=SUPPLEMENT_COLUMNS)
        frames.insert(0, supplement[supplement["InvoiceDate"] < MAIN_FILE_STARTS])
    lines = pd.concat(frames, ignore_index=True)
    lines["customer_id"] = lines["CustomerID"].astype("Int64").astype("string")
    return lines


def to_raw_tables(lines: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """billing_customers and billing_invoices in the raw contract's columns."""
    lines = lines.assign(line_amount=lines["Quantity"] * lines["UnitPrice"])
    invoices = (
        lines.groupby("InvoiceNo", sort=True)
        .agg(
            billing_customer_id=("customer_id", "first"),
            amount=("line_amount", "sum"),
            issued_at=("InvoiceDate", "min"),
        )
        .reset_index()
        .rename(columns={"InvoiceNo": "invoice_id"})
    )
    kind = invoices["invoice_id"].str[0]
    invoices["status"] = "paid"
    invoices.loc[kind == "C", "status"] = "refunded"
    invoices.loc[kind == "A", "status"] = "adjustment"
    invoices["amount"] = invoices["amount"].round(2)
    invoices["currency"] = "GBP"
    invoices["paid_at"] = invoices["issued_at"]
    invoices = invoices[RAW_TABLES["billing_invoices"].column_names]

    known = lines.dropna(subset=["customer_id"])
    customers = (
        known.groupby("customer_id", sort=True)
        .agg(created_at=("InvoiceDate", "min"), country=("Country", "last"))
        .reset_index()
        .rename(columns={"customer_id": "billing_customer_id"})
    )
    for column in ("email", "company_name", "crm_account_id"):
        customers[column] = None
    customers = customers[[*RAW_TABLES["billing_customers"].column_names, "country"]]
    return {"billing_customers": customers, "billing_invoices": invoices}


def write_landing(tables: dict[str, pd.DataFrame], out_dir: Path) -> dict[str, int]:
    """One CSV per table under out_dir/<table>/, the layout the ingestion assets read."""
    counts = {}
    for table, frame in tables.items():
        folder = out_dir / table
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_csv(
            folder / f"online_retail_{table}.csv", index=False, date_format="%Y-%m-%d %H:%M:%S"
        )
        counts[table] = len(frame)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write")
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR)
    args = parser.parse_args(argv)
    counts = write_landing(to_raw_tables(read_invoice_lines(args.source_dir)), args.out)
    for table, rows in counts.items():
        print(f"{table}: {rows} rows -> {args.out / table}")


if __name__ == "__main__":
    main()
