"""Reading one landing file as text and checking its rows against the contract, in DuckDB SQL.

The file is read once into the temp table ``_ingest_checked``: its text columns, each value cast
once to its contract type, and per row the reason it breaks the contract (NULL when it is good).
The checks are one set-based CASE built from the contract, never a Python loop per row. CSV lines
that do not parse at all are collected in ``_ingest_rejects``; valid rows repeating an earlier
row's primary key with other content are marked as duplicates.

The file's own column names never reach that SQL: contract columns take their contract names and
extra columns positional names (``__extra_0``...), so a header such as ``rowid``, ``select`` or
``a"b`` cannot shadow DuckDB's pseudo-columns or break a statement.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.io.contract import DUCKDB_TYPES, LOAD_COLUMNS, Column, RawTable
from orchestration.io.ingestion import reading, timestamps
from orchestration.io.ingestion.raw_tables import QUARANTINE_COLUMNS, quote
from orchestration.io.ingestion.reading import (
    CONTROL_CHARACTERS,
    FileRejected,
    LongLines,
    higher_limit_left,
    long_lines,
    may_hold_control_characters,
    reader,
    unreadable,
)
from orchestration.io.ingestion.timestamps import TimestampBounds

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


def map_columns(
    file_cols: list[str], spec: RawTable, source: str, header: list[str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Match the file's header to the contract (case and surrounding spaces ignored).

    Returns contract column -> file column, and the extra file columns to keep as text. Two
    file columns naming the same contract column (``Email`` and ``email``) reject the file.
    """
    contract = set(spec.column_names)
    claims: dict[str, list[str]] = {}
    for c in header or file_cols:
        if c.strip().lower() in contract:
            claims.setdefault(c.strip().lower(), []).append(c)
    repeated = sorted(name for name, cols in claims.items() if len(cols) > 1)
    if repeated:
        raise FileRejected(
            f"{source}: column {', '.join(repeated)} appears more than once in the header "
            f"(file has: {', '.join(file_cols)})"
        )
    by_name = {c.strip().lower(): c for c in file_cols}
    mapping = {name: by_name[name] for name in claims if name in by_name}
    missing = [c for c in spec.required_columns if c not in mapping]
    if missing and any(len(c) > 1 and c[0] == c[-1] == '"' for c in file_cols):
        # the sniffer found no consistent quoting and read the header's quotes as text
        raise FileRejected(
            f"{source}: unbalanced quotes: the CSV reader could not use '\"' as the quote "
            f"character, so the header reads {', '.join(file_cols)}"
        )
    if missing:
        raise FileRejected(
            f"{source}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} for table {spec.name} (file has: {', '.join(file_cols)})"
        )
    reserved = {c.lower() for c in (*LOAD_COLUMNS, *QUARANTINE_COLUMNS)}
    used = set(mapping.values())
    extras = [c for c in file_cols if c not in used and c.strip().lower() not in reserved]
    return mapping, extras


# ---------------------------------------------------------------------------------------------
# SQL expressions built from the contract


def typed_name(col: Column) -> str:
    """Column of _ingest_checked holding the contract-typed value (strings need none)."""
    return quote(f"__typed__{col.name}") if col.type != "string" else quote(col.name)


def extra_name(position: int) -> str:
    """Column of _ingest_checked holding the file's extra column at this position, as text."""
    return quote(f"__extra_{position}")


def _typed(col: Column, zones: tuple[str, ...]) -> str:
    """The contract-typed value of a text column; NULL when blank or not castable."""
    if col.type == "timestamp":
        return timestamps.instant_expr(col.name, zones)
    # DuckDB's number casts accept surrounding spaces; only booleans need a trim.
    text = f"trim({quote(col.name)})" if col.type == "boolean" else quote(col.name)
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


def with_value(kind: str, value: str) -> str:
    """SQL for a reason text: kind='offending value' (cut to a readable length, controls shown
    as '?', so the reason itself is safe to store and show anywhere)."""
    kind = kind.replace("'", "''")
    shown = (
        f"regexp_replace(left({value}, {MAX_VALUE_IN_REASON}), '{CONTROL_CHARACTERS}', '?', 'g')"
    )
    return f"'{kind}=''' || {shown} || ''''"


