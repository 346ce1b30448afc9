"""The HTML segment report renders every section from the run's tables, escaping their text."""

from __future__ import annotations

import json

import pandas as pd

from ml_assets.report import render_report


def _profiles() -> pd.DataFrame:
    traits = [{"attribute": "current_mrr", "direction": "high", "std_diff": 1.4, "lift": 3.1}]
    return pd.DataFrame(
        {
            "segment_id": ["seg_01", "seg_02"],
            "segment_name": ["High value, disengaging", "<script>alert(1)</script>"],
            "status": ["matched", "new"],
            "size": [120, 80],
            "share": [0.6, 0.4],
            "top_traits": [json.dumps(traits), json.dumps([])],
            "playbook_action": ["Executive business review", "Nurture"],
            "avg_revenue_after": [5000.0, 800.0],
            "churn_rate": [0.3, 0.05],
            "expansion_rate": [0.02, 0.1],
            "support_burden": [0.1, -0.2],
            "model_version": ["abc123", "abc123"],
        }
    )


def test_report_has_every_section_and_inlined_charts():
    migration = pd.DataFrame(
        {
            "from_segment": ["seg_01", "seg_01", "seg_02"],
            "to_segment": ["seg_01", "seg_02", "seg_02"],
            "customers": [100, 20, 80],
        }
    )
    page = render_report(_profiles(), lift_png=None, migration=migration)
    for heading in [
        "Segments, names and playbooks",
        "Outcome differences",
        "Stability and migration",
    ]:
        assert heading in page
    assert "current_mrr high" in page
    assert "20 of 200 customers (10.0%) changed segment" in page
    assert page.count("data:image/png;base64,") == 3  # sizes, outcomes, migration
    assert "Model abc123" in page and "200 customers" in page


def test_report_escapes_names_and_handles_first_run():
    page = render_report(_profiles(), migration=pd.DataFrame())
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "First run: nothing to compare with yet" in page


def test_report_without_segments_says_so():
    page = render_report(pd.DataFrame())
    assert "No segments in this run" in page


def test_report_shows_entries_and_the_tasks_they_raise():
    profiles = _profiles().assign(create_csm_task=[True, False])
    entries = pd.Series({"seg_01": 7, "seg_02": 3}, name="entered")
    page = render_report(profiles, migration=pd.DataFrame(), entries=entries)
    assert "Entries and actions" in page
    assert "10 customers entered a segment in this run" in page
    assert "raise 7 CSM tasks" in page
    assert "Entries and actions" not in render_report(profiles, migration=pd.DataFrame())
