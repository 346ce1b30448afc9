"""`make simulate`: months of operation in minutes. Generate a continuing history, then drop each
period's files into one landing folder and run the full refresh, as a daily schedule would.

Per period it prints what a data team watches: new customers, raw and published segment moves,
moves held back by anti-flapping, CSM tasks created, CRM rows written, and whether the model was
retrained and why. The Dagster runs are recorded in the simulation's own DAGSTER_HOME, so
`DAGSTER_HOME=<workdir>/dagster_home make ui` shows them afterwards.

Usage: python -m tools.simulate [--accounts 5000] [--periods 6] [--period-days 30] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from dagster import DagsterInstance

from orchestration.defs.platform import FULL_REFRESH_JOB
from orchestration.io import tables
from orchestration.io.settings import PROJECT_ROOT
from orchestration.io.warehouse import connect, read_table
from tools.run import drop_period, failed_steps, metadata_of, run_tags
from tools.sample_data import generate_history

QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
COLUMNS = [
    ("period", 6),
    ("customers", 9),
    ("new", 5),
    ("raw moves", 9),
    ("published", 9),
    ("held", 5),
    ("tasks", 5),
    ("CRM rows", 8),
    ("audience", 8),
    ("model", 52),
    ("seconds", 7),
]


def environment(workdir: Path) -> dict[str, str]:
    """The variables that point a run at the simulation's own warehouse, landing folder,
    artifacts, embedded destinations and Dagster instance (`workdir/dagster_home`)."""
    home = workdir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / ".dagster_home" / "dagster.yaml", home / "dagster.yaml")
    return {
        "WAREHOUSE_PATH": str(workdir / "warehouse.duckdb"),
        "LANDING_DIR": str(workdir / "landing"),
        "ARTIFACTS_DIR": str(workdir / "artifacts"),
        "ACTIVATION_DIR": str(workdir),
        "DAGSTER_HOME": str(home),
    }


def _configure(workdir: Path) -> None:
    os.environ.update(environment(workdir))
    for name in ("CRM_DATABASE_URL", "MARKETING_DATABASE_URL"):
        os.environ.pop(name, None)


def run_once(job, instance, run_config: dict | None = None):
    """One scheduled run of the full refresh over whatever the landing folder holds."""
    return job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags=run_tags(),
        run_config={**QUIET_CONSOLE, **(run_config or {})},
    )


def period_row(period, result, seen: set[str], workdir: Path, seconds: float) -> dict:
    """What the table prints for one run; adds the run's customers to `seen`."""
    with connect(workdir / "warehouse.duckdb", read_only=True) as con:
        segments = read_table(con, *tables.CUSTOMER_SEGMENTS)
    keys = set(segments["customer_key"]) if not segments.empty else set()
    history = metadata_of(result, "monitoring__segment_membership_history")
    model = metadata_of(result, "segmentation__segment_model")
    tasks = metadata_of(result, "activation__csm_tasks")
    crm = metadata_of(result, "activation__crm_account_fields")
    audience = metadata_of(result, "activation__marketing_audiences")
    decision = model.get("decision", "model step did not run")
    row = {
        "period": period,
        "customers": len(keys),
        "new": len(keys - seen) if seen else 0,
        "raw moves": history.get("raw_moves", "-"),
        "published": history.get("published_moves", "-"),
        "held": history.get("suppressed_moves", "-"),
        "tasks": tasks.get("rows_inserted", "-"),
        "CRM rows": crm.get("rows_updated", "-"),
        "audience": sum(audience.get(f"rows_{k}", 0) for k in ("inserted", "deleted", "updated")),
        "model": decision[:52],
        "seconds": round(seconds),
    }
    seen |= keys
    return row


def _print_row(row: dict) -> None:
    print("  ".join(str(row[name]).ljust(width) for name, width in COLUMNS), flush=True)


def simulate(workdir: Path, accounts: int, periods: int, period_days: int, seed: int) -> list:
    """Generate, then run every period in turn; returns the per-period rows."""
    source = workdir / "source"
    if source.exists():
        shutil.rmtree(source)
    started = time.monotonic()
    generate_history(source, accounts, seed, periods, period_days)
    print(
        f"generated {periods} periods of {period_days} days for {accounts:,} accounts in "
        f"{time.monotonic() - started:.0f} s -> {source}"
    )
    _configure(workdir)
    from orchestration.definitions import defs

    job = defs.resolve_job_def(FULL_REFRESH_JOB)
    print("  ".join(name.ljust(width) for name, width in COLUMNS))
    rows, seen = [], set()
    with DagsterInstance.get() as instance:
        for period in range(periods + 1):
            drop_period(source / f"period_{period:02d}", workdir / "landing")
            began = time.monotonic()
            result = run_once(job, instance)
            row = period_row(period, result, seen, workdir, time.monotonic() - began)
            if not result.success:
                row["model"] = "; ".join(f"{s}: {m}" for s, m in failed_steps(result))[:52]
            rows.append(row)
            _print_row(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--periods", type=int, default=6)
    parser.add_argument("--period-days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / "data" / "simulation")
    args = parser.parse_args(argv)
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)
    started = time.monotonic()
    simulate(args.workdir, args.accounts, args.periods, args.period_days, args.seed)
    print(
        f"\n{args.periods + 1} runs in {time.monotonic() - started:.0f} s; "
        f"runs: DAGSTER_HOME={args.workdir / 'dagster_home'} make ui"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
