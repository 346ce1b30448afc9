"""Dagster resources: the warehouse, the landing folder and the model artifact store."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from dagster import ConfigurableResource

from orchestration import settings, warehouse


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
    def root(self) -> Path:
        return Path(self.path) if self.path else settings.artifacts_dir() / "models"

    def _file(self, name: str, version: str) -> Path:
        return self.root / name / f"{version}.pkl"

    def save(self, name: str, version: str, artifact: Any) -> Path:
        target = self._file(name, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(artifact))
        tmp.replace(target)  # atomic: a killed run never leaves a half-written artifact
        (self.root / name / "LATEST").write_text(version)
        return target

    def load(self, name: str, version: str | None = None) -> Any | None:
        """The artifact of that version, or the latest one; None when nothing is stored yet."""
        if version is None:
            latest = self.root / name / "LATEST"
            if not latest.exists():
                return None
            version = latest.read_text().strip()
        target = self._file(name, version)
        return pickle.loads(target.read_bytes()) if target.exists() else None


def version_hash(*parts: Any) -> str:
    """A short, stable hash of the inputs that determine a model (data, features, config)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
    return digest.hexdigest()[:12]


def default_resources() -> dict[str, ConfigurableResource]:
    """Resources whose paths come from the environment when first used."""
    return {
        "warehouse": WarehouseResource(),
        "landing": LandingResource(),
        "model_store": ModelStoreResource(),
    }
