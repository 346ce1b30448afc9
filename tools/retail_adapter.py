"""Adapter: the UCI Online Retail data sets (../shared/datasets/online_retail) to the raw contract.

Takes both published layouts, Online Retail (UCI 352: InvoiceNo, UnitPrice, CustomerID) and
Online Retail II (UCI 502: Invoice, Price, Customer ID), as Parquet or CSV, each file alone or
several together; days that two files both cover are counted once.

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

Usage: python -m tools.retail_adapter --out DIR [FILE_OR_DIR ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from orchestration.io.contract import RAW_TABLES
from orchestration.io.settings import PROJECT_ROOT

DEFAULT_SOURCE_DIR = PROJECT_ROOT.parent / "shared" / "datasets" / "online_retail"
INVOICE_SUFFIXES = (".parquet", ".csv")
# The two published layouts, mapped onto the names below (those of UCI 352, "Online Retail").
LAYOUTS = {
    "Online Retail (UCI 352)": {
        "InvoiceNo": "InvoiceNo",
        "UnitPrice": "UnitPrice",
        "CustomerID": "CustomerID",
    },
    "Online Retail II (UCI 502)": {
        "Invoice": "InvoiceNo",
        "Price": "UnitPrice",
        "Customer ID": "CustomerID",
    },
}
COMMON_COLUMNS = ["StockCode", "Quantity", "InvoiceDate", "Country"]
LINE_COLUMNS = ["InvoiceNo", "UnitPrice", "CustomerID", *COMMON_COLUMNS]


class UnknownLayout(ValueError):
    """A file whose columns match neither Online Retail layout."""


def read_invoice_file(path: Path) -> pd.DataFrame:
    """One file (Parquet or CSV) of either layout, as invoice lines in the UCI 352 column names."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:  # invoice numbers and stock codes are text (C536379, 85123A), whatever they look like
        text = {name: "string" for name in ("InvoiceNo", "Invoice", "StockCode")}
        frame = pd.read_csv(path, dtype=text)
    for layout, renames in LAYOUTS.items():
        if set(renames) | set(COMMON_COLUMNS) <= set(frame.columns):
            lines = frame.rename(columns=renames)[LINE_COLUMNS]
            lines["InvoiceDate"] = pd.to_datetime(lines["InvoiceDate"])
            return lines.assign(source_file=path.name, layout=layout)
    expected = " or ".join(", ".join([*renames, *COMMON_COLUMNS]) for renames in LAYOUTS.values())
    raise UnknownLayout(
        f"{path}: columns {list(frame.columns)} are not an Online Retail layout "
        f"(expected {expected})"
    )


def _one_file_per_day(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Days that several files cover are taken from one of them: the one that starts latest.

    The published files overlap (Online Retail II's first sheet runs to 2010-12-09, the UCI 352
    file starts 2010-12-01); counting those days twice would double their invoices.
    """
    frames = sorted(frames, key=lambda f: f["InvoiceDate"].min())
    days = [set(f["InvoiceDate"].dt.normalize()) for f in frames]
    kept = []
    for i, frame in enumerate(frames):
        later = set().union(*days[i + 1 :]) if i + 1 < len(frames) else set()
        kept.append(frame[~frame["InvoiceDate"].dt.normalize().isin(later)])
    return kept


def invoice_files(source: Path) -> list[Path]:
    """The invoice files of a folder (Parquet or CSV), or the file itself."""
    if source.is_file():
        return [source]
    return sorted(p for p in source.iterdir() if p.suffix in INVOICE_SUFFIXES)


def read_invoice_lines(*sources: Path) -> pd.DataFrame:
    """Every file of the sources (files, or folders of files) as one frame of invoice lines in
    the UCI 352 column names; days that files share are counted once."""
    files = [path for source in sources for path in invoice_files(Path(source))]
    if not files:
        raise FileNotFoundError(
            f"no invoice files (.parquet, .csv) in {', '.join(map(str, sources))}"
        )
    lines = pd.concat(_one_file_per_day([read_invoice_file(p) for p in files]), ignore_index=True)
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
    parser.add_argument(
        "inputs",
        type=Path,
        nargs="*",
        default=[DEFAULT_SOURCE_DIR],
        help="invoice files (either layout, Parquet or CSV) or folders of them; default: both "
        "files of ../shared/datasets/online_retail",
    )
    args = parser.parse_args(argv)
    lines = read_invoice_lines(*args.inputs)
    for source, count in lines.groupby("source_file").size().items():
        print(f"{source}: {count} invoice lines")
    counts = write_landing(to_raw_tables(lines), args.out)
    for table, rows in counts.items():
        print(f"{table}: {rows} rows -> {args.out / table}")


if __name__ == "__main__":
    main()
