"""The landing folder: which data files it holds, which are new by content hash, which still wait.

Every data file under ``LANDING_DIR/<table>/`` (recursively) belongs to that contract table. A
file is identified by the sha256 of its bytes, never by its size and modification time (``cp -p``
and ``rsync -t`` keep both while changing the content). A scan re-uses a hash it made before
(stored in ``raw._landing_digests``) only while the file's size, modification time, inode change
time (ctime) and inode are all unchanged: the kernel sets ctime on every write and no copy tool can
set it back, and a replaced file has a new inode. So a daily run reads only new or changed files,
not the whole history (100,000 accounts: 4.3 GB took 4.5-12 s to hash on every run before);
INGEST_REUSE_FILE_HASHES=0 hashes every file, for filesystems that do not keep ctime. A file
that may still be being written waits for a later run instead of loading truncated: it has a
temporary name (``.part``, ``.tmp``, ``.crdownload``, ``~``, a leading ``.`` or ``~$``), or it was
modified within the settle interval and changed again while the scan looked.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.io import settings
from orchestration.io.contract import RAW_TABLES
from orchestration.io.tables import LANDING_DIGESTS, LOAD_LEDGER
from orchestration.io.warehouse import table_exists

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
DATA_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES
# What downloaders, editors and copy tools name a file while they write it.
TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", "~")
TEMP_PREFIXES = (".", "~$")


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes, read in chunks so large files never sit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _is_data_name(name: str) -> bool:
    return name.lower().endswith(DATA_SUFFIXES)


def temporary_name(name: str) -> bool:
    """A data file's name while it is being written: ``x.csv.part``, ``.x.csv``, ``~$x.csv``."""
    lower = name.lower()
    if lower.startswith(TEMP_PREFIXES):
        return _is_data_name(lower.lstrip(".~$"))
    return any(lower.endswith(s) and _is_data_name(lower.removesuffix(s)) for s in TEMP_SUFFIXES)


def _is_data_file(path: Path) -> bool:
    # "_" starts markers such as _SUCCESS; those and temporary names are never data.
    name = path.name
    return (
        path.is_file()
        and not name.startswith("_")
        and not temporary_name(name)
        and _is_data_name(name)
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
    """What the ledger says was already seen: (table, content hash) pairs."""

    hashes: set[tuple[str, str]] = field(default_factory=set)


def known_files(con: duckdb.DuckDBPyConnection, look_again: Iterable[str] = ()) -> KnownFiles:
    """What the load ledger has seen (empty when nothing was ever loaded), leaving out the
    contents whose every ledger row has a status in `look_again` (e.g. failed loads)."""
    if not table_exists(con, *LOAD_LEDGER):
        return KnownFiles()
    statuses = list(look_again) or [""]  # an empty list parameter has no type to bind
    rows = con.execute(
        f'select "table", content_hash from {LOAD_LEDGER.sql} group by all '
        "having bool_or(not list_contains(?, status))",
        [statuses],
    ).fetchall()
    return KnownFiles(hashes={(table, digest) for table, digest in rows})


@dataclass(frozen=True)
class WaitingFile:
    """A landing file left for a later run because it may still be being written."""

    table: str
    file: str
    reason: str


# A file's identity on disk when it was hashed: size, mtime_ns, ctime_ns, inode.
Fingerprint = tuple[int, int, int, int]
# A file's content hash by path, with the fingerprint it was hashed at.
Digests = dict[str, tuple[int, int, int, int, str]]


@dataclass
class LandingScan:
    """New files per table (with their content hash), the files that wait for a later run, and
    the content hash of every settled file (to pass to the next scan)."""

    new: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)
    waiting: list[WaitingFile] = field(default_factory=list)
    digests: Digests = field(default_factory=dict)
    files_hashed: int = 0  # files read to hash them (the others' hash was re-used)


def _stat_key(path: Path, with_ctime: bool = True) -> Fingerprint | None:
    """(size, mtime, ctime, inode); without ctime and inode (0, 0) where they are not trusted."""
    try:
        stat = path.stat()
    except FileNotFoundError:  # renamed or removed while we looked
        return None
    if not with_ctime:
        return stat.st_size, stat.st_mtime_ns, 0, 0
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


def _temporary_files(landing_dir: Path, tables: Iterable[str]) -> list[WaitingFile]:
    waiting = []
    for table in tables:
        folder = Path(landing_dir) / table
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and temporary_name(path.name):
                    waiting.append(
                        WaitingFile(
                            table,
                            source_name(path, landing_dir),
                            "temporary name: still being written",
                        )
                    )
    return waiting


