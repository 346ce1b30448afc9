"""`make run`: materialize every asset over LANDING_DIR in one Dagster run, then print a summary.

The run is recorded in DAGSTER_HOME, so it shows up in the UI (`make ui`) like any other run.
"""

from __future__ import annotations

import sys

from dagster import AssetCheckSeverity, DagsterInstance

from orchestration.io import reports, run_summary, settings
from orchestration.io.warehouse import connect

FULL_REFRESH_JOB = "full_refresh_job"


def _print_table(title: str, rows: list[tuple], headers: list[str]) -> None:
    print(f"\n{title}")
    if not rows:
        print("  (none)")
        return
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def print_summary() -> None:
    """What the warehouse holds now: loads, quarantine reasons, segments."""
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
    print(
        f"\nWarehouse: {settings.warehouse_path()}\n"
        f"Report:    {reports.report_path()}\n"
        "Dagster UI: make ui (http://localhost:3000)   Attribute catalog: make docs"
    )


def main() -> int:
    from orchestration.definitions import defs

    job = defs.resolve_job_def(FULL_REFRESH_JOB)
    result = job.execute_in_process(instance=DagsterInstance.get(), raise_on_error=False)
    print_summary()
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
    if not result.success:
        print(
            "\nThe run did not fully succeed: see the steps above or the Dagster UI.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
