"""The attribute catalog: column docs and meta of `customer_attributes`, read from the dbt manifest.

dbt is the single source of truth for what each attribute means and whether it may be used for
segmentation; the ML code never keeps its own list.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ml_assets.features import CATALOG_FIELDS
from ml_assets.flags import as_flags
from orchestration.io import settings

ATTRIBUTES_MODEL = "customer_attributes"


def default_manifest_path() -> Path:
    """The manifest `make manifest` (dbt parse) or a dbt build writes into the project's target/."""
    return settings.DBT_PROJECT_DIR / "target" / "manifest.json"


def load_attribute_catalog(
    manifest_path: Path | str, model_name: str = ATTRIBUTES_MODEL
) -> pd.DataFrame:
    """One row per documented column of the model: name, description and the catalog meta fields."""
    manifest = json.loads(Path(manifest_path).read_text())
    node = next(
        (
            n
            for n in manifest["nodes"].values()
            if n.get("resource_type") == "model" and n.get("name") == model_name
        ),
        None,
    )
    if node is None:
        raise ValueError(f"model {model_name!r} is not in the dbt manifest {manifest_path}")
    rows = []
    for name, column in node.get("columns", {}).items():
        # dbt >= 1.10 keeps column meta under config.meta; older manifests under meta.
        meta = {**column.get("meta", {}), **column.get("config", {}).get("meta", {})}
        row = {"attribute_name": name, "description": column.get("description", "")}
        row.update({key: meta.get(key) for key in CATALOG_FIELDS})
        rows.append(row)
    catalog = pd.DataFrame(rows, columns=["attribute_name", "description", *CATALOG_FIELDS])
    catalog["behavioural"] = as_flags(catalog["behavioural"])
    return catalog