def scan_landing(
    landing_dir: Path,
    known: KnownFiles,
    tables: Iterable[str] | None = None,
    settle_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    digests: Digests | None = None,
) -> LandingScan:
    """The files whose content hash the ledger does not hold, and those that must wait.

    A file modified within the last settle_seconds (INGEST_SETTLE_SECONDS) is looked at again
    after that interval (one pause per scan); if its fingerprint changed, or
    changed while it was hashed, it waits for the next run. `digests` (an earlier scan's) spares
    re-reading a file whose path and fingerprint (size, mtime, ctime, inode) are unchanged: a
    landing folder only grows, and the sensor looks at it every 30 seconds.
    """
    # without re-use, ctime and inode are not trusted either (a filesystem that does not keep
    # ctime may report it as now, and every file would look still written)
    reuse = settings.ingest_reuse_file_hashes()
    digests = (digests or {}) if reuse else {}
    tables = list(tables or RAW_TABLES)
    settle = settings.ingest_settle_seconds() if settle_seconds is None else settle_seconds
    scan = LandingScan(waiting=_temporary_files(landing_dir, tables))
    candidates = [(t, p) for t, files in landing_files(landing_dir, tables).items() for p in files]
    before = {p: _stat_key(p, reuse) for _, p in candidates}
    now_ns = time.time_ns()
    # written (mtime) or replaced / restamped (ctime) within the settle interval; future times
    # (clock skew) count as fresh too. A fresh file is always hashed, never trusted by fingerprint.
    fresh = {p for p, key in before.items() if key and now_ns - max(key[1], key[2]) < settle * 1e9}
    if fresh:
        sleep(settle)
    for table, path in candidates:
        source = source_name(path, landing_dir)
        if before[path] is None:
            continue
        if path in fresh and _stat_key(path, reuse) != before[path]:
            scan.waiting.append(
                WaitingFile(table, source, f"still being written: changed within {settle:g} s")
            )
            continue
        fingerprint = before[path]
        cached = digests.get(str(path))
        if cached is not None and tuple(cached[:4]) == fingerprint and path not in fresh:
            digest = cached[4]
        else:
            digest = file_hash(path)
            scan.files_hashed += 1
            if _stat_key(path, reuse) != fingerprint:
                scan.waiting.append(
                    WaitingFile(table, source, "still being written: changed while read")
                )
                continue
        # kept for the next scan. A rewrite within the same coarse clock tick (1-10 ms) as the
        # change this fingerprint saw would keep it, but a file changed within the settle interval
        # is hashed only after the pause, so the hash is always more than a tick after that change
        scan.digests[str(path)] = (*fingerprint, digest)
        if (table, digest) not in known.hashes:
            scan.new.setdefault(table, []).append((path, digest))
    return scan


def stored_digests(con: duckdb.DuckDBPyConnection) -> Digests:
    """The content hashes the last load run made, by path (none before the first)."""
    if not table_exists(con, *LANDING_DIGESTS):
        return {}
    rows = con.execute(
        f"select path, size, mtime_ns, ctime_ns, inode, content_hash from {LANDING_DIGESTS.sql}"
    ).fetchall()
    return {path: tuple(rest) for path, *rest in rows}


def store_digests(con: duckdb.DuckDBPyConnection, digests: Digests, stored: Digests) -> None:
    """Keep a scan's hashes for the next run in place of the last run's (`stored`, as
    stored_digests read them); nothing is written when they are the same: a run with nothing new
    writes nothing."""
    if stored == digests and table_exists(con, *LANDING_DIGESTS):
        return
    paths = sorted(digests)
    columns = list(zip(*(digests[p] for p in paths), strict=True)) if paths else [[]] * 5
    # one statement from column lists: a row at a time costs milliseconds each
    con.execute(
        f"create or replace table {LANDING_DIGESTS.sql} as select "
        "unnest(?::varchar[]) as path, unnest(?::bigint[]) as size, "
        "unnest(?::bigint[]) as mtime_ns, unnest(?::bigint[]) as ctime_ns, "
        "unnest(?::ubigint[]) as inode, unnest(?::varchar[]) as content_hash",
        [paths, *(list(c) for c in columns)],
    )


def find_new_files(
    landing_dir: Path,
    known: KnownFiles,
    tables: Iterable[str] | None = None,
    settle_seconds: float | None = None,
) -> dict[str, list[tuple[Path, str]]]:
    """Files whose content hash the ledger does not hold, with their hash (settled files only)."""
    return scan_landing(landing_dir, known, tables, settle_seconds).new


def new_landing_files(landing_dir: Path, con: duckdb.DuckDBPyConnection) -> dict[str, list[Path]]:
    """Per contract table, the landing files whose content hash is not in the load ledger.

    Tables without new files are left out, so an empty dict means nothing to load.
    """
    new = find_new_files(landing_dir, known_files(con))
    return {table: [path for path, _ in files] for table, files in new.items()}
