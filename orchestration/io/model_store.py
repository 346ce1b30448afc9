"""The model artifact store: fitted segment models on disk, one pickle per version hash."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ModelStore:
    """Stores fitted model artifacts under `root/<name>/<version>.pkl`; nothing is committed."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

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

    def latest_version(self, name: str) -> str | None:
        latest = self.root / name / "LATEST"
        return latest.read_text().strip() if latest.exists() else None

    def load(self, name: str, version: str | None = None) -> Any | None:
        """The artifact of that version, or the latest one; None when nothing usable is stored.

        Artifacts are pickled under their classes' module paths: one written by an older layout
        of the code may no longer load. That counts as "no model yet" (the next training writes
        a fresh one), with a log line saying so, rather than failing every run.
        """
        version = version or self.latest_version(name)
        if version is None:
            return None
        target = self._file(name, version)
        if not target.exists():
            return None
        try:
            return pickle.loads(target.read_bytes())
        except (ModuleNotFoundError, AttributeError, ImportError, pickle.UnpicklingError) as exc:
            log.warning(
                "stored %s %s (%s) does not load with this version of the code (%s): "
                "treating it as no model yet; the next training replaces it",
                name,
                version,
                target,
                exc,
            )
            return None
