"""Dagster resources: thin configurable wrappers over the I/O layer (warehouse, landing folder,
model store, destinations, governance policy)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from dagster import ConfigurableResource
from sqlalchemy.engine import Engine

from ml_assets.governance import GovernancePolicy
from orchestration.io import config_files, destinations, settings, warehouse
from orchestration.io.model_store import ModelStore


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse file. Connections are opened per unit of work and always closed."""

    path: str | None = None  # None: WAREHOUSE_PATH, read when first used

    @property
    def file(self) -> Path:
        return Path(self.path) if self.path else settings.warehouse_path()

    @contextmanager
    def connect(
        self, read_only: bool = False, wait_seconds: float = warehouse.LOCK_WAIT_SECONDS
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connect(self.file, read_only=read_only, wait_seconds=wait_seconds) as con:
            yield con


class LandingResource(ConfigurableResource):
    """The landing folder users drop raw files into, one sub-folder per raw table."""

    path: str | None = None  # None: LANDING_DIR, read when first used

    @property
    def root(self) -> Path:
        return Path(self.path) if self.path else settings.landing_dir()


class ModelStoreResource(ConfigurableResource):
    """Stores fitted model artifacts by version hash; nothing is committed to the repo."""

    path: str | None = None  # None: ARTIFACTS_DIR/models, read when first used

    @property
    def store(self) -> ModelStore:
        return ModelStore(Path(self.path) if self.path else settings.artifacts_dir() / "models")

    @property
    def root(self) -> Path:
        return self.store.root

    def save(self, name: str, version: str, artifact: Any) -> Path:
        return self.store.save(name, version, artifact)

    def load(self, name: str, version: str | None = None) -> Any | None:
        return self.store.load(name, version)


class DestinationResource(ConfigurableResource):
    """The CRM and marketing databases. Unset URLs come from the environment when first used."""

    crm_url: str | None = None  # None: CRM_DATABASE_URL, else data/crm.sqlite
    marketing_url: str | None = None  # None: MARKETING_DATABASE_URL, else data/marketing.sqlite

    def resolved_crm_url(self) -> str:
        return self.crm_url or destinations.crm_url()

    def resolved_marketing_url(self) -> str:
        return self.marketing_url or destinations.marketing_url()

    def uses_embedded_crm(self) -> bool:
        """True when no CRM was configured and the demo's SQLite file stands in for one."""
        return destinations.uses_embedded_crm(self.crm_url)

    def crm_engine(self) -> Engine:
        return destinations.create_destination_engine(self.resolved_crm_url())

    def marketing_engine(self) -> Engine:
        return destinations.create_destination_engine(self.resolved_marketing_url())


class GovernancePolicyResource(ConfigurableResource):
    """The governance policy file: the one setting the governance check, the segment model, the
    composition audit and the rule segments all read, so the gate checks the policy in force."""

    path: str | None = None  # None: config/governance_policy.yaml, resolved when first used

    @property
    def file(self) -> Path:
        return Path(self.path) if self.path else config_files.config_path(config_files.POLICY_FILE)

    def load(self) -> GovernancePolicy:
        """The parsed policy; raises PolicyError (or FileNotFoundError) with the file's name."""
        return config_files.load_policy(self.file)


def default_resources() -> dict[str, ConfigurableResource]:
    """Resources whose paths come from the environment when first used."""
    return {
        "warehouse": WarehouseResource(),
        "landing": LandingResource(),
        "model_store": ModelStoreResource(),
        "destinations": DestinationResource(),
        "governance": GovernancePolicyResource(),
    }
