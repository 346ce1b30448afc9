"""`make docs`: the attribute catalog as an offline, single-file dbt docs site.

dbt docs shows each attribute's definition and catalog meta (unit, source, update frequency,
segmentation policy) from the model's YAML. The data-quality score is measured on the data
(`marts.attribute_quality`), so it is written into the manifest here, after `dbt docs generate`,
before the static page is assembled: the catalog always shows the score of the current build.

Custom CRM attributes are rows of `customer_custom_attributes`, not columns, so dbt knows nothing
about them: each one present in the data is added as a documented column of that model, with its
canonical name, the governance policy's classification, its type and its measured quality.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from dbt.task.docs import DOCS_INDEX_FILE_PATH

from ml_assets.governance import custom_catalog_rows
from orchestration.io import settings, tables
from orchestration.io.attributes import model_catalog, read_attribute_quality
from orchestration.io.catalog import ATTRIBUTES_MODEL, CATALOG_FIELDS, load_attribute_catalog
from orchestration.io.config_files import load_policy
from orchestration.io.warehouse import connect

CUSTOM_ATTRIBUTES_MODEL = tables.CUSTOM_ATTRIBUTES.name

QUALITY_FIELDS = ["quality_score", "completeness", "validity", "freshness"]


def generate_docs(target_dir: Path, warehouse: Path) -> Path:
    """Run `dbt docs generate` into target_dir against the warehouse; returns the manifest path."""
    env = {**os.environ, "WAREHOUSE_PATH": str(warehouse), "DBT_TARGET_PATH": str(target_dir)}
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [
            str(dbt),
            "docs",
            "generate",
            "--project-dir",
            str(settings.DBT_PROJECT_DIR),
            "--profiles-dir",
            str(settings.DBT_PROJECT_DIR),
        ],
        check=True,
        env=env,
        cwd=settings.DBT_PROJECT_DIR,
    )
    return target_dir / "manifest.json"


def add_quality_scores(manifest: dict, quality: dict[str, dict]) -> int:
    """Write measured quality into each attribute column's meta and description.

    Returns how many columns were updated.
    """
    updated = 0
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model" or node.get("name") != ATTRIBUTES_MODEL:
            continue
        for name, column in node.get("columns", {}).items():
            scores = quality.get(name)
            if not scores:
                continue
            figures = {
                field: round(float(scores[field]), 3)
                for field in QUALITY_FIELDS
                if scores.get(field) is not None
            }
            column.setdefault("meta", {}).update(figures)
            column.setdefault("config", {}).setdefault("meta", {}).update(figures)
            column["description"] = (
                f"{column.get('description', '').rstrip()}\n\n**Data quality (measured)**: "
                + ", ".join(f"{field} {value}" for field, value in figures.items())
            )
            updated += 1
    return updated


def add_custom_attributes(
    manifest: dict, custom_catalog: pd.DataFrame, quality: dict[str, dict]
) -> int:
    """Document each custom attribute as a column of the custom attributes model: its catalog
    meta (policy, data type, group) and measured quality. Returns how many were added."""
    node = next(
        (
            n
            for n in manifest["nodes"].values()
            if n.get("resource_type") == "model" and n.get("name") == CUSTOM_ATTRIBUTES_MODEL
        ),
        None,
    )
    if node is None:
        return 0
    for row in custom_catalog.to_dict("records"):
        name = row["attribute_name"]
        policy = row["segmentation_policy"] if pd.notna(row["segmentation_policy"]) else None
        policy = policy or "unclassified"
        meta = {field: row[field] for field in CATALOG_FIELDS if pd.notna(row.get(field))}
        meta["segmentation_policy"] = policy
        scores = quality.get(name) or {}
        figures = {f: round(float(scores[f]), 3) for f in QUALITY_FIELDS if f in scores}
        meta.update(figures)
        description = (
            f"{row['description']}. Rows with `attribute = '{name}'`; governance policy: "
            f"**{policy}**; data type {row['data_type']}."
        )
        if figures:
            description += "\n\n**Data quality (measured)**: " + ", ".join(
                f"{field} {value}" for field, value in figures.items()
            )
        node.setdefault("columns", {})[name] = {
            "name": name,
            "description": description,
            "meta": meta,
            "config": {"meta": meta},
            "data_type": None,
            "tags": ["custom_attribute"],
        }
    return len(custom_catalog)


def write_static_site(target_dir: Path, manifest: dict) -> Path:
    """The single-file site `dbt docs generate --static` would write, from the enriched manifest."""
    catalog = (target_dir / "catalog.json").read_text()
    page = Path(DOCS_INDEX_FILE_PATH).read_text()
    page = page.replace('"MANIFEST.JSON INLINE DATA"', json.dumps(manifest))
    page = page.replace('"CATALOG.JSON INLINE DATA"', catalog)
    site = target_dir / "attribute_catalog.html"
    site.write_text(page)
    return site


def build_catalog(warehouse: Path, target_dir: Path) -> Path:
    manifest_path = generate_docs(target_dir, warehouse)
    manifest = json.loads(manifest_path.read_text())
    catalog = load_attribute_catalog(manifest_path)
    with connect(warehouse, read_only=True) as con:
        catalog = model_catalog(con, catalog, load_policy())
        quality = read_attribute_quality(con, catalog)
    scores = quality.set_index("attribute_name").to_dict("index") if not quality.empty else {}
    updated = add_quality_scores(manifest, scores)
    custom = add_custom_attributes(manifest, custom_catalog_rows(catalog), scores)
    manifest_path.write_text(json.dumps(manifest, default=str))
    site = write_static_site(target_dir, manifest)
    print(f"quality scores written for {updated} attributes, {custom} custom attributes listed")
    return site


def main() -> int:
    warehouse = settings.warehouse_path()
    if not warehouse.exists():
        print(
            f"no warehouse at {warehouse}: run `make demo` (or `make run`) first", file=sys.stderr
        )
        return 1
    site = build_catalog(warehouse, settings.PROJECT_ROOT / "data" / "docs")
    print(f"Attribute catalog: open file://{site} in a browser (works offline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
