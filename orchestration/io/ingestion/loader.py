"""Loading landing files into the raw tables, one transaction per file with its ledger row.

Each file is read as text and checked row by row (`rows`); good rows go to ``raw.<table>`` with
their contract types, bad rows to ``raw_quarantine.<table>`` as text with the reason, and
``raw._load_ledger`` gets one row per file with its content hash, so a file whose content was
loaded before is never loaded twice. Anything unexpected while loading one file rejects that
file, with its name and the error, and the other files still load. A load killed half way
leaves nothing of that file behind, and the next run loads it again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.io.contract import RAW_TABLES, RawTable
from orchestration.io.ingestion.landing import (
    WaitingFile,
    file_hash,
    known_files,
    scan_landing,
    source_name,
    store_digests,
    stored_digests,
)
from orchestration.io.ingestion.raw_tables import (
    FAILED,
    LOADED,
    REJECTED,
    SKIPPED_DUPLICATE,
    add_extra_columns,
    ensure_raw_tables,
    quarantine_table,
    quote,
    raw_table,
)
from orchestration.io.ingestion.reading import (
    CONTROL_CHARACTERS,
    FileRejected,
    LongLines,
    file_columns,
    line_limits,
    load_failure,
    readable,
    reader,
)
from orchestration.io.ingestion.rows import (
    MAX_VALUE_IN_REASON,
    TEMP_TABLES,
    check_rows,
    extra_name,
    map_columns,
    typed_name,
)
from orchestration.io.ingestion.timestamps import TimestampBounds
from orchestration.io.tables import LOAD_LEDGER


@dataclass
class FileLoadResult:
    """What happened to one landing file. rows_in == rows_loaded + rows_quarantined always."""

    table: str
    file: str
    content_hash: str
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    status: str = LOADED
    error: str | None = None


def _write_file(
    con: duckdb.DuckDBPyConnection,
    spec: RawTable,
    extras: list[str],
    line: str,
    result: FileLoadResult,
    stat: tuple[int, int],
    loaded_at: datetime,
) -> None:
    """Insert good rows, quarantined rows and the ledger row in one transaction."""
    contract = [quote(c.name) for c in spec.columns]
    extra = [quote(e) for e in extras]  # the file's names, as columns of the raw table
    extra_text = [extra_name(i) for i in range(len(extras))]  # their names in _ingest_checked
    typed = [typed_name(c) for c in spec.columns]
    meta = [result.file, loaded_at]
    malformed = "'malformed CSV line: ' || error_type"
    shown = (
        f"regexp_replace(left(csv_line, {MAX_VALUE_IN_REASON}), '{CONTROL_CHARACTERS}', '?', 'g')"
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"INSERT INTO {raw_table(spec.name).sql} ({', '.join(contract + extra)}, "
            f"_source_file, _source_line, _loaded_at) "
            f"SELECT {', '.join(typed + extra_text)}, ?, {line}, ? "
            f"FROM _ingest_checked c WHERE _reason IS NULL",
            meta,
        )
        con.execute(
            f"INSERT INTO {quarantine_table(spec.name).sql} ({', '.join(contract + extra)}, "
            f"_source_file, _source_line, _reason, _loaded_at) "
            f"SELECT {', '.join(contract + extra_text)}, ?, {line}, _reason, ? "
            f"FROM _ingest_checked c WHERE _reason IS NOT NULL",
            meta,
        )
        con.execute(
            f"INSERT INTO {quarantine_table(spec.name).sql} "
            f"(_source_file, _source_line, _reason, _loaded_at) "
            f"SELECT ?, line, {malformed} || '=''' || {shown} || '''', ? "
            f"FROM _ingest_rejects ORDER BY line",
            meta,
        )
        counts = con.execute(
            f"""
            SELECT regexp_replace(_reason, '=''.*', '') AS kind, count(*) FROM (
                SELECT _reason FROM _ingest_checked
                UNION ALL
                SELECT {malformed} FROM _ingest_rejects
            ) GROUP BY kind ORDER BY count(*) DESC, kind
            """
        ).fetchall()
        for kind, rows in counts:
            result.rows_in += rows
            if kind is None:
                result.rows_loaded = rows
            else:
                result.quarantine_reasons[kind] = rows
        result.rows_quarantined = result.rows_in - result.rows_loaded
        _record(con, result, stat, loaded_at)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _record(
    con: duckdb.DuckDBPyConnection,
    result: FileLoadResult,
    stat: tuple[int, int],
    loaded_at: datetime,
) -> None:
    con.execute(
        f"INSERT INTO {LOAD_LEDGER.sql} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.file,
            result.table,
            result.content_hash,
            *stat,
            result.rows_in,
            result.rows_loaded,
            result.rows_quarantined,
            json.dumps(result.quarantine_reasons),
            result.status,
            result.error,
            loaded_at,
        ],
    )


def _already_loaded(con: duckdb.DuckDBPyConnection, table: str, digest: str) -> bool:
    row = con.execute(
        f"SELECT count(*) FROM {LOAD_LEDGER.sql} "
        'WHERE "table" = ? AND content_hash = ? AND status = ?',
        [table, digest, LOADED],
    ).fetchone()
    return bool(row[0])


def _read_file(
    con: duckdb.DuckDBPyConnection,
    spec: RawTable,
    path: Path,
    read_path: str,
    source: str,
    bounds: TimestampBounds,
    max_line: int,
) -> tuple[list[str], str]:
    """Read and check the file with this line limit: its extra columns and the line SQL."""
    reader_sql, _ = reader(path, max_line)
    cols, header, reader_sql = file_columns(con, reader_sql, read_path, path, source, max_line)
    mapping, extras = map_columns(cols, spec, source, header)
    add_extra_columns(con, spec.name, extras)
    line = check_rows(
        con, spec, path, read_path, mapping, extras, source, bounds, max_line, reader_sql
    )
    return extras, line


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _load_file(
    con: duckdb.DuckDBPyConnection,
    spec: RawTable,
    path: Path,
    digest: str,
    source: str,
    bounds: TimestampBounds,
) -> FileLoadResult:
    result = FileLoadResult(table=spec.name, file=source, content_hash=digest)
    stat = path.stat()
    file_stat = (stat.st_size, stat.st_mtime_ns)
    loaded_at = datetime.now(UTC)
    if _already_loaded(con, spec.name, digest):
        result.status = SKIPPED_DUPLICATE
        _record(con, result, file_stat, loaded_at)
        return result
    try:
        if stat.st_size == 0:
            raise FileRejected(f"{source}: unreadable file: the file is empty")
        with readable(path) as read_path:
            *first, last = line_limits(path)
            for max_line in first:
                try:
                    extras, line = _read_file(con, spec, path, read_path, source, bounds, max_line)
                    break
                except LongLines:
                    continue
            else:  # no lower limit, or a line longer than it: the last limit raises no LongLines
                extras, line = _read_file(con, spec, path, read_path, source, bounds, last)
        _write_file(con, spec, extras, line, result, file_stat, loaded_at)
    except Exception as exc:  # one bad file (or a bug it triggers) must not stop the others
        result.status = REJECTED
        if (failure := load_failure(exc)) is not None:
            result.status = FAILED
            result.error = (
                f"{source}: could not be loaded, not because of its content "
                f"({type(failure).__name__}: {_one_line(failure)}); nothing of it was kept and it "
                "is loaded again on the next run (for out of memory, raise DUCKDB_MEMORY_LIMIT)"
            )
        elif isinstance(exc, FileRejected):
            result.error = str(exc)
        else:
            message = _one_line(exc)
            result.error = f"{source}: could not be loaded: {type(exc).__name__}: {message}"
        result.rows_in = result.rows_loaded = result.rows_quarantined = 0
        result.quarantine_reasons = {}
        _record(con, result, file_stat, loaded_at)
    finally:
        for temp in TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    return result


def _load(
    con: duckdb.DuckDBPyConnection,
    table: str,
    files: list[tuple[Path, str]],
    landing_dir: Path | None,
) -> list[FileLoadResult]:
    spec = RAW_TABLES[table]
    bounds = TimestampBounds.from_settings()
    return [
        _load_file(con, spec, Path(path), digest, source_name(Path(path), landing_dir), bounds)
        for path, digest in files
    ]


def load_table_files(
    con: duckdb.DuckDBPyConnection,
    table: str,
    files: list[Path],
    landing_dir: Path | None = None,
) -> list[FileLoadResult]:
    """Validate and load the given files into raw.<table>, one transaction per file.

    Files are named in the warehouse relative to landing_dir when given (else by absolute path).
    A file whose content was already loaded into this table is skipped (skipped_duplicate); one
    that cannot be read, lacks a required column or fails in any other way is rejected with the
    reason, and the other files still load.
    """
    if table not in RAW_TABLES:
        raise ValueError(f"{table!r} is not a raw contract table ({', '.join(RAW_TABLES)})")
    ensure_raw_tables(con)
    return _load(con, table, [(Path(p), file_hash(Path(p))) for p in files], landing_dir)


@dataclass
class LandingLoad:
    """One run over the landing folder: what each new file became, and the files that wait."""

    results: list[FileLoadResult]
    waiting: list[WaitingFile]
    files_hashed: int = 0  # landing files read to hash them (unchanged ones re-use their hash)


def load_new_files(
    landing_dir: Path,
    con: duckdb.DuckDBPyConnection,
    tables: list[str] | None = None,
    settle_seconds: float | None = None,
    retry_rejected: bool = False,
) -> LandingLoad:
    """Load every new, settled file under landing_dir/<table>/ for the contract tables (or the
    given ones); files that may still be being written wait for a later run.

    New means a content the ledger has not seen, or one whose load failed (not the file's fault:
    out of memory, interrupted). A rejected file is looked at again only when it changes, or with
    `retry_rejected` (after a fix in configuration or code). Absent tables are created empty, so
    downstream models always find every raw table.
    """
    ensure_raw_tables(con)
    unknown = sorted(set(tables or []) - set(RAW_TABLES))
    if unknown:
        raise ValueError(f"not raw contract tables: {', '.join(unknown)}")
    known = known_files(con, look_again=(FAILED, REJECTED) if retry_rejected else (FAILED,))
    stored = stored_digests(con)
    scan = scan_landing(Path(landing_dir), known, tables, settle_seconds, digests=stored)
    # the scanned tables' hashes replace theirs (a removed file drops out); the others' stay
    scanned = tuple(f"{Path(landing_dir) / table}{os.sep}" for table in tables or RAW_TABLES)
    kept = {p: d for p, d in stored.items() if not p.startswith(scanned)} | scan.digests
    store_digests(con, kept, stored)
    results: list[FileLoadResult] = []
    for table in RAW_TABLES:  # contract order, so loads are deterministic
        if table in scan.new:
            results.extend(_load(con, table, scan.new[table], Path(landing_dir)))
    return LandingLoad(results, scan.waiting, scan.files_hashed)


def load_landing(
    landing_dir: Path,
    con: duckdb.DuckDBPyConnection,
    tables: list[str] | None = None,
    settle_seconds: float | None = None,
) -> list[FileLoadResult]:
    """What each new, settled file under landing_dir/<table>/ became (see load_new_files)."""
    return load_new_files(landing_dir, con, tables, settle_seconds).results


def loaded_version(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A short hash of the file contents loaded into raw.<table>: changes only when data does."""
    row = con.execute(
        f"SELECT string_agg(content_hash, ',' ORDER BY content_hash) FROM {LOAD_LEDGER.sql} "
        f'WHERE "table" = ? AND status = ?',
        [table, LOADED],
    ).fetchone()
    return hashlib.sha256((row[0] or "").encode()).hexdigest()[:16]


def summarize(results: list[FileLoadResult]) -> str:
    """A short text summary of a load: rows per table, quarantine reasons, rejected files."""
    lines = []
    tables = sorted({r.table for r in results})
    for table in tables:
        mine = [r for r in results if r.table == table]
        lines.append(
            f"{table}: {len(mine)} file(s), {sum(r.rows_in for r in mine)} rows in, "
            f"{sum(r.rows_loaded for r in mine)} loaded, "
            f"{sum(r.rows_quarantined for r in mine)} quarantined"
        )
        reasons: dict[str, int] = {}
        for r in mine:
            for reason, n in r.quarantine_reasons.items():
                reasons[reason] = reasons.get(reason, 0) + n
        lines += [
            f"  {n:>8}  {reason}" for reason, n in sorted(reasons.items(), key=lambda x: -x[1])
        ]
        lines += [f"  {r.status}: {r.error}" for r in mine if r.status in (REJECTED, FAILED)]
    return "\n".join(lines) if lines else "no new files"
