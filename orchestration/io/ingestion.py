"""Load landing files into the warehouse, validated against the raw data contract.

Every file under ``LANDING_DIR/<table>/`` (CSV with a header, or Parquet) is read as text,
checked row by row in DuckDB SQL (one set-based query per file, never a Python loop per row),
and split: good rows go to ``raw.<table>`` with their types from the contract, bad rows to
``raw_quarantine.<table>`` as text with the reason. ``raw._load_ledger`` records one row per
file with its content hash, so a file whose content was loaded before is never loaded twice.

Each file is written in one transaction together with its ledger row: a load killed half way
leaves nothing of that file behind, and the next run loads it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.io.contract import (
    DUCKDB_TYPES,
    LEDGER_TABLE,
    LOAD_COLUMNS,
    QUARANTINE_SCHEMA,
    RAW_SCHEMA,
    RAW_TABLES,
    Column,
    RawTable,
)
from orchestration.io.warehouse import table_exists

LEDGER = f'"{LEDGER_TABLE[0]}"."{LEDGER_TABLE[1]}"'
LEDGER_COLUMNS = {
    "file": "VARCHAR",  # path relative to the landing folder
    "table": "VARCHAR",
    "content_hash": "VARCHAR",  # sha256 of the file's bytes
    "file_size": "BIGINT",
    "file_mtime_ns": "BIGINT",
    "rows_in": "BIGINT",
    "rows_loaded": "BIGINT",
    "rows_quarantined": "BIGINT",
    "quarantine_reasons": "VARCHAR",  # JSON object: reason -> rows
    "status": "VARCHAR",  # loaded / skipped_duplicate / rejected
    "error": "VARCHAR",
    "loaded_at": "TIMESTAMPTZ",
}
QUARANTINE_COLUMNS = {
    "_source_file": "VARCHAR",
    "_source_line": "BIGINT",
    "_reason": "VARCHAR",
    "_loaded_at": "TIMESTAMPTZ",
}
LOADED, SKIPPED_DUPLICATE, REJECTED = "loaded", "skipped_duplicate", "rejected"

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
FUTURE_TOLERANCE = "interval 1 day"  # clocks drift; later than now + 1 day is an error
MAX_VALUE_IN_REASON = 80  # offending values are quoted in the reason, cut to this length
# Per-connection scratch tables of one file's load, dropped after each file.
TEMP_TABLES = (
    "_ingest_checked",
    "_ingest_dups",
    "_ingest_rejects",
    "_ingest_shift",
    "_ingest_reject_errors",
    "_ingest_reject_scans",
)


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


# ---------------------------------------------------------------------------------------------
# Tables


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _raw(table: str) -> str:
    return f"{RAW_SCHEMA}.{_quote(table)}"


def _quarantine(table: str) -> str:
    return f"{QUARANTINE_SCHEMA}.{_quote(table)}"


def _use_utc(con: duckdb.DuckDBPyConnection) -> None:
    # Naive timestamps in files mean UTC; TIMESTAMPTZ casts read them in the session time zone.
    con.execute("SET TimeZone = 'UTC'")
    # Line numbers are the order rows were read in: keep it (DuckDB's default, made explicit).
    con.execute("SET preserve_insertion_order = true")


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and quarantine schemas, one empty table per contract table, and the ledger.

    Existing tables are left as they are, so absent sources still exist with the contract schema.
    """
    _use_utc(con)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {QUARANTINE_SCHEMA}")
    for spec in RAW_TABLES.values():
        raw_cols = [(c.name, DUCKDB_TYPES[c.type]) for c in spec.columns] + list(
            LOAD_COLUMNS.items()
        )
        quarantine_cols = [(c.name, "VARCHAR") for c in spec.columns] + list(
            QUARANTINE_COLUMNS.items()
        )
        for target, cols in (
            (_raw(spec.name), raw_cols),
            (_quarantine(spec.name), quarantine_cols),
        ):
            ddl = ", ".join(f"{_quote(name)} {type_}" for name, type_ in cols)
            con.execute(f"CREATE TABLE IF NOT EXISTS {target} ({ddl})")
    ddl = ", ".join(f"{_quote(name)} {type_}" for name, type_ in LEDGER_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {LEDGER} ({ddl})")


# ---------------------------------------------------------------------------------------------
# Finding files


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes, read in chunks so large files never sit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _is_data_file(path: Path) -> bool:
    # Names starting with "." or "_" are in-progress writes or markers (_SUCCESS, .part files).
    name = path.name.lower()
    return (
        path.is_file()
        and not name.startswith((".", "_"))
        and name.endswith(CSV_SUFFIXES + PARQUET_SUFFIXES)
    )


def landing_files(landing_dir: Path, tables: Iterable[str] | None = None) -> dict[str, list[Path]]:
    """Every data file under landing_dir/<table>/ (recursively) per contract table, sorted.

    Folders that are not contract tables (such as the sample data's ``_truth``) are ignored.
    """
    found: dict[str, list[Path]] = {}
    for table in tables or RAW_TABLES:
        folder = Path(landing_dir) / table
        if folder.is_dir():
            files = sorted(p for p in folder.rglob("*") if _is_data_file(p))
            if files:
                found[table] = files
    return found


def _source_name(path: Path, landing_dir: Path | None) -> str:
    """How a file is named in the warehouse: relative to the landing folder when inside it."""
    if landing_dir is not None:
        try:
            return path.resolve().relative_to(Path(landing_dir).resolve()).as_posix()
        except ValueError:
            pass
    return path.resolve().as_posix()


@dataclass(frozen=True)
class KnownFiles:
    """What the ledger says was already seen: hashes per table and (file, size, mtime) triples."""

    hashes: set[tuple[str, str]]
    stats: set[tuple[str, str, int, int]]


def known_files(con: duckdb.DuckDBPyConnection) -> KnownFiles:
    """What the load ledger has seen (empty when nothing was ever loaded)."""
    if not table_exists(con, *LEDGER_TABLE):
        return KnownFiles(set(), set())
    rows = con.execute(
        f'select "table", content_hash, file, file_size, file_mtime_ns from {LEDGER}'
    ).fetchall()
    return KnownFiles(
        hashes={(table, digest) for table, digest, *_ in rows},
        stats={(table, file, size, mtime) for table, _, file, size, mtime in rows},
    )


def find_new_files(
    landing_dir: Path, known: KnownFiles, tables: Iterable[str] | None = None
) -> dict[str, list[tuple[Path, str]]]:
    """Files whose content hash the ledger does not hold, with their hash.

    A file whose name, size and modification time match a ledger row is taken as seen without
    hashing it again, which keeps the sensor cheap on landing folders of many gigabytes.
    """
    new: dict[str, list[tuple[Path, str]]] = {}
    for table, files in landing_files(landing_dir, tables).items():
        for path in files:
            stat = path.stat()
            source = _source_name(path, landing_dir)
            if (table, source, stat.st_size, stat.st_mtime_ns) in known.stats:
                continue
            digest = file_hash(path)
            if (table, digest) not in known.hashes:
                new.setdefault(table, []).append((path, digest))
    return new


def new_landing_files(landing_dir: Path, con: duckdb.DuckDBPyConnection) -> dict[str, list[Path]]:
    """Per contract table, the landing files whose content hash is not in the load ledger.

    Tables without new files are left out, so an empty dict means nothing to load.
    """
    new = find_new_files(landing_dir, known_files(con))
    return {table: [path for path, _ in files] for table, files in new.items()}


# ---------------------------------------------------------------------------------------------
# Validation (SQL expressions built from the contract)


def _typed_name(col: Column) -> str:
    """Column of _ingest_checked holding the contract-typed value (strings need none)."""
    return _quote(f"__typed__{col.name}") if col.type != "string" else _quote(col.name)


def _typed(col: Column) -> str:
    """The contract-typed value of a text column; NULL when blank or not castable."""
    # DuckDB's number and timestamp casts accept surrounding spaces; only booleans need a trim.
    text = f"trim({_quote(col.name)})" if col.type == "boolean" else _quote(col.name)
    if col.type == "double":
        # NaN and infinity cast fine but are not values anyone meant to send
        return (
            f"(case when isfinite(try_cast({text} as double)) then try_cast({text} as double) end)"
        )
    if col.type == "bigint":
        # try_cast('12.5' as bigint) rounds to 13; a count with a fraction is an error instead
        return (
            f"(case when try_cast({text} as double) = try_cast({text} as bigint) "
            f"then try_cast({text} as bigint) end)"
        )
    return f"try_cast({text} as {DUCKDB_TYPES[col.type]})"


def _with_value(kind: str, value: str) -> str:
    """SQL for a reason text: kind='offending value' (the value cut to a readable length)."""
    return f"'{kind}=''' || left({value}, {MAX_VALUE_IN_REASON}) || ''''"


def _row_checks(spec: RawTable) -> list[tuple[str, str]]:
    """(condition, reason) pairs over _ingest_checked's columns; the first that holds wins."""
    checks: list[tuple[str, str]] = []
    blank = "({v} is null or trim({v}) = '')"
    for col in spec.columns:
        if col.required:
            v = _quote(col.name)
            checks.append((blank.format(v=v), f"'missing required value: {col.name}'"))
    kinds = {
        "bigint": "not an integer",
        "double": "not a number",
        "timestamp": "not a timestamp",
        "boolean": "not a boolean",
    }
    for col in spec.columns:
        v, typed = _quote(col.name), _typed_name(col)
        if col.type != "string":
            bad = f"{typed} is null and not {blank.format(v=v)}"
            checks.append((bad, _with_value(f"{kinds[col.type]}: {col.name}", v)))
        if col.type == "timestamp":
            future = f"{typed} > current_timestamp + {FUTURE_TOLERANCE}"
            checks.append((future, _with_value(f"timestamp in the future: {col.name}", v)))
        if col.non_negative:
            checks.append((f"{typed} < 0", _with_value(f"negative value: {col.name}", v)))
        if col.allowed_values:
            # list_contains, not IN: DuckDB plans an IN list of 4+ values as a join, which
            # does not keep the file's row order that line numbers are taken from
            allowed = ", ".join(f"'{a}'" for a in col.allowed_values)
            not_allowed = f"not list_contains([{allowed}], lower(trim({v})))"
            checks.append((not_allowed, _with_value(f"value not allowed: {col.name}", v)))
    return checks


def _key_columns(spec: RawTable) -> list[str]:
    """Primary-key columns compared as values (timestamps by instant, text as delivered)."""
    return [_typed_name(spec.column(name)) for name in spec.primary_key]


# ---------------------------------------------------------------------------------------------
# Loading one file


class FileRejected(Exception):
    """The file cannot be loaded at all (unreadable, or a required column is missing)."""


def _reader(path: Path) -> tuple[str, int]:
    """SQL reading the file as text (one ? parameter: the path) and the line of its first row.

    CSV lines that do not parse (wrong number of fields, bad quoting) are set aside by DuckDB in
    _ingest_reject_errors, so they are quarantined instead of failing the whole file.
    """
    if path.name.lower().endswith(PARQUET_SUFFIXES):
        return "(SELECT cast(columns(*) AS varchar) FROM read_parquet(?))", 1  # no header line
    csv = (
        "read_csv(?, header = true, all_varchar = true, store_rejects = true, "
        "rejects_table = '_ingest_reject_errors', rejects_scan = '_ingest_reject_scans')"
    )
    return csv, 2  # line 1 is the header


def _unreadable(source: str, exc: Exception) -> FileRejected:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return FileRejected(f"{source}: unreadable file: {message}")


def _file_columns(
    con: duckdb.DuckDBPyConnection, reader: str, path: Path, source: str
) -> list[str]:
    try:
        return [
            r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}", [str(path)]).fetchall()
        ]
    except duckdb.Error as exc:
        raise _unreadable(source, exc) from exc


