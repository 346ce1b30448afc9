"""The benchmark's yardstick (tools/bench_reference.py) and the ratios `make bench` prints."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tools.bench import _ratios
from tools.bench_reference import run
from tools.sample_data import generate


def test_reference_script_builds_one_row_per_crm_account(tmp_path: Path) -> None:
    summary = generate(tmp_path / "landing", accounts=40, seed=7)
    report = run(tmp_path / "landing", tmp_path / "reference.duckdb")

    # malformed rows are dropped and redelivered events kept once: fewer rows than written
    assert 0 < report["rows"]["product_events"] < summary["rows"]["product_events"]
    con = duckdb.connect(str(tmp_path / "reference.duckdb"), read_only=True)
    ids, rows, active = con.execute(
        "SELECT count(DISTINCT account_id), count(*), count(*) FILTER (WHERE events_90d > 0) "
        "FROM ref.customer_attributes"
    ).fetchone()
    assert ids == rows == report["customers"] >= 40
    assert active > 0  # the identity joins reach the product events


def test_ratios_compare_load_and_dbt_with_the_reference_of_the_same_run() -> None:
    results = [
        {"stage": "load", "status": "ok", "wall_s": 30.0, "peak_mb": 900.0},
        {"stage": "dbt", "status": "ok", "wall_s": 50.0, "peak_mb": 2500.0},
        {"stage": "reference", "status": "ok", "wall_s": 20.0, "peak_mb": 1200.0},
    ]
    lines = _ratios(results)
    assert "reference (20.0 s, peak 1200.0 MB)" in lines[0]
    assert [line.split()[-4] for line in lines[1:]] == ["1.5x", "2.5x", "4.0x"]
    assert lines[-1].split()[-2] == "2500.0"  # peak of the two stages, not their sum
    assert _ratios(results[:2]) == []  # no reference, no ratio


def test_a_reference_out_of_memory_says_so_and_how_to_measure_it(tmp_path, monkeypatch) -> None:
    """At 100,000 accounts the hand-written script's window dedup does not fit in the pipeline's
    3GB: the stage says which limit it ran out of and how to give it more."""
    import pytest

    from tools.bench import REFERENCE_MEMORY_LIMIT_ENV, reference_stage

    generate(tmp_path / "landing", accounts=40, seed=7)
    monkeypatch.setenv(REFERENCE_MEMORY_LIMIT_ENV, "4MB")
    with pytest.raises(SystemExit) as stopped:
        reference_stage(tmp_path, 40)
    message = str(stopped.value)
    assert message.startswith("[bench] reference: out of memory under a 4MB limit (Out of Memory")
    assert message.endswith("give it more: --reference-memory-limit 16GB")
    monkeypatch.setenv(REFERENCE_MEMORY_LIMIT_ENV, "1GB")
    assert reference_stage(tmp_path, 40) > 0
