"""Benchmark of the reverse-ETL syncs: a first sync of n synthetic customers into a throwaway
database, then an incremental one with a share of them moved; rows written and rows/s per phase.

    python -m tools.bench_sync --url postgresql+psycopg2://... --customers 100000

`make bench` runs it as its `sync` stage (tools/bench.py).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml_assets.activation import SYNCS, Inputs, SyncOptions
from orchestration.io import destinations, warehouse
from orchestration.io.activation import run_sync


def synthetic_segment_id(number: int) -> str:
    """The stable text id of the n-th segment, as the segmentation names them ("seg_01")."""
    return f"seg_{number + 1:02d}"


def synthetic_inputs(n_customers: int, seed: int = 0, segments: int = 6) -> Inputs:
    """Segments, customers and playbooks for n customers (for benchmarks and demos)."""
    rng = np.random.default_rng(seed)
    keys = [f"c{i:07d}" for i in range(n_customers)]
    numbers = rng.integers(0, segments, n_customers)
    customers = pd.DataFrame(
        {
            "customer_key": keys,
            "crm_account_id": [f"A{i:07d}" for i in range(n_customers)],
            "primary_email": [f"user{i}@example.com" for i in range(n_customers)],
            "has_marketing_consent": rng.random(n_customers) < 0.7,
        }
    )
    profiles = pd.DataFrame(
        {
            "segment_id": [synthetic_segment_id(s) for s in range(segments)],
            "segment_name": [f"segment_{s}" for s in range(segments)],
            "playbook_action": [f"Playbook {s}" for s in range(segments)],
            "create_csm_task": [s % 3 == 0 for s in range(segments)],
        }
    )
    assigned = pd.DataFrame(
        {
            "customer_key": keys,
            "segment_id": [synthetic_segment_id(s) for s in numbers],
            "segment_name": [f"segment_{s}" for s in numbers],
            "confidence": rng.random(n_customers),
            "margin": rng.random(n_customers),
            "model_version": "bench-v1",
            "assigned_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    return Inputs(assigned, customers, profiles)


def benchmark(url: str, n_customers: int = 100_000, changed_share: float = 0.01) -> dict[str, Any]:
    """First sync of n customers to `url`, then an incremental sync with a share of them moved.

    Point it at a throwaway database: it drops and recreates the demo destination tables.
    Returns per phase and sync the rows written, seconds and rows/s.
    """
    engine = destinations.create_destination_engine(url)
    inputs = synthetic_inputs(n_customers)
    for metadata in (destinations.crm_metadata, destinations.marketing_metadata):
        metadata.drop_all(engine)
        metadata.create_all(engine)
    # The CRM already knows its accounts; the sync fills in our fields.
    accounts = [{"account_id": a} for a in inputs.customers["crm_account_id"]]
    with engine.begin() as conn:
        conn.execute(destinations.crm_accounts.insert(), accounts)
    options = SyncOptions(batch_size=5000)
    report: dict[str, Any] = {"url": destinations.redact_url(url), "customers": n_customers}
    with tempfile.TemporaryDirectory() as tmp, warehouse.connect(Path(tmp) / "bench.duckdb") as con:
        for phase in ("first", "incremental"):
            if phase == "incremental":
                inputs = _move_customers(inputs, changed_share)
            results = {name: run_sync(name, con, engine, options, inputs=inputs) for name in SYNCS}
            written = sum(r.rows_written for r in results.values())
            seconds = sum(r.elapsed_seconds for r in results.values())
            report[phase] = {
                "rows_written": written,
                "seconds": round(seconds, 2),
                "rows_per_second": round(written / seconds) if seconds else None,
                "customers_per_second": round(n_customers / seconds) if seconds else None,
                "syncs": {
                    name: {**r.counts, "seconds": round(r.elapsed_seconds, 2)}
                    for name, r in results.items()
                },
            }
    engine.dispose()
    return report


def _move_customers(inputs: Inputs, share: float) -> Inputs:
    """A copy where `share` of the customers moved to the next segment (in profile order)."""
    segments = inputs.segments.copy()
    n_moved = int(len(segments) * share)
    moved = segments.sample(n=n_moved, random_state=1).index
    ids = inputs.profiles["segment_id"].tolist()
    names = dict(zip(ids, inputs.profiles["segment_name"], strict=True))
    following = {sid: ids[(i + 1) % len(ids)] for i, sid in enumerate(ids)}
    segments.loc[moved, "segment_id"] = segments.loc[moved, "segment_id"].map(following)
    segments.loc[moved, "segment_name"] = segments.loc[moved, "segment_id"].map(names)
    segments.loc[moved, "assigned_at"] = pd.Timestamp("2026-02-01", tz="UTC")
    return Inputs(segments, inputs.customers, inputs.profiles)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Benchmark the reverse-ETL syncs.")
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a throwaway database")
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(benchmark(args.url, args.customers), indent=2))
