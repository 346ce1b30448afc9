"""Landing-folder helpers for ingestion tests: write a raw file, and no settle pause before
loading files a test has just written (they are complete)."""

from __future__ import annotations

from pathlib import Path

import pytest


def write_file(landing: Path, table: str, name: str, text: str) -> Path:
    path = landing / table / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def settled_at_once(monkeypatch):
    """Files written by a test are complete: no settle pause before loading them."""
    monkeypatch.setenv("INGEST_SETTLE_SECONDS", "0")
