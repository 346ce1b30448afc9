"""`make bench`: time each pipeline stage at a chosen scale: wall time, rows/s and peak memory.

Each stage runs in a fresh child process so its peak memory (ru_maxrss, including the dbt
subprocess for the dbt stage) is its own. Stages run in order and share a work folder:
generate -> load -> dbt -> reference -> segment -> checks -> sync -> day_generate -> incremental.
`incremental` is a one-day daily refresh after the full run: the next day's files (made by
`day_generate`, untimed setup) ingested and `dbt build` run incrementally. `reference` is the
yardstick:
the hand-written DuckDB script tools/bench_reference.py over the same landing files, and the
ratio (load + dbt) / reference is printed with the table. `segment_synthetic` (not run by
default) times the engine on a synthetic matrix, for scales beyond the generated data (1,000,000).

    python -m tools.bench --accounts 5000 [--stages generate,load,dbt] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from orchestration.io.settings import DBT_PROJECT_DIR, PROJECT_ROOT

STAGES: dict[str, Callable[[Path, int], int]] = {}


def stage(name: str):
    """Register a stage: a function(workdir, accounts) -> rows processed."""

    def register(func: Callable[[Path, int], int]) -> Callable[[Path, int], int]:
        STAGES[name] = func
        return func

    return register


def _warehouse(workdir: Path) -> Path:
    return workdir / "warehouse.duckdb"


@stage("generate")
def generate_stage(workdir: Path, accounts: int) -> int:
    from tools.sample_data import generate

    summary = generate(workdir / "landing", accounts=accounts, seed=42, show_progress=True)
    return int(sum(summary["rows"].values()))


@stage("load")
def load_stage(workdir: Path, accounts: int) -> int:
    from orchestration.io.ingestion import load_landing
    from orchestration.io.warehouse import connect

    with connect(_warehouse(workdir)) as con:
        results = load_landing(workdir / "landing", con)
    return int(sum(r.rows_in for r in results))


def _dbt_build(workdir: Path) -> None:
    """The pipeline's `dbt build` of the layers before segmentation (incremental by default)."""
    from orchestration.io.settings import dbt_build_args, dbt_environment

    env = {
        **os.environ,
        **dbt_environment(_warehouse(workdir)),
        "DBT_TARGET_PATH": str(workdir / "dbt_target"),
        "DBT_LOG_PATH": str(workdir / "dbt_logs"),
    }
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [
            str(dbt),
            "build",
            "--exclude",
            "tag:reporting",
            *dbt_build_args(),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        check=True,
        env=env,
        cwd=DBT_PROJECT_DIR,
    )


@stage("dbt")
def dbt_stage(workdir: Path, accounts: int) -> int:
    """The first `dbt build` on the loaded warehouse: every model built from all raw rows."""
    from orchestration.io.warehouse import connect

    _dbt_build(workdir)
    with connect(_warehouse(workdir), read_only=True) as con:
        return int(con.execute("select sum(rows_loaded) from raw._load_ledger").fetchone()[0] or 0)


# The parent's --reference-memory-limit, as the reference stage's child process sees it.
REFERENCE_MEMORY_LIMIT_ENV = "BENCH_REFERENCE_MEMORY_LIMIT"


@stage("reference")
def reference_stage(workdir: Path, accounts: int) -> int:
    """The yardstick: tools/bench_reference.py from the same landing files to attributes, under
    the pipeline's memory limit unless --reference-memory-limit says otherwise."""
    import duckdb

    from orchestration.io.settings import duckdb_memory_limit
    from tools.bench_reference import run

    limit = os.environ.get(REFERENCE_MEMORY_LIMIT_ENV) or duckdb_memory_limit()
    try:
        report = run(workdir / "landing", workdir / "reference.duckdb", memory_limit=limit)
    except duckdb.OutOfMemoryException as exc:
        # At 100,000 accounts under 3GB: its window dedup over every event does not spill.
        raise SystemExit(
            f"[bench] reference: out of memory under a {limit} limit "
            f"({str(exc).splitlines()[0]}); the pipeline's stages ran under the same limit. "
            "To measure the yardstick anyway, give it more: --reference-memory-limit 16GB"
        ) from exc
    return int(sum(report["rows"].values()))


@stage("segment")
def segment_stage(workdir: Path, accounts: int) -> int:
    """Selection + fit + assignment on the built customer_attributes, as the segment_model does."""
    from ml_assets.assignment import train_segment_model
    from ml_assets.features import FeatureConfig
    from ml_assets.selection import SelectionConfig
    from orchestration.io.catalog import load_attribute_catalog
    from orchestration.io.warehouse import connect, read_table

    with connect(_warehouse(workdir), read_only=True) as con:
        attributes = read_table(con, "marts", "customer_attributes")
        quality = read_table(con, "marts", "attribute_quality")
    catalog = load_attribute_catalog(workdir / "dbt_target" / "manifest.json")
    model = train_segment_model(attributes, catalog, quality, FeatureConfig(), SelectionConfig())
    model.assign(attributes)
    return len(attributes)


