"""The dbt sources (`models/staging/<source>/_<source>__sources.yml`) agree with the raw contract.

`orchestration.io.contract.RAW_TABLES` is the one definition of the raw tables; the source files
declare the same tables and columns for dbt. These tests read the yml with PyYAML (no dbt run)
and fail when either side gains, loses or changes a table or column without the other.

What the source files encode per raw column: its name (contract columns in contract order, then
the load columns), `data_type` (the DuckDB type the contract type loads as), and a description
that starts with "Required." exactly for required columns, names the contract type, and lists the
allowed values when the contract enumerates them. Per table: the primary key in the description
and the Dagster asset key of the ingestion asset.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestration.io.contract import DUCKDB_TYPES, LOAD_COLUMNS, RAW_TABLES
from orchestration.io.settings import DBT_PROJECT_DIR
from orchestration.io.tables import RAW_SCHEMA

STAGING_DIR = DBT_PROJECT_DIR / "models" / "staging"


def source_files() -> list[Path]:
    return sorted(STAGING_DIR.glob("*/_*__sources.yml"))


def declared_tables() -> dict[str, tuple[Path, dict, dict]]:
    """table name -> (file, source entry, table entry) over every staging sources file."""
    tables: dict[str, tuple[Path, dict, dict]] = {}
    for path in source_files():
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                assert table["name"] not in tables, f"{table['name']} declared twice ({path})"
                tables[table["name"]] = (path, source, table)
    return tables


def test_every_contract_table_is_declared_once_as_a_raw_source():
    assert source_files(), f"no sources files under {STAGING_DIR}"
    tables = declared_tables()
    assert sorted(tables) == sorted(RAW_TABLES), (
        f"only in the contract: {sorted(set(RAW_TABLES) - set(tables))}; "
        f"only in the yml: {sorted(set(tables) - set(RAW_TABLES))}"
    )
    for path, source, _ in tables.values():
        assert source.get("schema") == RAW_SCHEMA, f"{path}: source {source['name']} schema"
        # models/staging/<source>/_<source>__sources.yml names the source after its folder
        assert path.name == f"_{source['name']}__sources.yml", path
        assert path.parent.name == source["name"], path


@pytest.mark.parametrize("table_name", sorted(RAW_TABLES))
def test_source_columns_match_the_contract(table_name):
    spec = RAW_TABLES[table_name]
    tables = declared_tables()
    assert table_name in tables, f"{table_name} is in the contract but in no sources file"
    path, _, table = tables[table_name]
    columns = {c["name"]: c for c in table.get("columns", [])}
    where = f"{path.relative_to(STAGING_DIR)}: {table_name}"

    # Same columns, in the contract's order, followed by the load columns.
    assert list(columns) == spec.column_names + list(LOAD_COLUMNS), (
        f"{where}: only in the contract: {sorted(set(spec.column_names) - set(columns))}; "
        f"only in the yml: {sorted(set(columns) - set(spec.column_names) - set(LOAD_COLUMNS))}"
    )

    for column in spec.columns:
        declared = columns[column.name]
        description = declared.get("description", "")
        assert declared.get("data_type") == DUCKDB_TYPES[column.type].lower(), (
            f"{where}.{column.name}: data_type {declared.get('data_type')!r}, "
            f"contract {column.type}"
        )
        assert description.startswith("Required.") == column.required, (
            f"{where}.{column.name}: required is {column.required} in the contract, "
            f"description says {description!r}"
        )
        assert f"Contract type {column.type}." in description, f"{where}.{column.name}"
        if column.allowed_values:
            assert f"One of {', '.join(column.allowed_values)}." in description, (
                f"{where}.{column.name}: allowed values {column.allowed_values} "
                f"not in {description!r}"
            )
        else:
            assert "One of " not in description, (
                f"{where}.{column.name}: no enumeration in the contract"
            )
        # Required columns are enforced at ingestion (quarantine); a not_null test on a source,
        # if one is ever added, must agree with the contract.
        tests = [t if isinstance(t, str) else next(iter(t)) for t in declared.get("data_tests", [])]
        if "not_null" in tests:
            assert column.required, (
                f"{where}.{column.name}: not_null on an optional contract column"
            )

    for name, duckdb_type in LOAD_COLUMNS.items():
        assert columns[name].get("data_type") == duckdb_type.lower(), f"{where}.{name}"

    assert f"Primary key: {', '.join(spec.primary_key)} " in table.get("description", ""), where
    asset_key = table.get("config", {}).get("meta", {}).get("dagster", {}).get("asset_key")
    assert asset_key == [RAW_SCHEMA, table_name], f"{where}: asset_key {asset_key}"
