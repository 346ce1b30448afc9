"""Faults: `make run` killed with SIGKILL in the middle of a stage, then a plain `make run` again.

The second run must need no manual step: it releases the dead run's `duckdb` pool slot, finishes,
exits 0, and leaves the warehouse and destinations as an uninterrupted run would (same ledger
totals, same segments, same CRM fields, tasks created once).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from orchestration.io.settings import PROJECT_ROOT
from orchestration.io.warehouse import connect

RUN_TIMEOUT = 900


def _environment(root: Path, landing: Path) -> dict[str, str]:
    home = root / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / ".dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "LANDING_DIR": str(landing),
        "ARTIFACTS_DIR": str(root / "artifacts"),
        "ACTIVATION_DIR": str(root),
        "DAGSTER_HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    for name in ("CRM_DATABASE_URL", "MARKETING_DATABASE_URL", "SEGMENTATION_CONFIG_DIR"):
        env.pop(name, None)
    return env


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tools.run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL reaches every child (dbt too)
    )


def _started_steps(home: Path, since: float) -> set[str]:
    """Step keys started after `since` (epoch seconds) in the instance at `home`, read from
    another process."""
    from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter

    with DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_event_records(
            EventRecordsFilter(event_type=DagsterEventType.STEP_START), limit=500
        )
        return {
            record.event_log_entry.step_key
            for record in records
            if record.event_log_entry.timestamp >= since
        }


def _kill_when(process: subprocess.Popen, home: Path, step_prefix: str) -> str:
    started_at = time.time()
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before {step_prefix} started")
        started = [s for s in _started_steps(home, started_at) if s and s.startswith(step_prefix)]
        if started:
            time.sleep(1.0)  # well inside the step
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            return started[0]
        time.sleep(0.5)
    pytest.fail(f"{step_prefix} never started")


def _finish(env: dict[str, str], log: Path) -> tuple[int, str]:
    process = _start(env, log)
    try:
        code = process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"the recovery run hung; its output:\n{log.read_text()[-4000:]}")
    return code, log.read_text()


def _state(root: Path) -> dict[str, object]:
    with connect(root / "warehouse.duckdb", read_only=True) as con:
        ledger = con.execute(
            'select "table", sum(rows_in), sum(rows_loaded), sum(rows_quarantined) '
            "from raw._load_ledger where status = 'loaded' group by 1 order by 1"
        ).fetchall()
        segments = con.execute(
            "select customer_key, segment_id from segmentation.customer_segments order by 1"
        ).df()
    with sqlite3.connect(root / "crm.sqlite") as crm:
        fields = pd.read_sql(
            "select account_id, segment_id, segment_name from crm_accounts order by 1", crm
        )
        tasks = pd.read_sql("select idempotency_key from csm_tasks", crm)
    return {"ledger": ledger, "segments": segments, "crm": fields, "tasks": tasks}


@pytest.fixture(scope="module")
def landing(generated_landing) -> Path:
    return generated_landing


@pytest.fixture(scope="module")
def uninterrupted(landing, tmp_path_factory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("fault_reference")
    code, output = _finish(_environment(root, landing), root / "run.log")
    assert code == 0, output[-4000:]
    return _state(root)


KILL_POINTS = [("ingestion", "raw__"), ("dbt", "dbt_warehouse"), ("segmentation", "segmentation__")]


def test_runs_killed_in_each_stage_recover_on_the_next_plain_run(landing, uninterrupted, tmp_path):
    """SIGKILL during ingestion, then during dbt, then during segmentation (each restart gets
    further), then one plain run: it converges to the uninterrupted run's state."""
    env = _environment(tmp_path, landing)
    home = Path(env["DAGSTER_HOME"])
    killed_in = []
    for stage, step_prefix in KILL_POINTS:
        process = _start(env, tmp_path / f"killed_{stage}.log")
        killed_in.append(_kill_when(process, home, step_prefix))
    assert [step.split("__")[0] for step in killed_in] == ["raw", "dbt_warehouse", "segmentation"]

    code, output = _finish(env, tmp_path / "recovery.log")
    assert code == 0, f"killed in {killed_in}; recovery output:\n{output[-4000:]}"
    assert "Released run" in output, output[-2000:]
    recovered = _state(tmp_path)
    assert recovered["ledger"] == uninterrupted["ledger"]
    pd.testing.assert_frame_equal(recovered["segments"], uninterrupted["segments"])
    pd.testing.assert_frame_equal(recovered["crm"], uninterrupted["crm"])
    assert recovered["tasks"]["idempotency_key"].is_unique
    assert len(recovered["tasks"]) == len(uninterrupted["tasks"])
