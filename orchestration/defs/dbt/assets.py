"""dbt models, seeds and tests as Dagster assets and asset checks.

Two `@dbt_assets` definitions split the project where Python sits in the middle: the warehouse
layer (staging, intermediate, marts) runs before segmentation, the reporting layer reads the
segments back through a dbt source mapped to the segmentation asset.
"""

import io
import json
import logging
import sys
from collections.abc import Mapping
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DbtCliResource,
    DbtProject,
    dbt_assets,
    get_asset_key_for_model,
)

from ml_assets.taxonomy import TaxonomyError
from orchestration.defs.automation import refresh_on_new_upstream_data
from orchestration.defs.resources import WarehouseResource
from orchestration.io import settings
from orchestration.io.config_files import taxonomy_dbt_vars
from orchestration.io.tables import Table

dbt_project = DbtProject(
    project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR
)
REPORTING_SELECTOR = "tag:reporting"


class _IndirectTestNotice(logging.Filter):
    """Drops dagster-dbt's warning for a dbt test it records as an observation.

    The reporting build's source tests on segmentation tables (written by Python assets) and the
    identity test across several models are selected by dbt's indirect selection; dagster-dbt
    stores their results as observations and warns once per test per run, a dozen warnings a
    run that say nothing to act on. Their results stay in the event log, and a failing test still
    fails the build.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(
            "Logging an `AssetObservation` instead of an `AssetCheckResult`"
        )


logging.getLogger("dagster.builtin").addFilter(_IndirectTestNotice())


def manifest_path() -> Path:
    """The manifest `make manifest` (dbt parse) prepares; dagster-dbt reads it at import."""
    return dbt_project.manifest_path


class SegmentationDbtTranslator(DagsterDbtTranslator):
    """Groups by dbt folder (staging, intermediate, marts, reporting), seeds in `seeds`: the
    group is always the first part of the key."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] not in ("model", "seed", "snapshot"):
            return spec
        folder = props["fqn"][1] if props["resource_type"] == "model" else "seeds"
        owners = props.get("config", {}).get("meta", {}).get("owners") or [
            "team:analytics-engineering"
        ]
        return spec.replace_attributes(
            group_name=folder,
            owners=owners,
            automation_condition=refresh_on_new_upstream_data(),
        )


translator = SegmentationDbtTranslator()


def _table_metadata(
    warehouse: WarehouseResource, relations: dict[str, tuple[str, str]]
) -> dict[str, dict]:
    """Row counts and column schemas, read once dbt has released the file (DuckDB: one writer)."""
    found: dict[str, dict] = {}
    with warehouse.connect(read_only=True) as con:
        for output_name, (schema, table) in relations.items():
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            if not columns:
                continue
            rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            found[output_name] = {
                "dagster/row_count": MetadataValue.int(int(rows)),
                "dagster/column_schema": TableSchema(
                    columns=[TableColumn(name=name, type=dtype) for name, dtype in columns]
                ),
            }
    return found


def _build(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """`dbt build` (models + tests) for the selected subset, then row counts and column schemas.

    dagster-dbt echoes every dbt event to stdout; in a `make run` that is hundreds of lines
    around the summary people read. The echo is kept out of the console: one line with dbt's
    totals is logged, the tail of dbt's output when it fails, and dbt.log keeps everything.
    """
    try:
        # The user's event taxonomy additions (config folder) reach dbt as vars.
        dbt_vars = ["--vars", json.dumps(taxonomy_dbt_vars())]
    except TaxonomyError as exc:
        raise Failure(description=f"event taxonomy additions: {exc}") from exc
    echoed = io.StringIO()
    with settings.warehouse_path_for_subprocesses(warehouse.file), redirect_stdout(echoed):
        # incremental by default; DBT_FULL_REFRESH rebuilds the incremental models from raw
        command = ["build", *settings.dbt_build_args(), *dbt_vars]
        invocation = dbt.cli(command, context=context, raise_on_error=False)
        events = list(invocation.stream())
    lines = echoed.getvalue().splitlines()
    totals = next((line.strip() for line in reversed(lines) if "Done. PASS=" in line), "")
    context.log.info(
        f"dbt build: {totals or 'no totals reported'} (dbt.log: {invocation.target_path})"
    )
    manifest = invocation.manifest
    relations = {}
    for event in events:
        unique_id = event.metadata.get("unique_id") if isinstance(event, Output) else None
        node = manifest["nodes"].get(unique_id.value) if unique_id else None
        if node:
            relations[event.output_name] = (node["schema"], node.get("alias") or node["name"])
    extra = _table_metadata(warehouse, relations)
    for event in events:
        if isinstance(event, Output) and event.output_name in extra:
            yield event.with_metadata({**event.metadata, **extra[event.output_name]})
        else:
            yield event
    if not invocation.is_successful():
        # dbt prints an error's message on the line after "... Error in <node>": keep it too.
        errors = [
            line
            for before, line in zip(["", *lines], lines, strict=False)
            if "ERROR" in line or "FAIL" in line or "Error in " in before
        ][-20:]
        tail = "\n".join(errors or lines[-20:])
        context.log.error(f"dbt build failed:\n{tail}")
        raise Failure(
            description=f"dbt build failed ({totals or 'see dbt.log'}); an error-severity model "
            "or test failed, so nothing downstream runs on it",
            metadata={"dbt_output": MetadataValue.text(tail)},
        )


@dbt_assets(
    manifest=dbt_project.manifest_path,
    exclude=REPORTING_SELECTOR,
    dagster_dbt_translator=translator,
    project=dbt_project,
    name="dbt_warehouse",
    pool="duckdb",
)
def dbt_warehouse_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """Staging, intermediate and marts: the canonical customer and attribute layer."""
    yield from _build(context, dbt, warehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=REPORTING_SELECTOR,
    dagster_dbt_translator=translator,
    project=dbt_project,
    name="dbt_reporting",
    pool="duckdb",
)
def dbt_reporting_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """Reporting marts built on the segments (segment performance)."""
    yield from _build(context, dbt, warehouse)


def dbt_model_key(model: str) -> AssetKey:
    """The asset key of a dbt model, from the manifest (never a string literal elsewhere)."""
    return get_asset_key_for_model([dbt_warehouse_assets], model)


def dbt_table_key(table: Table) -> AssetKey:
    """The asset key of the dbt model that builds a warehouse table of `orchestration.io.tables`."""
    return dbt_model_key(table.name)


def dbt_resource() -> DbtCliResource:
    # The dbt installed beside this interpreter, whether or not the venv is on PATH.
    return DbtCliResource(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")
    )
