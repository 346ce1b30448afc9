"""The raw contract as a great-expectations suite, run on a loaded raw table.

dagster-ge does not support great-expectations 1.x and GX's SQL datasource does not work on
DuckDB, so the table (or a reservoir sample of it) is read into pandas and validated with an
ephemeral GX context. Expected: every contract column exists, required columns are never null,
values have the contract type, non-negative columns are >= 0 and enumerated columns hold allowed
values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from orchestration.io.contract import RAW_TABLES, RawTable
from orchestration.io.ingestion.raw_tables import quote, raw_table, use_utc
from orchestration.io.warehouse import table_exists

GX_MAX_ROWS = 200_000  # larger tables are validated on a reservoir sample of this many rows

# Python types each contract type arrives as in the frame GX validates (see _frame_for_gx).
_GX_TYPES = {
    "string": ["str"],
    "bigint": ["int"],
    "boolean": ["bool"],
    "double": ["float64"],
    "timestamp": ["datetime64[us]", "datetime64[ns]"],
}


@dataclass
class TableValidation:
    """Outcome of the great-expectations suite on one raw table."""

    table: str
    success: bool
    rows_in_table: int
    rows_validated: int
    expectations: list[dict[str, Any]]  # expectation, column, success, unexpected_count


def _frame_for_gx(con: duckdb.DuckDBPyConnection, spec: RawTable, max_rows: int):
    """The table's contract columns as pandas, in dtypes GX's pandas type checks understand.

    GX cannot type-check pandas' nullable extension dtypes or tz-aware timestamps, so nullable
    integers/booleans/strings become Python objects and timestamps naive UTC.
    """
    total = con.execute(f"SELECT count(*) FROM {raw_table(spec.name).sql}").fetchone()[0]
    cols = ", ".join(
        f"lower(trim({quote(c.name)})) AS {quote(c.name)}" if c.allowed_values else quote(c.name)
        for c in spec.columns
    )
    sample = f" USING SAMPLE reservoir({max_rows} ROWS) REPEATABLE (42)" if total > max_rows else ""
    frame = con.execute(f"SELECT {cols} FROM {raw_table(spec.name).sql}{sample}").df()
    for col in spec.columns:
        series = frame[col.name]
        if col.type == "timestamp":
            frame[col.name] = series.dt.tz_convert("UTC").dt.tz_localize(None)
        elif col.type != "double":
            frame[col.name] = series.astype(object).where(series.notna(), None)
    return frame, total


def _expectations(spec: RawTable) -> list:
    import great_expectations as gx

    suite = [gx.expectations.ExpectColumnToExist(column=c.name) for c in spec.columns]
    suite += [
        gx.expectations.ExpectColumnValuesToNotBeNull(column=c.name)
        for c in spec.columns
        if c.required
    ]
    suite += [
        gx.expectations.ExpectColumnValuesToBeInTypeList(column=c.name, type_list=_GX_TYPES[c.type])
        for c in spec.columns
    ]
    suite += [
        gx.expectations.ExpectColumnValuesToBeBetween(column=c.name, min_value=0)
        for c in spec.columns
        if c.non_negative
    ]
    suite += [
        gx.expectations.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(c.allowed_values))
        for c in spec.columns
        if c.allowed_values
    ]
    return suite


def validate_raw_table(
    con: duckdb.DuckDBPyConnection, table: str, max_rows: int = GX_MAX_ROWS
) -> TableValidation:
    """Validate raw.<table> against the contract with an ephemeral great-expectations context.

    GX's SQL datasource does not work on DuckDB, so the table (or a reservoir sample of max_rows
    rows) is read into pandas. Expected: every contract column exists, required columns are never
    null, values have the contract type, non-negative columns are >= 0 and enumerated columns hold
    allowed values. Unique keys are not expected: redeliveries are loaded on purpose and
    deduplicated in staging.
    """
    import great_expectations as gx  # slow to import; only when a check actually runs
    from great_expectations.data_context.types.base import ProgressBarsConfig

    spec = RAW_TABLES[table]
    use_utc(con)
    if not table_exists(
        con, *raw_table(table)
    ):  # nothing was ever loaded: the check fails rather than guessing
        missing = {"expectation": "table exists", "column": None, "success": False}
        return TableValidation(table, False, 0, 0, [missing])
    frame, total = _frame_for_gx(con, spec, max_rows)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas(name="raw")
        .add_dataframe_asset(name=table)
        .add_batch_definition_whole_dataframe("whole_table")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=f"raw_{table}_contract"))
    for expectation in _expectations(spec):
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"raw_{table}", data=batch, suite=suite)
    )
    outcome = definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
    expectations = [
        {
            "expectation": r.expectation_config.type,
            "column": r.expectation_config.kwargs.get("column"),
            "success": bool(r.success),
            "unexpected_count": (r.result or {}).get("unexpected_count"),
            "observed_value": str((r.result or {}).get("observed_value", "")) or None,
        }
        for r in outcome.results
    ]
    return TableValidation(
        table=table,
        success=bool(outcome.success),
        rows_in_table=total,
        rows_validated=len(frame),
        expectations=expectations,
    )
