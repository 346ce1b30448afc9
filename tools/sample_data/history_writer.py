"""Writing a continuing history: `period_00/` (the initial history, as period 1) and then
`period_01/` .. `period_K/`, each holding only what happened in its D days.

Each chunk of companies is carried through every period by one worker (one chunk in memory at
a time); each period's truth is appended to its own `_truth/` in chunk order.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from orchestration.io.contract import RAW_TABLES
from tools.sample_data import writer
from tools.sample_data.defects import KIND_CODES
from tools.sample_data.history import MAX_PERIODS, MAX_SIGNUPS, SIGNUP_BASE, _advance, _start_ledger
from tools.sample_data.history_tables import _period_tables
from tools.sample_data.timeline import HISTORY_LIMIT, history_span
from tools.sample_data.truth import TRUTH_DIR, _history_truth_files, _period_truth, _truth_files
from tools.sample_data.vocabulary import ARCHETYPES

MIN_PERIOD_DAYS = 7


def period_dir(out_dir: Path, period: int) -> Path:
    """The landing folder of one history period: `period_00`, `period_01`, ..."""
    return Path(out_dir) / f"period_{period:02d}"


def _history_chunk(args: tuple[int, int, int, int, int, int, str]) -> dict:
    """Generate and write one chunk through every period; return each period's result."""
    seed, chunk, first, n, periods, period_days, out = args
    out_dir = Path(out)
    initial, (co, bh, tables, ids) = writer._initial_chunk(
        seed, 1, chunk, first, n, period_dir(out_dir, 0)
    )
    ledger = _start_ledger(co, bh, tables, ids[2])
    del tables
    results = [initial]
    for period in range(1, periods + 1):
        changes = _advance(ledger, seed, chunk, period, history_span(period, period_days))
        tables = _period_tables(ledger, changes, seed, chunk, period)
        rng_defects = np.random.default_rng([seed, chunk, 300, period])
        rows, malformed, bad = writer._write_tables(
            tables, period_dir(out_dir, period), f"h{period:02d}", chunk, rng_defects
        )
        results.append(
            {
                "rows": rows,
                "malformed": malformed,
                "bad": bad,
                **_period_truth(ledger, changes, tables),
            }
        )
    return {"periods": results, "n": n}


def _check(accounts: int, periods: int, period_days: int) -> None:
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    if not 0 <= periods < MAX_PERIODS:
        raise ValueError(f"periods must be between 0 and {MAX_PERIODS - 1}, got {periods}")
    if period_days < MIN_PERIOD_DAYS:
        raise ValueError(f"period_days must be at least {MIN_PERIOD_DAYS}, got {period_days}")
    chunks = -(-accounts // writer.CHUNK_ACCOUNTS)
    if SIGNUP_BASE + chunks * MAX_PERIODS * MAX_SIGNUPS >= 2**25:  # user ids stay a bijection
        raise ValueError(f"at most {(2**25 - SIGNUP_BASE) // MAX_PERIODS // MAX_SIGNUPS} chunks")
    if periods:
        end = datetime.fromtimestamp(history_span(periods, period_days).end, UTC)
        limit = min(HISTORY_LIMIT, datetime.now(UTC))
        if end > limit:
            raise ValueError(
                f"{periods} periods of {period_days} days end on {end:%Y-%m-%d}, after "
                f"{limit:%Y-%m-%d}: the history must stay in the past"
            )


def generate_history(
    out_dir: Path,
    accounts: int,
    seed: int = 42,
    periods: int = 6,
    period_days: int = 30,
    show_progress: bool = False,
) -> dict:
    """Write `period_00/` (the initial history) and `periods` continuing periods of
    `period_days` days under `out_dir`; return a summary with rows and malformed rows per kind
    for each period (`periods`: a list, index = period) and the parameters used."""
    _check(accounts, periods, period_days)
    out_dir = Path(out_dir)
    for old in out_dir.glob("period_*"):  # a re-run replaces the whole history
        if old.is_dir():
            shutil.rmtree(old)
    truth = [
        writer._TruthFiles(
            period_dir(out_dir, p) / TRUTH_DIR,
            _truth_files(1) if p == 0 else _history_truth_files(),
        )
        for p in range(periods + 1)
    ]
    rows = [Counter() for _ in truth]
    bad = [Counter() for _ in truth]
    archetypes = [Counter() for _ in truth]

    def collect(res: dict) -> None:
        for p, part in enumerate(res["periods"]):
            rows[p].update(part["rows"])
            bad[p].update(part["bad"])
            archetypes[p].update(c[1] for c in part["companies"])
            truth[p].add(part)

    chunks = [
        (seed, i, first, min(writer.CHUNK_ACCOUNTS, accounts - first), periods, period_days)
        + (str(out_dir),)
        for i, first in enumerate(range(0, accounts, writer.CHUNK_ACCOUNTS))
    ]
    try:
        writer._run_chunks(_history_chunk, chunks, accounts, show_progress, collect)
    finally:
        for t in truth:
            t.close()
    return {
        "out_dir": str(out_dir),
        "accounts": accounts,
        "seed": seed,
        "period_days": period_days,
        "periods": [
            {
                "dir": str(period_dir(out_dir, p)),
                "rows": {name: rows[p].get(name, 0) for name in RAW_TABLES},
                "malformed": {k: bad[p].get(k, 0) for k in KIND_CODES[1:]},
                "archetypes": {a: archetypes[p].get(a, 0) for a in ARCHETYPES},
            }
            for p in range(periods + 1)
        ],
    }