def _row_checks(
    spec: RawTable, extras: list[str], bounds: TimestampBounds, controls: bool = True
) -> list[tuple[str, str]]:
    """(condition, reason) pairs over _ingest_checked's columns; the first that holds wins."""
    checks: list[tuple[str, str]] = []
    blank = "({v} is null or trim({v}) = '')"
    texts = [(c.name, quote(c.name)) for c in spec.columns]
    texts += [(name, extra_name(i)) for i, name in enumerate(extras)]
    # one search over the row's text finds the (rare) rows that hold one, then which column
    which = " ".join(
        f"WHEN regexp_matches({v}, '{CONTROL_CHARACTERS}') "
        f"THEN {with_value(f'control character in value: {label}', v)}"
        for label, v in texts
    )
    any_text = f"concat({', '.join(v for _, v in texts)})"
    if controls:
        checks.append((f"regexp_matches({any_text}, '{CONTROL_CHARACTERS}')", f"CASE {which} END"))
    for col in spec.columns:
        if col.required:
            v = quote(col.name)
            checks.append((blank.format(v=v), f"'missing required value: {col.name}'"))
    kinds = {"bigint": "not an integer", "double": "not a number", "boolean": "not a boolean"}
    for col in spec.columns:
        v, typed = quote(col.name), typed_name(col)
        not_blank = f"not {blank.format(v=v)}"
        if col.type == "timestamp":
            for cond, kind, value in timestamps.timestamp_checks(
                col.name, typed, not_blank, bounds
            ):
                checks.append((cond, with_value(kind, value)))
        elif col.type != "string":
            bad = f"{typed} is null and {not_blank}"
            checks.append((bad, with_value(f"{kinds[col.type]}: {col.name}", v)))
        if col.non_negative:
            checks.append((f"{typed} < 0", with_value(f"negative value: {col.name}", v)))
        if col.allowed_values:
            # list_contains, not IN: DuckDB plans an IN list of 4+ values as a join, which
            # does not keep the file's row order that line numbers are taken from
            allowed = ", ".join(f"'{a}'" for a in col.allowed_values)
            not_allowed = f"not list_contains([{allowed}], lower(trim({v})))"
            checks.append((not_allowed, with_value(f"value not allowed: {col.name}", v)))
    return checks


def _clean_row(spec: RawTable, extras: list[str], bounds: TimestampBounds, controls: bool) -> str:
    """A cheap condition that holds only for rows none of the checks would quarantine.

    Most rows are good: they skip the reason CASE (trims, lower-casing and a dozen conditions
    per row, most of a file's load time). It is sufficient, not necessary: a row it does not
    clear (a value with a leading space, an upper-case enumerated value) still gets the full
    CASE, so the reasons are exactly the checks' reasons. DuckDB's trim removes spaces only,
    so a non-empty value not starting with a space is not blank.
    """
    conds = []
    if controls:
        texts = ", ".join(
            [quote(c.name) for c in spec.columns] + [extra_name(i) for i in range(len(extras))]
        )
        conds.append(f"NOT regexp_matches(concat({texts}), '{CONTROL_CHARACTERS}')")
    for col in spec.columns:
        v, typed = quote(col.name), typed_name(col)
        if col.required:
            conds.append(f"{v} IS NOT NULL AND {v} <> '' AND NOT starts_with({v}, ' ')")
        if col.type == "timestamp":
            # a value that became an instant passed every timestamp check but the bounds
            conds.append(f"({v} IS NULL OR {timestamps.plausible(typed, bounds)})")
        elif col.type != "string":
            valid = ">= 0" if col.non_negative else "IS NOT NULL"
            conds.append(f"({v} IS NULL OR {typed} {valid})")
        if col.allowed_values:
            allowed = ", ".join(f"'{a}'" for a in col.allowed_values)
            conds.append(f"({v} IS NULL OR list_contains([{allowed}], {v}))")
    return " AND ".join(f"({c})" for c in conds) or "true"


def _key_columns(spec: RawTable) -> list[str]:
    """Primary-key columns compared as values (timestamps by instant, text as delivered)."""
    return [typed_name(spec.column(name)) for name in spec.primary_key]


# ---------------------------------------------------------------------------------------------
# Checking the rows


