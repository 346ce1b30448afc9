"""Opening one landing file for DuckDB: the path it reads, the reader SQL, the file's columns,
and the file-level reasons a file cannot be read.

The file is read through a symlink with a plain name, so ``*``, ``?`` and ``[`` in its name are
never expanded as a glob; a UTF-16 CSV is read from a UTF-8 copy. Lines up to MAX_LINE_BYTES are
read (DuckDB's default is 2 MB); a longer line is quarantined, or, when the CSV sniffer meets it,
rejects the file with its line number. A CSV is read with DuckDB's own 2 MB limit first, and again
with MAX_LINE_BYTES only when a line is longer (`line_limits`): a reader whose buffer must hold a
32 MB line costs a third more per file, on every file.
"""

from __future__ import annotations

import codecs
import gzip
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration.io.ingestion.landing import CSV_SUFFIXES, PARQUET_SUFFIXES

MAX_LINE_BYTES = 32 << 20
FIRST_LINE_BYTES = 2 << 20  # the limit of a CSV's first read: DuckDB's default
# C0 control characters but tab, newline and carriage return (which quoted fields may hold):
# a NUL in a value later breaks the PostgreSQL sync for everyone.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r")


class FileRejected(Exception):
    """The file cannot be loaded at all (unreadable, or a required column is missing)."""


class LongLines(Exception):
    """A line is longer than the limit this read used: read the file again with a higher one."""


def line_limits(path: Path) -> tuple[int, ...]:
    """The line limits to read the file with, in turn, until a read meets no longer line."""
    first = min(FIRST_LINE_BYTES, MAX_LINE_BYTES)
    if path.name.lower().endswith(PARQUET_SUFFIXES) or first >= MAX_LINE_BYTES:
        return (MAX_LINE_BYTES,)
    return first, MAX_LINE_BYTES


def higher_limit_left(max_line: int) -> bool:
    """A read with this line limit may be redone with a higher one (MAX_LINE_BYTES)."""
    return max_line < MAX_LINE_BYTES


def long_lines(exc: Exception, max_line: int) -> bool:
    """This error is a line longer than max_line, and a higher limit is left to read it with."""
    return higher_limit_left(max_line) and "line size" in str(exc).lower()


@contextmanager
def readable(path: Path) -> Iterator[str]:
    """A path DuckDB reads as exactly this file: a symlink with a plain name in a temp folder.

    DuckDB expands ``*``, ``?`` and ``[`` in a path as a glob (in the file's name or any folder
    above it), which would read a sibling's rows under this file's name. A CSV starting with a
    UTF-16 byte-order mark is given as a UTF-8 copy instead: DuckDB's sniffer does not detect
    UTF-16, and its utf-16 reader reads a big-endian file as no rows at all.
    """
    name = path.name.lower()
    suffix = next((s for s in (*PARQUET_SUFFIXES, *CSV_SUFFIXES[::-1]) if name.endswith(s)), "")
    with tempfile.TemporaryDirectory(prefix="ingest_") as folder:
        link = Path(folder) / f"file{suffix}"
        with path.open("rb") as handle:
            utf16 = handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        if utf16 and suffix == ".csv":
            with (
                path.open(encoding="utf-16", newline="") as source,
                link.open("w", encoding="utf-8", newline="") as copy,
            ):
                shutil.copyfileobj(source, copy, 1 << 20)
        else:
            link.symlink_to(Path(path).resolve())
        yield str(link)


def reader(path: Path, max_line: int | None = None) -> tuple[str, int]:
    """SQL reading the file as text (one ? parameter: the path) and the line of its first row.

    CSV lines that do not parse (wrong number of fields, bad quoting, longer than max_line,
    MAX_LINE_BYTES by default) are set aside by DuckDB in _ingest_reject_errors, so they are
    quarantined instead of failing the whole file.
    """
    if path.name.lower().endswith(PARQUET_SUFFIXES):
        return "(SELECT cast(columns(*) AS varchar) FROM read_parquet(?))", 1  # no header line
    csv = (
        "read_csv(?, header = true, all_varchar = true, store_rejects = true, "
        f"max_line_size = {max_line or MAX_LINE_BYTES}, "
        "rejects_table = '_ingest_reject_errors', rejects_scan = '_ingest_reject_scans')"
    )
    return csv, 2  # line 1 is the header


