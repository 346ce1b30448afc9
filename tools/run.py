"""`make run`: materialize every asset over LANDING_DIR in one Dagster run, then print a summary.

`python -m tools.run --drop DIR [--drop DIR2] [--brief]` first copies the files of a generated
history period (`tools.sample_data --periods`) into LANDING_DIR, as a nightly export would;
`make demo` runs the first period, then the next two, so the report shows migration and entries.
dbt runs incrementally (the staging models add the raw rows loaded since the last run);
`--full-refresh` (or DBT_FULL_REFRESH=1) rebuilds them from every raw row instead.

The run is recorded in DAGSTER_HOME, so it shows up in the UI (`make ui`) like any other run. A run
whose process died (kill -9, a lost machine) stays STARTED in the instance and keeps its `duckdb`
pool slot, which would block every later run; each run is tagged with its process id and host,
and the next `make run` marks such dead runs failed and frees their slots before it starts. The
exit status is non-zero when the run failed, an error-severity check failed or a file was
rejected, so a scheduler or CI notices.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
from pathlib import Path

from dagster import AssetCheckSeverity, DagsterInstance, DagsterRunStatus, RunsFilter

from orchestration.defs.platform import FULL_REFRESH_JOB
from orchestration.io import reports, run_summary, settings, tables
from orchestration.io.warehouse import connect

PID_TAG = "segmentation/pid"
HOST_TAG = "segmentation/host"
UNFINISHED = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


# Step-level DEBUG events would bury the summary; the UI keeps every event of the run anyway.
REPORT_NODE = "__".join(tables.SEGMENT_REPORT.path)
CONSOLE_AT_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def drop_period(source: Path, landing: Path) -> int:
    """Copy one period's files into the landing folder (as a nightly export would); file count."""
    count = 0
    for table_dir in sorted(p for p in source.iterdir() if p.is_dir() and p.name != "_truth"):
        target = landing / table_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for file in sorted(table_dir.iterdir()):
            shutil.copy2(file, target / file.name)
            count += 1
    return count


def failed_steps(result) -> list[tuple[str, str]]:
    """(step key, first line of its error) for every step that failed in the run."""
    failures = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            # Dagster wraps the op's exception ("Error occurred while executing op ..."): the
            # innermost cause is what says what went wrong.
            while error is not None and error.cause is not None:
                error = error.cause
            message = (error.message if error else "failed").strip().splitlines()[0]
            failures.append((event.step_key, message[:300]))
    return failures


def run_tags() -> dict[str, str]:
    """Tags that let a later run tell whether this one's process is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def release_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark runs of this host whose process is gone as failed and free their pool slots.

    Returns the ids released. Runs still alive are left alone (a later step waits for them, as
    the pool intends); finished runs that still hold slots have them freed too.
    """
    released = []
    host = socket.gethostname()
    for run in instance.get_runs(filters=RunsFilter(statuses=UNFINISHED, tags={HOST_TAG: host})):
        pid = run.tags.get(PID_TAG, "")
        if pid.isdigit() and not _alive(int(pid)):
            instance.report_run_failed(
                run, f"process {pid} on {host} died without finishing the run; released"
            )
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            released.append(run.run_id)
    for run_id in instance.event_log_storage.get_concurrency_run_ids():
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            if run_id not in released:
                released.append(run_id)
    return released


def live_pool_holders(instance: DagsterInstance) -> list[str]:
    """Unfinished runs that hold or wait for a `duckdb` pool slot: this run waits for them."""
    holders = []
    for run_id in instance.event_log_storage.get_concurrency_run_ids():
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            where = f"pid {run.tags[PID_TAG]}" if PID_TAG in run.tags else "the Dagster UI/daemon"
            holders.append(f"run {run_id[:8]} ({run.job_name}, {where})")
    return holders


