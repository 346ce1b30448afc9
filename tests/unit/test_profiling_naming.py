"""Profiles, trait-based names (unique, overridable) and playbook actions."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ml_assets.naming import base_name, concept_scores, generate_names, playbook_actions
from ml_assets.profiling import attribute_stats, build_profiles, top_traits
from orchestration.io.config_files import load_name_overrides, load_playbooks
from orchestration.io.settings import CONFIG_DIR
from tests.support.synthetic import synthetic_customers

ARCHETYPE_IDS = {
    "champion": "seg_01",
    "disengaging": "seg_02",
    "new": "seg_03",
    "support_heavy": "seg_04",
    "dormant": "seg_05",
}


@pytest.fixture(scope="module")
def data():
    data = synthetic_customers(1000, seed=2)
    data["segments"] = data["truth"].map(ARCHETYPE_IDS)
    data["stats"] = attribute_stats(data["attributes"], data["segments"], data["catalog"])
    return data


def test_stats_are_lifts_against_the_population(data):
    stats = data["stats"]
    assert set(stats["segment_id"]) == set(ARCHETYPE_IDS.values())
    # prohibited / sensitive / identifier attributes are never profiled
    assert not {"birth_year", "owner_gender", "customer_key"} & set(stats["attribute_name"])
    row = stats[
        (stats["segment_id"] == "seg_04") & (stats["attribute_name"] == "tickets_90d")
    ].iloc[0]
    population = data["attributes"]["tickets_90d"].mean()
    assert row["population_mean"] == pytest.approx(population)
    assert row["lift"] == pytest.approx(row["mean"] / population)
    assert row["std_diff"] > 1.5
    traits = top_traits(stats)
    assert traits["seg_04"][0] == {
        **traits["seg_04"][0],
        "attribute": "tickets_90d",
        "direction": "high",
    }
    assert all(len(t) <= 4 for t in traits.values())


def test_names_follow_the_traits_and_are_unique(data):
    concepts = concept_scores(data["stats"], data["catalog"])
    names = generate_names(concepts, top_traits(data["stats"]))
    assert names == {
        "seg_01": "Growing champions",
        "seg_02": "High value, disengaging",
        "seg_03": "New and ramping",
        "seg_04": "Support-heavy",
        "seg_05": "Dormant",
    }
    # two segments with the same traits still get distinct names
    twins = {"a": {"value": 0.9}, "b": {"value": 0.8}, "c": {"value": 0.7}}
    traits = {"b": [{"attribute": "events_90d", "direction": "high"}]}
    twin_names = generate_names(twins, traits)
    assert twin_names == {
        "a": "High value",
        "b": "High value (high events 90d)",
        "c": "High value 2",
    }
    assert base_name({}) == "Steady low-touch"


def test_names_file_overrides_generated_names(tmp_path, data):
    names_file = tmp_path / "segment_names.yaml"
    names_file.write_text("names:\n  seg_05: Hibernating\n  seg_99: Unused\n")
    overrides = load_name_overrides(names_file)
    assert overrides == {"seg_05": "Hibernating", "seg_99": "Unused"}
    concepts = concept_scores(data["stats"], data["catalog"])
    names = generate_names(concepts, top_traits(data["stats"]), fixed=overrides)
    assert names["seg_05"] == "Hibernating" and "seg_99" not in names
    assert load_name_overrides(tmp_path / "missing.yaml") == {}
    assert load_name_overrides(CONFIG_DIR / "segment_names.yaml") == {}


def test_playbooks_and_profiles_with_outcomes(data):
    concepts = concept_scores(data["stats"], data["catalog"])
    names = generate_names(concepts, top_traits(data["stats"]))
    actions = playbook_actions(names, concepts, load_playbooks(CONFIG_DIR / "playbooks.yaml"))
    assert actions["seg_02"]["create_csm_task"] is True
    assert "check-in" in actions["seg_02"]["action"]
    custom = {
        "default": {"action": "nothing"},
        "rules": [{"when_trait": "support:high", "action": "call"}],
    }
    assert playbook_actions(names, concepts, custom)["seg_04"] == {
        "action": "call",
        "create_csm_task": False,
    }
    assert playbook_actions(names, concepts, custom)["seg_01"]["action"] == "nothing"
    # A parent rule targets every sub-segment of a macro segment, by its name or id.
    by_parent = {"rules": [{"when_parent": "^grp_01|high value", "action": "QBR"}]}
    parents = {"seg_01": ("grp_01", "Growing champions"), "seg_02": ("grp_02", "High value")}
    parents["seg_03"] = ("grp_03", "Dormant")
    actions_by_parent = playbook_actions(names, concepts, by_parent, parents)
    assert [actions_by_parent[s]["action"] for s in ("seg_01", "seg_02", "seg_03")] == [
        "QBR",
        "QBR",
        "Keep in the standard lifecycle programme",
    ]

    profiles, _ = build_profiles(
        data["attributes"],
        data["segments"],
        data["catalog"],
        data["outcomes"],
        names,
        actions,
        parents=parents,
    )
    profiles = profiles.set_index("segment_id")
    assert profiles.loc["seg_02", "parent_segment_name"] == "High value"
    assert pd.isna(profiles.loc["seg_04", "parent_segment_id"])
    assert profiles["size"].sum() == 1000 and profiles["share"].sum() == pytest.approx(1.0)
    truth = data["truth"]
    dormant = data["outcomes"]["churned"][truth == "dormant"].mean()
    assert profiles.loc["seg_05", "churn_rate"] == pytest.approx(dormant)
    assert profiles.loc["seg_01", "expansion_rate"] > 0.3 > profiles.loc["seg_05", "expansion_rate"]
    assert profiles["support_burden"].idxmax() == "seg_04"
    assert json.loads(profiles.loc["seg_04", "top_traits"])[0]["attribute"] == "tickets_90d"
    assert profiles.loc["seg_02", "segment_name"] == "High value, disengaging"
    assert bool(profiles.loc["seg_02", "create_csm_task"]) is True
    assert "current_mrr" in json.loads(profiles.loc["seg_02", "attribute_lifts"])
    assert isinstance(profiles.loc["seg_02", "avg_revenue_after"], float)
    assert pd.notna(profiles.loc["seg_02", "retention_rate"])