def _first_long_line(path: Path) -> tuple[int, int] | None:
    """(line number, bytes) of the file's first line longer than MAX_LINE_BYTES, if any."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    line, size = 1, 0
    with opener(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                if size + end - start > MAX_LINE_BYTES:
                    return line, size + end - start
                line, size, start = line + 1, 0, end + 1
            size += len(chunk) - start
    return (line, size) if size > MAX_LINE_BYTES else None


def may_hold_control_characters(path: Path) -> bool:
    """False only for a plain CSV file without a control byte, whose rows need no such check.

    A byte scan runs at disk speed, while a per-value search in SQL costs about a third of the
    whole load; Parquet and gzip bytes say nothing about the values, so those are checked.
    """
    if not path.name.lower().endswith(".csv"):
        return True
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk):  # C speed, unlike re
                return True
    return False


def load_failure(exc: BaseException) -> BaseException | None:
    """The failure of the load behind exc, not of the file (out of memory, interrupted), also
    when a reader wrapped it as unreadable; None when the file is the reason. The same content
    may load on the next run, so such a file must not be recorded as rejected."""
    cause = exc.__cause__ if isinstance(exc, FileRejected) and exc.__cause__ else exc
    failed = isinstance(cause, duckdb.OutOfMemoryException | duckdb.InterruptException)
    return cause if failed else None


def unreadable(source: str, exc: Exception, path: Path | None = None) -> FileRejected:
    """The file-level reason: DuckDB's message without its dialect dump, or the long line."""
    text = str(exc).strip()
    if path is not None and "line size" in text.lower():
        long_line = _first_long_line(path)
        if long_line:
            return FileRejected(
                f"{source}: line {long_line[0]} is {long_line[1]:,} bytes, longer than the "
                f"maximum line size of {MAX_LINE_BYTES:,} bytes"
            )
    lines = []
    for line in text.splitlines():
        if not line.strip():
            break  # DuckDB appends the sniffed dialect after a blank line
        if not line.startswith("Original Line"):
            lines.append(line.strip())
    message = " ".join(lines)[:300] or type(exc).__name__
    return FileRejected(f"{source}: unreadable file: {message}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sniffed(
    con: duckdb.DuckDBPyConnection, read_path: str, max_line: int
) -> tuple[str, list[str]]:
    """The CSV's dialect as the sniffer finds it, once: a reader SQL that reads the file with
    it and without sniffing again (one ? parameter: the path), and the file's column names.

    The sniffer is given the reader's own options: with rejects stored it tolerates a bad line
    where it would otherwise settle on another dialect.
    """
    row = con.execute(
        "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, Columns "
        f"FROM sniff_csv(?, header = true, all_varchar = true, max_line_size = {max_line}, "
        "store_rejects = true, rejects_table = '_ingest_reject_errors', "
        "rejects_scan = '_ingest_reject_scans')",
        [read_path],
    ).fetchone()
    delim, quote_char, escape, new_line, comment, skip, columns = (
        "" if v == "(empty)" else v for v in row
    )
    names = [c["name"] for c in columns]
    types = ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names)
    sql = (
        "read_csv(?, auto_detect = false, header = true, "
        f"delim = {_literal(delim)}, quote = {_literal(quote_char)}, "
        f"escape = {_literal(escape)}, new_line = {_literal(new_line)}, "
        f"comment = {_literal(comment)}, skip = {int(skip or 0)}, columns = {{{types}}}, "
        f"all_varchar = true, store_rejects = true, max_line_size = {max_line}, "
        "rejects_table = '_ingest_reject_errors', rejects_scan = '_ingest_reject_scans')"
    )
    return sql, names


def file_columns(
    con: duckdb.DuckDBPyConnection,
    reader_sql: str,
    read_path: str,
    path: Path,
    source: str,
    max_line: int | None = None,
) -> tuple[list[str], list[str] | None, str]:
    """The file's column names as DuckDB reads them, the header line itself when needed, and
    the reader SQL to read its rows with (for a CSV, the dialect sniffed here, so the file is
    sniffed once).

    DuckDB renames a repeated header name (``a``, ``a_1``); when a name looks renamed, the header
    line is read as it is, so a repeated contract column is caught rather than taken as an extra.
    Raises LongLines when the sniffer meets a line longer than max_line (below MAX_LINE_BYTES).
    """
    max_line = max_line or MAX_LINE_BYTES
    try:
        if path.name.lower().endswith(PARQUET_SUFFIXES):
            cols = [
                r[0]
                for r in con.execute(f"DESCRIBE SELECT * FROM {reader_sql}", [read_path]).fetchall()
            ]
            return cols, None, reader_sql
        reader_sql, cols = _sniffed(con, read_path, max_line)
        lower = {c.lower() for c in cols}
        renamed = [c for c in cols if re.sub(r"_\d+$", "", c).lower() in lower - {c.lower()}]
        if not renamed:
            return cols, None, reader_sql
        header = con.execute(
            "SELECT * FROM read_csv(?, header = false, all_varchar = true, "
            f"max_line_size = {MAX_LINE_BYTES}) LIMIT 1",
            [read_path],
        ).fetchone()
        return cols, [h or "" for h in header or ()], reader_sql
    except duckdb.Error as exc:
        if long_lines(exc, max_line):
            raise LongLines(source) from exc
        raise unreadable(source, exc, path) from exc
