"""Shared fixtures: small generated data sets run through the real pipeline stages.

Each fixture is session-scoped and built once; tests that need a different state copy it. Tests
come in tiers by folder: unit/ (pure, fast: `make test-fast`), integration/ (warehouse, dbt,
Dagster, PostgreSQL) and e2e/ (whole pipeline runs, marked `slow`). Helpers live in support/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.dbt import run_dbt

pytest_plugins = ["tests.support.postgres", "tests.support.activation"]
TIER_MARKERS = {"unit": "unit", "integration": "integration", "e2e": "slow"}
TEST_ACCOUNTS = 600
TEST_SEED = 7


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
    from orchestration.io.ingestion import load_landing
    from orchestration.io.warehouse import connect

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier (its folder), so `-m "not slow"` and friends select tiers."""
    for item in items:
        tier = Path(item.fspath).parent.name
        if tier in TIER_MARKERS:
            item.add_marker(TIER_MARKERS[tier])
