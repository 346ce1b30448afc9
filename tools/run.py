"""`make run`: materialize every asset over LANDING_DIR in one Dagster run, then print a summary.

The run is recorded in DAGSTER_HOME, so it shows up in the UI (`make ui`) like any other run.
"""

from __future__ import annotations

import sys

from dagster import AssetCheckSeverity, DagsterInstance

from orchestration.io import settings
from orchestration.io.warehouse import connect, table_exists

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
        if table_exists(con, "raw", "_load_ledger"):
            _print_table(
                "Rows loaded per raw table (all loads)",
                con.execute(
                    'select "table", count(*), sum(rows_in), sum(rows_loaded), '
                    "sum(rows_quarantined) from raw._load_ledger group by 1 order by 1"
                ).fetchall(),
                ["table", "files", "rows in", "loaded", "quarantined"],
            )
        quarantine = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw_quarantine'"
            ).fetchall()
        ]
        if quarantine:
            union = " union all ".join(
                f"select '{t}' as tbl, _reason from raw_quarantine.\"{t}\""
                for t in sorted(quarantine)
            )
            _print_table(
                "Rows quarantined, by reason",
                con.execute(
                    f"select tbl, regexp_replace(_reason, '=.*', '') as reason, count(*) "
                    f"from ({union}) group by 1, 2 order by 1, 3 desc"
                ).fetchall(),
                ["table", "reason", "rows"],
            )
        if table_exists(con, "segmentation", "customer_segments"):
            _print_table(
                "Segments",
                con.execute(
                    "select segment_id, segment_name, count(*) from segmentation.customer_segments "
                    "group by 1, 2 order by 1"
                ).fetchall(),
                ["segment", "name", "customers"],
            )
    print(
        f"\nWarehouse: {settings.warehouse_path()}\n"
        f"Report:    {settings.artifacts_dir() / 'reports' / 'segment_report.html'}\n"
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
