"""The Dagster UI, as a person sees it: `dagster dev` headless and the lineage page in Chromium.

The screenshot is kept under test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
EXPECTED_GROUPS = [
    "raw",
    "staging",
    "intermediate",
    "marts",
    "segmentation",
    "monitoring",
    "activation",
]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout:.0f}s")


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    """`dagster dev` in its own process group with a throwaway DAGSTER_HOME; stopped with SIGINT."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(PROJECT_ROOT / ".dagster_home" / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "WAREHOUSE_PATH": str(home / "warehouse.duckdb"),
        "LANDING_DIR": str(home / "landing"),
    }
    log = open(home / "dagster_dev.log", "w")  # noqa: SIM115 - closed in teardown
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/server_info", timeout=180)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "Chromium is not installed: `make test` installs it (scripts/system_deps.sh)"
    profile = ARTIFACTS / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.browser
def test_lineage_page_shows_every_layer_group(dagster_ui):
    ARTIFACTS.mkdir(exist_ok=True)
    url = f"{dagster_ui}/asset-groups"
    dom = _chromium("--virtual-time-budget=30000", "--dump-dom", url).stdout
    missing = [group for group in EXPECTED_GROUPS if group not in dom]
    assert not missing, f"lineage page lacks groups {missing}; DOM starts: {dom[:2000]}"
    screenshot = ARTIFACTS / "asset_lineage.png"
    _chromium(
        "--virtual-time-budget=30000", "--window-size=1600,1000", f"--screenshot={screenshot}", url
    )
    assert screenshot.exists() and screenshot.stat().st_size > 10_000
