"""The landing folder: which data files it holds, their content hashes, and which are new.

Every data file under ``LANDING_DIR/<table>/`` (recursively) belongs to that contract table. A
file is new when the load ledger holds no row with its table and content hash; the ledger's
(file, size, mtime) triples let a scan skip hashing files it has seen, so the landing sensor
stays cheap on folders of many gigabytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.io.contract import RAW_TABLES
from orchestration.io.tables import LOAD_LEDGER
from orchestration.io.warehouse import table_exists

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


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


def source_name(path: Path, landing_dir: Path | None) -> str:
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
    if not table_exists(con, *LOAD_LEDGER):
        return KnownFiles(set(), set())
    rows = con.execute(
        f'select "table", content_hash, file, file_size, file_mtime_ns from {LOAD_LEDGER.sql}'
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
    hashing it again.
    """
    new: dict[str, list[tuple[Path, str]]] = {}
    for table, files in landing_files(landing_dir, tables).items():
        for path in files:
            stat = path.stat()
            source = source_name(path, landing_dir)
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