@stage("segment_synthetic")
def segment_synthetic_stage(workdir: Path, accounts: int) -> int:
    """The same engine on a synthetic matrix of `accounts` customers (for the 1,000,000 point)."""
    from tools.bench_segmentation import selection_benchmark

    return int(selection_benchmark(accounts)["n_customers"])


@stage("checks")
def checks_stage(workdir: Path, accounts: int) -> int:
    """Stability, agreement, drift, outcome validation, migration and anti-flapping computations."""
    from tools.bench_segmentation import checks_benchmark

    checks_benchmark(n_customers=accounts)
    return accounts


@stage("sync")
def sync_stage(workdir: Path, accounts: int) -> int:
    """Reverse ETL into a throwaway PostgreSQL: a first sync of `accounts` customers, then an
    incremental one with 1% of them moved (tools.bench_sync); returns the rows written."""
    import sqlalchemy as sa

    from tools.bench_sync import benchmark

    script = ["bash", str(PROJECT_ROOT / "scripts" / "postgres_test_server.sh")]
    was_running = subprocess.run([*script, "status"], capture_output=True).returncode == 0
    started = subprocess.run([*script, "start"], check=True, stdout=subprocess.PIPE, text=True)
    server_url = started.stdout.strip().splitlines()[-1]
    try:
        # A database of its own: the benchmark drops and recreates the destination tables.
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("drop database if exists bench_activation with (force)"))
            conn.execute(sa.text("create database bench_activation"))
        admin.dispose()
        url = sa.engine.make_url(server_url).set(database="bench_activation")
        report = benchmark(url.render_as_string(hide_password=False), n_customers=accounts)
    finally:
        if not was_running:
            subprocess.run([*script, "stop"], check=False, stdout=subprocess.DEVNULL)
    print(json.dumps(report, indent=2), file=sys.stderr)  # per-phase rows/s for the issue
    return int(report["first"]["rows_written"] + report["incremental"]["rows_written"])


# Append-only sources and the column that dates a row: the one-day refresh keeps that day's rows.
DAY_COLUMNS = {
    "product_events": "occurred_at",
    "email_events": "occurred_at",
    "billing_invoices": "issued_at",
    "support_tickets": "created_at",
}


def _concatenate_csv(shards: list[str], target: Path) -> None:
    """One CSV of the shards' lines, byte for byte, with the (shared) header once."""
    with target.open("wb") as out:
        for i, shard in enumerate(shards):
            with open(shard, "rb") as lines:
                header = lines.readline()
                if i == 0:
                    out.write(header)
                body = lines.read()
                out.write(body if body.endswith(b"\n") or not body else body + b"\n")


@stage("day_generate")
def day_generate_stage(workdir: Path, accounts: int) -> int:
    """Setup for `incremental` (untimed work, not a pipeline stage): the day after the generated
    data, as new landing files in day_landing/, one file per source as a daily export delivers
    it. A history with the same accounts and seed starts with the same files as `generate`
    (period_00); its next period is sliced to its first day for the append-only sources (rows
    dated that day), and its other files (entity changes) are kept whole. The generator writes
    each source in 80 shards; a day of 80 shards per source costs about 47 s more to ingest at
    100,000 accounts (about 40 ms of fixed cost per file), which is the shards, not the day."""
    import shutil
    from datetime import UTC, datetime

    import duckdb

    from orchestration.io.contract import RAW_TABLES
    from tools.sample_data import generate_history
    from tools.sample_data.timeline import history_span

    history, day = workdir / "history", workdir / "day_landing"
    generate_history(history, accounts=accounts, seed=42, periods=1, period_days=7)
    shutil.rmtree(day, ignore_errors=True)
    first_day = datetime.fromtimestamp(history_span(1, 7).start, UTC).date()
    rows = 0
    with duckdb.connect() as con:
        for name in RAW_TABLES:
            (day / name).mkdir(parents=True)
            shards = sorted(str(p) for p in (history / "period_01" / name).glob("*.csv"))
            if not shards:
                continue
            target = day / name / f"day_{first_day}_{name}.csv"
            if name not in DAY_COLUMNS:  # entity changes: the shards' lines as they are
                _concatenate_csv(shards, target)
                continue
            con.execute(
                "create or replace temp table _day as select * from "
                "read_csv(?, all_varchar = true, header = true, union_by_name = true)",
                [shards],
            )
            when = f"try_cast({DAY_COLUMNS[name]} as timestamp)::date = '{first_day}'"
            con.execute(f"copy (select * from _day where {when}) to '{target}' (header)")
            rows += con.execute(f"select count(*) from read_csv('{target}')").fetchone()[0]
    return int(rows)


