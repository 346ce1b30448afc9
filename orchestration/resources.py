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

    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connect(self.path, read_only=read_only) as con:
            yield con


class LandingResource(ConfigurableResource):
    """The landing folder users drop raw files into, one sub-folder per raw table."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


class ModelStoreResource(ConfigurableResource):
    """Stores fitted model artifacts by version hash; nothing is committed to the repo."""

    path: str

    def _file(self, name: str, version: str) -> Path:
        return Path(self.path) / name / f"{version}.pkl"

    def save(self, name: str, version: str, artifact: Any) -> Path:
        target = self._file(name, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(artifact))
        tmp.replace(target)  # atomic: a killed run never leaves a half-written artifact
        (Path(self.path) / name / "LATEST").write_text(version)
        return target

    def load(self, name: str, version: str | None = None) -> Any | None:
        """The artifact of that version, or the latest one; None when nothing is stored yet."""
        if version is None:
            latest = Path(self.path) / name / "LATEST"
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
    """Resources from the environment; called when Definitions are built, never at import."""
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path())),
        "landing": LandingResource(path=str(settings.landing_dir())),
        "model_store": ModelStoreResource(path=str(settings.artifacts_dir() / "models")),
    }