def _print_table(title: str, rows: list[tuple], headers: list[str]) -> None:
    print(f"\n{title}")
    if not rows:
        print("  (none)")
        return
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def print_summary(report_written: bool = True) -> None:
    """What the warehouse holds now: loads, quarantine reasons, segments; the report's path only
    when this run wrote it."""
    with connect(settings.warehouse_path(), read_only=True) as con:
        loads = run_summary.loads_per_table(con)
        reasons = run_summary.quarantine_reasons(con)
        segments = run_summary.segment_sizes(con)
    if loads:
        headers = ["table", "files", "rows in", "loaded", "quarantined"]
        _print_table("Rows loaded per raw table (all loads)", loads, headers)
    if reasons:
        _print_table("Rows quarantined, by reason", reasons, ["table", "reason", "rows"])
    if segments:
        _print_table("Segments", segments, ["segment", "name", "customers"])
    report = reports.report_path() if report_written else "not written in this run (see below)"
    print(
        f"\nWarehouse: {settings.warehouse_path()}\n"
        f"Report:    {report}\n"
        "Dagster UI: make ui (http://localhost:3000)   Attribute catalog: make docs"
    )


def metadata_of(result, node: str) -> dict:
    """The latest materialization metadata of a node in a run result, as plain values."""
    found = result.asset_materializations_for_node(node)
    return {key: value.value for key, value in found[-1].metadata.items()} if found else {}


def print_changes(result) -> None:
    """What changed since the previous run: moves, CSM tasks raised on entry, CRM rows."""
    migration = metadata_of(result, "monitoring__segment_migration")
    if "customers_moved" not in migration:
        return
    tasks = metadata_of(result, "activation__csm_tasks").get("rows_inserted", 0)
    crm = metadata_of(result, "activation__crm_account_fields").get("rows_updated", 0)
    print(
        f"Since the previous run: {migration['customers_moved']:,} of "
        f"{migration['customers_compared']:,} customers changed segment; {tasks:,} CSM tasks "
        f"raised on entry; {crm:,} CRM accounts updated (report: 'Stability and migration', "
        "'Entries and actions')"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Materialize every asset over LANDING_DIR.")
    parser.add_argument(
        "--drop",
        type=Path,
        action="append",
        default=[],
        help="a history period folder whose files are copied into LANDING_DIR first",
    )
    parser.add_argument(
        "--brief", action="store_true", help="one line instead of the summary tables"
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="dbt rebuilds its incremental models from every raw row (DBT_FULL_REFRESH=1)",
    )
    args = parser.parse_args(argv)
    if args.full_refresh:
        os.environ["DBT_FULL_REFRESH"] = "1"  # read by settings.dbt_full_refresh in this process
    for folder in args.drop:
        copied = drop_period(folder, settings.landing_dir())
        print(f"Dropped {copied} files of {folder.name} into {settings.landing_dir()}")
    from orchestration.definitions import defs

    instance = DagsterInstance.get()
    for run_id in release_dead_runs(instance):
        print(f"Released run {run_id[:8]}: its process died; its duckdb pool slot is free again")
    holders = live_pool_holders(instance)
    if holders:
        print(
            "Waiting for the duckdb pool (one warehouse writer at a time), held by: "
            + ", ".join(holders)
            + ". Stop that run or let it finish."
        )
    job = defs.resolve_job_def(FULL_REFRESH_JOB)
    result = job.execute_in_process(
        instance=instance, raise_on_error=False, tags=run_tags(), run_config=CONSOLE_AT_INFO
    )
    if not args.brief:
        print_summary(report_written=bool(result.asset_materializations_for_node(REPORT_NODE)))
        print_changes(result)
    evaluations = result.get_asset_check_evaluations()
    warnings = [e for e in evaluations if not e.passed and e.severity == AssetCheckSeverity.WARN]
    failures = [e for e in evaluations if not e.passed and e.severity == AssetCheckSeverity.ERROR]
    print(
        f"\nChecks: {len(evaluations) - len(warnings) - len(failures)} passed, "
        f"{len(warnings)} warnings, {len(failures)} failed"
    )
    for label, found in (("warning", warnings), ("FAILED", failures)):
        for evaluation in found:
            print(f"  {label}: {evaluation.asset_key.to_user_string()} / {evaluation.check_name}")
            if evaluation.description:
                print(f"    {evaluation.description}")
    if not result.success:
        for step, message in failed_steps(result):
            print(f"  step failed: {step}: {message}", file=sys.stderr)
        print(
            "\nThe run did not fully succeed: see the steps above or the Dagster UI.",
            file=sys.stderr,
        )
        return 1
    if failures:
        print(f"\n{len(failures)} error-severity check(s) failed: see above.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
