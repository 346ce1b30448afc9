"""Writing a landing directory: chunks of `CHUNK_ACCOUNTS` companies generated in a worker pool,
one CSV per table and chunk (`<table>_p<period>_<NNN>.csv`), truth rows appended to `_truth/`.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from tqdm import tqdm

from orchestration.io.contract import RAW_TABLES
from tools.sample_data.chunk import _build_chunk
from tools.sample_data.defects import KIND_CODES, _plant_defects
from tools.sample_data.timeline import PERIOD_STARTS
from tools.sample_data.truth import TRUTH_DIR, _chunk_truth, _truth_files
from tools.sample_data.vocabulary import ARCHETYPES

CHUNK_ACCOUNTS = 1250


def _write_csv(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def _csv_line(values) -> str:
    out = []
    for v in values:
        s = str(v)
        if any(ch in s for ch in ',"\n') or s != s.strip():
            s = '"' + s.replace('"', '""') + '"'
        out.append(s)
    return ",".join(out) + "\n"


def _write_tables(
    tables: dict[str, dict], out_dir: Path, file_tag: str, chunk: int, rng: np.random.Generator
) -> tuple[dict, list, Counter]:
    """Plant defects in every table and write it as `<table>/<table>_<file_tag>_<chunk>.csv`;
    return rows per table, the malformed rows (table, file, line, kind) and counts per kind."""
    rows, malformed, bad = {}, [], Counter()
    for name, spec in RAW_TABLES.items():
        cols = tables[name]
        order = cols.get("_order", np.arange(len(cols["_company"])))
        table, kinds, _ = _plant_defects(spec, cols, np.asarray(order), rng)
        file_name = f"{name}_{file_tag}_{chunk:03d}.csv"
        _write_csv(table, out_dir / name / file_name)
        rows[name] = table.num_rows
        for line in np.flatnonzero(kinds):
            malformed.append((name, file_name, int(line) + 2, KIND_CODES[kinds[line]]))
            bad[KIND_CODES[kinds[line]]] += 1
    return rows, malformed, bad


def _initial_chunk(seed: int, period: int, chunk: int, first: int, n: int, out_dir: Path):
    """Generate and write one chunk of a period; return its result and what was built."""
    co, bh, tables, outcomes, ids = _build_chunk(seed, period, chunk, first, n)
    rng_defects = np.random.default_rng([seed, chunk, 200 + period])
    rows, malformed, bad = _write_tables(tables, out_dir, f"p{period}", chunk, rng_defects)
    result = {
        "rows": rows,
        "malformed": malformed,
        "bad": bad,
        **_chunk_truth(co, bh, tables, outcomes, ids),
        "n": n,
    }
    return result, (co, bh, tables, ids)


def _generate_chunk(args: tuple[int, int, int, int, int, str]) -> dict:
    """Generate and write one chunk; return its truth rows and counts (picklable)."""
    seed, period, chunk, first, n, out = args
    return _initial_chunk(seed, period, chunk, first, n, Path(out))[0]


class _TruthFiles:
    """The truth CSVs of one output directory, written row by row as chunk results arrive."""

    def __init__(self, truth_dir: Path, files: dict[str, tuple[list[str], str]]):
        truth_dir.mkdir(parents=True, exist_ok=True)
        self.keys = list(files)
        self.handles = {
            k: open(truth_dir / f, "w", encoding="utf-8", newline="") for k, (_, f) in files.items()
        }
        for key, (header, _) in files.items():
            self.handles[key].write(_csv_line(header))

    def add(self, result: dict) -> None:
        for key in self.keys:
            self.handles[key].writelines(_csv_line(r) for r in result[key])

    def close(self) -> None:
        for h in self.handles.values():
            h.close()


def _run_chunks(task, chunks: list, total: int, show_progress: bool, on_result) -> None:
    """Run `task` over the chunks in a pool of at most two workers, in chunk order."""
    workers = min(2, os.cpu_count() or 1, len(chunks))
    import pandas  # noqa: F401  pyarrow imports it on first use; once here, not in every worker

    with tqdm(total=total, unit="acct", disable=not show_progress, desc="sample data") as bar:
        if workers > 1:
            pool = ProcessPoolExecutor(max_workers=workers)
            results = pool.map(task, chunks)
        else:
            pool, results = None, map(task, chunks)
        try:
            for res in results:
                on_result(res)
                bar.update(res["n"])
        finally:
            if pool is not None:
                pool.shutdown()


def generate(
    out_dir: Path, accounts: int, seed: int = 42, period: int = 1, show_progress: bool = False
) -> dict:
    """Write sample landing files and ground truth for `accounts` companies; return a summary.

    The summary holds rows written per table (`rows`), planted malformed rows per kind
    (`malformed`), companies per archetype (`archetypes`) and the parameters used.
    """
    if period not in PERIOD_STARTS:
        raise ValueError(f"period must be 1 or 2, got {period}")
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    out_dir = Path(out_dir)
    truth = out_dir / TRUTH_DIR
    truth.mkdir(parents=True, exist_ok=True)
    for name in RAW_TABLES:  # a re-run replaces this period's files
        for old in (out_dir / name).glob(f"{name}_p{period}_*.csv"):
            old.unlink()
    chunks = [
        (seed, period, i, first, min(CHUNK_ACCOUNTS, accounts - first), str(out_dir))
        for i, first in enumerate(range(0, accounts, CHUNK_ACCOUNTS))
    ]
    if period != 2:
        (truth / "migrations.csv").unlink(missing_ok=True)
    truth_files = _TruthFiles(truth, _truth_files(period))
    rows: Counter = Counter()
    bad: Counter = Counter()
    archetypes: Counter = Counter()

    def collect(res: dict) -> None:
        rows.update(res["rows"])
        bad.update(res["bad"])
        archetypes.update(c[1] for c in res["companies"])
        truth_files.add(res)

    try:
        _run_chunks(_generate_chunk, chunks, accounts, show_progress, collect)
    finally:
        truth_files.close()
    return {
        "out_dir": str(out_dir),
        "accounts": accounts,
        "seed": seed,
        "period": period,
        "rows": {name: rows.get(name, 0) for name in RAW_TABLES},
        "malformed": {k: bad.get(k, 0) for k in KIND_CODES[1:]},
        "archetypes": {a: archetypes.get(a, 0) for a in ARCHETYPES},
    }
