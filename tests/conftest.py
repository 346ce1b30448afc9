"""Shared fixtures: small generated data sets run through the real pipeline stages.

Each fixture is session-scoped and built once; tests that need a different state copy it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from dagster import DagsterInstance

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
TEST_ACCOUNTS = 600
TEST_SEED = 7


def run_dbt(
    args: list[str], warehouse: Path, extra_env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the real dbt CLI against a warehouse file; raise with dbt's output on failure."""
    # Each warehouse gets its own target/ and logs/ so parallel runs never share artifacts.
    env = {
        **os.environ,
        "WAREHOUSE_PATH": str(warehouse),
        "DBT_TARGET_PATH": str(warehouse.parent / "dbt_target"),
        "DBT_LOG_PATH": str(warehouse.parent / "dbt_logs"),
        **(extra_env or {}),
    }
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [
            str(dbt),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        )
    return result


@pytest.fixture(scope="session")
def generated_landing(tmp_path_factory) -> Path:
    """Period-1 sample data for TEST_ACCOUNTS accounts, as landing files plus _truth/."""
    from tools.sample_data import generate

    out = tmp_path_factory.mktemp("landing")
    generate(out, accounts=TEST_ACCOUNTS, seed=TEST_SEED)
    return out


@pytest.fixture(scope="session")
def loaded_warehouse(generated_landing, tmp_path_factory) -> Path:
    """A warehouse with the generated files ingested into raw.* (no dbt yet)."""
    from orchestration.ingestion import load_landing
    from orchestration.warehouse import connect

    warehouse = tmp_path_factory.mktemp("wh_loaded") / "warehouse.duckdb"
    with connect(warehouse) as con:
        load_landing(generated_landing, con)
    return warehouse


@pytest.fixture(scope="session")
def built_warehouse(loaded_warehouse, tmp_path_factory) -> Path:
    """A copy of the loaded warehouse after `dbt build` of the layers before segmentation."""
    warehouse = tmp_path_factory.mktemp("wh_built") / "warehouse.duckdb"
    shutil.copy(loaded_warehouse, warehouse)
    run_dbt(["build", "--exclude", "tag:reporting"], warehouse)
    return warehouse


@pytest.fixture(scope="session")
def dbt_manifest(built_warehouse) -> Path:
    return built_warehouse.parent / "dbt_target" / "manifest.json"


def run_full_refresh(landing: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """`make run` in-process: every asset over `landing`, with warehouse, artifacts and the
    embedded destinations under `root`. The environment stays set (through monkeypatch) so
    later steps of the same test see the same paths."""
    for name, value in {
        "WAREHOUSE_PATH": root / "warehouse.duckdb",
        "LANDING_DIR": landing,
        "ARTIFACTS_DIR": root / "artifacts",
        "ACTIVATION_DIR": root,
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    monkeypatch.delenv("MARKETING_DATABASE_URL", raising=False)
    from orchestration.definitions import defs

    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("full_refresh_job").execute_in_process(
        instance=instance, raise_on_error=False
    )
    return SimpleNamespace(root=root, landing=landing, defs=defs, instance=instance, result=result)
