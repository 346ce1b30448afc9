"""Warehouse connections wait out another process's brief lock instead of failing."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest

from orchestration.io.warehouse import connect

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_connect_waits_for_a_short_lock(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = _hold_lock(path, 1.5)
    started = time.monotonic()
    with connect(path) as con:
        assert con.execute("select 42").fetchone() == (42,)
    assert time.monotonic() - started >= 0.5  # it really waited for the other process
    holder.wait(timeout=30)


def test_connect_gives_up_with_duckdbs_error_on_a_long_lock(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = _hold_lock(path, 30)
    try:
        with pytest.raises(duckdb.IOException, match="lock"):
            with connect(path, wait_seconds=1.0):
                pass
    finally:
        holder.kill()
