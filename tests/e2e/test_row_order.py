"""Row order is not data: the same landing files with their rows shuffled give the same model
version, the same segment per customer and the same verdicts of the checks on the segments.

The pipeline runs from the landing files to the checks on customer_segments (ingestion, the dbt
warehouse layer, governance, training, scoring, checks; nothing after the segments) twice, once
on the generated files and once on a copy whose data rows are shuffled. Rows that share a primary
key keep their relative order: of two conflicting deliveries of one key the earlier one wins
(ingestion quarantines the later), and that rule is about delivery order, which a shuffle of
unrelated rows leaves alone.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance

from orchestration.io import tables
from orchestration.io.contract import RAW_TABLES
from orchestration.io.warehouse import connect, read_table
from tests.support.pipeline import point_pipeline_at

ACCOUNTS = 400
SEED = 7
SEGMENTS_KEY = AssetKey(tables.CUSTOMER_SEGMENTS.path)


def _shuffle_file(path: Path, key_columns: tuple[str, ...], rng: np.random.Generator) -> None:
    """Shuffle the data lines of one CSV; lines of one primary key keep their order."""
    text = path.read_text(encoding="utf-8")
    header, *lines = text.splitlines(keepends=True)
    records = list(csv.reader(text.splitlines()))
    assert len(records) == len(lines) + 1, f"{path.name}: a quoted field spans lines"
    columns = records[0]
    index = [columns.index(c) for c in key_columns if c in columns]
    keys = ["\x1f".join(r[i] if i < len(r) else "" for i in index) for r in records[1:]]
    unique, group = np.unique(np.asarray(keys, dtype=object), return_inverse=True)
    order = np.argsort(rng.permutation(len(unique))[group], kind="stable")
    shuffled = [lines[i] for i in order]
    if shuffled and not shuffled[-1].endswith("\n"):  # the old last line had no newline
        shuffled = [line if line.endswith("\n") else line + "\n" for line in shuffled]
    assert shuffled != lines or len(lines) < 3, path.name
    path.write_text(header + "".join(shuffled), encoding="utf-8")


def _shuffled_copy(landing: Path, target: Path) -> Path:
    shutil.copytree(landing, target, ignore=shutil.ignore_patterns("_truth"))
    rng = np.random.default_rng(0)
    for name, spec in RAW_TABLES.items():
        for file in sorted((target / name).glob("*.csv")):
            _shuffle_file(file, spec.primary_key, rng)
    return target


def _run_to_checks(landing: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Everything up to and including the checks on customer_segments; what it decided."""
    root.mkdir(parents=True)
    point_pipeline_at(landing, root, monkeypatch)
    from orchestration.definitions import defs
    from orchestration.defs.platform import FULL_REFRESH_JOB

    graph = defs.resolve_asset_graph()
    # Everything but what comes after the segments (whole dbt layer: dbt tests select by model).
    after = AssetSelection.assets(SEGMENTS_KEY).downstream(include_self=False)
    selection = sorted((AssetSelection.all() - after).resolve(graph))
    result = defs.resolve_job_def(FULL_REFRESH_JOB).execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False, asset_selection=selection
    )
    assert result.success, [e.step_key for e in result.all_events if e.is_step_failure]
    with connect(root / "warehouse.duckdb", read_only=True) as con:
        segments = read_table(con, *tables.CUSTOMER_SEGMENTS)
    model = result.asset_materializations_for_node("segmentation__segment_model")[-1].metadata
    return {
        "model_version": model["model_version"].value,
        "segments": segments.set_index("customer_key")["segment_id"].astype(str).sort_index(),
        "checks": {
            e.check_name: (e.passed, e.severity.value, e.description)
            for e in result.get_asset_check_evaluations()
        },
    }


@pytest.fixture(scope="module")
def two_orders(tmp_path_factory):
    from tools.sample_data import generate

    root = tmp_path_factory.mktemp("row_order")
    landing = root / "landing"
    generate(landing, accounts=ACCOUNTS, seed=SEED)
    shuffled = _shuffled_copy(landing, root / "shuffled")
    env = pytest.MonkeyPatch()
    try:
        yield (
            _run_to_checks(landing, root / "as_written", env),
            _run_to_checks(shuffled, root / "shuffled_run", env),
        )
    finally:
        env.undo()


def test_shuffled_rows_give_the_same_model_segments_and_verdicts(two_orders):
    written, shuffled = two_orders
    assert shuffled["model_version"] == written["model_version"]
    assert shuffled["segments"].index.equals(written["segments"].index)
    assert (shuffled["segments"] == written["segments"]).all()
    assert {"segment_stability", "outcome_validation"} <= set(written["checks"])
    assert shuffled["checks"] == written["checks"]
