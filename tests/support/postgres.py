"""A real PostgreSQL server for tests, started by scripts/postgres_test_server.sh.

Nothing is skipped: when the server cannot be installed or started the tests that need it fail
with the script's output, because CI must run them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from orchestration.io.settings import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "postgres_test_server.sh"


def _script(command: str, data_dir: Path | None = None, port: int | None = None) -> str:
    env = dict(os.environ)
    if data_dir is not None:
        env["PG_TEST_DIR"] = str(data_dir)
    if port is not None:
        env["PG_TEST_PORT"] = str(port)
    result = subprocess.run(
        ["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        pytest.fail(
            f"{SCRIPT.name} {command} failed (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}",
            pytrace=False,
        )
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def start_server(data_dir: Path | None = None, port: int | None = None) -> str:
    """Start (or reuse) a server; returns its SQLAlchemy URL."""
    return _script("start", data_dir, port)


def stop_server(data_dir: Path | None = None, port: int | None = None) -> None:
    _script("stop", data_dir, port)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def private_server_dir() -> Path:
    """A data folder the postgres user can reach (pytest's tmp_path is private to root)."""
    return Path(tempfile.mkdtemp(prefix="pg-private-", dir="/tmp"))


def fresh_database(server_url: str) -> str:
    """Create an empty database on the server; returns its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"create database {name}"))
    admin.dispose()
    return sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    name = sa.engine.make_url(database_url).database
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"drop database if exists {name} with (force)"))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The shared test server; stopped at the end only when this session started it."""
    env = {**os.environ}
    status = subprocess.run(["bash", str(SCRIPT), "status"], env=env, capture_output=True)
    already_running = status.returncode == 0
    url = start_server()
    yield url
    if not already_running:
        stop_server()


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the shared server for one test."""
    url = fresh_database(postgres_server_url)
    yield url
    drop_database(postgres_server_url, url)


@pytest.fixture
def private_postgres() -> Iterator[tuple[Path, int, str]]:
    """A server of its own (data dir, port, URL), for tests that stop it mid-way."""
    data_dir, port = private_server_dir(), free_port()
    url = start_server(data_dir, port)
    yield data_dir, port, url
    stop_server(data_dir, port)
    shutil.rmtree(data_dir, ignore_errors=True)
