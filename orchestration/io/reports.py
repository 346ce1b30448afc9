"""Where the HTML segment report is written: ARTIFACTS_DIR/reports/segment_report.html."""

from __future__ import annotations

from pathlib import Path

from orchestration.io import settings


def report_path() -> Path:
    return settings.artifacts_dir() / "reports" / "segment_report.html"


def write_report(page: str) -> Path:
    """Write the page atomically (a reader never sees half a report); returns its path."""
    target = report_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(page)
    tmp.replace(target)
    return target
