"""Runs the real dbt CLI against a test warehouse file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.io.settings import DBT_PROJECT_DIR, dbt_environment


def run_dbt(
    args: list[str], warehouse: Path, extra_env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the real dbt CLI against a warehouse file; raise with dbt's output on failure."""
    # Each warehouse gets its own target/ and logs/ so parallel runs never share artifacts.
    env = {
        **os.environ,
        **dbt_environment(warehouse),
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
