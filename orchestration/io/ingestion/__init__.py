"""Ingestion: landing files into the raw tables, validated against the raw data contract.

- `landing`: which files the landing folder holds, which are new by content hash, which wait;
- `raw_tables`: the raw, quarantine and ledger tables (names, columns, DDL);
- `reading`: opening one file for DuckDB (glob-safe path, encodings, line limits, its dialect
  and columns, sniffed once);
- `rows`: reading one file as text and checking its rows in SQL;
- `timestamps`: timestamp text to an instant, value by value, and the plausible range;
- `loader`: loading files, one transaction per file with its ledger row;
- `validation`: the great-expectations contract suite on a loaded table.
"""

from orchestration.io.ingestion.landing import (
    KnownFiles,
    LandingScan,
    WaitingFile,
    file_hash,
    find_new_files,
    known_files,
    landing_files,
    new_landing_files,
    scan_landing,
)
from orchestration.io.ingestion.loader import (
    FileLoadResult,
    LandingLoad,
    load_landing,
    load_new_files,
    load_table_files,
    loaded_version,
    summarize,
)
from orchestration.io.ingestion.raw_tables import (
    FAILED,
    LOADED,
    REJECTED,
    SKIPPED_DUPLICATE,
    ensure_raw_tables,
)
from orchestration.io.ingestion.reading import FileRejected
from orchestration.io.ingestion.validation import TableValidation, validate_raw_table

__all__ = [
    "FAILED",
    "LOADED",
    "REJECTED",
    "SKIPPED_DUPLICATE",
    "FileLoadResult",
    "FileRejected",
    "KnownFiles",
    "LandingLoad",
    "LandingScan",
    "TableValidation",
    "WaitingFile",
    "ensure_raw_tables",
    "file_hash",
    "find_new_files",
    "known_files",
    "landing_files",
    "load_landing",
    "load_new_files",
    "load_table_files",
    "loaded_version",
    "new_landing_files",
    "scan_landing",
    "summarize",
    "validate_raw_table",
]