@stage("incremental")
def incremental_stage(workdir: Path, accounts: int) -> int:
    """A one-day refresh after the full run: day_landing/'s files dropped into the landing
    folder, ingested, and the incremental `dbt build`. Returns the rows ingested."""
    import shutil

    from orchestration.io.ingestion import load_landing
    from orchestration.io.warehouse import connect

    for path in (workdir / "day_landing").glob("*/*.csv"):
        shutil.copy(path, workdir / "landing" / path.parent.name / path.name)
    with connect(_warehouse(workdir)) as con:
        results = load_landing(workdir / "landing", con)
    _dbt_build(workdir)
    return int(sum(r.rows_in for r in results if r.status == "loaded"))


def _run_stage_in_child(
    name: str, workdir: Path, accounts: int, env: dict[str, str] | None = None
) -> dict:
    started = time.perf_counter()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.bench",
            "--child",
            name,
            "--workdir",
            str(workdir),
            "--accounts",
            str(accounts),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        return {"stage": name, "status": "failed", "wall_s": round(wall, 1)}
    child = json.loads(completed.stdout.strip().splitlines()[-1])
    rows = child["rows"]
    return {
        "stage": name,
        "status": "ok",
        "wall_s": round(wall, 1),
        "rows": rows,
        "rows_per_s": int(rows / wall) if wall else None,
        "peak_mb": child["peak_mb"],
    }


def _child(name: str, workdir: Path, accounts: int) -> None:
    rows = STAGES[name](workdir, accounts)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"rows": rows, "peak_mb": round(max(own, children) / 1024, 1)}))


def _ratios(results: list[dict]) -> list[str]:
    """The pipeline against the reference script measured in the same run (same machine load)."""
    ok = {r["stage"]: r for r in results if r["status"] == "ok"}
    if "reference" not in ok or not {"load", "dbt"} & set(ok):
        return []
    reference = ok["reference"]["wall_s"] or 0.1
    peak = ok["reference"]["peak_mb"]
    lines = [f"\nagainst the DuckDB reference ({reference} s, peak {peak} MB):"]
    for label, names in (("load", ["load"]), ("dbt", ["dbt"]), ("load + dbt", ["load", "dbt"])):
        if all(n in ok for n in names):
            wall = sum(ok[n]["wall_s"] for n in names)
            peak = max(ok[n]["peak_mb"] for n in names)
            lines.append(f"  {label:<11} {wall:>8.1f} s  {wall / reference:>5.1f}x  peak {peak} MB")
    return lines


def _incremental_lines(results: list[dict]) -> list[str]:
    """The one-day refresh (ingestion + incremental dbt) against the full load + dbt build."""
    ok = {r["stage"]: r for r in results if r["status"] == "ok"}
    if "incremental" not in ok:
        return []
    day = ok["incremental"]
    lines = [f"\none-day incremental refresh (load + dbt build): {day['wall_s']} s, peak "
             f"{day['peak_mb']} MB, {day['rows']:,} new rows"]  # fmt: skip
    if {"load", "dbt"} <= set(ok):
        full = ok["load"]["wall_s"] + ok["dbt"]["wall_s"]
        lines.append(
            f"  full load + dbt build: {full:.1f} s ({full / (day['wall_s'] or 0.1):.1f}x)"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument(
        "--stages",
        default=",".join(name for name in STAGES if name != "segment_synthetic"),
        help=f"comma-separated, from: {', '.join(STAGES)}",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--reference-memory-limit",
        default=None,
        help="DuckDB memory limit of the reference script (default: DUCKDB_MEMORY_LIMIT, the "
        "pipeline's own)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workdir = (args.workdir or PROJECT_ROOT / "data" / "bench" / str(args.accounts)).resolve()
    if args.child:
        _child(args.child, workdir, args.accounts)
        return 0
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    env = {}
    if args.reference_memory_limit:
        env[REFERENCE_MEMORY_LIMIT_ENV] = args.reference_memory_limit
    for name in args.stages.split(","):
        print(f"[bench] {name} at {args.accounts} accounts ...", file=sys.stderr, flush=True)
        results.append(_run_stage_in_child(name, workdir, args.accounts, env))
        # The yardstick is no pipeline stage: the stages after it do not need it.
        if results[-1]["status"] != "ok" and name != "reference":
            break
    headers = ["stage", "status", "wall_s", "rows", "rows_per_s", "peak_mb"]
    print(f"\nbenchmark at {args.accounts} accounts ({workdir})")
    print("  ".join(h.ljust(12) for h in headers))
    for result in results:
        print("  ".join(str(result.get(h, "")).ljust(12) for h in headers))
    for line in [*_ratios(results), *_incremental_lines(results)]:
        print(line)
    out = PROJECT_ROOT / "bench_results" / f"bench_{args.accounts}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
