"""Real data: the UCI Online Retail set through the same pipeline, with no CRM, product, support,
email, survey or consent source at all."""

from __future__ import annotations

import pytest

from orchestration.io.warehouse import connect
from tests.support.pipeline import run_full_refresh
from tools.retail_adapter import (
    DEFAULT_SOURCE_DIR,
    read_invoice_lines,
    to_raw_tables,
    write_landing,
)


@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    root = tmp_path_factory.mktemp("retail")
    counts = write_landing(to_raw_tables(read_invoice_lines(DEFAULT_SOURCE_DIR)), root / "landing")
    env = pytest.MonkeyPatch()
    yield run_full_refresh(root / "landing", root, env), counts
    env.undo()


def test_retail_customers_get_segments(retail):
    pipeline, counts = retail
    assert pipeline.result.success
    with connect(pipeline.root / "warehouse.duckdb", read_only=True) as con:
        customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
        segments = con.execute(
            "select count(*), count(distinct segment_id) from segmentation.customer_segments"
        ).fetchone()
        used = {
            row[0]
            for row in con.execute(
                "select attribute from segmentation.feature_matrix_columns where used"
            ).fetchall()
        }
    assert customers == counts["billing_customers"]
    assert segments[0] == customers and 3 <= segments[1] <= 8
    # Only what retail has: value and tenure; the absent sources were dropped for no variance.
    assert "total_revenue_365d" in used or "lifetime_revenue" in used
    assert not used & {"events_30d", "active_days_90d", "email_open_rate_90d", "tickets_90d"}


def test_invoices_without_customer_are_quarantined_and_counted(retail):
    pipeline, counts = retail
    with connect(pipeline.root / "warehouse.duckdb", read_only=True) as con:
        ledger = con.execute(
            "select rows_in, rows_loaded, rows_quarantined from raw._load_ledger "
            "where \"table\" = 'billing_invoices'"
        ).fetchone()
        reasons = con.execute(
            "select _reason, count(*) from raw_quarantine.billing_invoices group by 1"
        ).fetchall()
    assert ledger[0] == counts["billing_invoices"] == ledger[1] + ledger[2]
    assert reasons == [("missing required value: billing_customer_id", ledger[2])]
    assert ledger[2] > 8_000