def _map_columns(
    file_cols: list[str], spec: RawTable, source: str
) -> tuple[dict[str, str], list[str]]:
    """Match the file's header to the contract (case and surrounding spaces ignored).

    Returns contract column -> file column, and the extra file columns to keep as text.
    """
    by_name = {c.strip().lower(): c for c in file_cols}
    mapping = {c.name: by_name[c.name] for c in spec.columns if c.name in by_name}
    missing = [c for c in spec.required_columns if c not in mapping]
    if missing:
        raise FileRejected(
            f"{source}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} for table {spec.name} (file has: {', '.join(file_cols)})"
        )
    reserved = set(LOAD_COLUMNS) | set(QUARANTINE_COLUMNS)
    used = set(mapping.values())
    extras = [c for c in file_cols if c not in used and c.strip().lower() not in reserved]
    return mapping, extras


def _add_extra_columns(con: duckdb.DuckDBPyConnection, table: str, extras: list[str]) -> None:
    # Outside the file's transaction: an empty extra column left by a killed load is harmless.
    for target in (_raw(table), _quarantine(table)):
        for name in extras:
            con.execute(f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {_quote(name)} VARCHAR")


def _check_rows(
    con: duckdb.DuckDBPyConnection,
    spec: RawTable,
    path: Path,
    mapping: dict[str, str],
    extras: list[str],
    source: str,
) -> str:
    """Read the file into temp table _ingest_checked: text, typed values and reason per row.

    Each value is cast once; the checks and the insert into raw read the typed columns. The
    table's rowid is the order rows were read in (insertion order is preserved). Returns the
    SQL expression for a row's line number in the file (over _ingest_checked aliased c).
    """
    reader, first_line = _reader(path)
    text = [
        f"{_quote(mapping[c.name])} AS {_quote(c.name)}"
        if c.name in mapping
        else f"CAST(NULL AS varchar) AS {_quote(c.name)}"
        for c in spec.columns
    ] + [_quote(e) for e in extras]
    typed = [f"{_typed(c)} AS {_typed_name(c)}" for c in spec.columns if c.type != "string"]
    whens = "\n".join(f"WHEN {cond} THEN {reason}" for cond, reason in _row_checks(spec))
    con.execute("DROP TABLE IF EXISTS _ingest_reject_errors")
    con.execute("DROP TABLE IF EXISTS _ingest_reject_scans")
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _ingest_checked AS
            SELECT *, CASE {whens} END AS _reason
            FROM (SELECT *{"".join(", " + t for t in typed)} FROM (
                SELECT {", ".join(text)} FROM {reader}
            ))
            """,
            [str(path)],
        )
    except duckdb.Error as exc:
        raise _unreadable(source, exc) from exc
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ingest_rejects "
        "(line BIGINT, error_type VARCHAR, csv_line VARCHAR)"
    )
    rejects_exist = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_ingest_reject_errors'"
    ).fetchone()[0]
    if rejects_exist:
        con.execute(
            "INSERT INTO _ingest_rejects SELECT line, "
            "string_agg(DISTINCT lower(cast(error_type AS varchar)), ', '), any_value(csv_line) "
            "FROM _ingest_reject_errors GROUP BY line"
        )
    _mark_duplicates(con, spec)
    line = f"c.rowid + {first_line}"
    if not con.execute("SELECT count(*) FROM _ingest_rejects").fetchone()[0]:
        return line
    # A line the CSV reader rejected is not in _ingest_checked: the rows after it move down one.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ingest_shift AS SELECT line - row_number() OVER "
        f"(ORDER BY line) - {first_line} + 1 AS from_rowid FROM _ingest_rejects"
    )
    return f"{line} + (SELECT count(*) FROM _ingest_shift s WHERE s.from_rowid <= c.rowid)"


def _mark_duplicates(con: duckdb.DuckDBPyConnection, spec: RawTable) -> None:
    """Quarantine valid rows that repeat an earlier valid row's primary key with other content.

    A row identical to the first one with its key is a redelivery, not an error: it loads, and
    staging deduplicates it. A grouped pass finds the repeated keys (normally few), so only
    their rows are compared and updated.
    """
    keys = _key_columns(spec)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _ingest_dups AS SELECT {', '.join(keys)}, "
        f"min(rowid) AS _first_row FROM _ingest_checked WHERE _reason IS NULL "
        f"GROUP BY ALL HAVING count(*) > 1"
    )
    if not con.execute("SELECT count(*) FROM _ingest_dups").fetchone()[0]:
        return
    key_text = " || ', ' || ".join(f"coalesce(cast(r.{k} AS varchar), '')" for k in keys)
    reason = _with_value(f"duplicate primary key: {', '.join(spec.primary_key)}", key_text)
    match = " AND ".join(f"r.{k} = d.{k}" for k in keys)
    content = ", ".join(_quote(c.name) for c in spec.columns)
    content_of = ", ".join(f"{{t}}.{_quote(c.name)}" for c in spec.columns)
    con.execute(
        f"""
        UPDATE _ingest_checked c SET _reason = x._dup_reason
        FROM (
            SELECT r.rowid AS _row, {reason} AS _dup_reason
            FROM _ingest_checked r
            JOIN _ingest_dups d ON {match}
            JOIN (SELECT rowid AS _first_row, {content} FROM _ingest_checked) f
                ON f._first_row = d._first_row
            WHERE r.rowid > d._first_row AND r._reason IS NULL
                AND row({content_of.format(t="r")}) IS DISTINCT FROM row({content_of.format(t="f")})
        ) x
        WHERE c.rowid = x._row
        """
    )


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
    contract = [_quote(c.name) for c in spec.columns]
    extra = [_quote(e) for e in extras]
    typed = [_typed_name(c) for c in spec.columns]
    meta = [result.file, loaded_at]
    malformed = "'malformed CSV line: ' || error_type"
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"INSERT INTO {_raw(spec.name)} ({', '.join(contract + extra)}, "
            f"_source_file, _source_line, _loaded_at) "
            f"SELECT {', '.join(typed + extra)}, ?, {line}, ? "
            f"FROM _ingest_checked c WHERE _reason IS NULL",
            meta,
        )
        con.execute(
            f"INSERT INTO {_quarantine(spec.name)} ({', '.join(contract + extra)}, "
            f"_source_file, _source_line, _reason, _loaded_at) "
            f"SELECT {', '.join(contract + extra)}, ?, {line}, _reason, ? "
            f"FROM _ingest_checked c WHERE _reason IS NOT NULL",
            meta,
        )
        con.execute(
            f"INSERT INTO {_quarantine(spec.name)} "
            f"(_source_file, _source_line, _reason, _loaded_at) "
            f"SELECT ?, line, {malformed} || '=''' "
            f"|| left(csv_line, {MAX_VALUE_IN_REASON}) || '''', ? "
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
        f"INSERT INTO {LEDGER} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        f'SELECT count(*) FROM {LEDGER} WHERE "table" = ? AND content_hash = ? AND status = ?',
        [table, digest, LOADED],
    ).fetchone()
    return bool(row[0])


def _load_file(
    con: duckdb.DuckDBPyConnection, spec: RawTable, path: Path, digest: str, source: str
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
        reader, _ = _reader(path)
        mapping, extras = _map_columns(_file_columns(con, reader, path, source), spec, source)
        _add_extra_columns(con, spec.name, extras)
        line = _check_rows(con, spec, path, mapping, extras, source)
        _write_file(con, spec, extras, line, result, file_stat, loaded_at)
    except FileRejected as exc:
        result.status, result.error = REJECTED, str(exc)
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
    return [
        _load_file(con, spec, Path(path), digest, _source_name(Path(path), landing_dir))
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
    that cannot be read or lacks a required column is rejected with the reason, and the other
    files still load.
    """
    if table not in RAW_TABLES:
        raise ValueError(f"{table!r} is not a raw contract table ({', '.join(RAW_TABLES)})")
    ensure_raw_tables(con)
    return _load(con, table, [(Path(p), file_hash(Path(p))) for p in files], landing_dir)


def load_landing(
    landing_dir: Path, con: duckdb.DuckDBPyConnection, tables: list[str] | None = None
) -> list[FileLoadResult]:
    """Load every new file under landing_dir/<table>/ for the contract tables (or the given ones).

    Absent tables are created empty, so downstream models always find every raw table.
    """
    ensure_raw_tables(con)
    unknown = sorted(set(tables or []) - set(RAW_TABLES))
    if unknown:
        raise ValueError(f"not raw contract tables: {', '.join(unknown)}")
    new = find_new_files(Path(landing_dir), known_files(con), tables)
    results: list[FileLoadResult] = []
    for table in RAW_TABLES:  # contract order, so loads are deterministic
        if table in new:
            results.extend(_load(con, table, new[table], Path(landing_dir)))
    return results


def loaded_version(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A short hash of the file contents loaded into raw.<table>: changes only when data does."""
    row = con.execute(
        f"SELECT string_agg(content_hash, ',' ORDER BY content_hash) FROM {LEDGER} "
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
        lines += [f"  rejected: {r.error}" for r in mine if r.status == REJECTED]
    return "\n".join(lines) if lines else "no new files"


# ---------------------------------------------------------------------------------------------
# Validating loaded tables with great-expectations

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
    total = con.execute(f"SELECT count(*) FROM {_raw(spec.name)}").fetchone()[0]
    cols = ", ".join(
        f"lower(trim({_quote(c.name)})) AS {_quote(c.name)}" if c.allowed_values else _quote(c.name)
        for c in spec.columns
    )
    sample = f" USING SAMPLE reservoir({max_rows} ROWS) REPEATABLE (42)" if total > max_rows else ""
    frame = con.execute(f"SELECT {cols} FROM {_raw(spec.name)}{sample}").df()
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
    _use_utc(con)
    # nothing was ever loaded: the check fails rather than guessing
    if not table_exists(con, RAW_SCHEMA, table):
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
