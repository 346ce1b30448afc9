"""`make run` in-process for tests: the full refresh job over a landing folder."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from dagster import DagsterInstance


def point_pipeline_at(landing: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings for a run over `landing`: warehouse, artifacts and the embedded destinations under
    `root` (never a configured CRM or marketing database)."""
    for name, value in {
        "WAREHOUSE_PATH": root / "warehouse.duckdb",
        "LANDING_DIR": landing,
        "ARTIFACTS_DIR": root / "artifacts",
        "ACTIVATION_DIR": root,
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    monkeypatch.delenv("MARKETING_DATABASE_URL", raising=False)


def run_full_refresh(landing: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """`make run` in-process: every asset over `landing`, with warehouse, artifacts and the
    embedded destinations under `root`. The environment stays set (through monkeypatch) so
    later steps of the same test see the same paths."""
    point_pipeline_at(landing, root, monkeypatch)
    from orchestration.definitions import defs

    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("full_refresh_job").execute_in_process(
        instance=instance, raise_on_error=False
    )
    return SimpleNamespace(root=root, landing=landing, defs=defs, instance=instance, result=result)