def check_rows(
    con: duckdb.DuckDBPyConnection,
    spec: RawTable,
    path: Path,
    read_path: str,
    mapping: dict[str, str],
    extras: list[str],
    source: str,
    bounds: TimestampBounds,
    max_line: int | None = None,
    reader_sql: str | None = None,
) -> str:
    """Read the file into temp table _ingest_checked: text, typed values and reason per row.

    Each value is cast once; the checks and the insert into raw read the typed columns. The
    table's rowid is the order rows were read in (insertion order is preserved). Returns the
    SQL expression for a row's line number in the file (over _ingest_checked aliased c).
    Raises LongLines when a line is longer than max_line (below MAX_LINE_BYTES), so the file is
    read again with the higher limit rather than quarantining that line. reader_sql, when given,
    reads the file (the dialect file_columns sniffed), else `reader` does.
    """
    default_sql, first_line = reader(path, max_line)
    reader_sql = reader_sql or default_sql
    max_line = max_line or reading.MAX_LINE_BYTES
    text = [
        f"{quote(mapping[c.name])} AS {quote(c.name)}"
        if c.name in mapping
        else f"CAST(NULL AS varchar) AS {quote(c.name)}"
        for c in spec.columns
    ] + [f"{quote(e)} AS {extra_name(i)}" for i, e in enumerate(extras)]
    stamps = [c.name for c in spec.columns if c.type == "timestamp"]
    fast = "".join(f", {timestamps.fast_expr(c)} AS {timestamps.fast_name(c)}" for c in stamps)
    parts = "".join(f", {timestamps.parts_expr(c)} AS {timestamps.parts_name(c)}" for c in stamps)
    local = "".join(f", {timestamps.local_expr(c)} AS {timestamps.local_name(c)}" for c in stamps)
    zones = timestamps.zone_names(con)
    typed = "".join(
        f", {_typed(c, zones)} AS {typed_name(c)}" for c in spec.columns if c.type != "string"
    )
    controls = may_hold_control_characters(path)
    checks = _row_checks(spec, extras, bounds, controls)
    whens = "\n".join(f"WHEN {cond} THEN {reason}" for cond, reason in checks)
    clean = _clean_row(spec, extras, bounds, controls)
    # only what the inserts read: the text, the typed values and the reason
    kept = [quote(c.name) for c in spec.columns] + [extra_name(i) for i in range(len(extras))]
    kept += [typed_name(c) for c in spec.columns if c.type != "string"]
    con.execute("DROP TABLE IF EXISTS _ingest_reject_errors")
    con.execute("DROP TABLE IF EXISTS _ingest_reject_scans")
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _ingest_checked AS
            SELECT {", ".join(kept)},
                CASE WHEN {clean} THEN NULL ELSE CASE {whens} END END AS _reason
            FROM (SELECT *{typed} FROM (SELECT *{local} FROM (SELECT *{parts} FROM (
                SELECT *{fast} FROM (SELECT {", ".join(text)} FROM {reader_sql})
            ))))
            """,
            [read_path],
        )
    except duckdb.Error as exc:
        if long_lines(exc, max_line):
            raise LongLines(source) from exc
        raise unreadable(source, exc, path) from exc
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ingest_rejects "
        "(line BIGINT, error_type VARCHAR, csv_line VARCHAR)"
    )
    rejects_exist = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_ingest_reject_errors'"
    ).fetchone()[0]
    if rejects_exist and higher_limit_left(max_line):
        too_long = con.execute(
            "SELECT count(*) FROM _ingest_reject_errors "
            "WHERE lower(cast(error_type AS varchar)) = 'line size over maximum'"
        ).fetchone()[0]
        if too_long:
            raise LongLines(source)
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
    staging deduplicates it. The repeated keys are found by grouping on a 64-bit hash of the key
    (far cheaper than grouping the key text); only the rows of a repeated hash (normally few)
    are then compared by their real key and content, against the first valid row with that key.
    """
    keys = _key_columns(spec)
    key_hash = f"hash({', '.join(keys)})"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _ingest_dups AS SELECT {key_hash} AS _key_hash "
        f"FROM _ingest_checked WHERE _reason IS NULL GROUP BY ALL HAVING count(*) > 1"
    )
    if not con.execute("SELECT count(*) FROM _ingest_dups").fetchone()[0]:
        return
    key_text = " || ', ' || ".join(f"coalesce(cast(r.{k} AS varchar), '')" for k in keys)
    reason = with_value(f"duplicate primary key: {', '.join(spec.primary_key)}", key_text)
    content = "row(" + ", ".join(f"r.{quote(c.name)}" for c in spec.columns) + ")"
    by_key = f"PARTITION BY {', '.join(f'r.{k}' for k in keys)} ORDER BY r.rowid"
    con.execute(
        f"""
        UPDATE _ingest_checked c SET _reason = x._dup_reason
        FROM (
            SELECT _row, _dup_reason FROM (
                SELECT r.rowid AS _row, {reason} AS _dup_reason, {content} AS _content,
                    first_value({content}) OVER ({by_key}) AS _first_content,
                    row_number() OVER ({by_key}) AS _nth
                FROM _ingest_checked r
                WHERE r._reason IS NULL
                    AND {key_hash.replace("(", "(r.", 1).replace(", ", ", r.")} IN (
                        SELECT _key_hash FROM _ingest_dups)
            )
            WHERE _nth > 1 AND _content IS DISTINCT FROM _first_content
        ) x
        WHERE c.rowid = x._row
        """
    )
